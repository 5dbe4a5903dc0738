//! Chat with the agent end to end: a real WebSocket client, the real gateway and handlers, the
//! real async-openai client against a scripted OpenAI-compatible server, fake CLIs on the tools'
//! `PATH`, JetStream and PostgreSQL.

use std::time::Duration;

use aurora_domain::chat::fold;
use aurora_domain::{ChatEvent, GateVerdict, ToolCallStatus};
use aurora_handlers::agent::{AgentConfig, LlmConfig, PriceTable};
use aurora_nats::{subjects, EventLog};
use aurora_projections::Projector;
use aurora_tests::chat::{of_type, streamed_text, ChatSocket, FakeClis};
use aurora_tests::llm::{Script, ScriptedLlm, Step};
use aurora_tests::{wait_for_projection, Account, Answer, TestApp};
use serde_json::{json, Value};
use uuid::Uuid;

const MODEL: &str = "scripted-model";

const INSTANCES: &str = r#"[{"name":"checkout-1","status":"RUNNING","zone":"europe-west1-b"},{"name":"checkout-2","status":"RUNNING","zone":"europe-west1-c"}]"#;
const PODS: &str =
    r#"{"items":[{"metadata":{"name":"checkout-7"},"status":{"phase":"CrashLoopBackOff"}}]}"#;

pub(crate) struct Chat {
    pub(crate) app: TestApp,
    llm: ScriptedLlm,
    clis: FakeClis,
    pub(crate) admin: Account,
    _work: tempfile::TempDir,
}

fn agent_config(llm: Option<&ScriptedLlm>, clis: &FakeClis, work: &std::path::Path) -> AgentConfig {
    let mut config = AgentConfig::without_model(work.to_path_buf()).with_tool_path(clis.path());
    config.prices = PriceTable::default()
        .with(&format!("{MODEL}=2/8"))
        .expect("a valid price");
    match llm {
        Some(llm) => config.with_llm(LlmConfig {
            base_url: llm.base_url(),
            api_key: "test-key".into(),
            model: MODEL.into(),
        }),
        None => config,
    }
}

pub(crate) async fn chat(scripts: Vec<Script>) -> Chat {
    chat_with(scripts, |_| {}).await
}

pub(crate) fn query(text: &str, mode: &str) -> Value {
    json!({"type": "query", "query": text, "mode": mode})
}

pub(crate) fn session_of(frames: &[Value]) -> Uuid {
    let id = frames
        .iter()
        .find_map(|f| f["session_id"].as_str())
        .expect("a frame naming the session");
    Uuid::parse_str(id).expect("a session UUID")
}

/// Waits until the sessions read model holds every event of the session.
pub(crate) async fn settled(app: &TestApp, account: &Account, session: Uuid) {
    let subject = subjects::aggregate(&account.tenant, "session", session);
    let (last, _) = EventLog::new(app.nats.client.clone())
        .last_of(&subject)
        .await
        .expect("the log answers")
        .expect("the session has events");
    wait_for_projection(&app.db.pool, Projector::Sessions, last).await;
}

pub(crate) async fn session_events(
    app: &TestApp,
    account: &Account,
    session: Uuid,
) -> Vec<ChatEvent> {
    let subject = subjects::aggregate(&account.tenant, "session", session);
    EventLog::new(app.nats.client.clone())
        .read_subject(&subject, 1)
        .await
        .expect("the log answers")
        .into_iter()
        .map(|raw| serde_json::from_value(raw.data).expect("a chat event"))
        .collect()
}

