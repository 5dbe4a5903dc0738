//! When discovery runs: every [`super::GraphConfig::every`] for every tenant, once per period
//! across all processes, and on a person's request (the `discovery` consumer of `CMD`). The
//! periodic run also sweeps each tenant's nodes for staleness ([`Graph::sweep`]).
//!
//! Once per period: every process tries to create the key `discovery` in the KV bucket
//! `graph_jobs`, whose entries live one period. Creating a key that exists fails, so exactly one
//! process wins each period; the others try again at their next tick.
//!
//! Shutdown does not wait for a run in hand (a hung CLI would hold it up to the tool time limit,
//! once per command): the run is dropped, which kills the command it was running. A stopped
//! request is naked and runs again after the restart; a stopped periodic run waits for the next
//! period (the lease was taken).

use std::time::Duration;

use async_nats::jetstream::{self, consumer::PullConsumer};
use aurora_domain::service::{DiscoveryRequest, ServiceCommand};
use aurora_domain::TenantId;
use aurora_nats::consumer::{self, Delivery, HandlerError};
use aurora_nats::envelope::Context;
use aurora_nats::subjects::{self, CMD_STREAM};
use aurora_projections::queries;
use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::{Discovered, Graph, GraphError};

/// The KV bucket of the periodic jobs' leases.
pub const JOBS_BUCKET: &str = "graph_jobs";
/// The durable consumer of discovery requests on `CMD`.
pub const CONSUMER: &str = "discovery";
/// How often a process looks whether the period's run is due.
const TICK: Duration = Duration::from_secs(60);

/// What a sweep did to a tenant's nodes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub marked_stale: usize,
    pub removed: usize,
}

impl Graph {
    /// Every tick: the period's run, if this process is the one to do it.
    pub(super) async fn periodic(
        self,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), GraphError> {
        loop {
            match self.lease().await {
                Ok(true) => {
                    // A run lists every tenant's providers, each CLI call up to the tool time
                    // limit: shutdown must not wait for it. Dropping the run drops the command
                    // in hand, which kills its child (`kill_on_drop`).
                    tokio::select! {
                        ran = self.run_period(Utc::now()) => {
                            if let Err(e) = ran {
                                tracing::warn!(error = %e, "the periodic discovery failed");
                            }
                        }
                        _ = shutdown.wait_for(|s| *s) => {
                            tracing::info!("the periodic discovery stopped: shutting down");
                            return Ok(());
                        }
                    }
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "the discovery lease could not be taken"),
            }
            tokio::select! {
                _ = shutdown.wait_for(|s| *s) => return Ok(()),
                _ = tokio::time::sleep(TICK) => {}
            }
        }
    }

    /// Whether this process took this period's lease.
    pub async fn lease(&self) -> Result<bool, GraphError> {
        let js = jetstream::new(self.inner.services.log().client().clone());
        let bucket = aurora_nats::buckets::memory_bucket(
            &js,
            JOBS_BUCKET,
            "Leases of the service graph's periodic jobs (one key a job, living one period)",
            self.inner.config.every,
        )
        .await
        .map_err(|e| GraphError::Lease(e.to_string()))?;
        match bucket
            .create("discovery", bytes::Bytes::from(Utc::now().to_rfc3339()))
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == jetstream::kv::CreateErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(GraphError::Lease(e.to_string())),
        }
    }

    /// Discovers and sweeps every tenant, as of `now`.
    pub async fn run_period(&self, now: DateTime<Utc>) -> Result<(), GraphError> {
        for tenant in queries::all_tenants(&self.inner.pool).await? {
            let Ok(tenant) = TenantId::parse(tenant) else {
                continue;
            };
            // One tenant whose accounts cannot be read leaves the others discovered.
            let found = match self.discover(&tenant, now).await {
                Ok(found) => found,
                Err(GraphError::Connectors(e)) => {
                    tracing::warn!(%tenant, error = %e, "not discovered: its connected accounts could not be read");
                    Discovered::default()
                }
                Err(e) => return Err(e),
            };
            let swept = self.sweep(&tenant, now).await?;
            tracing::info!(%tenant, nodes = found.nodes, edges = found.edges, stale = swept.marked_stale, removed = swept.removed, "service graph discovered and swept");
        }
        Ok(())
    }

    /// Marks the tenant's nodes unseen for 7 days stale and removes those stale for 30, as of
    /// `now` (each node decides for itself, so two sweeps mark a node once).
    pub async fn sweep(&self, tenant: &TenantId, now: DateTime<Utc>) -> Result<Swept, GraphError> {
        let mut tx = queries::scoped(&self.inner.pool, tenant.as_str()).await?;
        let ids = queries::node_ids(&mut tx, tenant.as_str()).await?;
        tx.commit().await?;
        let mut swept = Swept::default();
        let store = &self.inner.services;
        for id in ids {
            for command in [
                ServiceCommand::MarkStale { now },
                ServiceCommand::Remove { now },
            ] {
                let marking = matches!(command, ServiceCommand::MarkStale { .. });
                // Neither is ever refused: a node not due answers with no event.
                if let Ok(done) = store
                    .execute(tenant, id, command, Context::new_root())
                    .await?
                {
                    if done.events > 0 {
                        if marking {
                            swept.marked_stale += 1;
                        } else {
                            swept.removed += 1;
                        }
                    }
                }
            }
        }
        Ok(swept)
    }

    /// The `discovery` consumer of `CMD`: each request discovers its tenant now.
    pub(super) async fn requests(self, shutdown: watch::Receiver<bool>) -> Result<(), GraphError> {
        let failed = |e: String| GraphError::Consumer {
            consumer: CONSUMER,
            reason: e,
        };
        let js = jetstream::new(self.inner.services.log().client().clone());
        let stream = js
            .get_stream(CMD_STREAM)
            .await
            .map_err(|e| failed(e.to_string()))?;
        let consumer: PullConsumer = stream
            .get_consumer(CONSUMER)
            .await
            .map_err(|e| failed(e.to_string()))?;
        consumer::run(
            consumer,
            16,
            self.inner.services.log().metrics().clone(),
            shutdown.clone(),
            |deliveries| {
                let graph = self.clone();
                let mut stopping = shutdown.clone();
                async move {
                    for delivery in deliveries {
                        // As the periodic run: a discovery in hand does not hold shutdown up.
                        // The request fails as transient, so the runner naks it and it is
                        // discovered after the restart.
                        tokio::select! {
                            handled = graph.requested(&delivery) => handled?,
                            _ = stopping.wait_for(|s| *s) => {
                                return Err(HandlerError::Transient(
                                    "shutting down: the discovery was stopped".to_owned(),
                                ));
                            }
                        }
                    }
                    Ok(())
                }
            },
        )
        .await?;
        Ok(())
    }

    async fn requested(&self, delivery: &Delivery) -> Result<(), HandlerError> {
        let poison = |reason: String| HandlerError::Poison {
            stream_sequence: delivery.stream_sequence,
            reason,
        };
        let subject = subjects::parse_command_subject(&delivery.subject)
            .ok_or_else(|| poison(format!("{} is not a command subject", delivery.subject)))?;
        let request: DiscoveryRequest = serde_json::from_slice(&delivery.payload)
            .map_err(|e| poison(format!("not a discovery request: {e}")))?;
        let found = self
            .discover(&subject.tenant, Utc::now())
            .await
            .map_err(|e| HandlerError::Transient(e.to_string()))?;
        tracing::info!(tenant = %subject.tenant, request = %request.request_id, by = %request.requested_by, nodes = found.nodes, edges = found.edges, skipped = ?found.skipped, "discovery on request");
        Ok(())
    }
}
