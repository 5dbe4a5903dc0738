//! `make bench`: what observing Aurora costs on the webhook intake, written to `BENCHMARKS.md`
//! (section `observability`).
//!
//! 1. Traces: three gateway processes (`aurora serve --role gateway`, built by `make bench`) on
//!    the same NATS and database, one exporting every span over OTLP/HTTP to a receiver in this
//!    process (`OTEL_EXPORTER_OTLP_ENDPOINT`, default sampler: every request is a trace), one
//!    without, one tracing one request in ten (the standard ratio sampler). The tracer provider
//!    is process-wide, hence processes. Four sessions, each on a fresh NATS and database with the
//!    gateways started in another order ([`STARTS`]); in each, three rounds of `wrk` against each
//!    gateway in turn, every other round in the reverse order (off, on, sampled; sampled, on,
//!    off; …). The figure is the median of the twelve (off, on) pairs' ratios. The receiver
//!    counts the spans as they come and decodes a few requests whole after the rounds
//!    ([`Received`]). The CPU per request of the gateway, nats-server and this process (the
//!    receiver) is read from `/proc` as well: on 2 cores wrk shares the machine with them all.
//! 2. Metrics: they cannot be switched off (a switch would be a branch in every series' update),
//!    so their cost is measured as a share of the gateway's CPU per webhook: what the intake's
//!    metric updates for one webhook take (the request counter by route and status, received,
//!    accepted with its latency; timed here over many iterations) over the CPU time the
//!    exporting-off gateway process spent per request in phase 1 (`/proc/<pid>/stat`).
//!
//! `BENCH_WRK_SECS` (default 4) sets each wrk round; `AURORA_BIN` the binary (default
//! `$CARGO_TARGET_DIR/release/aurora`, which `make bench` builds first).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aurora_telemetry::metrics::RouteCounters;
use aurora_tests::bench::{median, webhook_script, wrk, Wrk};
use aurora_tests::{TestDb, TestNats};
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;
use rustc_hash::FxBuildHasher;
use serde_json::{json, Value};

/// The local secret store's key, shared by the processes.
const SECRET_KEY: &str = "5f0c2b7e9a4d1c3e8b6a7f9d0e2c4b6a8d0f1e3c5b7a9d2e4f6a8c0b2d4e6f80";

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Sessions, each on fresh processes, and the order each starts its gateways in: every side
/// first, in the middle and last, and the traced gateway after the untraced one in half of them.
const STARTS: [[Side; 3]; 4] = [
    [Side::Off, Side::On, Side::Sampled],
    [Side::On, Side::Off, Side::Sampled],
    [Side::Sampled, Side::Off, Side::On],
    [Side::Sampled, Side::On, Side::Off],
];
/// Rounds of wrk runs in a session, one against each gateway per round: many short rounds, so
/// that the median of the (off, on) pairs is not one noisy round's (on 2 shared cores a pair's
/// ratio varies by ±15 %).
const ROUNDS_PER_SESSION: usize = 3;
const ROUNDS: usize = STARTS.len() * ROUNDS_PER_SESSION;

/// The gateways measured in each round.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    Off,
    On,
    Sampled,
}
impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Off => "off",
            Side::On => "on",
            Side::Sampled => "sampled",
        }
    }
}

/// The share of requests the sampled gateway traces.
const SAMPLED: f64 = 0.1;
/// Metric updates timed for phase 2.
const ITERATIONS: u32 = 1_000_000;

/// A child process, killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// CPU time (user + system) process `pid` has used so far.
fn cpu_of(pid: u32) -> Duration {
    cpu_of_stat(&stat_of(pid), OWN)
}

fn stat_of(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default()
}

/// The `/proc/<pid>/stat` fields of a process's own user and system time (`utime`, `stime`),
/// and of its children's that it waited for (`cutime`, `cstime`).
const OWN: [usize; 2] = [14, 15];
const WAITED_CHILDREN: [usize; 2] = [16, 17];

