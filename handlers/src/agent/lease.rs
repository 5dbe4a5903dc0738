//! A run's lease: a key `<tenant>.<session>` in the NATS KV bucket `agent_runs` that says the
//! session's run is alive. A run that lasts holds it (see [`Leases::hold`]); the
//! [`sweep`](super::sweep) closes a waiting session that holds none. Its own module so the run
//! and the sweep share it without importing each other for it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use aurora_domain::TenantId;
use aurora_nats::buckets::BucketError;
use tokio::sync::OnceCell;
use tokio::task::JoinHandle;
use uuid::Uuid;

pub const LEASE_BUCKET: &str = "agent_runs";
/// How long a lease outlives its last refresh.
pub const LEASE_TTL: Duration = Duration::from_secs(45);
/// How often a live run refreshes its lease.
pub const LEASE_REFRESH: Duration = Duration::from_secs(15);

/// Why a lease could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error(transparent)]
    Bucket(#[from] BucketError),
    #[error("the lease {key} could not be read: {source}")]
    Read {
        key: String,
        #[source]
        source: kv::EntryError,
    },
}

/// The lease bucket of this process, opened on first use (every process creates it the same
/// way). Cheap to clone.
#[derive(Clone)]
pub struct Leases {
    nats: async_nats::Client,
    bucket: Arc<OnceCell<kv::Store>>,
}

impl Leases {
    pub fn new(nats: async_nats::Client) -> Self {
        Self {
            nats,
            bucket: Arc::default(),
        }
    }

    /// The bucket, created once per process.
    pub async fn bucket(&self) -> Result<&kv::Store, BucketError> {
        self.bucket
            .get_or_try_init(|| async {
                aurora_nats::buckets::memory_bucket(
                    &jetstream::new(self.nats.clone()),
                    LEASE_BUCKET,
                    "Live agent runs (a key per session, refreshed while the run lives)",
                    LEASE_TTL,
                )
                .await
            })
            .await
    }

    /// Whether a live run holds the session's lease.
    pub async fn is_held(&self, tenant: &TenantId, session: Uuid) -> Result<bool, LeaseError> {
        let key = lease_key(tenant, session);
        match self.bucket().await?.get(&key).await {
            Ok(entry) => Ok(entry.is_some()),
            Err(source) => Err(LeaseError::Read { key, source }),
        }
    }

    /// Holds the session's lease for `question` until [`Held::release`]: written `after` from
    /// now, rewritten every [`LEASE_REFRESH`].
    ///
    /// Short runs never take it: a run passes half the sweep's quiet period as `after` (a sweep
    /// only looks at sessions quiet for longer than that), so a quick answer costs no KV traffic.
    pub fn hold(&self, tenant: &TenantId, session: Uuid, question: Uuid, after: Duration) -> Held {
        let key = lease_key(tenant, session);
        let taken = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(
            self.clone()
                .keep(key.clone(), question, after, taken.clone()),
        );
        Held {
            leases: self.clone(),
            key,
            taken,
            task,
        }
    }

    async fn keep(self, key: String, question: Uuid, after: Duration, taken: Arc<AtomicBool>) {
        tokio::time::sleep(after).await;
        taken.store(true, Ordering::Release);
        let Ok(store) = self.bucket().await else {
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
}

/// A lease a run holds (see [`Leases::hold`]).
pub struct Held {
    leases: Leases,
    key: String,
    /// Whether the lease was (or is about to be) written, so it needs deleting.
    taken: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl Held {
    /// Stops refreshing the lease and deletes it if it was taken.
    pub async fn release(self) {
        self.task.abort();
        if self.taken.load(Ordering::Acquire) {
            if let Ok(store) = self.leases.bucket().await {
                let _ = store.delete(&self.key).await;
            }
        }
    }
}

fn lease_key(tenant: &TenantId, session: Uuid) -> String {
    format!("{tenant}.{}", session.simple())
}
