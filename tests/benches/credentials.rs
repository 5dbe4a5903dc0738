//! `make bench`: the credential lookup of one tool call (issue 16), written to `BENCHMARKS.md`
//! (section `credentials`).
//!
//! What a query tool call adds before its provider is asked: the tenant's account of the kind
//! (the connectors read model, the credential from the secret store) and every connected secret
//! of the tenant, for redaction — `Connectors::account` then `Connectors::secret_values`, as the
//! run calls them. Measured with the local store and with Vault (a real `bao server -dev`), on
//! the first call of a process (nothing cached: a fresh `Connectors` each time) and cached (the
//! tenant's connectors kept in memory until the projector announces a change, the credentials
//! by reference), p50 and p99; beside it, the ceiling of the same run: one raw Vault KV v2 read
//! through vaultrs.
//!
//! `BENCH_CREDENTIALS_CALLS` (default 2000; the first calls: a tenth of it).

use std::fmt::Write as _;
use std::time::Instant;

use aurora_domain::connector::ConnectorKind;
use aurora_tests::bench::{env_usize, ms, p50_p99};
use aurora_tests::openbao::TestOpenBao;
use aurora_tests::providers::FakeProviders;
use aurora_tests::{Account, TestApp};
use serde_json::json;
use vaultrs::client::{VaultClient, VaultClientSettingsBuilder};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Backend {
    first: (f64, f64),
    cached: (f64, f64),
}

/// One tool call's lookup: the account of `kind` and the tenant's secrets.
async fn lookup(connectors: &aurora_handlers::connectors::Connectors, admin: &Account) -> f64 {
    let started = Instant::now();
    let account = connectors
        .account(&admin.tenant, ConnectorKind::Datadog, None)
        .await
        .expect("a lookup")
        .expect("connected");
    let secrets = connectors
        .secret_values(&admin.tenant)
        .await
        .expect("the secrets");
    let took = ms(started.elapsed());
    assert!(account.credentials.is_some() && secrets.len() >= 2);
    took
}