/// CPU time per request in one wrk run, by process: where a side's throughput went.
#[derive(Clone, Copy, Default)]
struct CpuPerRequest {
    gateway: f64,
    nats: f64,
    /// This process: the OTLP receiver (nothing else runs here during a round).
    receiver: f64,
    /// wrk (the only child this process waits for during a round).
    wrk: f64,
}

/// User + system time in a `/proc/<pid>/stat` line: the 14th and 15th fields (`utime`,
/// `stime`), in clock ticks (100 a second on Linux), counted from the field after the command's
/// closing parenthesis (the 3rd), by position: fields before them can be negative (`tpgid` is
/// -1 without a terminal) or letters (`state`).
fn cpu_of_stat(stat: &str, [user, system]: [usize; 2]) -> Duration {
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let ticks = |field: usize| -> u64 {
        fields
            .get(field - 3)
            .and_then(|f| f.parse().ok())
            .unwrap_or(0)
    };
    Duration::from_millis((ticks(user) + ticks(system)) * 10)
}

fn aurora_bin() -> std::path::PathBuf {
    if let Some(bin) = std::env::var_os("AURORA_BIN") {
        return bin.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        Into::into,
    );
    target.join("release/aurora")
}

/// `aurora serve --role <role>` on `port` against `nats` and `db`, with `env` added.
fn serve(role: &str, port: u16, nats: &str, db: &str, data: &str, env: &[(&str, &str)]) -> Process {
    let bin = aurora_bin();
    let mut c = Command::new(&bin);
    c.args([
        "serve",
        "--role",
        role,
        "--listen",
        &format!("127.0.0.1:{port}"),
    ])
    .env("NATS_URL", nats)
    .env("DATABASE_URL", db)
    .env("AURORA_DATA_DIR", data)
    // One key for every process: processes starting together on a data dir without a key
    // would each generate one (and race writing it).
    .env("AURORA_SECRET_KEY", SECRET_KEY)
    .env("RUST_LOG", "warn")
    .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
    .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    .stdin(Stdio::null())
    .stdout(Stdio::null());
    for (name, value) in env {
        c.env(name, value);
    }
    Process(
        c.spawn().unwrap_or_else(|e| {
            panic!("{} does not run ({e}): make bench builds it", bin.display())
        }),
    )
}

/// What an OTLP/HTTP receiver was sent: the spans counted as they came (their outer levels
/// read, each span left as its bytes), the first [`KEPT`] export requests kept whole to be
/// decoded after the rounds, and the requests that were not OTLP. Keeping every request, as an
/// earlier version did, grew this process by ~200 bytes a span, and the kernel's zeroing of those
/// pages cost more CPU per webhook than the exporting gateway's own tracing.
#[derive(Default)]
struct Received {
    spans: AtomicUsize,
    refused: AtomicUsize,
    kept: std::sync::Mutex<Vec<Bytes>>,
}

/// Export requests kept whole.
const KEPT: usize = 16;

