//! A run's lease: a key `<tenant>.<session>` in the NATS KV bucket `agent_runs` that says the
//! session's run is alive. A run that lasts holds it (see [`hold`]); the [`sweep`](super::sweep)
//! closes a waiting session that holds none. Its own module so the run and the sweep share it
//! without importing each other for it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use aurora_domain::TenantId;
use uuid::Uuid;

use super::run::Agent;

pub const LEASE_BUCKET: &str = "agent_runs";
/// How long a lease outlives its last refresh.
pub const LEASE_TTL: Duration = Duration::from_secs(45);
/// How often a live run refreshes its lease.
pub const LEASE_REFRESH: Duration = Duration::from_secs(15);

/// The lease bucket (created on first use; every process creates it the same way).
pub async fn leases(nats: &async_nats::Client) -> Result<kv::Store, String> {
    aurora_nats::buckets::memory_bucket(
        &jetstream::new(nats.clone()),
        LEASE_BUCKET,
        "Live agent runs (a key per session, refreshed while the run lives)",
        LEASE_TTL,
    )
    .await
}

pub fn lease_key(tenant: &TenantId, session: Uuid) -> String {
    format!("{tenant}.{}", session.simple())
}

/// Holds the session's lease until aborted: written now, rewritten every [`LEASE_REFRESH`].
///
/// Short runs never take it: the first write waits half the sweep's quiet period (a sweep only
/// looks at sessions quiet for longer than that), so a quick answer costs no KV traffic.
pub async fn hold(agent: Agent, key: String, question: Uuid, taken: Arc<AtomicBool>) {
    tokio::time::sleep(agent.config().sweep_quiet / 2).await;
    taken.store(true, Ordering::Release);
    let Ok(store) = agent.leases().await else {
        tracing::warn!(%key, "a run without a lease (the bucket is unavailable)");
        return;
    };
    let value = bytes::Bytes::from(question.to_string());
    loop {
        if let Err(e) = store.put(&key, value.clone()).await {
            tracing::warn!(%key, error = %e, "the run's lease was not refreshed");
        }
        tokio::time::sleep(LEASE_REFRESH).await;
    }
}
