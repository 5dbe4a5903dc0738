//! An integration's recent deliveries (`GET /api/integrations/{id}/deliveries`): the alerts it
//! brought in, newest first, each with the incident it opened or joined and why; paged; another
//! integration's alerts are not among them; bad inputs are named.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use aurora_tests::{Account, TestApp};
use serde_json::Value;

use super::helpers::{deliver, grafana, incidents_until, integration, path_of};

/// The deliveries of integration `id` once there are `count` of them.
async fn deliveries_until(app: &TestApp, who: &Account, id: &str, count: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let page = app
            .get_json(&format!("/api/integrations/{id}/deliveries"), Some(who))
            .await
            .expect_status(200);
        let items = page["items"].as_array().cloned().unwrap_or_default();
        if items.len() >= count {
            return items;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{count} deliveries of {id}: {page}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_integration_lists_the_alerts_it_delivered_and_what_became_of_them() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let viewer = app
        .invite_and_register(&admin, "vi@acme.io", "viewer")
        .await;
    let prod = integration(&app, &admin, "grafana", "Prod Grafana").await;
    let staging = integration(&app, &admin, "grafana", "Staging Grafana").await;
    let send = |created: &Value, alerts: &[(&str, &str, &str, &str)]| {
        let (path, secret) = (
            path_of(created),
            created["secret"].as_str().map(str::to_owned),
        );
        let body = grafana(alerts);
        let app = &app;
        async move {
            deliver(app, &path, secret.as_deref(), &body)
                .await
                .expect_status(202);
        }
    };
    let (prod_id, staging_id) = (
        prod["id"].as_str().expect("id"),
        staging["id"].as_str().expect("id"),
    );

    // Two alerts of one delivery: the first opens an incident, the second joins it.
    send(
        &prod,
        &[
            ("firing", "fp-1", "checkout", "Checkout latency high"),
            ("firing", "fp-2", "checkout", "Checkout latency high on EU"),
        ],
    )
    .await;
    let first = deliveries_until(&app, &viewer, prod_id, 2).await;
    let opened: Vec<&Value> = first.iter().filter(|d| d["opened"] == true).collect();
    assert_eq!(opened.len(), 1, "{first:?}");
    assert_eq!(
        first[0]["incident_id"], first[1]["incident_id"],
        "{first:?}"
    );
    assert!(first
        .iter()
        .all(|d| d["service"] == "checkout" && !d["decision"].as_str().unwrap_or("").is_empty()));
    // The incidents' read model is another projector's: it may show the incident a moment later.
    let incidents = incidents_until(&app, &admin, |i| i.len() == 1).await;
    assert_eq!(incidents[0]["id"], first[0]["incident_id"]);

    // Staging's alert is staging's only; a later one of prod's comes first.
    send(&staging, &[("firing", "fp-3", "search", "Search is down")]).await;
    let theirs = deliveries_until(&app, &admin, staging_id, 1).await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["title"], "Search is down");
    assert_eq!(theirs[0]["opened"], true);
    send(
        &prod,
        &[("firing", "fp-4", "payments", "Payments are failing")],
    )
    .await;
    let all = deliveries_until(&app, &admin, prod_id, 3).await;
    assert_eq!(all.len(), 3, "{all:?}");
    assert_eq!(all[0]["title"], "Payments are failing");
    assert!(all.iter().all(|d| d["title"] != "Search is down"));

    // Paged one at a time: every delivery once, newest first.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/integrations/{prod_id}/deliveries?limit=1&cursor={c}"),
            None => format!("/api/integrations/{prod_id}/deliveries?limit=1"),
        };
        let page = app.get_json(&path, Some(&admin)).await.expect_status(200);
        seen.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(seen.len() <= 3, "{seen:?}");
    }
    let ids: HashSet<&str> = seen.iter().filter_map(|d| d["id"].as_str()).collect();
    assert_eq!(ids.len(), 3, "{seen:?}");
    assert_eq!(seen[0]["title"], "Payments are failing");

    // Bad inputs are named.
    let base = format!("/api/integrations/{prod_id}/deliveries");
    app.get_json(&format!("{base}?limit=0"), Some(&admin))
        .await
        .expect_error(400, "invalid_limit");
    app.get_json(&format!("{base}?cursor=yesterday"), Some(&admin))
        .await
        .expect_error(400, "invalid_cursor");
    app.get_json(&format!("{base}?page=2"), Some(&admin))
        .await
        .expect_error(400, "invalid_query");
    app.get_json("/api/integrations/not-a-uuid/deliveries", Some(&admin))
        .await
        .expect_status(400);
    app.get_json(
        "/api/integrations/00000000-0000-0000-0000-000000000000/deliveries",
        Some(&admin),
    )
    .await
    .expect_error(404, "not_found");
    app.stop().await;
}