async fn backend(app: &TestApp, calls: usize) -> Backend {
    let admin = app.register("ana@acme.io", "Acme").await;
    for (kind, body) in [
        (
            "datadog",
            json!({"settings": {"site": "US1"}, "credentials": {"api_key": "dd-api-bench-0001", "application_key": "dd-app-bench-0002"}}),
        ),
        (
            "sentry",
            json!({"settings": {"organization": "acme"}, "credentials": {"token": "sntrys-bench-0003"}}),
        ),
        (
            "grafana",
            json!({"settings": {"url": "https://grafana.acme.io"}, "credentials": {"token": "glsa-bench-0004"}}),
        ),
    ] {
        app.post_json(&format!("/api/connectors/{kind}"), Some(&admin), &body)
            .await
            .expect_status(201);
    }
    // The connectors read model is written by the projections: wait until the lookup sees it.
    let services = app.services();
    for _ in 0..500 {
        if services
            .connectors
            .secret_values(&admin.tenant)
            .await
            .map(|s| s.len())
            .unwrap_or(0)
            >= 4
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let mut first = Vec::with_capacity(calls / 10);
    for _ in 0..(calls / 10).max(10) {
        let fresh = app.services().connectors;
        first.push(lookup(&fresh, &admin).await);
    }
    let connectors = app.services().connectors;
    // Lookups are kept once its subscription to the projector's notices is in place.
    for _ in 0..500 {
        if connectors.caching() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(connectors.caching(), "the lookups never subscribed");
    for _ in 0..50 {
        lookup(&connectors, &admin).await;
    }
    let mut cached = Vec::with_capacity(calls);
    for _ in 0..calls {
        cached.push(lookup(&connectors, &admin).await);
    }
    Backend {
        first: p50_p99(first),
        cached: p50_p99(cached),
    }
}

/// One raw KV v2 read of a secret the size of a credential, `calls` times.
async fn raw_vault(bao: &TestOpenBao, calls: usize) -> (f64, f64) {
    let client = VaultClient::new(
        VaultClientSettingsBuilder::default()
            .address(&bao.addr)
            .token(bao.token.clone())
            .build()
            .expect("settings"),
    )
    .expect("a Vault client");
    let secret = json!({"value": "eyJhcGlfa2V5IjoiZGQtYXBpLWJlbmNoLTAwMDEiLCJhcHBsaWNhdGlvbl9rZXkiOiJkZC1hcHAtYmVuY2gtMDAwMiJ9"});
    vaultrs::kv2::set(&client, "aurora", "bench/raw", &secret)
        .await
        .expect("a write");
    let mut times = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        let read: serde_json::Value = vaultrs::kv2::read(&client, "aurora", "bench/raw")
            .await
            .expect("a read");
        times.push(ms(started.elapsed()));
        assert!(read.get("value").is_some());
    }
    p50_p99(times)
}

#[tokio::main]
async fn main() {
    aurora_tests::init_logs();
    let calls = env_usize("BENCH_CREDENTIALS_CALLS", 2000);
    let load_before = aurora_tests::bench::load_average();
    let fake = FakeProviders::start().await;

    let app = TestApp::launch().connectors(fake.config()).spawn().await;
    let local = backend(&app, calls).await;
    app.stop().await;

    let bao = TestOpenBao::start().await;
    let app = TestApp::launch()
        .connectors(fake.config())
        .vault(bao.config())
        .spawn()
        .await;
    let vault = backend(&app, calls).await;
    app.stop().await;
    let raw = raw_vault(&bao, calls).await;
    let load_after = aurora_tests::bench::load_average();

    let rows = [
        ("local store, first call", local.first, false),
        ("local store, cached", local.cached, true),
        ("Vault, first call", vault.first, false),
        ("Vault, cached", vault.cached, true),
    ];
    for (name, (p50, p99), _) in &rows {
        println!("{name}: p50 {p50:.3} ms p99 {p99:.3} ms");
    }
    println!(
        "raw Vault KV v2 read: p50 {:.3} ms p99 {:.3} ms",
        raw.0, raw.1
    );
    println!("load average {load_before} → {load_after}");

    let mut out = String::new();
    writeln!(out, "## Credentials (issue 16)\n").ok();
    writeln!(out, "Written by `make bench` (`tests/benches/credentials.rs`) on {}: {}; load average {} at the start, {} at the end (the machine is shared).\n", chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"), aurora_tests::bench::machine(), load_before, load_after).ok();
    writeln!(out, "What a query tool call adds before its provider is asked: the tenant's account of the kind (one read of the connectors read model, the credential from the secret store) and every connected secret of the tenant for redaction (one more read, the credentials of three accounts). First call = a fresh process cache ({} calls); cached = {} calls after 50 warm-up calls. Beside them, the ceiling of the same run: one raw KV v2 read of the same OpenBao (`bao server -dev`) through vaultrs.\n", (calls / 10).max(10), calls).ok();
    writeln!(out, "| lookup | p50 | p99 | goal |\n|---|---|---|---|").ok();
    for (name, (p50, p99), goal) in &rows {
        let goal = if *goal {
            if *p99 <= 1.0 {
                "p99 ≤ 1 ms: met"
            } else {
                "p99 ≤ 1 ms: **not met**"
            }
        } else {
            ""
        };
        writeln!(out, "| {name} | {p50:.3} ms | {p99:.3} ms | {goal} |").ok();
    }
    writeln!(
        out,
        "| raw Vault KV v2 read (ceiling) | {:.3} ms | {:.3} ms | |",
        raw.0, raw.1
    )
    .ok();
    writeln!(out, "\nCached, the secret store is not asked at all (credentials are cached by secret reference, which names one immutable version; a disconnect forgets them, a rotation changes the reference): nor is the read model: the tenant's connector rows are cached too, until the connectors projector says the tenant's rows changed (`TenantCache`). What remains is two hash lookups, the same for both stores.").ok();
    aurora_tests::bench::write_section("credentials", &out);
}
