//! `make bench`: the service graph (issue 17), written to `BENCHMARKS.md` (section `graph`).
//!
//! - **Queries** on one tenant's graph of 100 000 nodes and 500 000 edges, written straight into
//!   the read model (the events that would make it are not what is measured): 1 000 systems of
//!   100 services, each depending on the next five of its system, wrapping round — every system
//!   is a cycle, so a blast radius reaches all 99 others of its system and a depth-3
//!   neighbourhood 31 nodes. Blast radius and depth-3 neighbourhood of random nodes, p50/p99, as
//!   the routes run them (`queries::blast_radius`, `queries::neighbourhood` in a tenant-scoped
//!   transaction); beside them, the ceiling of the same run: one primary-key read of a node in
//!   the same kind of transaction.
//! - **Discovery ingest**: a fake `kubectl` listing 10 000 deployments in 100 namespaces,
//!   through `Graph::discover` (the executor, the parser, a command per node and per edge):
//!   events/s, against acknowledged publishes of the same size with the same concurrency (32 in
//!   flight) in the same run.
//! - **Correlation's decision** for one alert against 50 open incidents, with the 500 000-edge
//!   graph (as `Topology` keeps it in memory) and with none, p50/p99.
//!
//! `BENCH_GRAPH_QUERIES` (default 500), `BENCH_GRAPH_RESOURCES` (default 10 000).

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use aurora_domain::correlation::{CorrelatorSnapshot, PendingAlert, ServiceGraph};
use aurora_handlers::graph::{DiscoveryProvider, Graph, GraphConfig};
use aurora_projections::queries;
use aurora_tests::bench::{env_usize, ms, p50_p99};
use aurora_tests::chat::FakeClis;
use aurora_tests::providers::connect_kubernetes;
use aurora_tests::TestApp;
use chrono::{TimeDelta, Utc};
use futures::StreamExt;
use sqlx::PgPool;
use uuid::Uuid;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SYSTEMS: i64 = 1_000;
const PER_SYSTEM: i64 = 100;
const DEPENDENCIES: i64 = 5;
/// Acknowledged publishes in flight at once: discovery's own concurrency.
const IN_FLIGHT: usize = 32;

/// The key of node `j` of system `s`.
fn key(s: i64, j: i64) -> String {
    format!("s{s}-svc{j}")
}

/// A deterministic pseudo-random sequence (xorshift64), for picking nodes.
struct Picks(u64);

impl Picks {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// The 100 000 nodes and 500 000 edges, by SQL (each id the md5 of its key).
async fn seed(pool: &PgPool, tenant: &str) {
    let started = Instant::now();
    sqlx::query(
        "INSERT INTO service_nodes (tenant_id, id, key, name, node_type, provider, region, labels,
                                    first_seen, last_seen, stale_since, last_sequence, state)
         SELECT $1, md5(k)::uuid, k, k,
                'service', 'kubernetes', 'europe-west1', '{}'::jsonb, now(), now(), NULL, 1, '{}'
         FROM (SELECT 's' || s || '-svc' || j AS k
               FROM generate_series(0, $2 - 1) s, generate_series(0, $3 - 1) j) n",
    )
    .bind(tenant)
    .bind(SYSTEMS)
    .bind(PER_SYSTEM)
    .execute(pool)
    .await
    .expect("the nodes");
    sqlx::query(
        "INSERT INTO service_edges (tenant_id, from_id, to_id, kind, confidence, origin, declared_by)
         SELECT $1,
                md5('s' || s || '-svc' || j)::uuid,
                md5('s' || s || '-svc' || ((j + d) % $3))::uuid,
                'DEPENDS_ON', 0.8, 'env_var', NULL
         FROM generate_series(0, $2 - 1) s, generate_series(0, $3 - 1) j, generate_series(1, $4) d",
    )
    .bind(tenant)
    .bind(SYSTEMS)
    .bind(PER_SYSTEM)
    .bind(DEPENDENCIES)
    .execute(pool)
    .await
    .expect("the edges");
    for table in ["service_nodes", "service_edges"] {
        sqlx::query(&format!("ANALYZE {table}"))
            .execute(pool)
            .await
            .expect("analyze");
    }
    println!("seeded in {:.1} s", started.elapsed().as_secs_f64());
}

