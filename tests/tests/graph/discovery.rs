//! Discovery end to end: `POST /api/graph/discover` runs fake `kubectl`, `gcloud`, `aws` and
//! `az` on the executor's `PATH` for the providers the organisation connected, each with the
//! credentials its CLI reads (a fake without them refuses to list), printing recorded
//! inventories; the graph shows what they list. The staleness sweep with a clock moved forward
//! marks, then removes.

use std::time::{Duration, Instant};

use aurora_handlers::graph::{DiscoveryProvider, Graph, GraphConfig};
use aurora_tests::chat::FakeClis;
use aurora_tests::providers::{
    connect_kubernetes, gcp_key, FakeProviders, AWS_EXTERNAL_ID, AWS_ROLE, GCP_KEY_PEM,
};
use aurora_tests::{audit_is_clean, Account, TestApp};
use chrono::{TimeDelta, Utc};
use serde_json::{json, Value};

/// `(cli, arguments, fixture file)`: what each fake prints for which call.
const RECORDED: &[(&str, &str, &str)] = &[
    (
        "kubectl",
        "get namespaces --all-namespaces -o json",
        "kubectl_namespaces.json",
    ),
    (
        "kubectl",
        "get deployments --all-namespaces -o json",
        "kubectl_deployments.json",
    ),
    (
        "kubectl",
        "get statefulsets --all-namespaces -o json",
        "kubectl_statefulsets.json",
    ),
    (
        "kubectl",
        "get services --all-namespaces -o json",
        "kubectl_services.json",
    ),
    (
        "kubectl",
        "get ingresses --all-namespaces -o json",
        "kubectl_ingresses.json",
    ),
    (
        "kubectl",
        "get pods --all-namespaces -o json",
        "kubectl_pods.json",
    ),
    (
        "kubectl",
        "get configmaps --all-namespaces -o json",
        "kubectl_configmaps.json",
    ),
    (
        "gcloud",
        "compute instances list --format=json",
        "gcloud_compute_instances.json",
    ),
    (
        "gcloud",
        "container clusters list --format=json",
        "gcloud_container_clusters.json",
    ),
    (
        "gcloud",
        "sql instances list --format=json",
        "gcloud_sql_instances.json",
    ),
    (
        "gcloud",
        "run services list --format=json",
        "gcloud_run_services.json",
    ),
    (
        "gcloud",
        "pubsub topics list --format=json",
        "gcloud_pubsub_topics.json",
    ),
    (
        "gcloud",
        "compute forwarding-rules list --format=json",
        "gcloud_forwarding_rules.json",
    ),
    (
        "aws",
        "ec2 describe-instances --output json",
        "aws_ec2_describe_instances.json",
    ),
    (
        "aws",
        "eks list-clusters --output json",
        "aws_eks_list_clusters.json",
    ),
    (
        "aws",
        "rds describe-db-instances --output json",
        "aws_rds_describe_db_instances.json",
    ),
    (
        "aws",
        "elbv2 describe-load-balancers --output json",
        "aws_elbv2_describe_load_balancers.json",
    ),
    (
        "aws",
        "elbv2 describe-target-groups --output json",
        "aws_elbv2_describe_target_groups.json",
    ),
    (
        "aws",
        "lambda list-functions --output json",
        "aws_lambda_list_functions.json",
    ),
    (
        "aws",
        "lambda list-event-source-mappings --output json",
        "aws_lambda_list_event_source_mappings.json",
    ),
    (
        "aws",
        "sqs list-queues --output json",
        "aws_sqs_list_queues.json",
    ),
    (
        "aws",
        "sns list-topics --output json",
        "aws_sns_list_topics.json",
    ),
    ("az", "vm list -o json", "az_vm_list.json"),
    ("az", "aks list -o json", "az_aks_list.json"),
    ("az", "sql server list -o json", "az_sql_server_list.json"),
    ("az", "webapp list -o json", "az_webapp_list.json"),
];

const AZURE_SECRET: &str = "azure-secret-9999";