#[tokio::test]
async fn an_answer_streams_token_by_token_and_is_kept_with_its_usage() {
    let c = chat(vec![Script::new(
        "why is checkout slow",
        vec![Step::text(&[
            "Checkout ",
            "is slow because ",
            "the database is saturated.",
        ])],
    )])
    .await;
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket.send(query("why is checkout slow?", "ask")).await;
    let frames = socket.until_end().await;

    assert_eq!(frames[0]["type"], "status");
    assert_eq!(frames[0]["status"], "START");
    let chunks: Vec<&Value> = frames
        .iter()
        .filter(|f| f["type"] == "message" && f["is_chunk"] == true)
        .collect();
    assert_eq!(chunks.len(), 3, "one frame per streamed chunk: {frames:#?}");
    assert_eq!(
        streamed_text(&frames),
        "Checkout is slow because the database is saturated."
    );
    let complete = of_type(&frames, "message")
        .into_iter()
        .find(|f| f["is_complete"] == true)
        .expect("a complete message");
    assert_eq!(
        complete["text"],
        "Checkout is slow because the database is saturated."
    );
    let usage = of_type(&frames, "usage_info")[0];
    assert_eq!(usage["model"], MODEL);
    assert_eq!(usage["input_tokens"], 120);
    assert_eq!(usage["output_tokens"], 30);
    // 120 × $2/M + 30 × $8/M = $0.00048.
    assert!((usage["estimated_cost"].as_f64().unwrap_or_default() - 0.00048).abs() < 1e-12);

    // The model was sent the system prompt, the question and the tools.
    let request = &c.llm.requests()[0];
    assert_eq!(request["model"], MODEL);
    assert_eq!(request["stream"], true);
    assert_eq!(request["messages"][0]["role"], "system");
    assert_eq!(request["messages"][1]["content"], "why is checkout slow?");
    assert_eq!(request["tools"].as_array().map(Vec::len), Some(5));

    let session = session_of(&frames);
    settled(&c.app, &c.admin, session).await;
    let list = c
        .app
        .get_json("/chat_api/sessions", Some(&c.admin))
        .await
        .expect_status(200);
    assert_eq!(list["items"][0]["id"], session.to_string());
    assert_eq!(list["items"][0]["title"], "why is checkout slow?");
    assert_eq!(list["items"][0]["input_tokens"], 120);
    let detail = c
        .app
        .get_json(&format!("/chat_api/sessions/{session}"), Some(&c.admin))
        .await
        .expect_status(200);
    let messages = detail["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["role"], "user");
    assert_eq!(messages[1]["role"], "assistant");
    assert_eq!(
        messages[1]["text"],
        "Checkout is slow because the database is saturated."
    );
    assert_eq!(detail["usage"][0]["cost_micros"], 480);

    let usage = c
        .app
        .get_json("/api/llm-usage", Some(&c.admin))
        .await
        .expect_status(200);
    assert_eq!(usage["total"]["calls"], 1);
    assert_eq!(usage["total"]["input_tokens"], 120);
    assert_eq!(usage["total"]["cost_micros"], 480);
    assert_eq!(usage["by_session"][0]["session_id"], session.to_string());
    assert_eq!(usage["by_model"][0]["model"], MODEL);
    assert_eq!(
        usage["by_day"][0]["day"],
        chrono::Utc::now().date_naive().to_string()
    );
}

#[tokio::test]
async fn a_read_only_command_runs_and_its_result_reaches_the_model() {
    let c = chat(vec![Script::new(
        "which instances",
        vec![
            Step::tool(
                "call_1",
                "cloud_exec",
                json!({"provider": "gcloud", "command": "gcloud compute instances list --format=json"}),
            ),
            Step::text(&["Two checkout instances are running."]),
        ],
    )])
    .await;
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket
        .send(query("which instances run checkout?", "ask"))
        .await;
    let frames = socket.until_end().await;

    let call = of_type(&frames, "tool_call")[0];
    assert_eq!(call["tool_name"], "cloud_exec");
    assert_eq!(call["input"]["provider"], "gcloud");
    let result = of_type(&frames, "tool_result")[0];
    assert_eq!(result["tool_call_id"], call["tool_call_id"]);
    assert!(result["output"]
        .as_str()
        .unwrap_or_default()
        .contains("checkout-2"));
    assert_eq!(
        streamed_text(&frames),
        "Two checkout instances are running."
    );
    assert_eq!(
        c.clis.calls(),
        ["gcloud compute instances list --format=json"]
    );
    // The second model call carried the tool's output back.
    let second = &c.llm.requests()[1];
    let tool_message = second["messages"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["role"] == "tool"))
        .expect("a tool message");
    assert_eq!(tool_message["tool_call_id"], "call_1");
    assert!(tool_message["content"]
        .as_str()
        .unwrap_or_default()
        .contains("checkout-1"));

    let session = session_of(&frames);
    let events = session_events(&c.app, &c.admin, session).await;
    assert!(events.iter().any(|e| matches!(e,
        ChatEvent::GateDecided { verdict: GateVerdict::Allowed, command, .. }
            if command == "gcloud compute instances list --format=json")));
}

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

