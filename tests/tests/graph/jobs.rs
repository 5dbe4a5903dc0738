//! The periodic discovery runs once per period across every process: a lease in NATS KV.

use std::sync::Arc;
use std::time::Duration;

use aurora_gateway::app::Role;
use aurora_handlers::agent::AgentConfig;
use aurora_handlers::graph::{Graph, GraphConfig};
use aurora_tests::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_process_of_many_takes_each_periods_discovery() {
    // No handlers role: no periodic job of the app's own takes the lease.
    let app = TestApp::spawn_with_roles(vec![Role::Gateway, Role::Projections]).await;
    let work = tempfile::tempdir().expect("a work dir");
    let period = Duration::from_secs(2);
    // Three processes' views of the graph's jobs, on the one NATS.
    let graphs: Vec<Graph> = (0..3)
        .map(|_| {
            let services = app.services();
            Graph::new(
                services.services,
                app.db.pool.clone(),
                Arc::new(AgentConfig::without_model(work.path().to_path_buf())),
                services.connectors,
                GraphConfig {
                    every: period,
                    ..GraphConfig::default()
                },
            )
        })
        .collect();
    let race = || async {
        let taken = futures::future::join_all(graphs.iter().map(Graph::lease)).await;
        taken
            .into_iter()
            .map(|t| t.expect("the lease answers"))
            .filter(|won| *won)
            .count()
    };

    assert_eq!(race().await, 1, "exactly one takes the period's run");
    assert_eq!(race().await, 0, "nobody runs it again within the period");
    tokio::time::sleep(period + Duration::from_millis(1500)).await;
    assert_eq!(race().await, 1, "the next period is taken once again");
    app.stop().await;
}
