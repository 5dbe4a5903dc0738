//! A firing alert opens an incident and its resolve attaches, also with the projections stopped.

use std::time::{Duration, Instant};

use aurora_tests::TestApp;

use super::helpers::{
    deliver, grafana, inbox_delivery, inbox_messages, incidents_until, integration, path_of,
};

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
