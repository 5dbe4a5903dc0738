//! The backbone bench's first phase alone, to count instructions instead of timing it (a shared
//! machine's wall time drifts; instruction counts repeat to ~0.1 %): `N` commands (default
//! 2000) open `N` distinct incidents through `AggregateStore::execute`, 512 in flight, against a
//! private nats-server, on one thread so that runs repeat. The difference between two runs is per-command work without the setup:
//!
//! ```text
//! cargo build --release -p aurora-tests --example commands
//! valgrind --tool=callgrind target/release/examples/commands 2000   # then 6000
//! ```
//!
//! `AURORA_EXAMPLE_LOG=1` installs the `aurora` binary's subscriber (`info`, text, to a sink), so
//! what spans cost in production is counted too; without it nothing subscribes, as in the bench.

use aurora_domain::{Incident, IncidentId};
use aurora_nats::{AggregateStore, Context};
use aurora_tests::TestNats;
use chrono::Utc;
use futures::stream::{self, StreamExt};

// Shared with the tests; this uses only some of it.
#[allow(dead_code)]
#[path = "../tests/fixtures.rs"]
mod fixtures;
use fixtures::{open, tenant};

// The same allocator as the `aurora` binary and the bench.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PIPELINE: usize = 512;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(2000, |a| a.parse().expect("N is a number"));
    if std::env::var_os("AURORA_EXAMPLE_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_writer(std::io::sink)
            .init();
    }
    let nats = TestNats::start().await;
    let store = AggregateStore::<Incident>::new(nats.log.clone());
    let acme = tenant("acme");
    let inputs: Vec<_> = (0..n)
        .map(|i| {
            let id = IncidentId::new();
            let command = open(id, &format!("incident {i}"), "checkout", Utc::now());
            (id, command, Context::new_root())
        })
        .collect();
    let started = std::time::Instant::now();
    stream::iter(inputs)
        .for_each_concurrent(PIPELINE, |(id, command, context)| {
            let (store, acme) = (&store, &acme);
            async move {
                store
                    .execute(acme, id.0, command, context)
                    .await
                    .expect("store")
                    .expect("opened");
            }
        })
        .await;
    eprintln!("{n} commands in {:?}", started.elapsed());
}