/// An export request read only as deep as counting its spans needs
/// (`opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest`'s field numbers).
#[derive(Clone, PartialEq, prost::Message)]
struct SpanCount {
    #[prost(message, repeated, tag = "1")]
    resource_spans: Vec<ResourceSpanCount>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ResourceSpanCount {
    #[prost(message, repeated, tag = "2")]
    scope_spans: Vec<ScopeSpanCount>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ScopeSpanCount {
    /// Slices of the request's buffer, not copies.
    #[prost(bytes = "bytes", repeated, tag = "2")]
    spans: Vec<Bytes>,
}

/// An OTLP/HTTP receiver counting what it is sent; its base URL.
async fn receiver(received: Arc<Received>) -> String {
    async fn traces(State(received): State<Arc<Received>>, body: Bytes) -> axum::http::StatusCode {
        let Ok(request) = SpanCount::decode(body.clone()) else {
            received.refused.fetch_add(1, Ordering::Relaxed);
            return axum::http::StatusCode::BAD_REQUEST;
        };
        let spans = request
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum::<usize>();
        received.spans.fetch_add(spans, Ordering::Relaxed);
        if let Ok(mut kept) = received.kept.lock() {
            if kept.len() < KEPT {
                kept.push(body);
            }
        }
        axum::http::StatusCode::OK
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let app = axum::Router::new()
        .route("/v1/traces", post(traces))
        .with_state(received);
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// `f` retried every 200 ms until it gives a value (at most 60 s; `what` names it otherwise).
async fn until<T, F: std::future::Future<Output = Option<T>>>(what: &str, f: impl Fn() -> F) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = f().await {
            return value;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{what} never happened"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Registers an account through the gateway at `base` (once the projections process made it
/// possible) and creates a Grafana integration: its webhook path and secret.
async fn integration(http: &reqwest::Client, base: &str) -> (String, String) {
    let token = until("registration", || async {
        let answer = http
            .post(format!("{base}/api/auth/register"))
            .json(&json!({"email": "bench@acme.io", "password": "correct horse", "organization": "Bench"}))
            .send()
            .await
            .ok()?;
        let body: Value = answer.json().await.ok()?;
        body["token"].as_str().map(str::to_owned)
    })
    .await;
    let created: Value = until("the integration", || async {
        let answer = http
            .post(format!("{base}/api/integrations"))
            .bearer_auth(&token)
            .json(&json!({"source": "grafana", "name": "Bench Grafana"}))
            .send()
            .await
            .ok()?;
        (answer.status() == 201).then_some(())?;
        answer.json().await.ok()
    })
    .await;
    let path = created["webhook_url"]
        .as_str()
        .and_then(|u| u.split_once("/webhooks/"))
        .map(|(_, rest)| format!("/webhooks/{rest}"))
        .expect("a webhook URL");
    (
        path,
        created["secret"].as_str().expect("a secret").to_owned(),
    )
}

/// What the intake's metrics cost for one webhook, timed over [`ITERATIONS`]: the update of
/// `aurora_http_requests_total` (its route's counters looked up as the middleware does),
/// `aurora_webhooks_received_total`, and `aurora_webhooks_accepted_total` with the latency
/// histogram (the clock read twice, as the route does), through the series the gateway keeps
/// with a cached integration.
fn metrics_per_webhook() -> Duration {
    let metrics = aurora_telemetry::Metrics::default();
    let series = metrics.webhook_series("grafana", None);
    let template = "/webhooks/{source}/{integration_id}";
    let routes: HashMap<Box<str>, RouteCounters, FxBuildHasher> =
        [(Box::from(template), metrics.route_counters(template))]
            .into_iter()
            .collect();
    let unmatched = metrics.route_counters("unmatched");
    let started = Instant::now();
    for _ in 0..ITERATIONS {
        let arrived = Instant::now();
        let counters = routes
            .get(std::hint::black_box(template))
            .unwrap_or(&unmatched);
        series.received();
        series.accepted(arrived.elapsed());
        counters.count("POST", 202);
    }
    started.elapsed() / ITERATIONS
}

fn row(w: &[Wrk]) -> String {
    format!(
        "{:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
        median(w.iter().map(|w| w.rps).collect()),
        median(w.iter().map(|w| w.p50_ms).collect()),
        median(w.iter().map(|w| w.p99_ms).collect())
    )
}

/// A session's processes: a fresh NATS, database and data directory, the projections, and the
/// three measured gateways, started in the session's order once an account and its integration
/// were made through a gateway that was then stopped: no measured gateway served anything before
/// the rounds, and each is started first, in the middle and last in some session (a gateway
/// started later was seen to cost nats-server more per message than one started earlier).
struct Session {
    gateways: Vec<(Side, u16, Process)>,
    _projections: Process,
    /// The wrk script (the integration's bearer secret) and the webhook's path.
    script: std::path::PathBuf,
    path: String,
    _dirs: [tempfile::TempDir; 2],
    _db: TestDb,
    nats: TestNats,
}

impl Session {
    async fn start(order: [Side; 3], endpoint: &str, http: &reqwest::Client) -> Self {
        let nats = TestNats::start().await;
        let db = TestDb::create().await;
        let data = tempfile::tempdir().expect("data dir");
        let data_dir = data.path().to_str().expect("utf-8");
        let free = || aurora_nats::server::free_port().expect("port");
        let serve = |role: &str, port: u16, env: &[(&str, &str)]| {
            serve(role, port, &nats.url(), &db.url, data_dir, env)
        };
        let projections = serve("projections", free(), &[]);
        let setup_port = free();
        let setup = serve("gateway", setup_port, &[]);
        let (path, secret) = integration(http, &format!("http://127.0.0.1:{setup_port}")).await;
        drop(setup);
        let sampled = SAMPLED.to_string();
        let mut gateways = Vec::new();
        for side in order {
            let env: &[(&str, &str)] = match side {
                Side::Off => &[],
                Side::On => &[("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)],
                // Tracing one request in ten, as an operator would at this rate.
                Side::Sampled => &[
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
                    ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
                    ("OTEL_TRACES_SAMPLER_ARG", &sampled),
                ],
            };
            let port = free();
            let process = serve("gateway", port, env);
            until("a measured gateway", || async {
                let answer = http
                    .get(format!("http://127.0.0.1:{port}/health"))
                    .send()
                    .await
                    .ok()?;
                answer.status().is_success().then_some(())
            })
            .await;
            gateways.push((side, port, process));
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let bearer = format!("Bearer {secret}");
        let script = webhook_script(dir.path(), "webhook.lua", &[("Authorization", &bearer)]);
        Self {
            gateways,
            _projections: projections,
            script,
            path,
            _dirs: [dir, data],
            _db: db,
            nats,
        }
    }

    /// One wrk run against `side`'s gateway: what wrk measured and the CPU time the gateway,
    /// nats-server and the receiver spent per request meanwhile.
    async fn round(&self, side: Side, secs: u64) -> (Wrk, CpuPerRequest) {
        let (_, port, process) = self
            .gateways
            .iter()
            .find(|(s, _, _)| *s == side)
            .expect("each side has a gateway");
        let (url, script) = (
            format!("http://127.0.0.1:{port}{}", self.path),
            self.script.clone(),
        );
        let pids = [
            process.0.id(),
            self.nats.server.pid().expect("nats-server runs"),
            std::process::id(),
        ];
        let before = pids.map(cpu_of);
        let wrk_before = cpu_of_stat(&stat_of(std::process::id()), WAITED_CHILDREN);
        // Off the runtime's threads: the receiver answers the exports meanwhile.
        let w = tokio::task::spawn_blocking(move || wrk(&url, &script, secs))
            .await
            .expect("wrk");
        let per_request = |cpu: Duration| cpu.as_secs_f64() / w.requests.max(1) as f64;
        let [gateway, nats, receiver] =
            std::array::from_fn(|i| per_request(cpu_of(pids[i]) - before[i]));
        let wrk =
            per_request(cpu_of_stat(&stat_of(std::process::id()), WAITED_CHILDREN) - wrk_before);
        (
            w,
            CpuPerRequest {
                gateway,
                nats,
                receiver,
                wrk,
            },
        )
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // The reader of `/proc/<pid>/stat` takes the 14th and 15th fields, also after a negative one
    // (an earlier version skipped the `-1` and read `stime` + `cutime`).
    assert_eq!(
        cpu_of_stat(
            "6529 (aurora serve) S 1 6429 4293 0 -1 4194304 20184 0 6 0 6031 3315 7 9 20",
            OWN
        ),
        Duration::from_millis((6031 + 3315) * 10)
    );
    assert_eq!(
        cpu_of_stat(
            "6529 (aurora serve) S 1 6429 4293 0 -1 4194304 20184 0 6 0 6031 3315 7 9 20",
            WAITED_CHILDREN
        ),
        Duration::from_millis((7 + 9) * 10)
    );
    let secs: u64 = std::env::var("BENCH_WRK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let received = Arc::new(Received::default());
    let endpoint = receiver(received.clone()).await;
    let http = reqwest::Client::new();
    let (mut offs, mut ons, mut sampleds) = (Vec::new(), Vec::new(), Vec::new());
    let (mut off_cpu, mut on_cpu) = (Vec::new(), Vec::new());
    for order in STARTS {
        let session = Session::start(order, &endpoint, &http).await;
        let mut answered = 0;
        for n in 0..ROUNDS_PER_SESSION {
            // Every other round in the reverse order, so that the machine drifting faster or
            // slower over the session weighs on both sides of a pair alike.
            let mut sides = [Side::Off, Side::On, Side::Sampled];
            if n % 2 == 1 {
                sides.reverse();
            }
            for side in sides {
                let (w, cpu) = session.round(side, secs).await;
                answered += w.requests;
                match side {
                    Side::Off => {
                        off_cpu.push(cpu);
                        offs.push(w);
                    }
                    Side::On => {
                        on_cpu.push(cpu);
                        ons.push(w);
                    }
                    Side::Sampled => sampleds.push(w),
                }
            }
        }
        aurora_tests::bench::assert_all_stored(&session.nats, answered).await;
    }
    // The last batch of spans leaves within the exporter's delay (5 s).
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        received.refused.load(Ordering::Relaxed),
        0,
        "every export request was OTLP"
    );
    let exported = received.spans.load(Ordering::Relaxed);
    // The requests kept whole are what the gateway means them to be: each span a request's
    // server span, in a trace of its own.
    let kept = std::mem::take(&mut *received.kept.lock().expect("the kept requests"));
    assert!(!kept.is_empty(), "the exporting gateway exported nothing");
    for body in kept {
        let request = ExportTraceServiceRequest::decode(body).expect("an OTLP export request");
        for span in request
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
        {
            assert_eq!(span.name, "request", "{span:?}");
            assert_eq!(span.kind, SpanKind::Server as i32, "{span:?}");
            assert_eq!(span.trace_id.len(), 16, "{span:?}");
            assert!(span.parent_span_id.is_empty(), "a root: {span:?}");
        }
    }
    assert!(
        offs.iter()
            .chain(&ons)
            .chain(&sampleds)
            .all(|w| w.non_2xx == 0 && w.rps > 0.0),
        "every request was accepted: off {offs:?}, on {ons:?}, sampled {sampleds:?}"
    );
    let ratio = median(
        ons.iter()
            .zip(&offs)
            .map(|(on, off)| on.rps / off.rps)
            .collect(),
    );
    let sampled_ratio = median(
        sampleds
            .iter()
            .zip(&offs)
            .map(|(sampled, off)| sampled.rps / off.rps)
            .collect(),
    );
    // The pairs by session, each with the order its gateways started in.
    let pairs: Vec<String> = ons
        .iter()
        .zip(&offs)
        .map(|(on, off)| format!("{:.0} %", on.rps / off.rps * 100.0))
        .collect();
    let rounds: Vec<String> = STARTS
        .iter()
        .zip(pairs.chunks(ROUNDS_PER_SESSION))
        .map(|(order, pairs)| {
            let order: Vec<&str> = order.iter().map(|side| side.name()).collect();
            format!("{} started: {}", order.join(", "), pairs.join(", "))
        })
        .collect();

    let per_webhook = metrics_per_webhook();
    let process =
        |cpu: &[CpuPerRequest], of: fn(&CpuPerRequest) -> f64| median(cpu.iter().map(of).collect());
    let cpu_per_request = process(&off_cpu, |c| c.gateway);
    let on_gateway = process(&on_cpu, |c| c.gateway);
    let (off_nats, on_nats) = (process(&off_cpu, |c| c.nats), process(&on_cpu, |c| c.nats));
    let (off_receiver, on_receiver) = (
        process(&off_cpu, |c| c.receiver),
        process(&on_cpu, |c| c.receiver),
    );
    let share = per_webhook.as_secs_f64() / cpu_per_request;

    let mut out = String::new();
    writeln!(
        out,
        "## Observability: traces and metrics on the intake (issue 20)\n"
    )
    .ok();
    writeln!(out, "Written by `make bench` (`tests/benches/observability.rs`) on {}: {} (load average {} at the end). wrk, the receiver and the gateways share the cores.\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"), aurora_tests::bench::machine(), aurora_tests::bench::load_average()).ok();
    writeln!(out, "| measurement | with | without | ratio | goal |").ok();
    writeln!(out, "|---|---|---|---|---|").ok();
    writeln!(out, "| webhook intake with every request traced and exported over OTLP/HTTP to a receiver on the same machine ({exported} spans received, counted as they came, the first {KEPT} requests decoded whole after the rounds), against a gateway process exporting nothing (Grafana, distinct ~700 B alert per request; wrk -t2 -c64, {secs} s × {ROUNDS} rounds in {} sessions on fresh processes, the gateways started in a different order in each, every other round in reverse order, ratio = median of the (off, on) pairs; by session: {}) | {} | {} | {:.0} % | ≥ 90 % |",
        STARTS.len(), rounds.join("; "), row(&ons), row(&offs), ratio * 100.0).ok();
    writeln!(out, "| the same, tracing one request in {} (`OTEL_TRACES_SAMPLER=parentbased_traceidratio`, `OTEL_TRACES_SAMPLER_ARG={SAMPLED}`), in the same rounds | {} | (as above) | {:.0} % | ≥ 90 % |",
        (1.0 / SAMPLED).round(), row(&sampleds), sampled_ratio * 100.0).ok();
    writeln!(out, "| the gateway's own CPU per webhook with every request's spans exported, against without (`/proc/<pid>/stat` over the same rounds; what the exporting gateway's throughput would be on cores of its own, without wrk and the receiver beside it) | {:.1} µs | {:.1} µs | {:.0} % | — |",
        on_gateway * 1e6, cpu_per_request * 1e6, cpu_per_request / on_gateway * 100.0).ok();
    writeln!(out, "| nats-server's CPU per webhook stored from the exporting gateway, against from the other (the same rounds; the message carries the span's `traceparent` and `Nats-Trace-Dest`) | {:.1} µs | {:.1} µs | {:.0} % | — |",
        on_nats * 1e6, off_nats * 1e6, off_nats / on_nats * 100.0).ok();
    writeln!(out, "| wrk's CPU per webhook, against the exporting gateway and against the other | {:.1} µs | {:.1} µs | — | — |",
        process(&on_cpu, |c| c.wrk) * 1e6, process(&off_cpu, |c| c.wrk) * 1e6).ok();
    writeln!(out, "| this process's CPU per webhook, during the exporting gateway's rounds against during the other's (the receiver: an HTTP request of ~500 spans at a time, its spans counted) | {:.1} µs | {:.1} µs | — | — |",
        on_receiver * 1e6, off_receiver * 1e6).ok();
    writeln!(out, "| the intake's metric updates per webhook (route counter, received, accepted with latency), timed over {ITERATIONS} iterations, against the gateway's CPU per webhook without export (median of the rounds above) | {:.0} ns | {:.1} µs | {:.2} % | ≤ 2 % |",
        per_webhook.as_nanos(), cpu_per_request * 1e6, share * 100.0).ok();
    writeln!(out, "\n| goal | met |\n|---|---|").ok();
    writeln!(
        out,
        "| intake with OTLP export ≥ 90 % of without, every request traced | {} |",
        if ratio >= 0.90 { "yes" } else { "**no**" }
    )
    .ok();
    writeln!(
        out,
        "| intake with OTLP export ≥ 90 % of without, one request in {} traced | {} |",
        (1.0 / SAMPLED).round(),
        if sampled_ratio >= 0.90 {
            "yes"
        } else {
            "**no**"
        }
    )
    .ok();
    writeln!(
        out,
        "| metrics ≤ 2 % of the intake's CPU | {} |",
        if share <= 0.02 { "yes" } else { "**no**" }
    )
    .ok();
    assert!(exported > 0, "the exporting gateway exported no span");
    aurora_tests::bench::write_section("observability", &out);
    println!("{out}");
}
