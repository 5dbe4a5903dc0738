//! Answers: streamed token by token and kept with their usage, what reaches the model, what ends a
//! run, and a model that is missing, failing or not offered.

use std::time::Duration;

use aurora_domain::chat::fold;
use aurora_tests::chat::{of_type, streamed_text, ChatSocket, FakeClis};
use aurora_tests::llm::{Script, Step};
use aurora_tests::TestApp;
use serde_json::{json, Value};

use super::helpers::{
    agent_config, chat, chat_with, query, session_events, session_of, settled, MODEL,
};

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
    assert_eq!(request["tools"].as_array().map(Vec::len), Some(7));

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
async fn a_failing_model_endpoint_is_reported() {
    let c = chat(vec![Script::new("break", vec![Step::Fail(500)])]).await;
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket.send(query("break please", "ask")).await;
    let frames = socket.until_end().await;
    let error = of_type(&frames, "error")[0];
    assert_eq!(error["code"], "LLM_ERROR");
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
async fn the_models_offered_are_listed_default_first() {
    let c = chat_with(vec![], |agent| {
        agent.models = vec!["other-model".into(), MODEL.into()];
    })
    .await;
    let models = c
        .app
        .get_json("/api/chat/models", Some(&c.admin))
        .await
        .expect_status(200);
    assert_eq!(
        models,
        json!({"default": MODEL, "models": [MODEL, "other-model"]})
    );
    c.app
        .get_json("/api/chat/models", None)
        .await
        .expect_status(401);
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
