//! What a webhook gets when JetStream is unreachable: 503 with `Retry-After`, never 202 — and
//! once the server is back, deliveries are accepted again.

use std::time::Duration;

use aurora_tests::{Answer, TestApp};
use serde_json::json;

fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill {signal} {pid}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_gets_503_with_retry_after_while_jetstream_is_unreachable() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let created = app
        .post_json(
            "/api/integrations",
            Some(&admin),
            &json!({ "source": "grafana", "name": "Prod Grafana" }),
        )
        .await
        .expect_status(201);
    let url = created["webhook_url"].as_str().expect("url");
    let path = format!(
        "/webhooks/{}",
        url.split_once("/webhooks/").expect("path").1
    );
    let secret = created["secret"].as_str().expect("secret");
    let body = |fingerprint: &str| {
        json!({ "receiver": "aurora", "status": "firing", "alerts": [{
            "status": "firing", "labels": { "alertname": "Disk", "service": "db" },
            "annotations": { "summary": "Disk full" }, "startsAt": "2026-11-23T10:00:00Z",
            "fingerprint": fingerprint }] })
        .to_string()
    };
    let deliver = |b: String| {
        let request = app
            .http
            .post(app.url(&path))
            .bearer_auth(secret)
            .header("content-type", "application/json")
            .body(b);
        async move { Answer::of(request.send().await).await }
    };
    // Warm: the integration is known to the intake.
    deliver(body("fp-1")).await.expect_status(202);

    let pid = app.nats.server.pid().expect("nats-server pid");
    signal(pid, "-STOP");
    let answer = tokio::time::timeout(Duration::from_secs(30), deliver(body("fp-2")))
        .await
        .expect("an answer, not a hang");
    signal(pid, "-CONT");
    answer.expect_error(503, "unavailable");
    let retry_after: u64 = answer
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!(retry_after >= 1);

    // Back: accepted again (the refused delivery, retried by its source, too).
    let mut accepted = false;
    for _ in 0..100 {
        if deliver(body("fp-2")).await.status == 202 {
            accepted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        accepted,
        "deliveries are accepted once JetStream answers again"
    );
    app.stop().await;
}