/// Agent mode: the destructive command waits for the user; returns the socket's frames up to the
/// confirmation.
async fn ask_to_delete(socket: &mut ChatSocket) -> Vec<Value> {
    socket.send(query("delete the crashing pod", "agent")).await;
    socket
        .until(|f| f["type"] == "execution_confirmation")
        .await
}

fn delete_script() -> Script {
    Script::new(
        "delete the crashing pod",
        vec![
            Step::tool(
                "call_1",
                "kubectl",
                json!({"command": "kubectl -n shop delete pod checkout-7"}),
            ),
            Step::text(&["Done."]),
        ],
    )
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
async fn the_session_events_alone_rebuild_the_history_the_api_shows() {
    let c = chat(vec![
        Script::new(
            "which instances",
            vec![
                Step::tool(
                    "call_1",
                    "cloud_exec",
                    json!({"provider": "gcloud", "command": "gcloud compute instances list"}),
                ),
                Step::text(&["Two are running."]),
            ],
        ),
        Script::new(
            "and the pods",
            vec![Step::text(&["One pod is crash-looping."])],
        ),
    ])
    .await;
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket
        .send(query("which instances run checkout?", "ask"))
        .await;
    let first = socket.until_end().await;
    let session = session_of(&first);
    socket
        .send(json!({"type": "query", "query": "and the pods?", "session_id": session, "mode": "ask"}))
        .await;
    socket.until_end().await;
    // The second call saw the first exchange as history.
    let last = c.llm.requests().last().cloned().expect("requests");
    let contents: Vec<&str> = last["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert!(contents.contains(&"which instances run checkout?"));
    assert!(contents.contains(&"Two are running."));

    settled(&c.app, &c.admin, session).await;
    let api = c
        .app
        .get_json(&format!("/chat_api/sessions/{session}"), Some(&c.admin))
        .await
        .expect_status(200);
    let rebuilt = fold(session_events(&c.app, &c.admin, session).await);
    assert_eq!(api["messages"], json!(rebuilt.messages));
    assert_eq!(api["tool_calls"], json!(rebuilt.tool_calls));
    assert_eq!(api["gate_decisions"], json!(rebuilt.gate_decisions));
    assert_eq!(api["usage"], json!(rebuilt.usage));
    assert_eq!(rebuilt.messages.len(), 4);
    assert_eq!(rebuilt.tool_calls[0].status, ToolCallStatus::Succeeded);
    assert_eq!(rebuilt.usage.len(), 3, "three model calls");
    let history = api["history"].as_array().expect("history rows");
    assert!(history.iter().any(|h| h["kind"] == "tool_result_recorded"));
}

#[tokio::test]
async fn rename_and_delete_a_session_and_others_cannot_see_it() {
    let c = chat(vec![Script::new("hello", vec![Step::text(&["Hi."])])]).await;
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket.send(query("hello", "ask")).await;
    let session = session_of(&socket.until_end().await);
    settled(&c.app, &c.admin, session).await;
    let path = format!("/chat_api/sessions/{session}");

    let renamed = c
        .app
        .request(reqwest::Method::PATCH, &path, Some(&c.admin))
        .json(&json!({"title": "Greeting"}))
        .send()
        .await
        .expect("a response");
    assert_eq!(renamed.status(), 200);
    let list = c
        .app
        .get_json("/chat_api/sessions", Some(&c.admin))
        .await
        .expect_status(200);
    assert_eq!(list["items"][0]["title"], "Greeting");
    let empty = c
        .app
        .request(reqwest::Method::PATCH, &path, Some(&c.admin))
        .json(&json!({"title": "  "}))
        .send()
        .await
        .expect("a response");
    assert_eq!(empty.status(), 422);

    // A colleague of the same organisation sees nothing of it.
    let bo = c
        .app
        .invite_and_register(&c.admin, "bo@acme.io", "editor")
        .await;
    c.app
        .get_json(&path, Some(&bo))
        .await
        .expect_error(404, "not_found");
    let list = c
        .app
        .get_json("/chat_api/sessions", Some(&bo))
        .await
        .expect_status(200);
    assert_eq!(list["items"], json!([]));
    // Nor can they rename or delete it: the session refuses them, and they are told it is not
    // there, as for a random id.
    let bo_renames = Answer::of(
        c.app
            .request(reqwest::Method::PATCH, &path, Some(&bo))
            .json(&json!({"title": "Mine now"}))
            .send()
            .await,
    )
    .await;
    bo_renames.expect_error(404, "not_found");
    let bo_deletes = Answer::of(
        c.app
            .request(reqwest::Method::DELETE, &path, Some(&bo))
            .send()
            .await,
    )
    .await;
    bo_deletes.expect_error(404, "not_found");
    let events = session_events(&c.app, &c.admin, session).await;
    assert!(
        !events.iter().any(|e| matches!(
            e,
            ChatEvent::Renamed { title, .. } if title == "Mine now"
        ) || matches!(e, ChatEvent::SessionDeleted { .. })),
        "{events:?}"
    );
    let mine = c
        .app
        .get_json(&path, Some(&c.admin))
        .await
        .expect_status(200);
    assert_eq!(mine["title"], "Greeting");

    let deleted = c
        .app
        .request(reqwest::Method::DELETE, &path, Some(&c.admin))
        .send()
        .await
        .expect("a response");
    assert_eq!(deleted.status(), 204);
    c.app
        .get_json(&path, Some(&c.admin))
        .await
        .expect_error(404, "not_found");
    let list = c
        .app
        .get_json("/chat_api/sessions", Some(&c.admin))
        .await
        .expect_status(200);
    assert_eq!(list["items"], json!([]));
    // A deleted session takes no more queries.
    socket
        .send(
            json!({"type": "query", "query": "hello again", "session_id": session, "mode": "ask"}),
        )
        .await;
    let error = socket.until(|f| f["type"] == "error").await;
    assert_eq!(error.last().expect("an error")["code"], "SESSION_NOT_FOUND");
}

#[tokio::test]
async fn bad_frames_get_error_codes_and_the_socket_stays_open() {
    let c = chat(vec![Script::new(
        "still there",
        vec![Step::text(&["Yes."])],
    )])
    .await;
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    let cases = [
        ("not json".to_owned(), "BAD_FRAME"),
        (json!({"type": "subscribe"}).to_string(), "UNKNOWN_TYPE"),
        (json!({"type": "query"}).to_string(), "BAD_FRAME"),
        (
            json!({"type": "query", "query": "x", "mode": "god"}).to_string(),
            "BAD_FRAME",
        ),
        (
            json!({"type": "query", "query": "   "}).to_string(),
            "EMPTY_QUERY",
        ),
        (
            json!({"type": "query", "query": "x".repeat(100_000)}).to_string(),
            "QUERY_TOO_LONG",
        ),
        (
            json!({"type": "control", "action": "cancel"}).to_string(),
            "BAD_FRAME",
        ),
        (
            json!({"type": "query", "query": "x".repeat(11 * 1024 * 1024)}).to_string(),
            "FRAME_TOO_LARGE",
        ),
    ];
    for (frame, code) in cases {
        socket.send_text(frame).await;
        let error = socket.next().await;
        assert_eq!(error["type"], "error", "{error}");
        assert_eq!(error["code"], code, "{error}");
        assert!(!error["text"].as_str().unwrap_or_default().is_empty());
    }
    socket.send(query("still there?", "ask")).await;
    let frames = socket.until_end().await;
    assert_eq!(streamed_text(&frames), "Yes.");
}

#[tokio::test]
async fn a_sixth_query_within_a_minute_is_refused() {
    let c = chat(vec![Script::new("ping", vec![Step::text(&["pong"])])]).await;
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    for _ in 0..5 {
        socket.send(query("ping", "ask")).await;
        socket.until_end().await;
    }
    socket.send(query("ping", "ask")).await;
    let error = socket.next().await;
    assert_eq!(error["code"], "RATE_LIMITED", "{error}");
}

#[tokio::test]
async fn tickets_are_single_use_and_required() {
    let c = chat(vec![]).await;
    let ticket = c
        .app
        .get_json("/api/ws-token", Some(&c.admin))
        .await
        .expect_status(200);
    assert_eq!(ticket["expires_in"], 120);
    let token = ticket["token"].as_str().expect("a token");
    let url = format!(
        "{}/ws/chat?token={token}",
        c.app.base_url.replacen("http", "ws", 1)
    );
    let (first, _) = tokio_tungstenite::connect_async(&url)
        .await
        .expect("the first use opens");
    drop(first);
    let second = tokio_tungstenite::connect_async(&url).await;
    match second {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401)
        }
        other => panic!("a used ticket must be refused, got {other:?}"),
    }
    c.app
        .get_json("/ws/chat", None)
        .await
        .expect_error(401, "missing_token");
    c.app
        .get_json("/ws/chat?token=aurora_w_nonsense", None)
        .await
        .expect_error(401, "invalid_token");
    c.app
        .get_json("/api/ws-token", None)
        .await
        .expect_error(401, "unauthenticated");
}

