//! `make bench`: webhook intake, written to `BENCHMARKS.md` (section `intake`).
//!
//! 1. HTTP in → 202 out, with `wrk` on loopback against a Grafana integration, beside the raw
//!    ceiling measured in the same run: a bare axum route that publishes the body to JetStream
//!    and awaits the ack. Runs alternate (raw, ours, raw, ours…); the figure is the median of
//!    the five pairs' ratios.
//!    Every request carries a distinct body, so JetStream deduplicates nothing.
//! 2. End to end at a fixed rate: 202 → incident visible in `GET /api/incidents`, every webhook
//!    opening its own incident (the worst case for the write and read sides).
//!
//! `BENCH_WRK_SECS` (default 10) sets each wrk round, `BENCH_E2E_RATE` (default 1000/s) and
//! `BENCH_E2E_SECS` (default 60) the end-to-end load.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aurora_gateway::app::Role;
use aurora_tests::bench::{median, webhook_script as script, wrk};
use aurora_tests::{test_api_config, Account, TestApp};
use axum::routing::post;
use serde_json::json;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Alternating (raw, ours) pairs of wrk runs.
const ROUNDS: usize = 5;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn grafana_integration(app: &TestApp, admin: &Account) -> (String, String) {
    let created = app
        .post_json(
            "/api/integrations",
            Some(admin),
            &json!({ "source": "grafana", "name": "Bench Grafana" }),
        )
        .await
        .expect_status(201);
    let url = created["webhook_url"].as_str().expect("url");
    let path = url
        .split_once("/webhooks/")
        .map(|(_, rest)| format!("/webhooks/{rest}"))
        .expect("path");
    (path, created["secret"].as_str().expect("secret").to_owned())
}

