//! The KV buckets of the process manager, all on file storage (they must survive a restart,
//! unlike the chat's in-memory buckets):
//! - `rca_starts`: one [`StartWindow`] per tenant, changed by compare-and-set, so concurrent
//!   processes agree on which run starts and which waits;
//! - `rca_live`: one key `<tenant>.<run>` per investigation that has not ended, the index the
//!   sweep walks (the truth stays in the investigation's events);
//! - `postmortems_pending`: postmortems being written ([`super::postmortem`]).

use std::time::Duration;

use async_nats::jetstream::{self, kv};
use aurora_domain::investigation::start_window::{Admission, StartLimit, StartWindow};
use aurora_domain::TenantId;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::RcaError;

const STARTS: &str = "rca_starts";
const LIVE: &str = "rca_live";
/// Compare-and-set attempts before giving up (only contention can exhaust them).
const ATTEMPTS: usize = 50;

pub(super) struct Buckets {
    starts: kv::Store,
    live: kv::Store,
    pub(super) postmortems: kv::Store,
}

/// What the sweep needs to find a live run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct LiveRun {
    pub tenant: TenantId,
    pub run: Uuid,
    pub incident: Uuid,
    pub since: DateTime<Utc>,
}

impl Buckets {
    pub(super) async fn open(nats: &async_nats::Client) -> Result<Self, RcaError> {
        let js = jetstream::new(nats.clone());
        Ok(Self {
            starts: bucket(&js, STARTS, "Each tenant's recent RCA starts and queue.").await?,
            live: bucket(
                &js,
                LIVE,
                "Investigations that have not ended (the sweep's index).",
            )
            .await?,
            postmortems: bucket(
                &js,
                super::postmortem::BUCKET,
                "Postmortems asked for and not written yet.",
            )
            .await?,
        })
    }

    /// Asks the tenant's window to start `run` now.
    pub(super) async fn request(
        &self,
        tenant: &TenantId,
        run: Uuid,
        limit: StartLimit,
    ) -> Result<Admission, RcaError> {
        self.change(tenant, |window| window.request(run, Utc::now(), limit))
            .await
    }

    /// Takes the tenant's queued runs that may start now.
    pub(super) async fn release(
        &self,
        tenant: &TenantId,
        limit: StartLimit,
    ) -> Result<Vec<Uuid>, RcaError> {
        self.change(tenant, |window| window.release(Utc::now(), limit))
            .await
    }

    pub(super) async fn withdraw(&self, tenant: &TenantId, run: Uuid) -> Result<bool, RcaError> {
        self.change(tenant, |window| window.withdraw(run)).await
    }

    /// Tenants whose window holds a queue.
    pub(super) async fn queued_tenants(&self) -> Result<Vec<TenantId>, RcaError> {
        let mut tenants = Vec::new();
        let mut keys = self.starts.keys().await.map_err(unavailable(STARTS))?;
        while let Some(key) = keys.next().await {
            let key = key.map_err(unavailable(STARTS))?;
            let Ok(tenant) = TenantId::parse(key.as_str()) else {
                continue;
            };
            if let Some((window, _)) = self.window(&tenant).await? {
                if !window.queue.is_empty() {
                    tenants.push(tenant);
                }
            }
        }
        Ok(tenants)
    }

    async fn window(&self, tenant: &TenantId) -> Result<Option<(StartWindow, u64)>, RcaError> {
        let entry = self
            .starts
            .entry(tenant.as_str())
            .await
            .map_err(unavailable(STARTS))?;
        Ok(entry.and_then(|e| match e.operation {
            kv::Operation::Put => Some((
                serde_json::from_slice(&e.value).unwrap_or_default(),
                e.revision,
            )),
            kv::Operation::Delete | kv::Operation::Purge => None,
        }))
    }

    async fn change<T>(
        &self,
        tenant: &TenantId,
        mut change: impl FnMut(&mut StartWindow) -> T,
    ) -> Result<T, RcaError> {
        for _ in 0..ATTEMPTS {
            let (mut window, revision) = match self.window(tenant).await? {
                Some((window, revision)) => (window, Some(revision)),
                None => (StartWindow::default(), None),
            };
            let out = change(&mut window);
            let value = serde_json::to_vec(&window).unwrap_or_default().into();
            let written = match revision {
                Some(revision) => self
                    .starts
                    .update(tenant.as_str(), value, revision)
                    .await
                    .is_ok(),
                None => self.starts.create(tenant.as_str(), value).await.is_ok(),
            };
            if written {
                return Ok(out);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Err(RcaError::Bucket {
            bucket: STARTS,
            reason: format!("{ATTEMPTS} concurrent changes of {tenant}'s window in a row"),
        })
    }

    /// Notes a run that has not ended.
    pub(super) async fn live(&self, run: &LiveRun) -> Result<(), RcaError> {
        let value = serde_json::to_vec(run).unwrap_or_default();
        self.live
            .put(live_key(&run.tenant, run.run), value.into())
            .await
            .map_err(unavailable(LIVE))?;
        Ok(())
    }

    pub(super) async fn ended(&self, tenant: &TenantId, run: Uuid) -> Result<(), RcaError> {
        self.live
            .purge(live_key(tenant, run))
            .await
            .map_err(unavailable(LIVE))?;
        Ok(())
    }

    pub(super) async fn live_runs(&self) -> Result<Vec<LiveRun>, RcaError> {
        let mut runs = Vec::new();
        let mut keys = self.live.keys().await.map_err(unavailable(LIVE))?;
        while let Some(key) = keys.next().await {
            let key = key.map_err(unavailable(LIVE))?;
            if let Some(value) = self.live.get(&key).await.map_err(unavailable(LIVE))? {
                if let Ok(run) = serde_json::from_slice(&value) {
                    runs.push(run);
                }
            }
        }
        Ok(runs)
    }
}

fn live_key(tenant: &TenantId, run: Uuid) -> String {
    format!("{tenant}.{run}")
}

async fn bucket(
    js: &jetstream::Context,
    name: &'static str,
    description: &str,
) -> Result<kv::Store, RcaError> {
    js.create_key_value(kv::Config {
        bucket: name.into(),
        description: description.into(),
        history: 1,
        storage: jetstream::stream::StorageType::File,
        ..Default::default()
    })
    .await
    .map_err(unavailable(name))
}

pub(super) fn unavailable<E: std::fmt::Display>(bucket: &'static str) -> impl Fn(E) -> RcaError {
    move |e| RcaError::Bucket {
        bucket,
        reason: e.to_string(),
    }
}