#[tokio::test]
async fn without_a_model_a_query_gets_no_model_and_nothing_else_breaks() {
    let clis = FakeClis::install(&[]);
    let work = tempfile::tempdir().expect("a work dir");
    let app = TestApp::spawn_with_agent(agent_config(None, &clis, work.path())).await;
    let admin = app.register("ana@acme.io", "Acme").await;
    let mut socket = ChatSocket::open(&app, &admin, None).await;
    socket.send(query("why is checkout slow?", "ask")).await;
    let error = socket.next().await;
    assert_eq!(error["type"], "error");
    assert_eq!(error["code"], "NO_MODEL");
    let text = error["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("LLM_BASE_URL") && text.contains("LLM_MODEL"),
        "{text}"
    );
    app.get_json("/chat_api/sessions", Some(&admin))
        .await
        .expect_status(200);
    app.get_json("/api/llm-usage", Some(&admin))
        .await
        .expect_status(200);
    app.get_json("/api/incidents", Some(&admin))
        .await
        .expect_status(200);
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
async fn a_failing_model_endpoint_is_reported() {
    let c = chat(vec![Script::new("break", vec![Step::Fail(500)])]).await;
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket.send(query("break please", "ask")).await;
    let frames = socket.until_end().await;
    let error = of_type(&frames, "error")[0];
    assert_eq!(error["code"], "LLM_ERROR");
}

#[tokio::test]
async fn the_organisation_policy_refuses_what_it_denies() {
    let c = chat(vec![Script::new(
        "list instances",
        vec![
            Step::tool(
                "call_1",
                "cloud_exec",
                json!({"provider": "gcloud", "command": "gcloud compute instances list"}),
            ),
            Step::text(&["Denied."]),
        ],
    )])
    .await;
    let put = |body: Value, who: &Account| {
        c.app
            .request(reqwest::Method::PUT, "/api/agent/policy", Some(who))
            .json(&body)
            .send()
    };
    let invalid = put(json!({"deny": ["(unclosed"]}), &c.admin)
        .await
        .expect("a response");
    assert_eq!(invalid.status(), 422);
    let bo = c
        .app
        .invite_and_register(&c.admin, "bo@acme.io", "editor")
        .await;
    let forbidden = put(json!({"deny": ["x"]}), &bo).await.expect("a response");
    assert_eq!(forbidden.status(), 403);
    let set = put(json!({"deny": ["compute instances"]}), &c.admin)
        .await
        .expect("a response");
    assert_eq!(set.status(), 200);
    let policy = c
        .app
        .get_json("/api/agent/policy", Some(&bo))
        .await
        .expect_status(200);
    assert_eq!(policy["deny"], json!(["compute instances"]));

    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket.send(query("list instances", "ask")).await;
    let frames = socket.until_end().await;
    let error = of_type(&frames, "tool_error")[0];
    assert!(
        error["error"]
            .as_str()
            .unwrap_or_default()
            .contains("compute instances"),
        "{error}"
    );
    assert!(c.clis.calls().is_empty());
}

#[tokio::test]
async fn a_new_organisation_starts_with_the_default_deny_template_its_admin_can_edit() {
    let c = chat(vec![
        Script::new(
            "flush the firewall",
            vec![
                Step::tool(
                    "call_1",
                    "cloud_exec",
                    json!({"provider": "gcloud", "command": "gcloud compute ssh vm1 --command 'iptables -F'"}),
                ),
                Step::text(&["Refused."]),
            ],
        ),
        Script::new(
            "list instances",
            vec![
                Step::tool(
                    "call_1",
                    "cloud_exec",
                    json!({"provider": "gcloud", "command": "gcloud compute instances list"}),
                ),
                Step::text(&["Listed."]),
            ],
        ),
    ])
    .await;
    let policy = c
        .app
        .get_json("/api/agent/policy", Some(&c.admin))
        .await
        .expect_status(200);
    let template: Vec<&str> = aurora_domain::gate::DEFAULT_DENY_TEMPLATE
        .iter()
        .map(|rule| rule.pattern)
        .collect();
    assert_eq!(policy["deny"], json!(template));
    assert_eq!(policy["allow"], json!([]));

    // A command matching a rule of the template is refused, even in agent mode.
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket.send(query("flush the firewall", "agent")).await;
    let frames = socket.until_end().await;
    let error = of_type(&frames, "tool_error")[0];
    assert!(
        error["error"]
            .as_str()
            .unwrap_or_default()
            .contains("Network configuration changes"),
        "{error}"
    );
    assert!(c.clis.calls().is_empty());

    // The admin edits it: upstream's look-behind rule is accepted as it is, a broken one is not.
    let edited = json!({"deny": [r"(?<!\bkubectl\s)\b(eval|exec)\b", "compute instances"]});
    let set = c
        .app
        .request(reqwest::Method::PUT, "/api/agent/policy", Some(&c.admin))
        .json(&edited)
        .send()
        .await
        .expect("a response");
    assert_eq!(set.status(), 200);
    let broken = c
        .app
        .request(reqwest::Method::PUT, "/api/agent/policy", Some(&c.admin))
        .json(&json!({"deny": [r"(?<!unclosed"]}))
        .send()
        .await
        .expect("a response");
    assert_eq!(broken.status(), 422);
    let policy = c
        .app
        .get_json("/api/agent/policy", Some(&c.admin))
        .await
        .expect_status(200);
    assert_eq!(policy["deny"], edited["deny"]);
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket.send(query("list instances", "ask")).await;
    let frames = socket.until_end().await;
    let error = of_type(&frames, "tool_error")[0];
    assert!(
        error["error"]
            .as_str()
            .unwrap_or_default()
            .contains("compute instances"),
        "{error}"
    );
    assert!(c.clis.calls().is_empty());
}

#[tokio::test]
async fn two_gateways_serve_the_same_session() {
    let c = chat(vec![
        Script::new("first", vec![Step::text(&["one"])]),
        Script::new("second", vec![Step::text(&["shared ", "by ", "both"])]),
    ])
    .await;
    let work = tempfile::tempdir().expect("a work dir");
    let other = c
        .app
        .second_gateway(agent_config(Some(&c.llm), &c.clis, work.path()))
        .await;
    let mut on_first = ChatSocket::open(&c.app, &c.admin, None).await;
    on_first.send(query("first", "ask")).await;
    let session = session_of(&on_first.until_end().await);

    // The same user on the other gateway opens the session and asks; both sockets see the run.
    let mut on_second = ChatSocket::open_at(&c.app, &other, &c.admin, Some(session)).await;
    on_second
        .send(json!({"type": "query", "query": "second", "session_id": session, "mode": "ask"}))
        .await;
    let seen_there = on_second.until_end().await;
    let seen_here = on_first.until_end().await;
    assert_eq!(streamed_text(&seen_there), "shared by both");
    assert_eq!(streamed_text(&seen_here), "shared by both");
    assert_eq!(session_of(&seen_there), session);
}

async fn chat_with(scripts: Vec<Script>, tune: impl FnOnce(&mut AgentConfig)) -> Chat {
    let llm = ScriptedLlm::start(scripts).await;
    let clis = FakeClis::install(&[("gcloud", INSTANCES), ("kubectl", PODS), ("aws", "{}")]);
    let work = tempfile::tempdir().expect("a work dir");
    let mut config = agent_config(Some(&llm), &clis, work.path());
    tune(&mut config);
    let app = TestApp::spawn_with_agent(config).await;
    let admin = app
        .register(&format!("ana-{}@acme.io", Uuid::new_v4().simple()), "Acme")
        .await;
    Chat {
        app,
        llm,
        clis,
        admin,
        _work: work,
    }
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
async fn a_newer_question_supersedes_the_running_answer() {
    let words: Vec<String> = (0..30).map(|i| format!("slow{i} ")).collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let c = chat(vec![
        Script::new("long story", vec![Step::text(&words)]).with_delay(Duration::from_millis(50)),
        Script::new("short one", vec![Step::text(&["Short."])]),
    ])
    .await;
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket.send(query("a long story", "ask")).await;
    let first = socket
        .until(|f| f["type"] == "message" && f["is_chunk"] == true)
        .await;
    let session = session_of(&first);
    socket
        .send(json!({"type": "query", "query": "a short one instead", "session_id": session, "mode": "ask"}))
        .await;
    // Both runs end; the first one early.
    socket.until_end().await;
    socket.until_end().await;
    settled(&c.app, &c.admin, session).await;
    let state = fold(session_events(&c.app, &c.admin, session).await);
    let texts: Vec<&str> = state.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts.len(), 4, "{texts:?}");
    assert!(texts.contains(&"Short."), "{texts:?}");
    let partial = texts
        .iter()
        .find(|t| t.starts_with("slow0"))
        .expect("the first answer's partial text");
    assert!(
        !partial.contains("slow29"),
        "the first answer was cut short"
    );
}

#[tokio::test]
async fn the_step_limit_ends_a_run_that_only_calls_tools() {
    let lookup = || Step::tool("call", "recent_changes", json!({"hours": 1}));
    let c = chat_with(
        vec![Script::new(
            "loop",
            vec![lookup(), lookup(), lookup(), lookup()],
        )],
        |config| config.max_steps = 2,
    )
    .await;
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket.send(query("loop forever", "ask")).await;
    let frames = socket.until_end().await;
    assert_eq!(of_type(&frames, "tool_result").len(), 2);
    assert_eq!(c.llm.requests().len(), 2);
    let complete = of_type(&frames, "message")
        .into_iter()
        .find(|f| f["is_complete"] == true)
        .expect("a final message");
    assert!(complete["text"]
        .as_str()
        .unwrap_or_default()
        .contains("stopped after 2 steps"));
    // Reused model ids stay unique in the session.
    let ids: Vec<&Value> = of_type(&frames, "tool_result")
        .iter()
        .map(|f| &f["tool_call_id"])
        .collect();
    assert_ne!(ids[0], ids[1]);
}

#[tokio::test]
async fn an_error_inside_the_model_stream_is_reported_not_taken_as_the_answer() {
    let c = chat(vec![Script::new(
        "flaky",
        vec![Step::FailMidStream("Half an ans".into())],
    )])
    .await;
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket.send(query("flaky model", "ask")).await;
    let frames = socket.until_end().await;
    let error = of_type(&frames, "error")[0];
    assert_eq!(error["code"], "LLM_ERROR");
    assert!(error["text"]
        .as_str()
        .unwrap_or_default()
        .contains("failed mid-stream"));
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

#[tokio::test]
async fn a_model_not_offered_is_refused() {
    let c = chat(vec![Script::new("hello", vec![Step::text(&["Hi."])])]).await;
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket
        .send(json!({"type": "query", "query": "hello", "model": "gpt-5-ultra"}))
        .await;
    assert_eq!(socket.next().await["code"], "MODEL_NOT_ALLOWED");
    socket
        .send(json!({"type": "query", "query": "hello", "model": MODEL}))
        .await;
    assert_eq!(streamed_text(&socket.until_end().await), "Hi.");
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

#[tokio::test]
async fn the_query_limit_holds_across_gateways() {
    let c = chat(vec![Script::new("ping", vec![Step::text(&["pong"])])]).await;
    let work = tempfile::tempdir().expect("a work dir");
    let other = c
        .app
        .second_gateway(agent_config(Some(&c.llm), &c.clis, work.path()))
        .await;
    let mut here = ChatSocket::open(&c.app, &c.admin, None).await;
    let mut there = ChatSocket::open_at(&c.app, &other, &c.admin, None).await;
    for i in 0..5 {
        let socket = if i % 2 == 0 { &mut here } else { &mut there };
        socket.send(query("ping", "ask")).await;
        assert_eq!(streamed_text(&socket.until_end().await), "pong");
    }
    for socket in [&mut here, &mut there] {
        socket.send(query("ping", "ask")).await;
        assert_eq!(socket.next().await["code"], "RATE_LIMITED");
    }
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

#[tokio::test]
async fn the_query_preferences_and_text_attachments_reach_the_model() {
    let c = chat(vec![Script::new(
        "look at this",
        vec![Step::text(&["Seen."])],
    )])
    .await;
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket
        .send(json!({
            "type": "query",
            "query": "look at this log",
            "mode": "ask",
            "provider_preference": ["gcp", "aws"],
            "selected_project_id": "shop-prod",
            "attachments": [{"name": "error.log", "content": "panic: connection pool exhausted"}],
        }))
        .await;
    assert_eq!(streamed_text(&socket.until_end().await), "Seen.");
    let request = &c.llm.requests()[0];
    let system = request["messages"][0]["content"]
        .as_str()
        .unwrap_or_default();
    assert!(
        system.contains("gcp, aws") && system.contains("shop-prod"),
        "{system}"
    );
    let question = request["messages"][1]["content"]
        .as_str()
        .unwrap_or_default();
    assert!(
        question.contains("panic: connection pool exhausted"),
        "{question}"
    );
}

#[tokio::test]
async fn the_read_tools_see_the_organisations_incidents_alerts_and_changes() {
    let c = chat(vec![]).await;
    let integration = c
        .app
        .post_json(
            "/api/integrations",
            Some(&c.admin),
            &json!({"source": "grafana", "name": "Grafana"}),
        )
        .await
        .expect_status(201);
    let url = integration["webhook_url"].as_str().expect("a webhook URL");
    let path = format!(
        "/webhooks/{}",
        url.split_once("/webhooks/").expect("a path").1
    );
    let body = json!({"receiver": "aurora", "status": "firing", "version": "1", "alerts": [{
        "status": "firing",
        "labels": {"alertname": "CheckoutLatency", "service": "checkout", "severity": "critical", "pod": "checkout-7"},
        "annotations": {"summary": "Checkout p99 above 2 s"},
        "startsAt": "2026-11-23T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "fp-checkout"
    }]});
    let delivered = c
        .app
        .http
        .post(c.app.url(&path))
        .bearer_auth(integration["secret"].as_str().expect("a secret"))
        .json(&body)
        .send()
        .await
        .expect("a response");
    assert_eq!(delivered.status(), 202);
    let started = std::time::Instant::now();
    let incident = loop {
        let list = c
            .app
            .get_json("/api/incidents", Some(&c.admin))
            .await
            .expect_status(200);
        if let Some(id) = list["items"][0]["id"].as_str() {
            break id.to_owned();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the delivered alert never became an incident within 20 s: {list}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    c.llm.push(Script::new(
        "what pod",
        vec![
            Step::ToolCalls(vec![
                (
                    "call_a".into(),
                    "get_alert_field".into(),
                    json!({"incident_id": incident, "field": "labels.pod"}),
                ),
                (
                    "call_b".into(),
                    "incident_lookup".into(),
                    json!({"incident_id": incident}),
                ),
                (
                    "call_c".into(),
                    "recent_changes".into(),
                    json!({"service": "checkout", "hours": 24}),
                ),
                (
                    "call_d".into(),
                    "incident_lookup".into(),
                    json!({"incident_id": Uuid::new_v4()}),
                ),
            ]),
            Step::text(&["checkout-7."]),
        ],
    ));
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket.send(query("what pod is failing?", "ask")).await;
    let frames = socket.until_end().await;
    let results = of_type(&frames, "tool_result");
    assert_eq!(results.len(), 3, "{frames:#?}");
    let output = |i: usize| results[i]["output"].as_str().unwrap_or_default().to_owned();
    let field: Value = serde_json::from_str(&output(0)).expect("JSON output");
    assert_eq!(field["value"], "checkout-7");
    assert!(
        output(1).contains("CheckoutLatency") || output(1).contains("Checkout p99"),
        "{}",
        output(1)
    );
    assert!(output(2).contains("\"changes\":[]"), "{}", output(2));
    let error = of_type(&frames, "tool_error")[0];
    assert!(error["error"]
        .as_str()
        .unwrap_or_default()
        .contains("no incident"));
}

/// Leaves what a handler that died mid-run leaves: a session with a question, a started tool
/// call and a pending confirmation, and no run holding the session's lease. Returns its id.
async fn leave_a_dead_run(c: &Chat) -> Uuid {
    let session = Uuid::now_v7();
    let question = Uuid::now_v7();
    let store =
        aurora_nats::AggregateStore::<aurora_domain::ChatSession>::new(c.app.nats.log.clone());
    let now = chrono::Utc::now();
    for command in [
        aurora_domain::ChatCommand::Start {
            id: aurora_domain::SessionId(session),
            owner: c.admin.user_id.to_string(),
            title: "crashed".into(),
            mode: aurora_domain::ChatMode::Agent,
            at: now,
        },
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
