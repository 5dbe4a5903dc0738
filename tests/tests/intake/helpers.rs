//! Connecting a source, delivering to it, and watching incidents and `INBOX`.

use std::time::{Duration, Instant};

use aurora_tests::{Account, Answer, TestApp};
use serde_json::{json, Value};

pub(crate) async fn integration(app: &TestApp, admin: &Account, source: &str, name: &str) -> Value {
    app.post_json(
        "/api/integrations",
        Some(admin),
        &json!({ "source": source, "name": name }),
    )
    .await
    .expect_status(201)
}

/// The path part of a webhook URL.
pub(crate) fn path_of(integration: &Value) -> String {
    let url = integration["webhook_url"].as_str().expect("webhook_url");
    url.split_once("/webhooks/")
        .map(|(_, rest)| format!("/webhooks/{rest}"))
        .expect("a /webhooks/ URL")
}

pub(crate) async fn deliver(app: &TestApp, path: &str, bearer: Option<&str>, body: &str) -> Answer {
    let mut request = app
        .http
        .post(app.url(path))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(secret) = bearer {
        request = request.bearer_auth(secret);
    }
    Answer::of(request.send().await).await
}

pub(crate) fn grafana(alerts: &[(&str, &str, &str, &str)]) -> String {
    let items: Vec<Value> = alerts
        .iter()
        .map(|(status, fingerprint, service, summary)| {
            json!({
                "status": status,
                "labels": { "alertname": summary, "service": service, "severity": "critical" },
                "annotations": { "summary": summary },
                "startsAt": "2026-11-23T10:00:00Z",
                "endsAt": if *status == "resolved" { "2026-11-23T10:05:00Z" } else { "0001-01-01T00:00:00Z" },
                "fingerprint": fingerprint,
            })
        })
        .collect();
    json!({ "receiver": "aurora", "status": "firing", "alerts": items, "version": "1" }).to_string()
}

/// Incidents of `who`'s organisation once `ready` says the list is complete.
pub(crate) async fn incidents_until(
    app: &TestApp,
    who: &Account,
    ready: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let body = app
            .get_json("/api/incidents", Some(who))
            .await
            .expect_status(200);
        let items = body["items"].as_array().cloned().unwrap_or_default();
        if ready(&items) {
            return items;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "incidents never became what was expected: {items:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) async fn inbox_messages(app: &TestApp) -> u64 {
    let mut stream = app
        .nats
        .jetstream()
        .get_stream("INBOX")
        .await
        .expect("INBOX");
    stream.info().await.expect("info").state.messages
}

/// The stored `INBOX` message at `sequence`, as the consumer runner hands it to the handler.
pub(crate) async fn inbox_delivery(
    app: &TestApp,
    sequence: u64,
    delivered: i64,
) -> aurora_nats::consumer::Delivery {
    let stream = app
        .nats
        .jetstream()
        .get_stream("INBOX")
        .await
        .expect("INBOX");
    let message = stream.get_raw_message(sequence).await.expect("stored");
    aurora_nats::consumer::Delivery {
        subject: message.subject.to_string(),
        stream_sequence: message.sequence,
        delivered,
        headers: Some(message.headers),
        payload: message.payload,
        published: message.time.with_timezone(&chrono::Utc),
    }
}
