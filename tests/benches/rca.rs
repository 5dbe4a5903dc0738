//! `make bench`: root-cause analysis (issue 15), written to `BENCHMARKS.md` (section `rca`).
//!
//! The whole app runs in this process (gateway, handlers, projections) on a private nats-server
//! and the machine's PostgreSQL; the model is the scripted OpenAI-compatible server, the tool
//! `recent_changes` (a read of Aurora's own changes table, which is empty, so it returns at
//! once). Incidents open as the ingest opens them: an `Open` command on the incident.
//!
//! 1. Incident opened → investigation started: from sending the `Open` command to the run's
//!    `started` event on `evt.<tenant>.investigation.<run>` (a core subscription, as any
//!    follower sees it), one incident at a time with a free slot (the start limit raised).
//! 2. The platform's overhead per agent step: in those same runs, from the model server handing
//!    out the last chunk of a tool-call answer to the next model request arriving — the tool
//!    step recorded on the investigation and the session, the tool run, its result recorded, the
//!    usage recorded, the context built and the request sent. The tool's own time (the same read
//!    run alone) is measured beside it.
//! 3. 100 investigations across 20 tenants at once (five each: the production start limit lets
//!    exactly these start), the model streaming slowly so they overlap: all must complete.
//!    Memory per run = (peak − before) / runs, both as the process's resident set and as the
//!    bytes live on the heap (mimalloc behind `cap`, which counts them). The process also holds
//!    the scripted model and the benchmark's own bookkeeping: an upper bound.
//!
//! Beside them, the raw ceiling of the same run: one acknowledged JetStream publish.
//! `BENCH_RCA_RUNS` (default 200), `BENCH_RCA_STEPS` (tool steps per run, default 10),
//! `BENCH_RCA_TENANTS` (default 20; five runs each).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aurora_domain::investigation::{
    run_id, start_window::StartLimit, Conclusion, InvestigationStatus,
};
use aurora_domain::{IncidentId, TenantId};
use aurora_gateway::services::Services;
use aurora_handlers::agent::reader::Reader;
use aurora_handlers::agent::tools::ReadTool;
use aurora_handlers::agent::{AgentConfig, LlmConfig};
use aurora_handlers::rca::RcaConfig;
use aurora_nats::envelope::Context;
use aurora_nats::EventLog;
use aurora_tests::bench::{acked_publish, env_usize, machine, ms, percentile, rss_kib};
use aurora_tests::llm::{Script, ScriptedLlm, Step};
use aurora_tests::TestApp;
use chrono::Utc;
use futures::StreamExt;
use serde_json::{json, Value};
use uuid::Uuid;

#[allow(dead_code)]
#[path = "../tests/fixtures.rs"]
mod fixtures;

#[global_allocator]
static GLOBAL: aurora_tests::bench::Counted = aurora_tests::bench::counted();

const TRIGGER: &str = "Investigate incident";

/// A run of `steps` calls of `recent_changes`, then a finding citing the first and a confirmed
/// conclusion.
fn script(steps: usize, delay: Duration) -> Script {
    let mut calls: Vec<Step> = (0..steps)
        .map(|i| {
            Step::tool(
                &format!("changes-{i}"),
                "recent_changes",
                json!({"service": "checkout", "hours": 1}),
            )
        })
        .collect();
    calls.push(Step::tool(
        "finding",
        "record_finding",
        json!({"text": "No change reached checkout in the hour before.", "citations": ["changes-0"]}),
    ));
    calls.push(Step::tool(
        "conclude",
        "conclude",
        json!({"conclusion": "confirmed", "summary": "Nothing changed: the load did it."}),
    ));
    Script::new(TRIGGER, calls).with_delay(delay)
}

async fn app(
    llm: &ScriptedLlm,
    work: &std::path::Path,
    steps: usize,
    limit: StartLimit,
) -> TestApp {
    let mut agent = AgentConfig::without_model(work.to_path_buf()).with_llm(LlmConfig {
        base_url: llm.base_url(),
        api_key: "bench".into(),
        model: "scripted-model".into(),
    });
    agent.max_steps = steps + 4;
    TestApp::launch()
        .agent(agent)
        .rca(RcaConfig {
            automatic: true,
            limit,
            postmortem_on_resolve: false,
            ..RcaConfig::default()
        })
        .spawn()
        .await
}