struct Queries {
    blast: (f64, f64),
    blast_reached: usize,
    near: (f64, f64),
    near_reached: usize,
    raw: (f64, f64),
}

async fn queries(pool: &PgPool, tenant: &str, n: usize) -> Queries {
    let ids: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM service_nodes WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_all(pool)
        .await
        .expect("the ids");
    let mut rng = Picks(0x9E37_79B9_7F4A_7C15);
    let pick = |rng: &mut Picks| ids[rng.below(ids.len())];
    let (mut blast, mut near, mut raw) = (Vec::new(), Vec::new(), Vec::new());
    let (mut blast_reached, mut near_reached) = (0, 0);
    for round in 0..n + 20 {
        let id = pick(&mut rng);
        let started = Instant::now();
        let mut tx = queries::scoped(pool, tenant).await.expect("a transaction");
        let reached = queries::blast_radius(&mut tx, tenant, id)
            .await
            .expect("blast radius");
        tx.commit().await.expect("commit");
        let took = ms(started.elapsed());
        let started = Instant::now();
        let mut tx = queries::scoped(pool, tenant).await.expect("a transaction");
        let (around, _) = queries::neighbourhood(&mut tx, tenant, pick(&mut rng), 3)
            .await
            .expect("neighbourhood");
        tx.commit().await.expect("commit");
        let near_took = ms(started.elapsed());
        let started = Instant::now();
        let mut tx = queries::scoped(pool, tenant).await.expect("a transaction");
        let one = queries::graph_node(&mut tx, tenant, pick(&mut rng))
            .await
            .expect("one node");
        tx.commit().await.expect("commit");
        let raw_took = ms(started.elapsed());
        assert!(one.is_some());
        // The first rounds warm the caches.
        if round >= 20 {
            blast.push(took);
            near.push(near_took);
            raw.push(raw_took);
            blast_reached = reached.len();
            near_reached = around.len();
        }
    }
    Queries {
        blast: p50_p99(blast),
        blast_reached,
        near: p50_p99(near),
        near_reached,
        raw: p50_p99(raw),
    }
}

/// `kubectl get deployments` of `n` deployments in 100 namespaces, and its namespaces.
fn kubectl_outputs(n: usize) -> (String, String) {
    let deployments: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({"metadata": {"name": format!("app-{i:05}"), "namespace": format!("ns-{:02}", i % 100)}})
        })
        .collect();
    let namespaces: Vec<serde_json::Value> = (0..100)
        .map(|i| serde_json::json!({"metadata": {"name": format!("ns-{i:02}")}}))
        .collect();
    (
        serde_json::json!({"items": deployments}).to_string(),
        serde_json::json!({"items": namespaces}).to_string(),
    )
}

struct Ingest {
    resources: usize,
    events: usize,
    seconds: f64,
    raw_per_second: f64,
}

