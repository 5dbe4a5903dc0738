//! The agent's `service_graph` tool and the RCA brief read the graph around a service.

use aurora_domain::service::NodeType;
use aurora_handlers::agent::reader::Reader;
use aurora_handlers::agent::tools::{plan, Planned, SERVICE_GRAPH};
use aurora_tests::TestApp;
use serde_json::Value;

use super::seed::graph;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_graph_tool_shows_neighbours_blast_radius_and_refuses_an_unknown_service() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    use NodeType::*;
    graph(
        &app,
        &admin.tenant,
        &[
            ("web", Workload),
            ("checkout", Workload),
            ("payments", Workload),
            ("ledger-db", Database),
        ],
        &[
            ("web", "checkout"),
            ("checkout", "payments"),
            ("payments", "ledger-db"),
        ],
    )
    .await;
    let reader = Reader {
        pool: app.db.pool.clone(),
        log: app.nats.log.clone(),
        knowledge: None,
    };
    let Planned::Read(tool) =
        plan(SERVICE_GRAPH, r#"{"service": "Payments", "depth": 1}"#).expect("a valid call")
    else {
        panic!("service_graph is a read");
    };
    let output = reader.read(&admin.tenant, &tool).await.expect("an answer");
    let answer: Value = serde_json::from_str(&output).expect("JSON");
    assert_eq!(answer["service"]["key"], "payments");
    let mut neighbours: Vec<&str> = answer["neighbours"]
        .as_array()
        .expect("neighbours")
        .iter()
        .filter_map(|n| n["key"].as_str())
        .collect();
    neighbours.sort_unstable();
    assert_eq!(
        neighbours,
        ["checkout", "ledger-db"],
        "depth 1, both directions"
    );
    let blast: Vec<(&str, Vec<&str>)> = answer["blast_radius"]
        .as_array()
        .expect("blast radius")
        .iter()
        .map(|r| {
            (
                r["key"].as_str().expect("key"),
                r["path"]
                    .as_array()
                    .expect("path")
                    .iter()
                    .filter_map(Value::as_str)
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        blast,
        [
            ("checkout", vec!["checkout", "payments"]),
            ("web", vec!["web", "checkout", "payments"])
        ]
    );
    assert!(answer["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .any(|e| e["from"] == "payments" && e["to"] == "ledger-db" && e["found_by"] == "env_var"));
    let Planned::Read(unknown) = plan(SERVICE_GRAPH, r#"{"service": "mainframe"}"#).expect("valid")
    else {
        panic!("service_graph is a read");
    };
    let refused = reader
        .read(&admin.tenant, &unknown)
        .await
        .expect_err("unknown");
    assert!(
        refused.to_string().contains("not in the service graph"),
        "{refused}"
    );
    app.stop().await;
}
