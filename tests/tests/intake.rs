//! Integrations and webhook intake end to end: a source posts to its URL, the delivery is made
//! durable on `INBOX`, the ingest handler correlates it into incidents.

use std::time::{Duration, Instant};

use aurora_tests::{Account, Answer, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

async fn integration(app: &TestApp, admin: &Account, source: &str, name: &str) -> Value {
    app.post_json(
        "/api/integrations",
        Some(admin),
        &json!({ "source": source, "name": name }),
    )
    .await
    .expect_status(201)
}

/// The path part of a webhook URL.
fn path_of(integration: &Value) -> String {
    let url = integration["webhook_url"].as_str().expect("webhook_url");
    url.split_once("/webhooks/")
        .map(|(_, rest)| format!("/webhooks/{rest}"))
        .expect("a /webhooks/ URL")
}

async fn deliver(app: &TestApp, path: &str, bearer: Option<&str>, body: &str) -> Answer {
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

fn grafana(alerts: &[(&str, &str, &str, &str)]) -> String {
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
async fn incidents_until(
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

async fn inbox_messages(app: &TestApp) -> u64 {
    let mut stream = app
        .nats
        .jetstream()
        .get_stream("INBOX")
        .await
        .expect("INBOX");
    stream.info().await.expect("info").state.messages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_connects_a_source_and_gets_its_url_secret_and_setup() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let viewer = app
        .invite_and_register(&admin, "vi@acme.io", "viewer")
        .await;

    let created = integration(&app, &admin, "grafana", "Prod Grafana").await;
    let secret = created["secret"].as_str().expect("a generated secret");
    assert!(secret.starts_with("aurora_wh_"));
    assert!(path_of(&created).starts_with("/webhooks/grafana/"));
    assert_eq!(created["setup"]["header"], "authorization");
    assert_eq!(created["setup"]["header_value"], format!("Bearer {secret}"));
    assert_eq!(created["rca_on_new_incidents"], true, "Grafana's default");

    // Listed and shown without the secret; the secret is not in any event or row either.
    let id = created["id"].as_str().expect("id");
    let shown = app
        .get_json(&format!("/api/integrations/{id}"), Some(&viewer))
        .await
        .expect_status(200);
    assert_eq!(shown["name"], "Prod Grafana");
    assert!(!shown.to_string().contains(secret));
    let rows: Vec<String> = sqlx::query_scalar("SELECT state FROM integrations")
        .fetch_all(&app.db.pool)
        .await
        .expect("rows");
    assert!(rows.iter().all(|r| !r.contains(secret)) && !rows.is_empty());
    let sources = app
        .get_json("/api/integrations/sources", Some(&viewer))
        .await
        .expect_status(200);
    assert!(sources["items"]
        .as_array()
        .expect("sources")
        .iter()
        .any(|s| s["name"] == "grafana" && s["auth"]["kind"] == "secret"));

    // Only admins connect sources; unknown sources are named.
    app.post_json(
        "/api/integrations",
        Some(&viewer),
        &json!({ "source": "grafana", "name": "x" }),
    )
    .await
    .expect_error(403, "forbidden");
    app.post_json(
        "/api/integrations",
        Some(&admin),
        &json!({ "source": "nagios", "name": "x" }),
    )
    .await
    .expect_error(400, "unknown_source");
    app.post_json(
        "/api/integrations",
        Some(&admin),
        &json!({ "source": "grafana", "name": "x", "secret": "mine" }),
    )
    .await
    .expect_error(400, "invalid_body");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_firing_alert_becomes_an_incident_and_its_resolve_is_attached() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let created = integration(&app, &admin, "grafana", "Prod Grafana").await;
    let (path, secret) = (
        path_of(&created),
        created["secret"].as_str().expect("secret"),
    );

    let firing = grafana(&[("firing", "fp-1", "checkout", "Checkout latency high")]);
    let accepted = deliver(&app, &path, Some(secret), &firing)
        .await
        .expect_status(202);
    assert!(accepted["delivery_id"]
        .as_str()
        .is_some_and(|d| d.len() == 64));
    assert_eq!(accepted["duplicate"], false);
    let items = incidents_until(&app, &admin, |i| i.len() == 1).await;
    assert_eq!(items[0]["title"], "Checkout latency high");
    assert_eq!(items[0]["service"], "checkout");
    assert_eq!(items[0]["severity"], "critical");
    assert_eq!(items[0]["source"], "grafana");

    // The same delivery again is accepted and changes nothing.
    let again = deliver(&app, &path, Some(secret), &firing)
        .await
        .expect_status(202);
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["delivery_id"], accepted["delivery_id"]);

    let resolved = grafana(&[("resolved", "fp-1", "checkout", "Checkout latency high")]);
    deliver(&app, &path, Some(secret), &resolved)
        .await
        .expect_status(202);
    let id = items[0]["id"].as_str().expect("id");
    let started = Instant::now();
    loop {
        let detail = app
            .get_json(&format!("/api/incidents/{id}"), Some(&admin))
            .await
            .expect_status(200);
        let timeline = detail["timeline"].to_string();
        if timeline.contains("resolve_notification") || timeline.contains("Resolve notification") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{detail}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let items = incidents_until(&app, &admin, |i| i.len() == 1).await;
    assert_eq!(items.len(), 1, "no second incident");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_deliveries_are_refused_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let created = integration(&app, &admin, "grafana", "Prod Grafana").await;
    let (path, secret) = (
        path_of(&created),
        created["secret"].as_str().expect("secret"),
    );
    let body = grafana(&[("firing", "fp-1", "checkout", "Checkout latency high")]);
    let id = created["id"].as_str().expect("id");
    let before = inbox_messages(&app).await;

    deliver(&app, &path, None, &body)
        .await
        .expect_error(401, "invalid_signature");
    deliver(&app, &path, Some("aurora_wh_wrong"), &body)
        .await
        .expect_error(401, "invalid_signature");
    deliver(&app, &path, Some(secret), "this is not json")
        .await
        .expect_error(400, "invalid_json");
    deliver(
        &app,
        &path,
        Some(secret),
        r#"{"alerts":[{"status":"firing"}]}"#,
    )
    .await
    .expect_error(400, "invalid_payload");
    Answer::of(app.http.get(app.url(&path)).send().await)
        .await
        .expect_error(405, "method_not_allowed");
    let huge = format!(r#"{{"alerts":[],"pad":"{}"}}"#, "x".repeat(2 * 1024 * 1024));
    deliver(&app, &path, Some(secret), &huge)
        .await
        .expect_error(413, "payload_too_large");
    for unknown in [
        "/webhooks/grafana/0190a0b0-0000-7000-8000-000000000000".to_owned(),
        "/webhooks/grafana/not-a-uuid".to_owned(),
        format!("/webhooks/datadog/{id}"),
    ] {
        deliver(&app, &unknown, Some(secret), &body)
            .await
            .expect_error(404, "not_found");
    }
    // Disabled, then deleted: 404.
    app.request(
        Method::PATCH,
        &format!("/api/integrations/{id}"),
        Some(&admin),
    )
    .json(&json!({ "settings": { "enabled": false } }))
    .send()
    .await
    .expect("patch");
    deliver(&app, &path, Some(secret), &body)
        .await
        .expect_error(404, "not_found");
    app.request(
        Method::PATCH,
        &format!("/api/integrations/{id}"),
        Some(&admin),
    )
    .json(&json!({ "settings": { "enabled": true } }))
    .send()
    .await
    .expect("patch");
    deliver(&app, &path, Some(secret), &body)
        .await
        .expect_status(202);
    let stored = inbox_messages(&app).await;
    assert_eq!(stored, before + 1, "only the good delivery was stored");

    let deleted = app
        .request(
            Method::DELETE,
            &format!("/api/integrations/{id}"),
            Some(&admin),
        )
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status().as_u16(), 204);
    deliver(&app, &path, Some(secret), &body)
        .await
        .expect_error(404, "not_found");
    app.get_json(&format!("/api/integrations/{id}"), Some(&admin))
        .await
        .expect_error(404, "not_found");
    assert_eq!(inbox_messages(&app).await, stored);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_secret_replaces_the_old_one_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let created = integration(&app, &admin, "grafana", "Prod Grafana").await;
    let (path, old) = (
        path_of(&created),
        created["secret"].as_str().expect("secret"),
    );
    let body = grafana(&[("firing", "fp-1", "checkout", "Checkout latency high")]);
    deliver(&app, &path, Some(old), &body)
        .await
        .expect_status(202);
    let id = created["id"].as_str().expect("id");
    let rotated = app
        .post_json(
            &format!("/api/integrations/{id}/rotate-secret"),
            Some(&admin),
            &json!({}),
        )
        .await
        .expect_status(200);
    let new = rotated["secret"].as_str().expect("new secret");
    assert_ne!(new, old);
    deliver(&app, &path, Some(old), &body)
        .await
        .expect_error(401, "invalid_signature");
    deliver(&app, &path, Some(new), &body)
        .await
        .expect_status(202);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_that_arrive_together_open_one_incident_with_the_score_explained() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let created = integration(&app, &admin, "grafana", "Prod Grafana").await;
    let (path, secret) = (
        path_of(&created),
        created["secret"].as_str().expect("secret"),
    );
    // Eight deliveries about one service, all at once, each its own request.
    let bodies: Vec<String> = (0..8)
        .map(|i| {
            grafana(&[(
                "firing",
                &format!("fp-{i}"),
                "checkout",
                &format!("Checkout latency high on pod {i}"),
            )])
        })
        .collect();
    let answers =
        futures::future::join_all(bodies.iter().map(|b| deliver(&app, &path, Some(secret), b)))
            .await;
    for a in answers {
        a.expect_status(202);
    }
    let items = incidents_until(&app, &admin, |i| {
        i.len() == 1 && i[0]["correlated_alert_count"].as_i64() == Some(7)
    })
    .await;
    assert_eq!(items.len(), 1, "one incident, never two");
    let id = items[0]["id"].as_str().expect("id");
    let detail = app
        .get_json(&format!("/api/incidents/{id}"), Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(detail["alerts"].as_array().map(Vec::len), Some(8));
    let correlated = detail["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .find(|a| !a["correlation"].is_null())
        .expect("a correlated alert");
    assert_eq!(correlated["correlation"]["topology"], 1.0, "same service");
    assert!(correlated["correlation"]["score"].as_f64() >= Some(0.6));
    assert!(
        detail["timeline"].to_string().contains("score"),
        "the timeline explains the score: {}",
        detail["timeline"]
    );
    // There is no service graph yet: the explanation says topology was the service names.
    assert!(
        detail["timeline"]
            .to_string()
            .contains("topology (service-name fallback: no service graph yet) 1.00"),
        "{}",
        detail["timeline"]
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correlation_settings_shadow_mode_and_the_dry_run() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let viewer = app
        .invite_and_register(&admin, "vi@acme.io", "viewer")
        .await;
    let defaults = app
        .get_json("/api/correlation/settings", Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(defaults["settings"]["threshold"], 0.6);
    assert_eq!(defaults["settings"]["window_secs"], 300);
    app.get_json("/api/correlation/settings", Some(&viewer))
        .await
        .expect_error(403, "forbidden");
    let put = |body: Value| {
        let app = &app;
        let admin = &admin;
        async move {
            Answer::of(
                app.request(Method::PUT, "/api/correlation/settings", Some(admin))
                    .json(&body)
                    .send()
                    .await,
            )
            .await
        }
    };
    put(json!({ "topology_weight": 0.5, "time_weight": 0.3, "similarity_weight": 0.1 }))
        .await
        .expect_error(422, "invalid_settings");
    put(json!({ "max_group_size": 51 }))
        .await
        .expect_error(422, "invalid_settings");
    put(json!({ "thresold": 0.5 }))
        .await
        .expect_error(400, "invalid_body");

    // Two alerts that correlate under the defaults.
    let created = integration(&app, &admin, "grafana", "Prod Grafana").await;
    let (path, secret) = (
        path_of(&created),
        created["secret"].as_str().expect("secret"),
    );
    let from = chrono::Utc::now() - chrono::Duration::seconds(1);
    for i in 0..2 {
        let body = grafana(&[(
            "firing",
            &format!("fp-{i}"),
            "checkout",
            "Checkout latency high",
        )]);
        deliver(&app, &path, Some(secret), &body)
            .await
            .expect_status(202);
        incidents_until(&app, &admin, |items| {
            items.len() == 1 && items[0]["correlated_alert_count"].as_i64() == Some(i)
        })
        .await;
    }
    let to = chrono::Utc::now() + chrono::Duration::seconds(1);

    // The dry run with a threshold nothing reaches: both alerts would stand alone.
    let report = app
        .post_json(
            "/api/correlation/dry-run",
            Some(&admin),
            &json!({ "settings": { "threshold": 1.0 }, "from": from, "to": to }),
        )
        .await
        .expect_status(200);
    assert_eq!(report["deliveries"], 2, "{report}");
    assert_eq!(report["alerts"], 2);
    assert_eq!(report["incidents_then"], 1);
    assert_eq!(report["incidents_would_be"], 2);
    let changed = report["changed"].as_array().expect("changed");
    assert_eq!(changed.len(), 2, "{report}");
    assert!(changed[1]["decision_now"]
        .as_str()
        .is_some_and(|d| d.contains("below threshold")));
    // The same settings as today change nothing; nothing was written by either run.
    let same = app
        .post_json(
            "/api/correlation/dry-run",
            Some(&admin),
            &json!({ "settings": {}, "from": from, "to": to }),
        )
        .await
        .expect_status(200);
    assert_eq!(same["changed"].as_array().map(Vec::len), Some(0), "{same}");
    app.post_json(
        "/api/correlation/dry-run",
        Some(&admin),
        &json!({ "settings": {}, "from": to, "to": from }),
    )
    .await
    .expect_error(400, "invalid_period");

    // Shadow mode records decisions but opens a new incident for each alert.
    put(json!({ "shadow_mode": true })).await.expect_status(200);
    let shown = app
        .get_json("/api/correlation/settings", Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(shown["settings"]["shadow_mode"], true);
    let body = grafana(&[("firing", "fp-9", "checkout", "Checkout latency high")]);
    deliver(&app, &path, Some(secret), &body)
        .await
        .expect_status(202);
    let items = incidents_until(&app, &admin, |items| items.len() == 2).await;
    assert_eq!(items.len(), 2, "shadow mode did not correlate");
    app.stop().await;
}

/// The stored `INBOX` message at `sequence`, as the consumer runner hands it to the handler.
async fn inbox_delivery(
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_redelivered_after_a_crash_opens_nothing_twice() {
    use aurora_domain::correlation::{
        correlator_id, CorrelationSettings, CorrelatorEvent, CorrelatorSnapshot, PendingAlert,
        ServiceGraph,
    };
    use aurora_gateway::app::Role;
    use esrs::event::Upcaster;
    // No handlers role: this test is the handler, and crashes where it likes.
    let app = TestApp::spawn_with_roles(vec![Role::Gateway, Role::Projections]).await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let created = integration(&app, &admin, "grafana", "Prod Grafana").await;
    let (path, secret) = (
        path_of(&created),
        created["secret"].as_str().expect("secret"),
    );
    for i in 1..=2 {
        let body = grafana(&[(
            "firing",
            &format!("fp-{i}"),
            "checkout",
            "Checkout latency high",
        )]);
        deliver(&app, &path, Some(secret), &body)
            .await
            .expect_status(202);
    }
    let services = app.services();
    let ingest = aurora_handlers::ingest::Ingest::new(
        services.log.clone(),
        services.incidents.clone(),
        services.integrations.clone(),
    );
    // The first delivery is handled completely.
    ingest
        .handle(vec![inbox_delivery(&app, 1, 1).await])
        .await
        .expect("handled");

    // The second one: a handler decided it (in shadow mode, so: its own incident), appended the
    // decision, and crashed before opening anything or acking.
    let tenant = admin.tenant.clone();
    let log = &services.log;
    let id = correlator_id(tenant.as_str());
    let subject = aurora_nats::subjects::aggregate(&tenant, "correlator", id);
    let last = log
        .last_event(&subject)
        .await
        .expect("log")
        .expect("a decision");
    let mut snapshot = CorrelatorEvent::upcast(last.data.clone(), last.version)
        .expect("event")
        .into_snapshot();
    snapshot.settings = CorrelationSettings {
        shadow_mode: true,
        ..CorrelationSettings::default()
    };
    let second = inbox_delivery(&app, 2, 1).await;
    let pending = PendingAlert {
        inbox_sequence: 2,
        index: 0,
        alert_id: "grafana:fp-2@1795428000".into(),
        fingerprint: "fp-2".into(),
        title: "Checkout latency high".into(),
        service: "checkout".into(),
        received_at: second.published,
    };
    let decisions =
        snapshot.decide_all(tenant.as_str(), vec![pending.clone()], &ServiceGraph::new());
    assert!(decisions[0].opens(), "shadow mode opens");
    let crashed = decisions[0].incident_id;
    snapshot.settings = CorrelationSettings::default();
    aurora_nats::log::append_event(
        log,
        &tenant,
        "correlator",
        id,
        last.stream_sequence,
        last.aggregate_sequence + 1,
        &CorrelatorEvent::Decided {
            decisions,
            snapshot: CorrelatorSnapshot { ..snapshot },
            at: chrono::Utc::now(),
        },
        &aurora_nats::Context::new_root(),
    )
    .await
    .expect("appended");

    // Redelivered: the decision on the log stands (a fresh one would have correlated).
    ingest
        .handle(vec![inbox_delivery(&app, 2, 2).await])
        .await
        .expect("handled");
    // And everything once more, as if the batch came back a third time.
    ingest
        .handle(vec![
            inbox_delivery(&app, 1, 3).await,
            inbox_delivery(&app, 2, 3).await,
        ])
        .await
        .expect("handled");

    let items = incidents_until(&app, &admin, |items| items.len() == 2).await;
    assert!(items.iter().any(|i| i["id"] == crashed.0.to_string()));
    let mut alerts = 0;
    for item in &items {
        assert_eq!(item["correlated_alert_count"], 0, "{item}");
        let detail = app
            .get_json(
                &format!("/api/incidents/{}", item["id"].as_str().expect("id")),
                Some(&admin),
            )
            .await
            .expect_status(200);
        alerts += detail["alerts"].as_array().map_or(0, Vec::len);
    }
    assert_eq!(alerts, 2, "each alert exactly once");
    let decided = log.read_subject(&subject, 1).await.expect("log");
    assert_eq!(decided.len(), 2, "no decision was made twice");
    app.stop().await;
}

/// AWS CloudWatch alarms through Amazon SNS: a local stand-in for SNS serves the signing
/// certificate and records subscription confirmations; messages are signed with the fixture key.
mod cloudwatch_sns {
    use std::sync::{Arc, Mutex};

    use aurora_gateway::api::ApiConfig;
    use aurora_gateway::app::Role;
    use aurora_tests::test_api_config;
    use base64::Engine as _;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::signature::{SignatureEncoding, Signer};

    use super::*;

    const KEY: &str = include_str!("../fixtures/sns/key.pem");
    const CERT: &str = include_str!("../fixtures/sns/cert.pem");
    const TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:cloudwatch-alarms";
    const CERT_PATH: &str = "/SimpleNotificationService-local.pem";

    /// What the stand-in saw: certificate fetches and confirmation GETs (their query).
    #[derive(Clone, Default)]
    struct Seen {
        cert_fetches: Arc<Mutex<u32>>,
        confirmations: Arc<Mutex<Vec<String>>>,
    }

    /// Serves the certificate and the confirmation endpoint on 127.0.0.1:0; its origin.
    async fn sns_stand_in(seen: Seen) -> String {
        use axum::extract::RawQuery;
        use axum::routing::get;
        let certs = seen.clone();
        let router = axum::Router::new()
            .route(
                CERT_PATH,
                get(move || {
                    let certs = certs.clone();
                    async move {
                        *certs.cert_fetches.lock().expect("lock") += 1;
                        CERT
                    }
                }),
            )
            .route(
                "/broken.pem",
                get(|| async { axum::http::StatusCode::INTERNAL_SERVER_ERROR }),
            )
            .route(
                "/confirm",
                get(move |RawQuery(query): RawQuery| {
                    let seen = seen.clone();
                    async move {
                        seen.confirmations
                            .lock()
                            .expect("lock")
                            .push(query.unwrap_or_default());
                        "<ConfirmSubscriptionResponse><ConfirmSubscriptionResult><SubscriptionArn>arn:aws:sns:eu-west-1:123456789012:cloudwatch-alarms:1</SubscriptionArn></ConfirmSubscriptionResult></ConfirmSubscriptionResponse>"
                    }
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the SNS stand-in");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, router).await });
        format!("http://{addr}")
    }

    fn now() -> String {
        chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string()
    }

    /// The string SNS signs, written out from AWS's documentation.
    fn canonical(fields: &Value) -> String {
        let keys: &[&str] = if fields["Type"] == "Notification" {
            &[
                "Message",
                "MessageId",
                "Subject",
                "Timestamp",
                "TopicArn",
                "Type",
            ]
        } else {
            &[
                "Message",
                "MessageId",
                "SubscribeURL",
                "Timestamp",
                "Token",
                "TopicArn",
                "Type",
            ]
        };
        keys.iter()
            .filter_map(|k| fields[*k].as_str().map(|v| format!("{k}\n{v}\n")))
            .collect()
    }

    /// `fields` signed as SNS signs (version 1: SHA1withRSA, 2: SHA256withRSA).
    fn signed(mut fields: Value, version: &str, origin: &str) -> String {
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(KEY).expect("the fixture key");
        let text = canonical(&fields);
        let signature = match version {
            "1" => rsa::pkcs1v15::SigningKey::<sha1::Sha1>::new(key)
                .sign(text.as_bytes())
                .to_vec(),
            _ => rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key)
                .sign(text.as_bytes())
                .to_vec(),
        };
        fields["SignatureVersion"] = version.into();
        fields["Signature"] = base64::engine::general_purpose::STANDARD
            .encode(signature)
            .into();
        fields["SigningCertURL"] = format!("{origin}{CERT_PATH}").into();
        fields.to_string()
    }

    fn subscription(origin: &str, topic: &str, token: &str) -> Value {
        json!({
            "Type": "SubscriptionConfirmation",
            "MessageId": uuid::Uuid::new_v4().to_string(),
            "Token": token,
            "TopicArn": topic,
            "Message": format!("You have chosen to subscribe to the topic {topic}.\nTo confirm the subscription, visit the SubscribeURL included in this message."),
            "SubscribeURL": format!("{origin}/confirm?Action=ConfirmSubscription&TopicArn={topic}&Token={token}"),
            "Timestamp": now(),
        })
    }

    fn alarm(topic: &str, state: &str) -> Value {
        let message = json!({
            "AlarmName": "checkout-5xx-critical",
            "AlarmDescription": "Checkout load balancer returns 5xx",
            "AWSAccountId": "123456789012",
            "NewStateValue": state,
            "NewStateReason": "Threshold Crossed: 1 datapoint [42.0] was greater than the threshold (10.0).",
            "StateChangeTime": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string(),
            "Region": "EU (Ireland)",
            "AlarmArn": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:checkout-5xx-critical",
            "OldStateValue": if state == "ALARM" { "OK" } else { "ALARM" },
            "Trigger": {
                "MetricName": "HTTPCode_Target_5XX_Count",
                "Namespace": "AWS/ApplicationELB",
                "Dimensions": [{"value": "app/checkout-alb/50dc6c495c0c9188", "name": "LoadBalancer"}],
            },
        });
        json!({
            "Type": "Notification",
            "MessageId": uuid::Uuid::new_v4().to_string(),
            "TopicArn": topic,
            "Subject": format!("{state}: \"checkout-5xx-critical\" in EU (Ireland)"),
            "Message": message.to_string(),
            "Timestamp": now(),
            "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe",
        })
    }

    /// Posts as SNS does: `text/plain` with its `x-amz-sns-*` headers.
    async fn post(app: &TestApp, path: &str, body: &str) -> Answer {
        let fields: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        let header = |k: &str| fields[k].as_str().unwrap_or_default().to_owned();
        Answer::of(
            app.http
                .post(app.url(path))
                .header("content-type", "text/plain; charset=UTF-8")
                .header("x-amz-sns-message-type", header("Type"))
                .header("x-amz-sns-message-id", header("MessageId"))
                .header("x-amz-sns-topic-arn", header("TopicArn"))
                .body(body.to_owned())
                .send()
                .await,
        )
        .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_confirmed_sns_subscription_pins_its_topic_and_alarms_open_and_resolve_incidents() {
        let seen = Seen::default();
        let origin = sns_stand_in(seen.clone()).await;
        let app = TestApp::spawn_with(
            Role::all(),
            ApiConfig {
                sns_cert_origins: vec![origin.clone()],
                ..test_api_config()
            },
        )
        .await;
        let admin = app.register("admin@acme.io", "Acme").await;
        let created = integration(&app, &admin, "cloudwatch", "Prod alarms").await;
        assert!(created["secret"].is_string(), "a secret, unused by SNS");
        assert!(created["setup"]["header"].is_null());
        assert!(created["setup"]["steps"].to_string().contains("not used"));
        assert!(created["pinned_topic"].is_null());
        let path = path_of(&created);
        let id = created["id"].as_str().expect("id").to_owned();
        let sources = app
            .get_json("/api/integrations/sources", Some(&admin))
            .await
            .expect_status(200);
        assert!(sources["items"]
            .as_array()
            .expect("sources")
            .iter()
            .any(|s| s["name"] == "cloudwatch" && s["auth"]["kind"] == "sns_signature"));

        // Before a subscription is confirmed, no notification gets in.
        post(&app, &path, &signed(alarm(TOPIC, "ALARM"), "2", &origin))
            .await
            .expect_error(401, "invalid_signature");

        // The subscription confirmation: accepted, confirmed by a GET, its topic pinned.
        let accepted = post(
            &app,
            &path,
            &signed(subscription(&origin, TOPIC, "tok-1"), "1", &origin),
        )
        .await
        .expect_status(202);
        assert!(accepted["delivery_id"].is_string());
        let started = Instant::now();
        loop {
            let shown = app
                .get_json(&format!("/api/integrations/{id}"), Some(&admin))
                .await
                .expect_status(200);
            if shown["pinned_topic"] == TOPIC {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the topic was never pinned: {shown}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let confirmations = seen.confirmations.lock().expect("lock").clone();
        assert_eq!(confirmations.len(), 1, "{confirmations:?}");
        assert!(confirmations[0].contains("Token=tok-1"));

        // The intake loads integrations from the read model, which may lag the pin: with the pin
        // gone from the row, it still finds the topic on the integration itself.
        sqlx::query("UPDATE integrations SET pinned_topic = NULL WHERE id = $1")
            .bind(uuid::Uuid::parse_str(&id).expect("uuid"))
            .execute(&app.db.pool)
            .await
            .expect("update");

        // An alarm opens an incident.
        post(&app, &path, &signed(alarm(TOPIC, "ALARM"), "2", &origin))
            .await
            .expect_status(202);
        let items = incidents_until(&app, &admin, |i| i.len() == 1).await;
        assert_eq!(items[0]["title"], "checkout-5xx-critical");
        assert_eq!(items[0]["source"], "cloudwatch");
        assert_eq!(items[0]["severity"], "critical");
        assert_eq!(items[0]["service"], "app/checkout-alb/50dc6c495c0c9188");

        // OK resolves it.
        post(&app, &path, &signed(alarm(TOPIC, "OK"), "1", &origin))
            .await
            .expect_status(202);
        let incident = items[0]["id"].as_str().expect("id");
        let started = Instant::now();
        loop {
            let detail = app
                .get_json(&format!("/api/incidents/{incident}"), Some(&admin))
                .await
                .expect_status(200);
            if detail["timeline"]
                .to_string()
                .contains("resolve_notification")
            {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "{detail}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }

        // Another topic, even signed by SNS, is refused; so are unsigned and forged messages.
        let before = inbox_messages(&app).await;
        let other = "arn:aws:sns:eu-west-1:666666666666:someone-else";
        post(&app, &path, &signed(alarm(other, "ALARM"), "2", &origin))
            .await
            .expect_error(401, "invalid_signature");
        post(
            &app,
            &path,
            &signed(subscription(&origin, other, "tok-2"), "2", &origin),
        )
        .await
        .expect_error(401, "invalid_signature");
        let mut unsigned: Value =
            serde_json::from_str(&signed(alarm(TOPIC, "ALARM"), "2", &origin)).expect("json");
        unsigned
            .as_object_mut()
            .expect("object")
            .remove("Signature");
        post(&app, &path, &unsigned.to_string())
            .await
            .expect_error(401, "invalid_signature");
        let forged = signed(alarm(TOPIC, "ALARM"), "2", &origin)
            .replace("checkout-5xx-critical", "checkout-5xx-forged");
        post(&app, &path, &forged)
            .await
            .expect_error(401, "invalid_signature");
        let mut elsewhere: Value =
            serde_json::from_str(&signed(alarm(TOPIC, "ALARM"), "2", &origin)).expect("json");
        elsewhere["SigningCertURL"] =
            "https://evil.example.com/SimpleNotificationService-0123.pem".into();
        post(&app, &path, &elsewhere.to_string())
            .await
            .expect_error(401, "invalid_signature");
        elsewhere["SigningCertURL"] = format!("{origin}/missing.pem").into();
        post(&app, &path, &elsewhere.to_string())
            .await
            .expect_error(401, "invalid_signature");
        // A certificate that cannot be fetched now: 503, and SNS tries again.
        elsewhere["SigningCertURL"] = format!("{origin}/broken.pem").into();
        let unavailable = post(&app, &path, &elsewhere.to_string()).await;
        unavailable.expect_error(503, "unavailable");
        assert!(unavailable.headers.contains_key("retry-after"));
        assert_eq!(
            inbox_messages(&app).await,
            before,
            "nothing refused was stored"
        );
        assert_eq!(seen.confirmations.lock().expect("lock").len(), 1);
        assert_eq!(
            *seen.cert_fetches.lock().expect("lock"),
            1,
            "the certificate is fetched once"
        );

        // The same topic subscribing again is confirmed again; the pin stays.
        post(
            &app,
            &path,
            &signed(subscription(&origin, TOPIC, "tok-3"), "2", &origin),
        )
        .await
        .expect_status(202);
        let started = Instant::now();
        while seen.confirmations.lock().expect("lock").len() < 2 {
            assert!(started.elapsed() < Duration::from_secs(20), "no second GET");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let items = incidents_until(&app, &admin, |i| i.len() == 1).await;
        assert_eq!(items.len(), 1, "no second incident");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_retried_in_place_decides_nothing_twice() {
    use aurora_gateway::app::Role;
    let app = TestApp::spawn_with_roles(vec![Role::Gateway, Role::Projections]).await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let created = integration(&app, &admin, "grafana", "Prod Grafana").await;
    let (path, secret) = (
        path_of(&created),
        created["secret"].as_str().expect("secret"),
    );
    for i in 1..=2 {
        let body = grafana(&[(
            "firing",
            &format!("fp-{i}"),
            "checkout",
            "Checkout latency high",
        )]);
        deliver(&app, &path, Some(secret), &body)
            .await
            .expect_status(202);
    }
    let services = app.services();
    let ingest = aurora_handlers::ingest::Ingest::new(
        services.log.clone(),
        services.incidents.clone(),
        services.integrations.clone(),
    );
    // The runner retries a failed batch as it was: still "delivered once".
    for _ in 0..3 {
        ingest
            .handle(vec![
                inbox_delivery(&app, 1, 1).await,
                inbox_delivery(&app, 2, 1).await,
            ])
            .await
            .expect("handled");
    }
    let subject = aurora_nats::subjects::aggregate(
        &admin.tenant,
        "correlator",
        aurora_domain::correlation::correlator_id(admin.tenant.as_str()),
    );
    let decided = services.log.read_subject(&subject, 1).await.expect("log");
    assert_eq!(
        decided.len(),
        1,
        "one decision event for the batch, however often it ran"
    );
    let items = incidents_until(&app, &admin, |items| {
        items.len() == 1 && items[0]["correlated_alert_count"].as_i64() == Some(1)
    })
    .await;
    assert_eq!(items.len(), 1);
    app.stop().await;
}

/// Issue 14, defect 3: a resolve finds its incident on the write side (the decision log and the
/// incidents themselves), not in the read models, so it attaches whether or not the projector
/// has caught up — here it never runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolve_attaches_to_its_incident_with_the_projections_stopped() {
    // No handlers: the deliveries wait in INBOX for the ingest this test runs by hand.
    let mut app = TestApp::spawn_with_roles(vec![
        aurora_gateway::app::Role::Gateway,
        aurora_gateway::app::Role::Projections,
    ])
    .await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let created = integration(&app, &admin, "grafana", "Prod Grafana").await;
    let (path, secret) = (
        path_of(&created),
        created["secret"].as_str().expect("secret"),
    );
    for (status, fingerprint) in [
        ("firing", "fp-1"),
        ("firing", "fp-2"),
        ("resolved", "fp-1"),
        ("resolved", "fp-2"),
        ("resolved", "fp-never-fired"),
    ] {
        let body = grafana(&[(status, fingerprint, "checkout", "Checkout latency high")]);
        deliver(&app, &path, Some(secret), &body)
            .await
            .expect_status(202);
    }
    let inbox_before = inbox_messages(&app).await;
    assert_eq!(inbox_before, 5);
    // From here on nothing projects anything.
    app.halt().await;

    let services = app.services();
    let ingest = aurora_handlers::ingest::Ingest::new(
        services.log.clone(),
        services.incidents.clone(),
        services.integrations.clone(),
    );
    // Both firings and the first resolve in one batch; the other resolves in a later one.
    ingest
        .handle(vec![
            inbox_delivery(&app, 1, 1).await,
            inbox_delivery(&app, 2, 1).await,
            inbox_delivery(&app, 3, 1).await,
        ])
        .await
        .expect("handled");
    ingest
        .handle(vec![
            inbox_delivery(&app, 4, 1).await,
            inbox_delivery(&app, 5, 1).await,
        ])
        .await
        .expect("handled");

    // The incident, as its own events say.
    let tenant = admin.tenant.clone();
    let log_subject = aurora_nats::subjects::aggregate(
        &tenant,
        "correlator",
        aurora_domain::correlation::correlator_id(tenant.as_str()),
    );
    let decided = services
        .log
        .read_subject(&log_subject, 1)
        .await
        .expect("log");
    let decisions: Vec<_> = decided
        .into_iter()
        .flat_map(|raw| match serde_json::from_value(raw.data) {
            Ok(aurora_domain::correlation::CorrelatorEvent::Decided { decisions, .. }) => decisions,
            _ => Vec::new(),
        })
        .collect();
    assert_eq!(decisions.len(), 2);
    assert!(decisions[0].opens());
    assert_eq!(
        decisions[1].incident_id, decisions[0].incident_id,
        "fp-2 joined fp-1's incident"
    );
    let id = decisions[0].incident_id;
    let incident = services
        .incidents
        .load(&tenant, id.0)
        .await
        .expect("loads")
        .expect("opened")
        .into_inner();
    let resolved: Vec<&str> = incident
        .resolve_notifications
        .iter()
        .map(|n| n.fingerprint.as_str())
        .collect();
    assert_eq!(resolved, ["fp-1", "fp-2"]);
    let events = services
        .log
        .read_subject(
            &aurora_nats::subjects::aggregate(&tenant, "incident", id.0),
            1,
        )
        .await
        .expect("events");
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e.data["type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        kinds,
        [
            "opened",
            "alert_correlated",
            "resolve_notification_attached",
            "resolve_notification_attached"
        ],
        "{kinds:?}"
    );
    // The projector never ran: the read model knows nothing of any of it.
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM incidents")
        .fetch_one(&app.db.pool)
        .await
        .expect("count");
    assert_eq!(rows, 0, "the incident was found without the read models");
    app.stop().await;
}
