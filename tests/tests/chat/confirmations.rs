//! Writes: refused in ask mode, run only once the user approves, asked again on reconnect,
//! withdrawn when the wait ends.

use std::time::Duration;

use aurora_domain::{ChatEvent, GateVerdict};
use aurora_tests::chat::{of_type, ChatSocket};
use aurora_tests::llm::{Script, Step};
use serde_json::json;

use super::helpers::{
    ask_to_delete, chat, chat_with, delete_script, query, session_events, session_of,
};

#[tokio::test]
async fn a_write_in_ask_mode_is_refused_and_never_runs() {
    let c = chat(vec![Script::new(
        "restart the crashing pod",
        vec![
            Step::tool(
                "call_1",
                "kubectl",
                json!({"command": "kubectl delete pod checkout-7"}),
            ),
            Step::text(&["I cannot delete pods in ask mode."]),
        ],
    )])
    .await;
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket.send(query("restart the crashing pod", "ask")).await;
    let frames = socket.until_end().await;

    let error = of_type(&frames, "tool_error")[0];
    assert!(
        error["error"]
            .as_str()
            .unwrap_or_default()
            .contains("refused by the command gate"),
        "{error}"
    );
    assert!(of_type(&frames, "execution_confirmation").is_empty());
    assert!(c.clis.calls().is_empty(), "kubectl must not have run");
    let events = session_events(&c.app, &c.admin, session_of(&frames)).await;
    assert!(events.iter().any(|e| matches!(
        e,
        ChatEvent::GateDecided {
            verdict: GateVerdict::Refused,
            ..
        }
    )));
}

#[tokio::test]
async fn a_destructive_command_runs_once_the_user_approves_it() {
    let c = chat(vec![delete_script()]).await;
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    let frames = ask_to_delete(&mut socket).await;
    let confirmation = frames.last().expect("the confirmation").clone();
    assert_eq!(
        confirmation["command"],
        "kubectl -n shop delete pod checkout-7"
    );
    assert!(c.clis.calls().is_empty(), "nothing runs before the answer");

    socket
        .send(json!({"type": "confirmation_response", "confirmation_id": confirmation["confirmation_id"], "decision": "execute"}))
        .await;
    let frames = socket.until_end().await;
    assert_eq!(of_type(&frames, "tool_result").len(), 1);
    assert_eq!(c.clis.calls(), ["kubectl -n shop delete pod checkout-7"]);

    let events = session_events(&c.app, &c.admin, session_of(&frames)).await;
    assert!(events.iter().any(|e| matches!(
        e,
        ChatEvent::GateDecided {
            verdict: GateVerdict::ConfirmationRequired,
            ..
        }
    )));
    assert!(events.iter().any(|e| matches!(
        e,
        ChatEvent::ConfirmationAnswered {
            decision: aurora_domain::ConfirmationDecision::Execute,
            ..
        }
    )));
}

#[tokio::test]
async fn a_destructive_command_the_user_refuses_never_runs() {
    let c = chat(vec![delete_script()]).await;
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    let frames = ask_to_delete(&mut socket).await;
    let confirmation = frames.last().expect("the confirmation").clone();
    socket
        .send(json!({"type": "confirmation_response", "confirmation_id": confirmation["confirmation_id"], "decision": "cancel"}))
        .await;
    let frames = socket.until_end().await;
    let error = of_type(&frames, "tool_error")[0];
    assert!(error["error"]
        .as_str()
        .unwrap_or_default()
        .contains("declined"));
    assert!(c.clis.calls().is_empty());

    // Answering again is refused with its own code.
    socket
        .send(json!({"type": "confirmation_response", "confirmation_id": confirmation["confirmation_id"], "decision": "execute"}))
        .await;
    let refusal = socket.until(|f| f["type"] == "error").await;
    assert_eq!(
        refusal.last().expect("an error")["code"],
        "CONFIRMATION_REFUSED"
    );
}

#[tokio::test]
async fn a_pending_confirmation_is_sent_again_on_reconnect() {
    let c = chat(vec![delete_script()]).await;
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    let frames = ask_to_delete(&mut socket).await;
    let confirmation = frames.last().expect("the confirmation").clone();
    let session = session_of(&frames);
    socket.close().await;

    // A reloaded page opens the session again and is asked again.
    let mut reloaded = ChatSocket::open(&c.app, &c.admin, Some(session)).await;
    let again = reloaded.next().await;
    assert_eq!(again["type"], "execution_confirmation");
    assert_eq!(again["confirmation_id"], confirmation["confirmation_id"]);
    reloaded
        .send(json!({"type": "confirmation_response", "confirmation_id": again["confirmation_id"], "decision": "execute"}))
        .await;
    let frames = reloaded.until_end().await;
    assert_eq!(of_type(&frames, "tool_result").len(), 1);
    assert_eq!(c.clis.calls(), ["kubectl -n shop delete pod checkout-7"]);
}

#[tokio::test]
async fn an_unanswered_confirmation_is_withdrawn_when_the_wait_ends() {
    let c = chat_with(vec![delete_script()], |config| {
        config.confirmation_wait = Duration::from_millis(500)
    })
    .await;
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    let frames = ask_to_delete(&mut socket).await;
    let confirmation = frames.last().expect("the confirmation").clone();
    let frames = socket.until_end().await;
    let error = of_type(&frames, "tool_error")[0];
    assert!(error["error"]
        .as_str()
        .unwrap_or_default()
        .contains("withdrawn"));
    // Approving it now runs nothing and says so.
    socket
        .send(json!({"type": "confirmation_response", "confirmation_id": confirmation["confirmation_id"], "decision": "execute"}))
        .await;
    let refusal = socket.until(|f| f["type"] == "error").await;
    assert_eq!(
        refusal.last().expect("an error")["code"],
        "CONFIRMATION_REFUSED"
    );
    assert!(c.clis.calls().is_empty());
    // A reload is not asked again.
    let session = session_of(&socket.received);
    let mut reloaded = ChatSocket::open(&c.app, &c.admin, Some(session)).await;
    reloaded
        .send(json!({"type": "query", "query": "   "}))
        .await;
    assert_eq!(
        reloaded.next().await["code"],
        "EMPTY_QUERY",
        "no confirmation came first"
    );
}
