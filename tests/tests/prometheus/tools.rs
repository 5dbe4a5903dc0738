//! `aurora_tool_calls_total` by outcome: tool calls that fail count under `error`, a name the
//! model made up under the tool `unknown`.

use aurora_tests::chat::{of_type, ChatSocket};
use aurora_tests::llm::{Script, Step};
use aurora_tests::scrape::scrape;
use serde_json::json;

use crate::chat::helpers::{chat, query};

const TOOLS: &str = "aurora_tool_calls_total";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_calls_that_fail_count_under_outcome_error() {
    // Datadog is not connected (the chat harness connects only the clouds and Kubernetes), and
    // no tool is called `drop_database`.
    let c = chat(vec![Script::new(
        "errors in checkout",
        vec![
            Step::ToolCalls(vec![
                (
                    "call_1".into(),
                    "datadog_logs".into(),
                    json!({"query": "service:checkout status:error", "since_minutes": 30}),
                ),
                ("call_2".into(), "drop_database".into(), json!({})),
            ]),
            Step::text(&["I could read nothing."]),
        ],
    )])
    .await;
    let url = c.app.url("/metrics");
    let before = scrape(&c.app.http, &url).await;

    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket.send(query("any errors in checkout?", "ask")).await;
    let frames = socket.until_end().await;
    assert_eq!(of_type(&frames, "tool_error").len(), 2, "{frames:#?}");
    assert!(of_type(&frames, "tool_result").is_empty());
    let after = scrape(&c.app.http, &url).await;

    let calls =
        |tool, outcome| after.moved_since(&before, TOOLS, &[("tool", tool), ("outcome", outcome)]);
    assert_eq!(calls("datadog_logs", "error"), 1.0);
    assert_eq!(calls("unknown", "error"), 1.0);
    for tool in ["datadog_logs", "unknown"] {
        assert!(
            !after.has(TOOLS, &[("tool", tool), ("outcome", "ok")]),
            "{tool}"
        );
    }
    assert!(!after.has(TOOLS, &[("tool", "drop_database"), ("outcome", "error")]));
}
