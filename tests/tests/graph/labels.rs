//! An alert's Kubernetes labels (cluster, namespace, pod) put its cluster, namespace and
//! workload in the graph, each `DEPLOYED_IN` the next, as the nodes `kubectl` discovery lists:
//! discovery afterwards finds the same nodes and takes them over, adding none twice.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use aurora_tests::providers::{connect_kubernetes, FakeProviders};
use aurora_tests::{audit_is_clean, Account, TestApp};
use serde_json::{json, Value};

use super::discovery::{config, fake_clis, graph_until};
use super::seed::id;
use crate::intake::helpers::{deliver, incidents_until, integration, path_of};

/// A firing Grafana alert on `service` with `labels` beside its own.
fn labelled(fingerprint: &str, service: &str, labels: &[(&str, &str)]) -> String {
    let mut all =
        json!({"alertname": "Pod restarting", "service": service, "severity": "critical"});
    for (k, v) in labels {
        all[*k] = json!(v);
    }
    json!({"receiver": "aurora", "status": "firing", "version": "1", "alerts": [{
        "status": "firing",
        "labels": all,
        "annotations": {"summary": format!("{service} pods restarting")},
        "startsAt": "2026-11-23T10:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": fingerprint,
    }]})
    .to_string()
}

/// The whole graph once `ready` says so (within 30 s).
async fn page_until(app: &TestApp, who: &Account, ready: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let page = app
            .get_json("/api/graph?limit=1000", Some(who))
            .await
            .expect_status(200);
        if ready(&page) {
            return page;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_labels_name_cluster_namespace_and_workload_nodes_that_discovery_then_finds() {
    let clis = fake_clis();
    let work = tempfile::tempdir().expect("a work dir");
    let mut agent = aurora_handlers::agent::AgentConfig::without_model(work.path().to_path_buf());
    agent.tool_path = Some(clis.path());
    let providers = FakeProviders::start().await;
    let app = TestApp::launch()
        .agent(agent)
        .connectors(providers.config())
        .graph(config())
        .spawn()
        .await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let source = integration(&app, &admin, "grafana", "Prod Grafana").await;
    let secret = source["secret"].as_str().expect("secret");
    // Prometheus' names in one alert, Kubernetes' pod of a deployment; a stateful set's pod and
    // a service named otherwise than its workload in the other.
    for body in [
        labelled(
            "fp-checkout",
            "checkout",
            &[
                ("cluster", "gke-prod"),
                ("namespace", "shop"),
                ("pod", "checkout-6d8f7c9b5d-x2kqp"),
            ],
        ),
        labelled(
            "fp-redis",
            "redis-cache",
            &[
                ("k8s_cluster_name", "gke-prod"),
                ("namespace", "shop"),
                ("pod", "redis-0"),
            ],
        ),
    ] {
        deliver(&app, &path_of(&source), Some(secret), &body)
            .await
            .expect_status(202);
    }
    incidents_until(&app, &admin, |i| {
        i.iter()
            .map(|x| 1 + x["correlated_alert_count"].as_i64().unwrap_or(0))
            .sum::<i64>()
            == 2
    })
    .await;

    let nodes = |page: &Value| -> BTreeSet<(String, String, String)> {
        page["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| {
                let s = |f: &str| n[f].as_str().unwrap_or_default().to_owned();
                (s("key"), s("node_type"), s("provider"))
            })
            .collect()
    };
    let expected: BTreeSet<(String, String, String)> = [
        ("checkout", "workload"),
        ("cluster:gke-prod", "kubernetes_cluster"),
        ("namespace:shop", "kubernetes_namespace"),
        ("redis", "workload"),
        ("redis-cache", "service"),
    ]
    .into_iter()
    .map(|(k, t)| (k.to_owned(), t.to_owned(), "observed".to_owned()))
    .collect();
    let deployed_in = |page: &Value| -> BTreeSet<(String, String, String)> {
        page["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .filter(|e| e["kind"] == "DEPLOYED_IN")
            .map(|e| {
                let s = |f: &str| e[f].as_str().unwrap_or_default().to_owned();
                (s("from_id"), s("to_id"), s("origin"))
            })
            .collect()
    };
    let placed = |from: &str, to: &str| {
        (
            id(&admin.tenant, from).to_string(),
            id(&admin.tenant, to).to_string(),
            "placement".to_owned(),
        )
    };
    let by_alerts: BTreeSet<_> = [
        placed("namespace:shop", "cluster:gke-prod"),
        placed("checkout", "namespace:shop"),
        placed("redis", "namespace:shop"),
        placed("redis-cache", "namespace:shop"),
    ]
    .into_iter()
    .collect();
    let page = page_until(&app, &admin, |page| {
        nodes(page) == expected && deployed_in(page) == by_alerts
    })
    .await;
    assert_eq!(page["nodes"].as_array().map(Vec::len), Some(5));

    // Discovery lists the same cluster, namespace and workloads: they become its nodes, under
    // the same ids, and the edges the alerts named are among the ones it lists.
    connect_kubernetes(&app, &admin).await;
    app.post_json("/api/graph/discover", Some(&admin), &Value::Null)
        .await
        .expect_status(202);
    graph_until(&app, &admin, "/api/graph?limit=1000", 11).await;
    let discovered = page_until(&app, &admin, |page| {
        nodes(page)
            .iter()
            .all(|(_, _, provider)| provider == "kubernetes")
            && deployed_in(page).is_superset(&by_alerts)
    })
    .await;
    assert_eq!(discovered["nodes"].as_array().map(Vec::len), Some(11));
    let cluster = app
        .get_json("/api/graph/services/cluster:gke-prod", Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(
        cluster["node"]["id"],
        id(&admin.tenant, "cluster:gke-prod").to_string()
    );
    assert_eq!(cluster["node"]["node_type"], "kubernetes_cluster");
    audit_is_clean(&app).await;
    app.stop().await;
}