/// The four CLIs, each printing its recorded inventory for the calls discovery makes.
pub(super) fn fake_clis() -> FakeClis {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../domain/src/service/inventory/fixtures");
    let clis = FakeClis::install(&[]);
    // The variable each CLI's credentials arrive in: without it, the fake lists nothing (az
    // must be logged in with the service principal instead).
    let credential = |cli: &str| match cli {
        "kubectl" => "KUBECONFIG",
        "gcloud" => "CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE",
        "aws" => "AWS_SESSION_TOKEN",
        _ => "AZURE_CONFIG_DIR",
    };
    for cli in ["kubectl", "gcloud", "aws", "az"] {
        let mut body = format!(
            "[ -n \"${var}\" ] || {{ echo \"no {var}\" >&2; exit 3; }}\ncase \"$*\" in\n",
            var = credential(cli)
        );
        for (_, args, file) in RECORDED.iter().filter(|(c, _, _)| *c == cli) {
            body.push_str(&format!(
                "  \"{args}\") cat '{}' ;;\n",
                fixtures.join(file).display()
            ));
        }
        match cli {
            "kubectl" => body.push_str("  \"config current-context\") echo gke-prod ;;\n"),
            "aws" => body.push_str("  \"configure get region\") echo eu-west-1 ;;\n"),
            _ => {}
        }
        body.push_str("  *) echo \"unrecorded call: $*\" >&2; exit 2 ;;\nesac");
        match cli {
            "az" => clis.az(AZURE_SECRET, &body),
            _ => clis.script(cli, &body),
        }
    }
    clis
}

pub(super) fn config() -> GraphConfig {
    GraphConfig {
        providers: vec![
            DiscoveryProvider::Kubernetes,
            DiscoveryProvider::Gcp,
            DiscoveryProvider::Aws,
            DiscoveryProvider::Azure,
        ],
        ..GraphConfig::default()
    }
}

