//! Shutdown (what `aurora up` does on Ctrl-C) does not wait for a discovery in hand: an `aws` that
//! hangs is killed and the roles stop within a couple of seconds, whether the run was asked for
//! (`POST /api/graph/discover`) or is the periodic one. It used to wait for every listing's tool
//! time limit in turn (a minute each).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aurora_gateway::app::Role;
use aurora_handlers::agent::AgentConfig;
use aurora_handlers::graph::{DiscoveryProvider, Graph, GraphConfig};
use aurora_tests::chat::FakeClis;
use aurora_tests::providers::{FakeProviders, AWS_EXTERNAL_ID, AWS_ROLE};
use aurora_tests::{Account, TestApp};
use serde_json::{json, Value};
use tokio::sync::watch;

/// How long stopping may take with the hung command in hand.
const PROMPTLY: Duration = Duration::from_secs(3);

/// A fake `aws` that writes its process id next to itself and then hangs (`exec`, so the id is
/// the sleeping process's).
fn hanging_aws() -> FakeClis {
    let clis = FakeClis::install(&[]);
    let pid = clis.dir.path().join("aws.pid");
    clis.script(
        "aws",
        &format!("echo $$ > '{}'\nexec sleep 120", pid.display()),
    );
    clis
}

fn aws_only() -> GraphConfig {
    GraphConfig {
        providers: vec![DiscoveryProvider::Aws],
        ..GraphConfig::default()
    }
}

/// The agent's settings with the fakes on its `PATH` and the usual minute per command.
fn agent(clis: &FakeClis, work: &Path) -> AgentConfig {
    let mut agent = AgentConfig::without_model(work.to_path_buf());
    agent.tool_path = Some(clis.path());
    assert_eq!(agent.tool_timeout, Duration::from_secs(60));
    agent
}

async fn connect_aws(app: &TestApp, admin: &Account, providers: &FakeProviders) {
    providers.expect_external_id(AWS_ROLE, AWS_EXTERNAL_ID);
    app.post_json(
        "/api/connectors/aws",
        Some(admin),
        &json!({"settings": {"role_arn": AWS_ROLE, "external_id": AWS_EXTERNAL_ID, "region": "eu-west-1"}}),
    )
    .await
    .expect_status(201);
}

/// The hanging `aws`'s process id, once it has started.
async fn hung_pid(clis: &FakeClis) -> u32 {
    clis.until_called(1).await;
    let file = clis.dir.path().join("aws.pid");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(pid) = std::fs::read_to_string(&file)
            .ok()
            .and_then(|text| text.trim().parse().ok())
        {
            return pid;
        }
        assert!(Instant::now() < deadline, "the fake aws wrote no pid");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Whether `pid` is still running (a killed child not yet reaped is a zombie: not running).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        // The state follows the command's name, which is in parentheses.
        .and_then(|stat| {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next())
        })
        .is_some_and(|state| state != 'Z')
}

async fn until_gone(pid: u32) {
    let deadline = Instant::now() + PROMPTLY;
    while running(pid) {
        assert!(
            Instant::now() < deadline,
            "the hung aws ({pid}) was not killed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_a_requested_discovery_whose_cli_hangs_and_kills_the_cli() {
    // Arrange
    let clis = hanging_aws();
    let work = tempfile::tempdir().expect("a work dir");
    let providers = FakeProviders::start().await;
    let app = TestApp::launch()
        .agent(agent(&clis, work.path()))
        .connectors(providers.config())
        .graph(aws_only())
        .spawn()
        .await;
    let admin = app.register("admin@acme.io", "Acme").await;
    connect_aws(&app, &admin, &providers).await;
    app.post_json("/api/graph/discover", Some(&admin), &Value::Null)
        .await
        .expect_status(202);
    let pid = hung_pid(&clis).await;
    assert!(running(pid), "the fake aws hangs");

    // Act
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(30), app.stop())
        .await
        .expect("the app stops");

    // Assert
    assert!(
        started.elapsed() < PROMPTLY,
        "stopping took {:?}",
        started.elapsed()
    );
    until_gone(pid).await;
    assert_eq!(
        clis.calls(),
        ["aws ec2 describe-instances --output json"],
        "nothing else ran after shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_the_periodic_discovery_whose_cli_hangs_and_kills_the_cli() {
    // Arrange: no handlers role, so the only periodic run is the one this test starts.
    let clis = hanging_aws();
    let work = tempfile::tempdir().expect("a work dir");
    let providers = FakeProviders::start().await;
    let agent = agent(&clis, work.path());
    let app = TestApp::launch()
        .roles(vec![Role::Gateway, Role::Projections])
        .agent(agent.clone())
        .connectors(providers.config())
        .spawn()
        .await;
    let admin = app.register("admin@acme.io", "Acme").await;
    connect_aws(&app, &admin, &providers).await;
    let services = app.services();
    let graph = Graph::new(
        services.services,
        app.db.pool.clone(),
        Arc::new(agent),
        services.connectors,
        aws_only(),
    );
    let (stop, stopping) = watch::channel(false);
    let running_graph = tokio::spawn(graph.run(stopping));
    let pid = hung_pid(&clis).await;

    // Act
    let started = Instant::now();
    stop.send(true).expect("the graph listens");
    let stopped = tokio::time::timeout(Duration::from_secs(30), running_graph)
        .await
        .expect("the graph's work stops");

    // Assert
    stopped.expect("no panic").expect("a clean stop");
    assert!(
        started.elapsed() < PROMPTLY,
        "stopping took {:?}",
        started.elapsed()
    );
    until_gone(pid).await;
    app.stop().await;
}
