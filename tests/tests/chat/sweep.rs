//! The sweep: a run whose process died is closed; a live run holding its lease is left alone.

use std::time::Duration;

use aurora_domain::chat::{fold, NewSession};
use aurora_domain::ToolCallStatus;
use aurora_tests::chat::{of_type, ChatSocket};
use serde_json::json;
use uuid::Uuid;

use super::helpers::{ask_to_delete, chat_with, delete_script, session_events, session_of, Chat};

/// Leaves what a handler that died mid-run leaves: a session with a question, a started tool
/// call and a pending confirmation, and no run holding the session's lease. Returns its id.
async fn leave_a_dead_run(c: &Chat) -> Uuid {
    let session = Uuid::now_v7();
    let question = Uuid::now_v7();
    let store =
        aurora_nats::AggregateStore::<aurora_domain::ChatSession>::new(c.app.nats.log.clone());
    let now = chrono::Utc::now();
    for command in [
        aurora_domain::ChatCommand::Start(NewSession {
            id: aurora_domain::SessionId(session),
            owner: c.admin.user_id.to_string(),
            title: "crashed".into(),
            mode: aurora_domain::ChatMode::Agent,
            at: now,
        }),
        aurora_domain::ChatCommand::PostUserMessage {
            by: c.admin.user_id.to_string(),
            message_id: question,
            text: "delete the crashing pod".into(),
            mode: aurora_domain::ChatMode::Agent,
            at: now,
        },
        aurora_domain::ChatCommand::StartToolCall {
            tool_call_id: "call_1".into(),
            tool_name: "kubectl".into(),
            input: json!({"command": "kubectl delete pod checkout-7"}),
            at: now,
        },
        aurora_domain::ChatCommand::AskConfirmation {
            confirmation_id: Uuid::now_v7(),
            tool_call_id: Some("call_1".into()),
            command: "kubectl delete pod checkout-7".into(),
            reason: "deletes a resource".into(),
            at: now,
        },
    ] {
        store
            .execute(
                &c.admin.tenant,
                session,
                command,
                aurora_nats::Context::new_root(),
            )
            .await
            .expect("the store")
            .expect("accepted");
    }
    session
}

/// Waits (at most 20 s) until a sweep has closed the dead run of `session`: its question has
/// the interrupted answer.
async fn until_swept(c: &Chat, session: Uuid) -> aurora_domain::chat::ChatSessionState {
    let started = std::time::Instant::now();
    loop {
        let state = fold(session_events(&c.app, &c.admin, session).await);
        if state.messages.len() == 2 {
            return state;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "session {session} was never swept (20 s)"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_run_whose_process_died_is_closed_by_the_sweep() {
    let c = chat_with(vec![], |config| {
        config.sweep_every = Duration::from_millis(200);
        config.sweep_quiet = Duration::ZERO;
    })
    .await;
    let session = leave_a_dead_run(&c).await;
    let state = until_swept(&c, session).await;
    assert_eq!(
        state.messages[1].text,
        aurora_handlers::agent::sweep::INTERRUPTED_ANSWER
    );
    assert_eq!(state.tool_calls[0].status, ToolCallStatus::Failed);
    let answer = state.confirmations[0].answer.expect("withdrawn");
    assert_eq!(answer.decision, aurora_domain::ConfirmationDecision::Cancel);
    // A reload is not offered the dead confirmation.
    let mut reloaded = ChatSocket::open(&c.app, &c.admin, Some(session)).await;
    reloaded.send(json!({"type": "query", "query": "  "})).await;
    assert_eq!(reloaded.next().await["code"], "EMPTY_QUERY");
}

#[tokio::test]
async fn a_live_run_holding_its_lease_is_left_alone_by_the_sweep() {
    let c = chat_with(vec![delete_script()], |config| {
        config.sweep_every = Duration::from_millis(200);
        config.sweep_quiet = Duration::from_secs(1);
    })
    .await;
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    let frames = ask_to_delete(&mut socket).await;
    let confirmation = frames.last().expect("the confirmation").clone();
    // While the run waits, a whole sweep passes that had its session as a candidate. A dead run
    // left now is closed only by a sweep that saw the live session too (quiet for longer than
    // the dead one, so for longer than the quiet period). A second dead run, left once the first
    // is closed, is closed by a later sweep; a process sweeps one sweep after another, so by
    // then the sweep that saw the live session has finished with it.
    let first = leave_a_dead_run(&c).await;
    until_swept(&c, first).await;
    let second = leave_a_dead_run(&c).await;
    until_swept(&c, second).await;
    socket
        .send(json!({"type": "confirmation_response", "confirmation_id": confirmation["confirmation_id"], "decision": "execute"}))
        .await;
    let frames = socket.until_end().await;
    assert_eq!(of_type(&frames, "tool_result").len(), 1, "{frames:#?}");
    assert_eq!(c.clis.calls(), ["kubectl -n shop delete pod checkout-7"]);
    let state = fold(session_events(&c.app, &c.admin, session_of(&frames)).await);
    assert!(
        !state
            .messages
            .iter()
            .any(|m| m.text == aurora_handlers::agent::sweep::INTERRUPTED_ANSWER),
        "the live run was not swept"
    );
}