pub(super) async fn graph_until(app: &TestApp, who: &Account, path: &str, count: usize) -> Value {
    let started = Instant::now();
    loop {
        let page = app.get_json(path, Some(who)).await.expect_status(200);
        if page["nodes"].as_array().map(Vec::len) == Some(count) {
            return page;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{path}: {page}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discovery_on_request_lists_every_provider_through_its_cli_and_goes_stale_in_time() {
    let clis = fake_clis();
    let work = tempfile::tempdir().expect("a work dir");
    let mut agent = aurora_handlers::agent::AgentConfig::without_model(work.path().to_path_buf());
    agent.tool_path = Some(clis.path());
    let providers = FakeProviders::start().await;
    let app = TestApp::launch()
        .agent(agent.clone())
        .connectors(providers.config())
        .graph(config())
        .spawn()
        .await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let viewer = app
        .invite_and_register(&admin, "viewer@acme.io", "viewer")
        .await;

    app.post_json("/api/graph/discover", Some(&viewer), &Value::Null)
        .await
        .expect_error(403, "forbidden");
    // Only the cluster is connected: only it is listed.
    connect_kubernetes(&app, &admin).await;
    let requested = app
        .post_json("/api/graph/discover", Some(&admin), &Value::Null)
        .await
        .expect_status(202);
    assert_eq!(requested["status"], "requested");
    graph_until(&app, &admin, "/api/graph?limit=1000", 11).await;
    assert!(
        clis.calls().iter().all(|c| c.starts_with("kubectl ")),
        "no other CLI ran: {:?}",
        clis.calls()
    );

    // Every cloud connected: each listed with its own credentials.
    providers.expect_external_id(AWS_ROLE, AWS_EXTERNAL_ID);
    for (kind, body) in [
        (
            "gcp",
            json!({"credentials": {"service_account_key": gcp_key("shop-prod", GCP_KEY_PEM)}}),
        ),
        (
            "aws",
            json!({"settings": {"role_arn": AWS_ROLE, "external_id": AWS_EXTERNAL_ID, "region": "eu-west-1"}}),
        ),
        (
            "azure",
            json!({
                "settings": {"tenant_id": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "client_id": "11111111-2222-3333-4444-555555555555"},
                "credentials": {"client_secret": AZURE_SECRET}
            }),
        ),
    ] {
        app.post_json(&format!("/api/connectors/{kind}"), Some(&admin), &body)
            .await
            .expect_status(201);
    }
    app.post_json("/api/graph/discover", Some(&admin), &Value::Null)
        .await
        .expect_status(202);

    // Kubernetes 11, Google Cloud 7, AWS 10, Azure 4.
    let page = graph_until(&app, &admin, "/api/graph?limit=1000", 32).await;
    for (provider, count) in [("kubernetes", 11), ("gcp", 7), ("aws", 10), ("azure", 4)] {
        let listed = app
            .get_json(&format!("/api/graph?provider={provider}"), Some(&admin))
            .await
            .expect_status(200);
        assert_eq!(
            listed["nodes"].as_array().map(Vec::len),
            Some(count),
            "{provider}"
        );
    }
    let db = page["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["key"] == "orders-db")
        .expect("Cloud SQL");
    assert_eq!(db["node_type"], "database");
    assert_eq!(db["region"], "europe-west1");
    // Dependencies the inventories showed, with how they were found (edges are written after
    // the nodes: wait for the last of them).
    let started = Instant::now();
    let invoice = loop {
        let invoice = app
            .get_json("/api/graph/services/invoice-api", Some(&admin))
            .await
            .expect_status(200);
        if invoice["edges"].as_array().map(Vec::len) == Some(2) {
            break invoice;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{invoice}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(invoice["node"]["provider"], "gcp");
    let mut origins: Vec<&str> = invoice["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["origin"].as_str())
        .collect();
    origins.sort_unstable();
    assert_eq!(
        origins,
        ["cloud_inventory", "env_var"],
        "Cloud SQL, then the topic it names"
    );
    let blast = app
        .get_json("/api/graph/services/payments/blast-radius", Some(&admin))
        .await
        .expect_status(200);
    let hit: Vec<&str> = blast["affected"]
        .as_array()
        .expect("affected")
        .iter()
        .filter_map(|r| r["node"]["key"].as_str())
        .collect();
    assert!(
        hit.contains(&"checkout") && hit.contains(&"shop-web"),
        "{hit:?}"
    );
    let lambda = app
        .get_json(
            "/api/graph/services/settle-payments/neighbourhood",
            Some(&admin),
        )
        .await
        .expect_status(200);
    assert_eq!(
        lambda["nodes"].as_array().map(Vec::len),
        Some(3),
        "itself, its queue, its database"
    );
    assert!(clis
        .calls()
        .contains(&"kubectl get deployments --all-namespaces -o json".to_owned()));

    // The clock moved on: unseen for 7 days is stale, 30 days later gone; events, so the
    // rebuilt read model agrees.
    let services = app.services();
    let graph = Graph::new(
        services.services,
        app.db.pool.clone(),
        std::sync::Arc::new(agent),
        services.connectors,
        config(),
    );
    let later = Utc::now() + TimeDelta::days(8);
    let swept = graph.sweep(&admin.tenant, later).await.expect("a sweep");
    assert_eq!((swept.marked_stale, swept.removed), (32, 0));
    let again = graph.sweep(&admin.tenant, later).await.expect("a sweep");
    assert_eq!((again.marked_stale, again.removed), (0, 0), "marked once");
    graph_until(&app, &admin, "/api/graph?stale=true&limit=1000", 32).await;
    let gone = graph
        .sweep(&admin.tenant, later + TimeDelta::days(31))
        .await
        .expect("a sweep");
    assert_eq!(gone.removed, 32);
    graph_until(&app, &admin, "/api/graph", 0).await;
    app.get_json("/api/graph/services/payments", Some(&admin))
        .await
        .expect_error(404, "not_found");
    audit_is_clean(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_connected_cluster_is_discovered() {
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
    for context in ["prod", "staging"] {
        app.post_json(
            "/api/connectors/kubernetes",
            Some(&admin),
            &json!({"settings": {"context": context}, "credentials": {"kubeconfig": aurora_tests::providers::kubeconfig("kube-token-0001")}}),
        )
        .await
        .expect_status(201);
    }
    app.post_json("/api/graph/discover", Some(&admin), &Value::Null)
        .await
        .expect_status(202);
    // Both clusters' inventories are read (each lists the same recorded resources, so the
    // graph holds them once): every listing ran twice.
    let started = Instant::now();
    loop {
        let calls = clis.calls();
        let listed = calls
            .iter()
            .filter(|c| c.as_str() == "kubectl get services --all-namespaces -o json")
            .count();
        if listed == 2 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{calls:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    graph_until(&app, &admin, "/api/graph?limit=1000", 11).await;
    app.stop().await;
}