/// Phase 1: requests/s and latency of the intake against the raw publish ceiling.
async fn intake_vs_raw(out: &mut String, verdicts: &mut Vec<(String, bool)>) {
    let secs = env_u64("BENCH_WRK_SECS", 10);
    // Gateway and projections only: deliveries pile up in INBOX unhandled, as the raw route's do.
    let app = TestApp::spawn_with(vec![Role::Gateway, Role::Projections], test_api_config()).await;
    let admin = app.register("bench@acme.io", "Bench").await;
    let (path, secret) = grafana_integration(&app, &admin).await;

    let js = app.nats.jetstream();
    // `BENCH_RAW_HEADERS=1`: the raw route also sends headers like the intake's (to see how much
    // of the gap is JetStream's work on them).
    let with_headers = std::env::var_os("BENCH_RAW_HEADERS").is_some();
    let raw = axum::Router::new().route(
        "/raw",
        post(move |body: axum::body::Bytes| {
            let js = js.clone();
            async move {
                let sent = if with_headers {
                    // The intake's own format (the ingest never reads these: no handlers run).
                    let message = aurora_nats::inbox::InboxDelivery {
                        tenant: aurora_domain::TenantId::parse("bench").expect("valid"),
                        source: "raw".to_owned(),
                        integration_id: uuid::Uuid::new_v4(),
                        delivery_id: uuid::Uuid::new_v4().to_string(),
                        received_at: chrono::Utc::now(),
                        request_headers: Vec::new(),
                        body,
                        traceparent: None,
                    }
                    .to_message();
                    js.publish_with_headers(message.subject, message.headers, message.payload)
                        .await
                } else {
                    js.publish("inbox.bench.raw", body).await
                };
                match sent {
                    Ok(ack) => match ack.await {
                        Ok(_) => axum::http::StatusCode::ACCEPTED,
                        Err(_) => axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    },
                    Err(_) => axum::http::StatusCode::SERVICE_UNAVAILABLE,
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let raw_addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, raw).await });

    let dir = tempfile::tempdir().expect("tempdir");
    let bearer = format!("Bearer {secret}");
    let ours_script = script(dir.path(), "ours.lua", &[("Authorization", &bearer)]);
    let raw_script = script(dir.path(), "raw.lua", &[]);
    let (mut ours, mut raws) = (Vec::new(), Vec::new());
    // Alternating pairs: each ratio compares two runs a few seconds apart, so the machine's
    // drift (±20 % here) cancels out; the median of the pairs is the figure.
    for _ in 0..ROUNDS {
        let url = format!("http://{raw_addr}/raw");
        let s = raw_script.clone();
        raws.push(
            tokio::task::spawn_blocking(move || wrk(&url, &s, secs))
                .await
                .expect("wrk"),
        );
        let url = app.url(&path);
        let s = ours_script.clone();
        ours.push(
            tokio::task::spawn_blocking(move || wrk(&url, &s, secs))
                .await
                .expect("wrk"),
        );
    }
    assert!(
        ours.iter()
            .chain(&raws)
            .all(|w| w.non_2xx == 0 && w.rps > 0.0),
        "every request was accepted: ours {ours:?}, raw {raws:?}"
    );
    let answered = ours.iter().chain(&raws).map(|w| w.requests).sum();
    aurora_tests::bench::assert_all_stored(&app.nats, answered).await;
    let ours_rps = median(ours.iter().map(|w| w.rps).collect());
    let raw_rps = median(raws.iter().map(|w| w.rps).collect());
    let ratio = median(ours.iter().zip(&raws).map(|(o, r)| o.rps / r.rps).collect());
    let rounds: Vec<String> = ours
        .iter()
        .zip(&raws)
        .map(|(o, r)| format!("{:.0} %", o.rps / r.rps * 100.0))
        .collect();
    writeln!(out, "| webhook intake, HTTP in → 202 out (Grafana, bearer secret, distinct ~700 B alert per request; wrk -t2 -c64, {secs} s × {ROUNDS} alternating pairs, ratio = median of the pairs: {}) | {ours_rps:.0} req/s, p50 {:.2} ms, p99 {:.2} ms | {raw_rps:.0} req/s, p50 {:.2} ms, p99 {:.2} ms: bare axum route, publish to JetStream, await the ack | {:.0} % | ≥ 70 % |",
        rounds.join(", "),
        median(ours.iter().map(|w| w.p50_ms).collect()),
        median(ours.iter().map(|w| w.p99_ms).collect()),
        median(raws.iter().map(|w| w.p50_ms).collect()),
        median(raws.iter().map(|w| w.p99_ms).collect()),
        ratio * 100.0).ok();
    verdicts.push(("intake ≥ 70 % of the raw ceiling".into(), ratio >= 0.70));
    app.stop().await;
}

/// What the watcher reads of a page of `GET /api/incidents`.
#[derive(serde::Deserialize)]
struct ListPage {
    items: Vec<ListedIncident>,
    next_cursor: Option<String>,
}

#[derive(serde::Deserialize)]
struct ListedIncident {
    title: String,
}

/// Phase 2: 202 → visible in the incident list, at a fixed rate.
async fn end_to_end(out: &mut String, verdicts: &mut Vec<(String, bool)>) {
    let rate = env_u64("BENCH_E2E_RATE", 1000);
    let secs = env_u64("BENCH_E2E_SECS", 60);
    let app = TestApp::spawn_with(Role::all(), test_api_config()).await;
    let admin = app.register("bench@acme.io", "Bench").await;
    let (path, secret) = grafana_integration(&app, &admin).await;
    let url = app.url(&path);
    let accepted: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let seen: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    // Sent and not yet seen: the watcher pages on while one of these could be further down.
    let pending: Arc<Mutex<std::collections::BTreeSet<u64>>> = Arc::default();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));

    // The watcher: the incident list, newest first, as a UI would poll it: the API's default
    // page (the UI's), read into the two fields it needs, so the observer's own parsing does not
    // take the CPU the pipeline is measured on.
    let watcher = {
        let (app_url, token, seen, pending, done) = (
            app.url("/api/incidents"),
            admin.token.clone(),
            seen.clone(),
            pending.clone(),
            done.clone(),
        );
        let http = reqwest::Client::new();
        tokio::spawn(async move {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                // Newest first, page after page while an incident sent earlier than the page's
                // oldest is still unseen: a burst between two polls, or one made visible after
                // later ones (its 202 came later), may be further down.
                let mut url = app_url.clone();
                for _ in 0..100 {
                    let Ok(r) = http.get(&url).bearer_auth(&token).send().await else {
                        break;
                    };
                    let now = Instant::now();
                    let Ok(page) = r.json::<ListPage>().await else {
                        break;
                    };
                    let mut oldest = u64::MAX;
                    let deeper = {
                        let (mut seen, mut pending) =
                            (seen.lock().expect("lock"), pending.lock().expect("lock"));
                        for item in &page.items {
                            let n = item
                                .title
                                .strip_prefix("e2e ")
                                .and_then(|t| t.split(' ').next())
                                .and_then(|n| n.parse::<u64>().ok());
                            if let Some(n) = n {
                                oldest = oldest.min(n);
                                seen.entry(n).or_insert(now);
                                pending.remove(&n);
                            }
                        }
                        pending.first().is_some_and(|first| *first < oldest)
                    };
                    match page.next_cursor {
                        Some(cursor) if deeper && !page.items.is_empty() => {
                            url = format!("{app_url}?cursor={cursor}");
                        }
                        _ => break,
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .expect("client");
    let total = rate * secs;
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let per_tick = (rate / 100).max(1);
    let mut n = 0u64;
    let mut senders = tokio::task::JoinSet::new();
    let failures = Arc::new(std::sync::atomic::AtomicU64::new(0));
    while n < total {
        tick.tick().await;
        for _ in 0..per_tick {
            n += 1;
            pending.lock().expect("lock").insert(n);
            let body = json!({
                "receiver": "aurora", "status": "firing", "version": "1",
                "alerts": [{
                    "status": "firing",
                    "labels": { "alertname": format!("probe{n}"), "service": format!("svc{n}"), "severity": "high" },
                    "annotations": { "summary": format!("e2e {n} {:08x}", rand_word(n)) },
                    "startsAt": "2026-11-23T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                    "fingerprint": format!("e2e-{n}"),
                }],
            })
            .to_string();
            let (http, url, secret, accepted, failures, pending) = (
                http.clone(),
                url.clone(),
                secret.clone(),
                accepted.clone(),
                failures.clone(),
                pending.clone(),
            );
            senders.spawn(async move {
                let answer = http
                    .post(&url)
                    .bearer_auth(&secret)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
                match answer {
                    Ok(r) if r.status().as_u16() == 202 => {
                        accepted.lock().expect("lock").insert(n, Instant::now());
                    }
                    _ => {
                        // Never to be seen: the watcher does not look for it.
                        pending.lock().expect("lock").remove(&n);
                        failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            });
        }
        while senders.try_join_next().is_some() {}
    }
    while senders.join_next().await.is_some() {}
    let sending = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline && !pending.lock().expect("lock").is_empty() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = watcher.await;
    let accepted = accepted.lock().expect("lock").clone();
    let seen = seen.lock().expect("lock").clone();
    let mut latencies: Vec<f64> = accepted
        .iter()
        .filter_map(|(n, at)| {
            seen.get(n)
                .map(|s| s.saturating_duration_since(*at).as_secs_f64() * 1000.0)
        })
        .collect();
    // The p99 of each 10 s of sending, on stdout: a steady rate with a slow stretch reads differently
    // from one that slows as the log grows.
    let mut windows: std::collections::BTreeMap<u64, Vec<f64>> = Default::default();
    for (n, at) in &accepted {
        if let Some(s) = seen.get(n) {
            let window = at.saturating_duration_since(started).as_secs() / 10;
            windows
                .entry(window)
                .or_default()
                .push(s.saturating_duration_since(*at).as_secs_f64() * 1000.0);
        }
    }
    for (window, mut l) in windows {
        l.sort_by(f64::total_cmp);
        let at = |p: f64| l[((l.len() as f64 * p) as usize).min(l.len() - 1)];
        println!(
            "end to end, seconds {}-{}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            window * 10,
            window * 10 + 10,
            at(0.5),
            at(0.99),
            l[l.len() - 1]
        );
    }
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    let missing = accepted.len() - latencies.len();
    let achieved = accepted.len() as f64 / sending.as_secs_f64();
    let (p50, p99) = (pct(0.5), pct(0.99));
    writeln!(out, "| end to end, 202 → incident visible in `GET /api/incidents` (its default page of 50, polled every 5 ms), {rate} webhooks/s for {secs} s, each opening its own incident | p50 {p50:.1} ms, p99 {p99:.1} ms ({} accepted at {achieved:.0}/s, {} refused, {missing} never seen) | — | — | p99 ≤ 100 ms |",
        accepted.len(), failures.load(std::sync::atomic::Ordering::Relaxed)).ok();
    verdicts.push((
        "end-to-end p99 ≤ 100 ms at the rate".into(),
        p99 <= 100.0 && missing == 0 && achieved >= rate as f64 * 0.95,
    ));
    app.stop().await;
}

/// A deterministic pseudo-random word per webhook (titles must not share words by chance).
fn rand_word(n: u64) -> u32 {
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 29;
    (x & 0xffff_ffff) as u32
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut out = String::new();
    let mut verdicts = Vec::new();
    writeln!(out, "## Webhook intake (issue 4)\n").ok();
    writeln!(out, "Written by `make bench` (`tests/benches/intake.rs`) on {}: {}. wrk and the app share the 2 cores.\n", chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"), aurora_tests::bench::machine()).ok();
    writeln!(
        out,
        "| measurement | ours | raw ceiling (same run) | ratio | goal |"
    )
    .ok();
    writeln!(out, "|---|---|---|---|---|").ok();
    intake_vs_raw(&mut out, &mut verdicts).await;
    if env_u64("BENCH_E2E_SECS", 60) > 0 {
        end_to_end(&mut out, &mut verdicts).await;
    }
    writeln!(out, "\n| goal | met |\n|---|---|").ok();
    for (goal, met) in &verdicts {
        writeln!(out, "| {goal} | {} |", if *met { "yes" } else { "**no**" }).ok();
    }
    aurora_tests::bench::write_section("intake", &out);
    println!("{out}");
}
