//! `GET /metrics` after a scripted scenario: every counter the scenario touches moved by exactly
//! what it did, read back through a Prometheus text-format parser. The scenarios of single
//! series are in the submodules.

mod conflicts;
mod consumers;
mod investigations;
mod streams;
mod tools;

use aurora_handlers::agent::PriceTable;
use aurora_nats::subjects::EVENTS_STREAM;
use aurora_projections::Projector;
use aurora_tests::chat::{of_type, ChatSocket};
use aurora_tests::llm::{Script, Step};
use aurora_tests::scrape::{scrape, scrape_until, Scraped};
use aurora_tests::TestApp;
use serde_json::json;
use uuid::Uuid;

use crate::chat::helpers::{chat, query, MODEL};
use crate::intake::helpers::{deliver, grafana, incidents_until, integration, path_of};

const WEBHOOK_ROUTE: &str = "/webhooks/{source}/{integration_id}";

/// Events stored on `filter` (e.g. every incident's subject) in the app's `EVENTS`.
async fn events_on(app: &TestApp, filter: &str) -> u64 {
    let stream = app
        .nats
        .jetstream()
        .get_stream(EVENTS_STREAM)
        .await
        .expect("EVENTS");
    let info = stream
        .info_with_subjects(filter)
        .await
        .expect("subjects of EVENTS");
    use futures::StreamExt;
    let subjects: Vec<(String, usize)> = info.filter_map(|s| async move { s.ok() }).collect().await;
    subjects.iter().map(|(_, count)| *count as u64).sum()
}

#[tokio::test]
async fn a_scripted_scenario_moves_each_counter_by_exactly_what_it_did() {
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
    let app = &c.app;
    let url = app.url("/metrics");
    let grafana_integration = integration(app, &c.admin, "grafana", "Grafana").await;
    let path = path_of(&grafana_integration);
    let secret = grafana_integration["secret"].as_str().expect("a secret");
    let before = scrape(&app.http, &url).await;

    // Webhooks: two accepted, one with a wrong secret, one for an integration that does not
    // exist, one naming no source at all.
    // Two unrelated alerts: two incidents.
    for (fingerprint, service, title) in [
        ("fp-1", "checkout", "Checkout down"),
        ("fp-2", "ledger", "Nightly ledger export stalled"),
    ] {
        let body = grafana(&[("firing", fingerprint, service, title)]);
        deliver(app, &path, Some(secret), &body)
            .await
            .expect_status(202);
    }
    let body = grafana(&[("firing", "fp-3", "checkout", "Checkout down")]);
    deliver(app, &path, Some("wrong"), &body)
        .await
        .expect_status(401);
    let nowhere = format!("/webhooks/grafana/{}", Uuid::new_v4());
    deliver(app, &nowhere, Some(secret), &body)
        .await
        .expect_status(404);
    let nonsense = format!("/webhooks/no-such-source/{}", Uuid::new_v4());
    deliver(app, &nonsense, Some(secret), &body)
        .await
        .expect_status(404);

    // A chat answer with one tool call: two model calls.
    let mut socket = ChatSocket::open(app, &c.admin, None).await;
    socket
        .send(query("which instances run checkout?", "ask"))
        .await;
    let frames = socket.until_end().await;
    assert_eq!(of_type(&frames, "tool_result").len(), 1);
    let open_during = scrape(&app.http, &url).await;
    drop(socket);

    // The incidents projector applies what the deliveries opened.
    incidents_until(app, &c.admin, |items| items.len() == 2).await;
    let incident_events = events_on(app, "evt.*.incident.*").await as f64;
    let incidents = Projector::Incidents.name();
    let projected = |s: &Scraped| {
        s.moved_since(
            &before,
            "aurora_projector_batch_messages_sum",
            &[("projector", incidents)],
        ) == incident_events
    };
    let closed = |s: &Scraped| s.value("aurora_websockets_open", &[]) == 0.0;
    // The lag is read from JetStream every second: wait for the reading after the last ack.
    let drained = |s: &Scraped| {
        s.value(
            "aurora_consumer_pending_messages",
            &[("consumer", "ingest")],
        ) == 0.0
    };
    let after = scrape_until(&app.http, &url, |s| projected(s) && closed(s) && drained(s)).await;

    let grafana = [("source", "grafana")];
    assert_eq!(
        after.moved_since(&before, "aurora_webhooks_received_total", &grafana),
        4.0
    );
    assert_eq!(
        after.moved_since(
            &before,
            "aurora_webhooks_received_total",
            &[("source", "unknown")]
        ),
        1.0,
        "a path naming no source counts as unknown, not as what it said"
    );
    assert!(!after.has(
        "aurora_webhooks_received_total",
        &[("source", "no-such-source")]
    ));
    assert_eq!(
        after.moved_since(&before, "aurora_webhooks_accepted_total", &grafana),
        2.0
    );
    let refused = |source, reason| {
        after.moved_since(
            &before,
            "aurora_webhooks_refused_total",
            &[("source", source), ("reason", reason)],
        )
    };
    assert_eq!(refused("grafana", "invalid_signature"), 1.0);
    assert_eq!(refused("grafana", "not_found"), 1.0);
    assert_eq!(refused("unknown", "not_found"), 1.0);
    assert_eq!(
        after.moved_since(
            &before,
            "aurora_webhook_intake_duration_seconds_count",
            &grafana
        ),
        4.0
    );
    assert!(
        after.moved_since(
            &before,
            "aurora_webhook_intake_duration_seconds_sum",
            &grafana
        ) > 0.0
    );

    // HTTP requests by route template, never by raw path.
    let webhook = |status| {
        after.moved_since(
            &before,
            "aurora_http_requests_total",
            &[
                ("method", "POST"),
                ("route", WEBHOOK_ROUTE),
                ("status", status),
            ],
        )
    };
    assert_eq!(
        webhook("202"),
        2.0,
        "{:?}",
        after.label_sets("aurora_http_requests_total")
    );
    assert_eq!(webhook("401"), 1.0);
    assert_eq!(webhook("404"), 2.0);
    for labels in after.label_sets("aurora_http_requests_total") {
        let route = labels
            .iter()
            .find(|(k, _)| k == "route")
            .map(|(_, v)| v.as_str());
        let route = route.unwrap_or_default();
        assert!(
            !route.contains(&path) && !route.contains("no-such-source"),
            "a raw path became a label: {route}"
        );
    }

    // The agent: one tool call, two model calls of 120 + 30 tokens (the scripted usage).
    assert_eq!(
        after.moved_since(
            &before,
            "aurora_tool_calls_total",
            &[("tool", "cloud_exec"), ("outcome", "ok")]
        ),
        1.0
    );
    let tokens = |kind| {
        after.moved_since(
            &before,
            "aurora_llm_tokens_total",
            &[("model", MODEL), ("kind", kind)],
        )
    };
    assert_eq!(tokens("input"), 240.0);
    assert_eq!(tokens("output"), 60.0);
    let prices = PriceTable::default()
        .with(&format!("{MODEL}=2/8"))
        .expect("the chat harness's price");
    let per_call = prices.cost(MODEL, 120, 30).micros as f64 / 1e6;
    let cost = after.moved_since(&before, "aurora_llm_cost_usd_total", &[("model", MODEL)]);
    assert!(
        (cost - 2.0 * per_call).abs() < 1e-12,
        "cost {cost}, expected {}",
        2.0 * per_call
    );

    // The socket counted as open while it was, and no longer.
    assert_eq!(open_during.value("aurora_websockets_open", &[]), 1.0);
    assert_eq!(after.value("aurora_websockets_open", &[]), 0.0);

    // The projector: every incident event in batches, timed once per batch.
    let projector = [("projector", incidents)];
    assert_eq!(
        after.moved_since(&before, "aurora_projector_batch_messages_sum", &projector),
        incident_events
    );
    let batches = after.moved_since(&before, "aurora_projector_batch_messages_count", &projector);
    assert!(
        batches >= 1.0 && batches <= incident_events,
        "{batches} batches"
    );
    assert_eq!(
        after.moved_since(
            &before,
            "aurora_projector_apply_duration_seconds_count",
            &projector
        ),
        batches
    );

    // The consumers: ingest read both deliveries and has nothing left; nothing was
    // redelivered, dead-lettered or retried after a conflict.
    assert_eq!(
        after.value(
            "aurora_consumer_pending_messages",
            &[("consumer", "ingest")]
        ),
        0.0
    );
    assert!(after.has(
        "aurora_consumer_pending_messages",
        &[("consumer", "proj-incidents")]
    ));
    assert_eq!(
        after.moved_since(
            &before,
            "aurora_consumer_redeliveries_total",
            &[("consumer", "ingest")]
        ),
        0.0
    );
    assert_eq!(
        after.moved_since(
            &before,
            "aurora_dead_lettered_messages_total",
            &[("consumer", "ingest")]
        ),
        0.0
    );
    assert!(after.has(
        "aurora_command_conflicts_total",
        &[("aggregate", "incident")]
    ));

    // No tenant id is a label by default.
    for name in after.names() {
        for labels in after.label_sets(name) {
            assert!(
                labels.iter().all(|(k, _)| k != "tenant"),
                "{name} is labelled by tenant"
            );
        }
    }
}

