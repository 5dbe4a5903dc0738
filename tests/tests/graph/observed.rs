//! Alerts and changes put what they name in the graph, and correlation scores on the graph.

use std::time::{Duration, Instant};

use aurora_domain::service::NodeType;
use aurora_tests::{audit_is_clean, Account, TestApp};
use serde_json::Value;

use super::seed::graph;
use crate::intake::helpers::{deliver, grafana, incidents_until, integration, path_of};

async fn node_until(app: &TestApp, who: &Account, key: &str) -> Value {
    let started = Instant::now();
    loop {
        let answer = app
            .get_json(&format!("/api/graph/services/{key}"), Some(who))
            .await;
        if answer.status == 200 {
            return answer.body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{key} never became a node"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Delivers one firing Grafana alert on `service` to `who`'s integration.
async fn alert(
    app: &TestApp,
    grafana_integration: &Value,
    fingerprint: &str,
    service: &str,
    title: &str,
) {
    let path = path_of(grafana_integration);
    let secret = grafana_integration["secret"].as_str().expect("secret");
    deliver(
        app,
        &path,
        Some(secret),
        &grafana(&[("firing", fingerprint, service, title)]),
    )
    .await
    .expect_status(202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_named_by_alerts_become_nodes_of_a_tenant_without_connectors() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let source = integration(&app, &admin, "grafana", "Prod Grafana").await;
    alert(&app, &source, "fp-1", "Checkout", "Checkout latency high").await;
    alert(&app, &source, "fp-2", "search-api", "Index lag").await;
    let checkout = node_until(&app, &admin, "checkout").await;
    assert_eq!(checkout["node"]["name"], "Checkout");
    assert_eq!(checkout["node"]["provider"], "observed");
    assert_eq!(checkout["node"]["node_type"], "service");
    node_until(&app, &admin, "search-api").await;
    // The same service again (a redelivery or a new alert minutes later) adds no node.
    alert(&app, &source, "fp-3", "checkout", "Checkout errors").await;
    incidents_until(&app, &admin, |i| {
        i.iter()
            .map(|x| x["correlated_alert_count"].as_i64().unwrap_or(0))
            .sum::<i64>()
            == 1
    })
    .await;
    let page = app
        .get_json("/api/graph", Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(page["nodes"].as_array().map(Vec::len), Some(2), "{page}");
    audit_is_clean(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_alerts_on_services_one_depending_on_the_other_open_one_incident_and_without_the_edge_two(
) {
    let app = TestApp::spawn().await;
    let with_edge = app.register("admin@acme.io", "Acme").await;
    let without = app.register("admin@globex.io", "Globex").await;
    use NodeType::Workload;
    graph(
        &app,
        &with_edge.tenant,
        &[("checkout", Workload), ("payments", Workload)],
        &[("checkout", "payments")],
    )
    .await;
    graph(
        &app,
        &without.tenant,
        &[("checkout", Workload), ("payments", Workload)],
        &[],
    )
    .await;
    for who in [&with_edge, &without] {
        let source = integration(&app, who, "grafana", "Prod Grafana").await;
        alert(
            &app,
            &source,
            "fp-checkout",
            "checkout",
            "Checkout latency high",
        )
        .await;
        incidents_until(&app, who, |i| i.len() == 1).await;
        alert(
            &app,
            &source,
            "fp-payments",
            "payments",
            "Card authorisations failing",
        )
        .await;
    }
    let one = incidents_until(&app, &with_edge, |i| {
        i.len() == 1 && i[0]["correlated_alert_count"].as_i64() == Some(1)
    })
    .await;
    let two = incidents_until(&app, &without, |i| i.len() == 2).await;
    assert_eq!(two.len(), 2);
    let id = one[0]["id"].as_str().expect("id");
    let detail = app
        .get_json(&format!("/api/incidents/{id}"), Some(&with_edge))
        .await
        .expect_status(200);
    let correlated = detail["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .find(|a| !a["correlation"].is_null())
        .expect("the payments alert, correlated");
    assert_eq!(
        correlated["correlation"]["topology"], 0.8,
        "checkout depends on payments"
    );
    assert_eq!(correlated["correlation"]["topology_basis"], "service_graph");
    assert_eq!(
        correlated["correlation"]["topology_path"]["services"],
        serde_json::json!(["payments", "checkout"])
    );
    assert!(
        detail["timeline"]
            .to_string()
            .contains("topology 0.80 (payments ← checkout)"),
        "the explanation names the path: {}",
        detail["timeline"]
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dry_run_decides_each_delivery_on_the_graph_as_it_stood_then() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    use NodeType::Workload;
    graph(
        &app,
        &admin.tenant,
        &[("checkout", Workload), ("payments", Workload)],
        &[],
    )
    .await;
    let source = integration(&app, &admin, "grafana", "Prod Grafana").await;
    let from = chrono::Utc::now() - chrono::Duration::seconds(1);
    alert(
        &app,
        &source,
        "fp-checkout",
        "checkout",
        "Checkout latency high",
    )
    .await;
    incidents_until(&app, &admin, |i| i.len() == 1).await;
    alert(
        &app,
        &source,
        "fp-payments",
        "payments",
        "Card authorisations failing",
    )
    .await;
    incidents_until(&app, &admin, |i| i.len() == 2).await;
    // Only now does checkout depend on payments: on today's graph the two would be one incident.
    graph(&app, &admin.tenant, &[], &[("checkout", "payments")]).await;
    let to = chrono::Utc::now() + chrono::Duration::seconds(1);

    let dry_run = app
        .post_json(
            "/api/correlation/dry-run",
            Some(&admin),
            &serde_json::json!({ "settings": {}, "from": from, "to": to }),
        )
        .await
        .expect_status(200);
    assert_eq!(dry_run["alerts"], 2, "{dry_run}");
    assert_eq!(dry_run["incidents_then"], 2, "{dry_run}");
    assert_eq!(
        dry_run["incidents_would_be"], 2,
        "each alert is decided on the graph of its arrival, which had no edge: {dry_run}"
    );
    assert_eq!(dry_run["changed"], serde_json::json!([]), "{dry_run}");
    assert_eq!(
        dry_run["graph_edges"], 1,
        "the graph at the period's end: {dry_run}"
    );
    app.stop().await;
}