/// Opens an incident on `checkout` as the ingest does; its id.
async fn open(services: &Services, tenant: &TenantId) -> IncidentId {
    let id = IncidentId::new();
    services
        .incidents
        .execute(
            tenant,
            id.0,
            fixtures::open(id, "High error rate on checkout", "checkout", Utc::now()),
            Context::new_root(),
        )
        .await
        .expect("the store answers")
        .expect("the incident opens");
    id
}

/// The `type` of an investigation event seen on its subject, with the run it belongs to.
fn investigation_event(message: &async_nats::Message) -> Option<(Uuid, String)> {
    let run = message.subject.rsplit('.').next()?.parse().ok()?;
    let body: Value = serde_json::from_slice(&message.payload).ok()?;
    Some((run, body["type"].as_str()?.to_owned()))
}

fn ended(kind: &str) -> bool {
    matches!(kind, "completed" | "failed" | "cancelled")
}

struct Sequential {
    runs: usize,
    steps: usize,
    to_start: Vec<f64>,
    overhead: Vec<f64>,
    tool_alone: Vec<f64>,
    raw: (f64, f64),
    confirmed: usize,
}

async fn sequential(runs: usize, steps: usize) -> Sequential {
    let llm = ScriptedLlm::start(vec![script(steps, Duration::ZERO)]).await;
    let work = tempfile::tempdir().expect("a work dir");
    let free = StartLimit {
        limit: usize::MAX / 2,
        window: chrono::Duration::seconds(300),
    };
    let app = app(&llm, work.path(), steps, free).await;
    // One set of stores for the whole phase: each `services()` is a new set with empty caches.
    let services = app.services();
    let tenant = TenantId::parse("bench-rca").expect("a tenant");
    let mut events = app
        .nats
        .client
        .subscribe(format!("evt.{tenant}.investigation.*"))
        .await
        .expect("a subscription");
    let warmup = 10;
    let mut to_start = Vec::with_capacity(runs);
    let mut overhead = Vec::with_capacity(runs * steps);
    let mut all = Vec::with_capacity(warmup + runs);
    for n in 0..warmup + runs {
        let calls_before = llm.timings().len();
        let sent = Instant::now();
        let incident = open(&services, &tenant).await;
        let run = run_id(incident, 1);
        all.push((tenant.clone(), run));
        let mut started = None;
        loop {
            let message = tokio::time::timeout(Duration::from_secs(30), events.next())
                .await
                .expect("the run goes on")
                .expect("the subscription stays");
            let Some((of, kind)) = investigation_event(&message) else {
                continue;
            };
            if of != run {
                continue;
            }
            if kind == "started" {
                started = Some(sent.elapsed());
            }
            if ended(&kind) {
                break;
            }
        }
        if n < warmup {
            continue;
        }
        to_start.push(ms(started.expect("the run started")));
        let timings = llm.timings();
        let calls = &timings[calls_before..];
        assert_eq!(calls.len(), steps + 2, "one model call per step");
        for pair in calls[..=steps].windows(2) {
            let done = pair[0].done.expect("the answer was handed out");
            overhead.push(ms(pair[1].arrived - done));
        }
    }
    let reader = Reader {
        pool: app.db.pool.clone(),
        log: EventLog::new(app.nats.client.clone()),
        knowledge: None,
    };
    let read = ReadTool::RecentChanges {
        service: Some("checkout".into()),
        hours: 1,
        limit: 20,
    };
    let mut tool_alone = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let t = Instant::now();
        reader.read(&tenant, &read).await.expect("the read runs");
        tool_alone.push(ms(t.elapsed()));
    }
    let confirmed = until_ended(&services, &all)
        .await
        .iter()
        .filter(|s| s.1 == Some(Conclusion::Confirmed))
        .count();
    let body = bytes::Bytes::from(vec![b'x'; 600]);
    let raw = acked_publish(&app.nats.jetstream(), "BENCH_RAW_RCA", body, 1000).await;
    app.stop().await;
    for v in [&mut to_start, &mut overhead, &mut tool_alone] {
        v.sort_by(f64::total_cmp);
    }
    Sequential {
        runs,
        steps,
        to_start,
        overhead,
        tool_alone,
        raw,
        confirmed,
    }
}

