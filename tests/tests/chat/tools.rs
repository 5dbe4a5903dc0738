//! The read-only tools: a command's result and the organisation's records reach the model.

use std::time::Duration;

use aurora_domain::{ChatEvent, GateVerdict};
use aurora_tests::chat::{of_type, streamed_text, ChatSocket};
use aurora_tests::llm::{Script, Step};
use serde_json::{json, Value};
use uuid::Uuid;

use super::helpers::{chat, query, session_events, session_of};

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
