//! Cancelling and stopping: the partial answer is kept, a running command is killed, a second cancel
//! changes nothing.

use std::time::Duration;

use aurora_domain::chat::fold;
use aurora_domain::{ChatEvent, ToolCallStatus};
use aurora_tests::chat::{of_type, streamed_text, ChatSocket};
use aurora_tests::llm::{Script, Step};
use serde_json::{json, Value};

use super::helpers::{chat, query, session_events, session_of};

#[tokio::test]
async fn cancel_stops_the_stream_and_keeps_the_partial_answer() {
    let words: Vec<String> = (0..40).map(|i| format!("word{i} ")).collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let c = chat(vec![Script::new(
        "explain everything",
        vec![Step::text(&words)],
    )
    .with_delay(Duration::from_millis(50))])
    .await;
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket.send(query("explain everything", "ask")).await;
    socket
        .until(|f| f["type"] == "message" && f["is_chunk"] == true)
        .await;
    socket
        .send(json!({"type": "control", "action": "cancel"}))
        .await;
    let frames = socket.until_end().await;
    let complete = of_type(&frames, "message")
        .into_iter()
        .find(|f| f["is_complete"] == true)
        .expect("the partial answer")
        .clone();
    let partial = complete["text"].as_str().unwrap_or_default().to_owned();
    assert!(partial.starts_with("word0"), "{partial}");
    assert!(
        !partial.contains("word39"),
        "the stream was stopped: {partial}"
    );

    let session = session_of(&socket.received);
    let events = session_events(&c.app, &c.admin, session).await;
    assert!(events
        .iter()
        .any(|e| matches!(e, ChatEvent::RunCancelled { .. })));
    let kept = fold(events.clone());
    assert_eq!(
        kept.messages.last().map(|m| m.text.as_str()),
        Some(partial.as_str())
    );
    assert!(events
        .iter()
        .any(|e| matches!(e, ChatEvent::UsageRecorded { .. })));
}

#[tokio::test]
async fn cancelling_twice_or_with_nothing_running_records_one_cancel_and_no_error() {
    let words: Vec<String> = (0..40).map(|i| format!("word{i} ")).collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let c = chat(vec![
        Script::new("explain everything", vec![Step::text(&words)])
            .with_delay(Duration::from_millis(50)),
        Script::new("one more thing", vec![Step::text(&["Sure."])]),
    ])
    .await;
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket.send(query("explain everything", "ask")).await;
    socket
        .until(|f| f["type"] == "message" && f["is_chunk"] == true)
        .await;
    let cancel = json!({"type": "control", "action": "cancel"});
    socket.send(cancel.clone()).await;
    socket.send(cancel.clone()).await;
    socket.until_end().await;
    // Nothing runs any more: a cancel now has nothing to stop.
    socket.send(cancel).await;
    // One session's commands are handled in order, so once the next question is answered the
    // cancels before it were handled.
    let session = session_of(&socket.received);
    socket
        .send(json!({"type": "query", "query": "one more thing", "session_id": session, "mode": "ask"}))
        .await;
    let frames = socket.until_end().await;
    assert_eq!(streamed_text(&frames), "Sure.");
    assert_eq!(
        of_type(&socket.received, "error"),
        Vec::<&Value>::new(),
        "a cancel with nothing running is not an error"
    );
    let events = session_events(&c.app, &c.admin, session).await;
    let cancels = events
        .iter()
        .filter(|e| matches!(e, ChatEvent::RunCancelled { .. }))
        .count();
    assert_eq!(cancels, 1, "{events:?}");
}

#[tokio::test]
async fn cancel_during_a_running_command_kills_it_and_nothing_more_runs() {
    let c = chat(vec![Script::new(
        "slow listing",
        vec![
            Step::ToolCalls(vec![
                (
                    "call_1".into(),
                    "cloud_exec".into(),
                    json!({"provider": "gcloud", "command": "gcloud compute instances list"}),
                ),
                (
                    "call_2".into(),
                    "kubectl".into(),
                    json!({"command": "kubectl get pods"}),
                ),
            ]),
            Step::text(&["never reached"]),
        ],
    )])
    .await;
    c.clis.script("gcloud", "sleep 30");
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket.send(query("slow listing please", "ask")).await;
    socket.until(|f| f["type"] == "tool_call").await;
    // The `tool_call` frame goes out before the gate and the spawn: cancel once the command runs
    // (it has logged its call), or a slow process start loses the race to the cancel's kill.
    c.clis.until_called(1).await;
    let cancelled_at = std::time::Instant::now();
    socket
        .send(json!({"type": "control", "action": "cancel"}))
        .await;
    let frames = socket.until_end().await;
    assert!(
        cancelled_at.elapsed() < Duration::from_secs(10),
        "the 30 s command was killed, not waited for"
    );
    let error = of_type(&frames, "tool_error")[0];
    assert!(error["error"]
        .as_str()
        .unwrap_or_default()
        .contains("cancelled"));
    assert!(
        of_type(&frames, "tool_call").is_empty(),
        "the second call never started"
    );
    assert_eq!(c.clis.calls(), ["gcloud compute instances list"]);
    assert_eq!(c.llm.requests().len(), 1, "the model was not called again");
    let state = fold(session_events(&c.app, &c.admin, session_of(&socket.received)).await);
    assert_eq!(state.tool_calls.len(), 1);
    assert_eq!(state.tool_calls[0].status, ToolCallStatus::Failed);
}

#[tokio::test]
async fn stopping_aurora_mid_answer_keeps_the_partial_answer() {
    let words: Vec<String> = (0..100).map(|i| format!("part{i} ")).collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let c =
        chat(vec![Script::new("very long", vec![Step::text(&words)])
            .with_delay(Duration::from_millis(50))])
        .await;
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket.send(query("a very long answer", "ask")).await;
    let frames = socket
        .until(|f| f["type"] == "message" && f["is_chunk"] == true)
        .await;
    let session = session_of(&frames);
    let mut app = c.app;
    app.halt().await;
    let state = fold(session_events(&app, &c.admin, session).await);
    let answer = state.messages.last().expect("an answer was recorded");
    assert_eq!(answer.role, aurora_domain::MessageRole::Assistant);
    assert!(answer.text.starts_with("part0"), "{}", answer.text);
    assert!(!answer.text.contains("part99"));
}
