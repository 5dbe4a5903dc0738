//! `GET /api/graph…` and `PUT /api/graph/edges` over the read model.

use aurora_domain::service::NodeType;
use aurora_tests::{audit_is_clean, Answer, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

use super::seed::{graph, id};
use crate::fixtures::{on_incident, open};

/// web → checkout → payments → ledger → checkout (a cycle), cdn → web; orders-db alone.
async fn shop(app: &TestApp, tenant: &aurora_domain::TenantId) {
    use NodeType::*;
    graph(
        app,
        tenant,
        &[
            ("cdn", LoadBalancer),
            ("web", Workload),
            ("checkout", Workload),
            ("payments", Workload),
            ("ledger", Workload),
            ("orders-db", Database),
        ],
        &[
            ("web", "checkout"),
            ("checkout", "payments"),
            ("payments", "ledger"),
            ("ledger", "checkout"),
            ("cdn", "web"),
        ],
    )
    .await;
}

fn keys(nodes: &Value) -> Vec<(String, u64)> {
    nodes
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| {
            (
                r["node"]["key"].as_str().expect("key").to_owned(),
                r["depth"].as_u64().expect("depth"),
            )
        })
        .collect()
}

async fn put(app: &TestApp, who: &aurora_tests::Account, body: &str) -> Answer {
    Answer::of(
        app.request(Method::PUT, "/api/graph/edges", Some(who))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graph_serves_nodes_neighbourhoods_and_blast_radius_and_a_cycle_never_loops() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    shop(&app, &admin.tenant).await;

    let page = app
        .get_json("/api/graph", Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(page["nodes"].as_array().map(Vec::len), Some(6));
    assert_eq!(page["edges"].as_array().map(Vec::len), Some(5));
    assert_eq!(page["nodes"][0]["key"], "cdn", "in key order");
    assert_eq!(page["nodes"][0]["provider"], "kubernetes");
    assert_eq!(page["nodes"][0]["region"], "europe-west1");
    assert_eq!(page["nodes"][0]["labels"]["team"], "shop");
    assert_eq!(page["nodes"][0]["stale"], false);
    assert_eq!(page["next_cursor"], Value::Null);

    // Filters and pages.
    let dbs = app
        .get_json("/api/graph?type=database", Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(dbs["nodes"][0]["key"], "orders-db");
    assert_eq!(dbs["nodes"].as_array().map(Vec::len), Some(1));
    let found = app
        .get_json("/api/graph?search=PAY", Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(found["nodes"][0]["key"], "payments");
    assert_eq!(found["edges"][0]["origin"], "env_var");
    assert_eq!(found["edges"][0]["confidence"], 0.8);
    let first = app
        .get_json("/api/graph?limit=4", Some(&admin))
        .await
        .expect_status(200);
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let rest = app
        .get_json(&format!("/api/graph?limit=4&cursor={cursor}"), Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(rest["nodes"].as_array().map(Vec::len), Some(2));
    let none = app
        .get_json("/api/graph?stale=true&provider=kubernetes", Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(none["nodes"], json!([]));
    for (bad, code) in [
        ("/api/graph?type=mainframe", "invalid_type"),
        ("/api/graph?provider=heroku", "invalid_provider"),
        ("/api/graph?limit=0", "invalid_limit"),
        ("/api/graph?stale=maybe", "invalid_query"),
        ("/api/graph?colour=red", "invalid_query"),
    ] {
        app.get_json(bad, Some(&admin))
            .await
            .expect_error(400, code);
    }

    // One node, by key or id.
    let node = app
        .get_json("/api/graph/services/Checkout", Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(
        node["node"]["id"],
        id(&admin.tenant, "checkout").to_string()
    );
    assert_eq!(
        node["edges"][0]["to_id"],
        id(&admin.tenant, "payments").to_string()
    );
    let by_id = format!("/api/graph/services/{}", id(&admin.tenant, "checkout"));
    assert_eq!(
        app.get_json(&by_id, Some(&admin)).await.expect_status(200),
        node
    );
    app.get_json("/api/graph/services/nowhere", Some(&admin))
        .await
        .expect_error(404, "not_found");

    // Neighbourhood: both directions, to the depth asked, the cycle walked once.
    let near = app
        .get_json("/api/graph/services/checkout/neighbourhood", Some(&admin))
        .await
        .expect_status(200);
    let mut around = keys(&near["nodes"]);
    around.sort();
    assert_eq!(
        around,
        [
            ("checkout".to_owned(), 0),
            ("ledger".to_owned(), 1),
            ("payments".to_owned(), 1),
            ("web".to_owned(), 1)
        ]
    );
    let far = app
        .get_json(
            "/api/graph/services/checkout/neighbourhood?depth=3",
            Some(&admin),
        )
        .await
        .expect_status(200);
    assert_eq!(
        far["nodes"].as_array().map(Vec::len),
        Some(5),
        "all but orders-db"
    );
    assert_eq!(far["edges"].as_array().map(Vec::len), Some(5));
    for depth in ["0", "4", "-1", "x"] {
        let path = format!("/api/graph/services/checkout/neighbourhood?depth={depth}");
        let answer = app.get_json(&path, Some(&admin)).await;
        assert_eq!(answer.status, 400, "{depth}: {}", answer.body);
    }

    // Blast radius: everything that depends on payments, through the cycle, with paths.
    let blast = app
        .get_json("/api/graph/services/payments/blast-radius", Some(&admin))
        .await
        .expect_status(200);
    let mut hit = keys(&blast["affected"]);
    hit.sort();
    assert_eq!(
        hit,
        [
            ("cdn".to_owned(), 3),
            ("checkout".to_owned(), 1),
            ("ledger".to_owned(), 2),
            ("web".to_owned(), 2)
        ]
    );
    let cdn = blast["affected"]
        .as_array()
        .expect("a list")
        .iter()
        .find(|r| r["node"]["key"] == "cdn")
        .expect("cdn");
    let t = &admin.tenant;
    assert_eq!(
        cdn["path"],
        json!([
            id(t, "cdn"),
            id(t, "web"),
            id(t, "checkout"),
            id(t, "payments")
        ])
    );
    let alone = app
        .get_json("/api/graph/services/orders-db/blast-radius", Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(alone["affected"], json!([]));

    audit_is_clean(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_editor_declares_an_edge_and_bad_ones_are_refused_by_name() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let viewer = app
        .invite_and_register(&admin, "viewer@acme.io", "viewer")
        .await;
    shop(&app, &admin.tenant).await;

    let edge = put(&app, &admin, r#"{"from": "orders-db", "to": "ledger"}"#)
        .await
        .expect_status(200);
    assert_eq!(edge["confidence"], 1.0);
    assert_eq!(edge["origin"], "declared");
    assert_eq!(edge["kind"], "DEPENDS_ON");
    assert_eq!(edge["declared_by"], "admin@acme.io");
    let node = app
        .get_json("/api/graph/services/orders-db", Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(node["edges"][0]["origin"], "declared");
    // Declared again: the same edge, nothing new.
    put(&app, &admin, r#"{"from": "ORDERS-DB", "to": "ledger"}"#)
        .await
        .expect_status(200);

    put(&app, &viewer, r#"{"from": "web", "to": "ledger"}"#)
        .await
        .expect_error(403, "forbidden");
    put(&app, &admin, r#"{"from": "web", "to": "mainframe"}"#)
        .await
        .expect_error(404, "not_found");
    put(&app, &admin, r#"{"from": "nowhere", "to": "web"}"#)
        .await
        .expect_error(404, "not_found");
    put(&app, &admin, r#"{"from": "web", "to": "WEB"}"#)
        .await
        .expect_error(422, "self_loop");
    put(&app, &admin, r#"{"from": "web"}"#)
        .await
        .expect_error(400, "invalid_body");
    put(
        &app,
        &admin,
        r#"{"from": "web", "to": "ledger", "kind": "CALLS"}"#,
    )
    .await
    .expect_error(400, "invalid_body");
    put(&app, &admin, r#"{"from": "", "to": "ledger"}"#)
        .await
        .expect_error(400, "invalid_id");
    put(&app, &admin, "not json")
        .await
        .expect_error(400, "invalid_json");
    let untyped = Answer::of(
        app.request(Method::PUT, "/api/graph/edges", Some(&admin))
            .body(r#"{"from": "web", "to": "ledger"}"#)
            .send()
            .await,
    )
    .await;
    assert_eq!(untyped.status, 415);
    // A viewer reads.
    app.get_json("/api/graph", Some(&viewer))
        .await
        .expect_status(200);

    audit_is_clean(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_lists_the_incidents_and_changes_that_name_it() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    shop(&app, &admin.tenant).await;
    let incident = aurora_domain::IncidentId::new();
    on_incident(
        &app,
        &admin.tenant,
        incident,
        open(incident, "Checkout latency", "Checkout", chrono::Utc::now()),
    )
    .await;
    let change = aurora_domain::intake::ChangeEvent {
        change_id: "deployment-1".into(),
        kind: "deployment".into(),
        service: "checkout".into(),
        environment: Some("production".into()),
        version: Some("9fceb02".into()),
        title: "Deploy checkout".into(),
        author: Some("octocat".into()),
        at: chrono::Utc::now(),
        url: None,
    };
    let store =
        aurora_nats::AggregateStore::<aurora_domain::change::Change>::new(app.nats.log.clone());
    store
        .execute(
            &admin.tenant,
            uuid::Uuid::now_v7(),
            aurora_domain::change::ChangeCommand::Record {
                change,
                source: "github".into(),
                integration_id: uuid::Uuid::now_v7(),
                at: chrono::Utc::now(),
            },
            aurora_nats::envelope::Context::new_root(),
        )
        .await
        .expect("store")
        .expect("recorded");
    let started = std::time::Instant::now();
    loop {
        let incidents = app
            .get_json("/api/graph/services/checkout/incidents", Some(&admin))
            .await
            .expect_status(200);
        let changes = app
            .get_json("/api/graph/services/checkout/changes", Some(&admin))
            .await
            .expect_status(200);
        if incidents["items"].as_array().map(Vec::len) == Some(1)
            && changes["items"].as_array().map(Vec::len) == Some(1)
        {
            assert_eq!(incidents["items"][0]["id"], incident.0.to_string());
            assert_eq!(changes["items"][0]["title"], "Deploy checkout");
            break;
        }
        assert!(started.elapsed().as_secs() < 20, "{incidents} {changes}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let other = app
        .get_json("/api/graph/services/payments/incidents", Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(other["items"], json!([]));
    app.stop().await;
}
