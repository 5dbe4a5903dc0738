//! Who may do what in a session: only the owner answers or cancels, viewers ask but do not run
//! the agent, a demotion takes effect on the open socket.

use aurora_domain::chat::fold;
use aurora_nats::subjects;
use aurora_tests::chat::{of_type, streamed_text, ChatSocket};
use aurora_tests::llm::{Script, Step};
use serde_json::json;
use uuid::Uuid;

use super::helpers::{ask_to_delete, chat, delete_script, query, session_events, session_of};

#[tokio::test]
async fn only_the_owner_answers_a_confirmation_or_cancels_the_run() {
    let c = chat(vec![delete_script()]).await;
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    let frames = ask_to_delete(&mut socket).await;
    let confirmation = frames.last().expect("the confirmation").clone();
    let session = session_of(&frames);
    let approve = json!({"type": "confirmation_response", "session_id": session,
        "confirmation_id": confirmation["confirmation_id"], "decision": "execute"});
    let bo = c
        .app
        .invite_and_register(&c.admin, "bo@acme.io", "editor")
        .await;

    // A colleague is told, through the gateway, that there is no such session.
    let mut intruder = ChatSocket::open(&c.app, &bo, None).await;
    for frame in [
        approve.clone(),
        json!({"type": "control", "action": "cancel", "session_id": session}),
    ] {
        intruder.send(frame).await;
        let error = intruder.next().await;
        assert_eq!(
            (&error["type"], &error["code"]),
            (&json!("error"), &json!("SESSION_NOT_FOUND")),
            "{error}"
        );
    }
    // Past the gateway's check, as commands on CMD naming the colleague, the session itself
    // refuses them, and the sockets watching it hear the same answer.
    let confirmation_id: Uuid =
        serde_json::from_value(confirmation["confirmation_id"].clone()).expect("a UUID");
    let as_bo = [
        aurora_domain::ChatCommand::RespondToConfirmation {
            by: bo.user_id.to_string(),
            confirmation_id,
            decision: aurora_domain::ConfirmationDecision::Execute,
            at: chrono::Utc::now(),
        },
        aurora_domain::ChatCommand::Cancel {
            by: bo.user_id.to_string(),
            at: chrono::Utc::now(),
        },
    ];
    for command in as_bo {
        let request = aurora_domain::chat::SessionRequest::Command { command };
        c.app
            .nats
            .jetstream()
            .publish(
                subjects::command(&c.admin.tenant, "session", session),
                serde_json::to_vec(&request).expect("JSON").into(),
            )
            .await
            .expect("published")
            .await
            .expect("stored");
        let refusal = socket.until(|f| f["type"] == "error").await;
        assert_eq!(
            refusal.last().expect("an error")["code"],
            "SESSION_NOT_FOUND"
        );
    }
    assert!(c.clis.calls().is_empty(), "nothing ran");
    let state = fold(session_events(&c.app, &c.admin, session).await);
    assert!(state.cancelled_runs.is_empty());
    assert_eq!(state.pending_confirmations(chrono::Utc::now()).len(), 1);

    // The owner still decides.
    socket.send(approve).await;
    let frames = socket.until_end().await;
    assert_eq!(of_type(&frames, "tool_result").len(), 1);
    assert_eq!(c.clis.calls(), ["kubectl -n shop delete pod checkout-7"]);
}

#[tokio::test]
async fn a_viewer_can_ask_but_not_run_the_agent() {
    let c = chat(vec![Script::new("hello", vec![Step::text(&["Hi."])])]).await;
    let cy = c
        .app
        .invite_and_register(&c.admin, "cy@acme.io", "viewer")
        .await;
    let mut socket = ChatSocket::open(&c.app, &cy, None).await;
    socket.send(query("hello", "agent")).await;
    assert_eq!(socket.next().await["code"], "FORBIDDEN");
    socket.send(query("hello", "ask")).await;
    assert_eq!(streamed_text(&socket.until_end().await), "Hi.");
}

#[tokio::test]
async fn a_member_demoted_while_connected_loses_agent_mode() {
    let c = chat(vec![Script::new("hello", vec![Step::text(&["Hi."])])]).await;
    let bo = c
        .app
        .invite_and_register(&c.admin, "bo@acme.io", "editor")
        .await;
    let mut socket = ChatSocket::open(&c.app, &bo, None).await;
    socket.send(query("hello", "agent")).await;
    assert_eq!(streamed_text(&socket.until_end().await), "Hi.");
    let demoted = c
        .app
        .request(
            reqwest::Method::PATCH,
            &format!("/api/members/{}", bo.user_id),
            Some(&c.admin),
        )
        .json(&json!({"role": "viewer"}))
        .send()
        .await
        .expect("a response");
    assert_eq!(demoted.status(), 200);
    socket.send(query("hello", "agent")).await;
    assert_eq!(socket.next().await["code"], "FORBIDDEN");
    socket.send(query("hello", "ask")).await;
    assert_eq!(streamed_text(&socket.until_end().await), "Hi.");
}