#[tokio::test]
async fn tenant_labels_are_there_only_when_asked_for() {
    let app = TestApp::launch()
        .api(aurora_gateway::api::ApiConfig {
            metrics_tenant_labels: true,
            ..aurora_tests::test_api_config()
        })
        .spawn()
        .await;
    let admin = app
        .register(&format!("ana-{}@acme.io", Uuid::new_v4().simple()), "Acme")
        .await;
    let grafana_integration = integration(&app, &admin, "grafana", "Grafana").await;
    let secret = grafana_integration["secret"].as_str().expect("a secret");
    let body = grafana(&[("firing", "fp-1", "checkout", "Checkout down")]);
    deliver(&app, &path_of(&grafana_integration), Some(secret), &body)
        .await
        .expect_status(202);
    let scraped = scrape(&app.http, &app.url("/metrics")).await;
    assert_eq!(
        scraped.value(
            "aurora_webhooks_accepted_total",
            &[("source", "grafana"), ("tenant", admin.tenant.as_str())]
        ),
        1.0
    );
}

#[tokio::test]
async fn a_separate_metrics_listener_serves_them_and_the_gateway_port_does_not() {
    let port = aurora_nats::server::free_port().expect("a free port");
    let listen: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("an address");
    let app = TestApp::launch()
        .api(aurora_gateway::api::ApiConfig {
            metrics_listen: Some(listen),
            ..aurora_tests::test_api_config()
        })
        .spawn()
        .await;
    app.get_json("/metrics", None).await.expect_status(404);
    let url = format!("http://{listen}/metrics");
    // The listener is bound as the app starts, beside the gateway's.
    let started = std::time::Instant::now();
    while app.http.get(&url).send().await.is_err() {
        assert!(
            started.elapsed().as_secs() < 10,
            "the metrics listener never answered"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let scraped = scrape(&app.http, &url).await;
    assert!(scraped.has("aurora_websockets_open", &[]));
    assert!(scraped.has(
        "aurora_command_conflicts_total",
        &[("aggregate", "incident")]
    ));
}
