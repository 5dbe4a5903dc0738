//! Redelivery is harmless: after a crash, and for a batch retried in place.

use aurora_tests::TestApp;

use super::helpers::{deliver, grafana, inbox_delivery, incidents_until, integration, path_of};

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
        integration_id: None,
        placement: Default::default(),
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