struct Crowd {
    tenants: usize,
    runs: usize,
    completed: usize,
    confirmed: usize,
    most_at_once: usize,
    secs: f64,
    rss_before_kib: u64,
    rss_peak_kib: u64,
    rss_after_kib: u64,
    heap_before: usize,
    heap_peak: usize,
    heap_after: usize,
    context_bytes: usize,
}

async fn crowd(tenants: usize) -> Crowd {
    let steps = 4;
    let llm = ScriptedLlm::start(vec![script(steps, Duration::from_millis(100))]).await;
    let work = tempfile::tempdir().expect("a work dir");
    let app = app(&llm, work.path(), steps, StartLimit::default()).await;
    let services = app.services();
    // A warm-up tenant first, so what is measured is the runs, not the first use of everything.
    let warm = TenantId::parse("bench-warm").expect("a tenant");
    let mut warm_runs = Vec::new();
    for _ in 0..5 {
        warm_runs.push((warm.clone(), run_id(open(&services, &warm).await, 1)));
    }
    until_ended(&services, &warm_runs).await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let mut events = app
        .nats
        .client
        .subscribe("evt.*.investigation.*")
        .await
        .expect("a subscription");
    let counter = {
        let (running, most) = (running.clone(), most.clone());
        tokio::spawn(async move {
            let mut seen: HashMap<Uuid, bool> = HashMap::new();
            while let Some(message) = events.next().await {
                let Some((run, kind)) = investigation_event(&message) else {
                    continue;
                };
                if kind == "started" && seen.insert(run, true).is_none() {
                    let now = running.fetch_add(1, Ordering::Relaxed) + 1;
                    most.fetch_max(now, Ordering::Relaxed);
                } else if ended(&kind) && seen.get(&run) == Some(&true) {
                    seen.insert(run, false);
                    running.fetch_sub(1, Ordering::Relaxed);
                }
            }
        })
    };
    let rss_before_kib = rss_kib();
    let heap_before = GLOBAL.allocated();
    let rss_peak = Arc::new(AtomicU64::new(rss_before_kib));
    let heap_peak = Arc::new(AtomicUsize::new(heap_before));
    let sampler = {
        let (rss_peak, heap_peak) = (rss_peak.clone(), heap_peak.clone());
        tokio::spawn(async move {
            loop {
                rss_peak.fetch_max(rss_kib(), Ordering::Relaxed);
                heap_peak.fetch_max(GLOBAL.allocated(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let started = Instant::now();
    let tenant_ids: Vec<TenantId> = (0..tenants)
        .map(|t| TenantId::parse(format!("bench-crowd-{t}")).expect("a tenant"))
        .collect();
    let opened = futures::future::join_all(
        tenant_ids
            .iter()
            .flat_map(|t| std::iter::repeat_n(t, 5))
            .map(|tenant| {
                let services = &services;
                async move { (tenant.clone(), run_id(open(services, tenant).await, 1)) }
            }),
    )
    .await;
    let states = until_ended(&services, &opened).await;
    let secs = started.elapsed().as_secs_f64();
    sampler.abort();
    counter.abort();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let completed = states
        .iter()
        .filter(|s| *s == &(InvestigationStatus::Completed, Some(Conclusion::Confirmed)))
        .count();
    let context_bytes = llm
        .requests()
        .last()
        .map(|r| r["messages"].to_string().len())
        .unwrap_or(0);
    let crowd = Crowd {
        tenants,
        runs: opened.len(),
        completed: states
            .iter()
            .filter(|(s, _)| *s == InvestigationStatus::Completed)
            .count(),
        confirmed: completed,
        most_at_once: most.load(Ordering::Relaxed),
        secs,
        rss_before_kib,
        rss_peak_kib: rss_peak.load(Ordering::Relaxed),
        rss_after_kib: rss_kib(),
        heap_before,
        heap_peak: heap_peak.load(Ordering::Relaxed),
        heap_after: GLOBAL.allocated(),
        context_bytes,
    };
    app.stop().await;
    crowd
}

/// Waits (at most 120 s) until every run has ended; each one's status and conclusion.
async fn until_ended(
    services: &Services,
    runs: &[(TenantId, Uuid)],
) -> Vec<(InvestigationStatus, Option<Conclusion>)> {
    let started = Instant::now();
    loop {
        let mut states = Vec::with_capacity(runs.len());
        for (tenant, run) in runs {
            let state = services
                .investigations
                .load(tenant, *run)
                .await
                .expect("the store answers")
                .map(|s| s.into_inner());
            if let Some(state) = state.filter(|s| s.status.has_ended()) {
                states.push((state.status, state.conclusion));
            }
        }
        if states.len() == runs.len() {
            return states;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{} of {} runs ended",
            states.len(),
            runs.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::main]
async fn main() {
    aurora_tests::init_logs();
    let runs = env_usize("BENCH_RCA_RUNS", 200);
    let steps = env_usize("BENCH_RCA_STEPS", 10);
    let tenants = env_usize("BENCH_RCA_TENANTS", 20);
    let load_before = aurora_tests::bench::load_average();
    let seq = sequential(runs, steps).await;
    let p = |v: &[f64], q: f64| percentile(v, q);
    println!(
        "opened → started p50 {:.2} p99 {:.2} ms; step overhead p50 {:.2} p99 {:.2} ms; tool alone p50 {:.3} p99 {:.3}; raw p50 {:.3} p99 {:.3}; {} of {} confirmed",
        p(&seq.to_start, 50.0), p(&seq.to_start, 99.0), p(&seq.overhead, 50.0), p(&seq.overhead, 99.0),
        p(&seq.tool_alone, 50.0), p(&seq.tool_alone, 99.0), seq.raw.0, seq.raw.1, seq.confirmed, seq.runs + 10
    );
    let crowd = crowd(tenants).await;
    let per_run_rss = (crowd.rss_peak_kib.saturating_sub(crowd.rss_before_kib)) as f64
        / crowd.runs as f64
        / 1024.0;
    let per_run_heap =
        crowd.heap_peak.saturating_sub(crowd.heap_before) as f64 / crowd.runs as f64 / 1048576.0;
    println!(
        "crowd: {}/{} completed ({} confirmed), {} at once, {:.1} s; RSS {} → {} → {} KiB; heap {} → {} → {} B",
        crowd.completed, crowd.runs, crowd.confirmed, crowd.most_at_once, crowd.secs,
        crowd.rss_before_kib, crowd.rss_peak_kib, crowd.rss_after_kib,
        crowd.heap_before, crowd.heap_peak, crowd.heap_after
    );

    let start_p99 = p(&seq.to_start, 99.0);
    let step_p99 = p(&seq.overhead, 99.0);
    let mut out = String::new();
    writeln!(out, "## Root-cause analysis (issue 15)\n").ok();
    writeln!(out, "Written by `make bench` (`tests/benches/rca.rs`) on {}. The whole app (gateway, handlers, projections), the scripted OpenAI-compatible model and the benchmark share one process and the 2 cores with nats-server and PostgreSQL.\n", Utc::now().format("%Y-%m-%d %H:%M UTC")).ok();
    writeln!(
        out,
        "Machine: {}; load average (1, 5, 15 min) {} before the run, {} after it\n",
        machine(),
        load_before,
        aurora_tests::bench::load_average()
    )
    .ok();
    writeln!(
        out,
        "| measurement | p50 | p99 | max | goal |\n|---|---|---|---|---|"
    )
    .ok();
    writeln!(
        out,
        "| incident opened → investigation started ({} incidents one at a time after 10 warm-up, a free slot: `Open` sent → `started` seen on the run's subject) | {:.2} ms | **{:.2} ms** | {:.2} ms | p99 ≤ 500 ms |",
        seq.runs, p(&seq.to_start, 50.0), start_p99, p(&seq.to_start, 100.0)
    )
    .ok();
    writeln!(
        out,
        "| the platform's overhead per agent step ({} steps: {} runs × {} `recent_changes` calls; model answer handed out → next model request arrived) | {:.2} ms | **{:.2} ms** | {:.2} ms | p99 ≤ 10 ms |",
        seq.overhead.len(), seq.runs, seq.steps, p(&seq.overhead, 50.0), step_p99, p(&seq.overhead, 100.0)
    )
    .ok();
    writeln!(
        out,
        "| of which the tool's own time (the same read run alone, 1000 times) | {:.3} ms | {:.3} ms | {:.3} ms | |",
        p(&seq.tool_alone, 50.0), p(&seq.tool_alone, 99.0), p(&seq.tool_alone, 100.0)
    )
    .ok();
    writeln!(
        out,
        "| raw ceiling: one acknowledged JetStream publish (same run, 1000 times) | {:.3} ms | {:.3} ms | | |",
        seq.raw.0, seq.raw.1
    )
    .ok();
    writeln!(out, "\nAll {} sequential runs ended `confirmed`: {} of {}. One agent step records, in turn: the tool step started on the investigation and on the session, the tool's `running` frame, the read, the step's end on both, the result frame, the model call's usage on both, and builds the next request (the new-context check loads the investigation from the in-process cache). That is {:.1}× one raw acknowledged publish at p50.\n", seq.runs + 10, seq.confirmed, seq.runs + 10, p(&seq.overhead, 50.0) / seq.raw.0).ok();
    writeln!(out, "### {} investigations at once\n", crowd.runs).ok();
    writeln!(out, "| tenants × runs | completed (confirmed) | most running at once | all done in | memory per run, resident set | memory per run, live heap | goal |\n|---|---|---|---|---|---|---|").ok();
    writeln!(
        out,
        "| {} × 5 | {} / {} ({}) | {} | {:.1} s | {:.2} MiB | **{:.2} MiB** | ≤ 2 MiB each |",
        crowd.tenants,
        crowd.completed,
        crowd.runs,
        crowd.confirmed,
        crowd.most_at_once,
        crowd.secs,
        per_run_rss,
        per_run_heap
    )
    .ok();
    writeln!(out, "\nEach run: 4 `recent_changes` steps, a finding, a conclusion; the model streams every chunk 100 ms apart, so the runs overlap (the production start limit, 5 per 300 s per tenant, starts all 100 at once). Memory per run = (peak − before) ÷ {}: the resident set of the process ({} KiB before, {} KiB at the peak, {} KiB after), and the bytes live on the heap counted by the allocator (mimalloc behind `cap`: {:.1} MiB before, {:.1} MiB at the peak, {:.1} MiB after). Both include the scripted model's side of every stream and the benchmark's bookkeeping, so they bound the platform's share from above. The model's own context is small here (the last request's messages were {} bytes), so almost all of it is the platform's.", crowd.runs, crowd.rss_before_kib, crowd.rss_peak_kib, crowd.rss_after_kib, crowd.heap_before as f64 / 1048576.0, crowd.heap_peak as f64 / 1048576.0, crowd.heap_after as f64 / 1048576.0, crowd.context_bytes).ok();
    writeln!(out, "\n| goal | met |\n|---|---|").ok();
    let verdicts = [
        ("opened → started p99 ≤ 500 ms", start_p99 <= 500.0),
        ("overhead per agent step p99 ≤ 10 ms", step_p99 <= 10.0),
        (
            "100 runs at once all complete",
            crowd.completed == crowd.runs,
        ),
        ("≤ 2 MiB per run (live heap)", per_run_heap <= 2.0),
    ];
    for (goal, met) in verdicts {
        writeln!(out, "| {goal} | {} |", if met { "yes" } else { "**no**" }).ok();
    }
    aurora_tests::bench::write_section("rca", &out);
    println!("{out}");
    assert_eq!(crowd.completed, crowd.runs, "every run completes");
}