async fn discovery(app: &TestApp, resources: usize) -> Ingest {
    let admin = app.register("ops@discovery.io", "Discovery").await;
    connect_kubernetes(app, &admin).await;
    let (deployments, namespaces) = kubectl_outputs(resources);
    let dir = tempfile::tempdir().expect("a dir");
    let (d, n) = (dir.path().join("d.json"), dir.path().join("n.json"));
    std::fs::write(&d, deployments).expect("write");
    std::fs::write(&n, namespaces).expect("write");
    let clis = FakeClis::install(&[]);
    clis.script(
        "kubectl",
        &format!(
            "case \"$*\" in\n  \"config current-context\") echo bench ;;\n  \"get deployments --all-namespaces -o json\") cat '{}' ;;\n  \"get namespaces --all-namespaces -o json\") cat '{}' ;;\n  *) echo '{{\"items\": []}}' ;;\nesac",
            d.display(),
            n.display()
        ),
    );
    let work = tempfile::tempdir().expect("a work dir");
    let mut agent = aurora_handlers::agent::AgentConfig::without_model(work.path().to_path_buf());
    agent.tool_path = Some(clis.path());
    let services = app.services();
    let graph = Graph::new(
        services.services.clone(),
        services.pool.clone(),
        Arc::new(agent),
        services.connectors.clone(),
        GraphConfig {
            providers: vec![DiscoveryProvider::Kubernetes],
            ..GraphConfig::default()
        },
    );
    // The connectors read model is written by the projections: wait until discovery sees it.
    for _ in 0..500 {
        if services
            .connectors
            .connected_kinds(&admin.tenant)
            .await
            .is_ok_and(|k| !k.is_empty())
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let started = Instant::now();
    let found = graph
        .discover(&admin.tenant, Utc::now())
        .await
        .expect("discovery runs");
    let seconds = started.elapsed().as_secs_f64();
    assert!(found.skipped.is_empty(), "{:?}", found.skipped);
    assert_eq!(
        found.nodes,
        resources + 101,
        "deployments, namespaces, cluster"
    );

    // The ceiling: acknowledged publishes of an event's size, 32 in flight.
    let js = app.nats.jetstream();
    js.create_stream(async_nats::jetstream::stream::Config {
        name: "BENCH_GRAPH_RAW".into(),
        subjects: vec!["bench.graph.raw".into()],
        ..Default::default()
    })
    .await
    .expect("a scratch stream");
    let body = bytes::Bytes::from(vec![b'x'; 600]);
    let count = found.nodes + found.edges;
    let started = Instant::now();
    futures::stream::iter(0..count)
        .map(|_| {
            let (js, body) = (js.clone(), body.clone());
            async move {
                js.publish("bench.graph.raw", body)
                    .await
                    .expect("publish")
                    .await
                    .expect("ack");
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect::<Vec<()>>()
        .await;
    let raw_per_second = count as f64 / started.elapsed().as_secs_f64();
    Ingest {
        resources,
        events: count,
        seconds,
        raw_per_second,
    }
}

/// One alert decided against 50 open incidents of its system, `n` times, on `graph`.
fn decisions(graph: &ServiceGraph, n: usize) -> (f64, f64) {
    let at = Utc::now();
    let alert = |i: i64, s: i64, j: i64| PendingAlert {
        inbox_sequence: i as u64,
        index: 0,
        alert_id: format!("a-{i}"),
        fingerprint: format!("fp-{i}"),
        title: format!("Latency high on s{s}-svc{j}"),
        service: key(s, j),
        received_at: at + TimeDelta::milliseconds(i),
        integration_id: None,
        placement: Default::default(),
    };
    let mut open = CorrelatorSnapshot::default();
    open.settings.threshold = 1.0;
    // Nothing reaches a threshold of 1: 50 incidents, one per service.
    open.decide_all(
        "bench",
        (0..50).map(|j| alert(j, 7, j * 2)).collect(),
        graph,
    );
    assert!(!open.candidates.is_empty());
    open.settings = Default::default();
    let mut times = Vec::with_capacity(n);
    for i in 0..n as i64 {
        let mut snapshot = open.clone();
        let one = vec![alert(1_000 + i, 7, (i * 13) % PER_SYSTEM)];
        let started = Instant::now();
        let decided = snapshot.decide_all("bench", one, graph);
        times.push(ms(started.elapsed()));
        assert_eq!(decided.len(), 1);
    }
    p50_p99(times)
}

#[tokio::main]
async fn main() {
    aurora_tests::init_logs();
    let n = env_usize("BENCH_GRAPH_QUERIES", 500);
    let resources = env_usize("BENCH_GRAPH_RESOURCES", 10_000);
    let load_before = aurora_tests::bench::load_average();
    let app = TestApp::spawn().await;
    let pool = app.db.pool.clone();
    let tenant = "bench-graph";
    seed(&pool, tenant).await;
    let q = queries(&pool, tenant, n).await;
    println!(
        "blast radius p50 {:.2} p99 {:.2} ms ({} reached); depth-3 neighbourhood p50 {:.2} p99 {:.2} ms ({} reached); raw p50 {:.3} p99 {:.3} ms",
        q.blast.0, q.blast.1, q.blast_reached, q.near.0, q.near.1, q.near_reached, q.raw.0, q.raw.1
    );
    let mut tx = queries::scoped(&pool, tenant).await.expect("tx");
    let keys = queries::dependency_keys(&mut tx, tenant)
        .await
        .expect("the edges");
    tx.commit().await.expect("commit");
    let edges = keys.len();
    let graph: ServiceGraph = keys.into_iter().collect();
    let with = decisions(&graph, n * 4);
    let without = decisions(&ServiceGraph::new(), n * 4);
    println!(
        "decision with the graph p50 {:.3} p99 {:.3} ms; without p50 {:.3} p99 {:.3} ms",
        with.0, with.1, without.0, without.1
    );
    let ingest = discovery(&app, resources).await;
    let per_second = ingest.events as f64 / ingest.seconds;
    println!(
        "discovery: {} resources, {} events in {:.2} s = {per_second:.0} ev/s; raw {:.0} msg/s",
        ingest.resources, ingest.events, ingest.seconds, ingest.raw_per_second
    );
    app.stop().await;
    let load_after = aurora_tests::bench::load_average();
    println!("load average {load_before} → {load_after}");

    let goal = |p99: f64| {
        if p99 <= 50.0 {
            "p99 ≤ 50 ms: met"
        } else {
            "p99 ≤ 50 ms: **not met**"
        }
    };
    let mut out = String::new();
    writeln!(out, "## Service graph (issue 17)\n").ok();
    writeln!(out, "Written by `make bench` (`tests/benches/graph.rs`) on {}: {}; load average {} at the start, {} at the end (the machine is shared).\n", Utc::now().format("%Y-%m-%d %H:%M UTC"), aurora_tests::bench::machine(), load_before, load_after).ok();
    writeln!(out, "One tenant's graph of {} nodes and {edges} `DEPENDS_ON` edges in the read model: {SYSTEMS} systems of {PER_SYSTEM} services, each depending on the next {DEPENDENCIES} of its system, wrapping round (every system is a cycle: a blast radius reaches its whole system, {} nodes; a depth-3 neighbourhood {} nodes). {n} queries of random nodes each, as the routes run them (a tenant-scoped transaction), after 20 to warm up; the ceiling is one primary-key read of a node in the same kind of transaction, same run.\n", SYSTEMS * PER_SYSTEM, q.blast_reached, q.near_reached).ok();
    writeln!(
        out,
        "| query | p50 | p99 | × ceiling (p50) | goal |\n|---|---|---|---|---|"
    )
    .ok();
    writeln!(
        out,
        "| blast radius | {:.2} ms | {:.2} ms | {:.1}× | {} |",
        q.blast.0,
        q.blast.1,
        q.blast.0 / q.raw.0,
        goal(q.blast.1)
    )
    .ok();
    writeln!(
        out,
        "| neighbourhood, depth 3 | {:.2} ms | {:.2} ms | {:.1}× | {} |",
        q.near.0,
        q.near.1,
        q.near.0 / q.raw.0,
        goal(q.near.1)
    )
    .ok();
    writeln!(
        out,
        "| one node by id (ceiling) | {:.3} ms | {:.3} ms | 1× | |\n",
        q.raw.0, q.raw.1
    )
    .ok();
    writeln!(out, "Discovery ingest: a fake `kubectl` listing {} deployments in 100 namespaces, through `Graph::discover` (the executor, the parser, one command per node and per edge, 32 at once): {} events in {:.2} s = **{per_second:.0} events/s**, {:.0} % of the same run's ceiling of {:.0} acknowledged 600-byte publishes/s with 32 in flight.\n", ingest.resources, ingest.events, ingest.seconds, 100.0 * per_second / ingest.raw_per_second, ingest.raw_per_second).ok();
    writeln!(out, "Correlation's decision for one alert against 50 open incidents ({} decisions): with the {edges}-edge graph in memory (as `Topology` keeps it) p50 {:.3} ms / p99 {:.3} ms; with no graph (service-name fallback) p50 {:.3} ms / p99 {:.3} ms.", n * 4, with.0, with.1, without.0, without.1).ok();
    aurora_tests::bench::write_section("graph", &out);
}
