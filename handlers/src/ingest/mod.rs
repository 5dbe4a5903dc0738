//! The `INBOX` consumer: each raw delivery is parsed again by its source, its firing alerts are
//! correlated — decided in order on the tenant's decision log, so alerts arriving together never
//! open two incidents — and the decisions become incident commands: open, attach a correlated
//! alert, attach a resolve notification. The batch is acked only after all of that is stored.
//!
//! Three rooms, in the order a batch goes through them:
//! - [`read`]: a stored delivery → its tenant, integration and signals;
//! - [`decide`]: the tenant's firing alerts → decisions on its decision log;
//! - [`apply`]: decisions, resolves and changes → commands on incidents and changes (a resolve
//!   finds its incident on the write side: [`resolve`]).
//!
//! Redelivery after a crash at any point changes nothing:
//! - a delivery delivered before may already have its decisions on the log: they are looked up
//!   (from the time it was first stored) and reused, not made again;
//! - an incident opened by an alert has an id derived from the alert's `INBOX` position, so
//!   opening it again is refused as already done;
//! - attaching an alert is idempotent on its id, and so is a resolve notification.

mod apply;
mod decide;
mod read;
mod resolve;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_nats::jetstream::{self, consumer::PullConsumer};
use aurora_domain::change::Change;
use aurora_domain::correlation::AlertDecision;
use aurora_domain::intake::{ChangeEvent, Signal};
use aurora_domain::{Incident, IncidentId, Integration, TenantId};
use aurora_nats::consumer::{self, Delivery as Message, HandlerError};
use aurora_nats::subjects::INBOX_STREAM;
use aurora_nats::{AggregateStore, EventLog, StoreError};
use chrono::{DateTime, Utc};
use tokio::sync::{watch, Mutex};
use uuid::Uuid;

use crate::embeddings::Embedder;
use crate::sources;

pub(crate) use read::{placed, Placed, ReadDelivery};

const CONSUMER: &str = "ingest";
/// Deliveries per batch: decisions of one tenant in a batch are one append.
const MAX_BATCH: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("cannot open the {CONSUMER} consumer: {0}")]
    Consumer(String),
    #[error(transparent)]
    Runner(#[from] aurora_nats::consumer::RunnerError),
}

/// What the ingest handler works with. Cheap to clone.
#[derive(Clone)]
pub struct Ingest {
    pub log: EventLog,
    pub incidents: AggregateStore<Incident>,
    pub integrations: AggregateStore<Integration>,
    pub changes: AggregateStore<Change>,
    /// The last known position of each tenant's decision log. A stale one is caught by the
    /// append's concurrency check.
    logs: Arc<Mutex<HashMap<TenantId, decide::LogPosition>>>,
    /// HTTP client and trusted origins for confirming SNS subscriptions (Amazon SNS only when
    /// unset; see [`Ingest::with_sns`]).
    sns: Option<sources::VerifyContext>,
    /// Decisions this process appended lately: a batch retried in place (its `delivered` count
    /// unchanged) reuses them instead of deciding again.
    decided: Arc<std::sync::Mutex<HashMap<decide::DecisionKey, AlertDecision>>>,
    /// Per tenant, what its decision log says about fingerprints, as far as it was read.
    fingerprints: Arc<Mutex<HashMap<TenantId, resolve::KnownFingerprints>>>,
    /// The tenants' service graphs, for topology scores (none: no graph, names compared).
    topology: Option<crate::graph::topology::Topology>,
    /// Compares titles by their embeddings' cosine (upstream's way); word overlap when `None`.
    embedder: Option<Embedder>,
}

/// A resolve notification of a delivery.
#[derive(Debug, Clone, PartialEq)]
struct Resolve {
    fingerprint: String,
    source_alert_id: String,
    at: DateTime<Utc>,
}

/// A change a delivery reported, with the source and integration that reported it.
#[derive(Debug, Clone)]
struct ReportedChange {
    change: ChangeEvent,
    source: String,
    integration_id: Uuid,
}

/// Everything a batch asks of one tenant.
#[derive(Default)]
struct TenantWork {
    alerts: Vec<Placed>,
    resolves: Vec<Resolve>,
    changes: Vec<ReportedChange>,
    /// Deliveries seen before: their decisions may already be on the log.
    redelivered_since: Option<DateTime<Utc>>,
}

impl Ingest {
    pub fn new(
        log: EventLog,
        incidents: AggregateStore<Incident>,
        integrations: AggregateStore<Integration>,
    ) -> Self {
        Self {
            changes: AggregateStore::new(log.clone()),
            log,
            incidents,
            integrations,
            logs: Default::default(),
            decided: Default::default(),
            fingerprints: Default::default(),
            sns: None,
            topology: None,
            embedder: None,
        }
    }

    /// Scores topology on the tenants' service graphs, read from the read model in `pool`.
    pub fn with_graph(mut self, pool: sqlx::PgPool) -> Self {
        self.topology = Some(crate::graph::topology::Topology::new(pool));
        self
    }

    /// Compares titles with `embedder` (when there is one) instead of word overlap.
    pub fn with_embedder(mut self, embedder: Option<Embedder>) -> Self {
        self.embedder = embedder;
        self
    }

    /// Confirms SNS subscriptions with `ctx`'s client, on its trusted origins.
    pub fn with_sns(mut self, ctx: sources::VerifyContext) -> Self {
        self.sns = Some(ctx);
        self
    }

    pub async fn run(self, shutdown: watch::Receiver<bool>) -> Result<(), IngestError> {
        let js = jetstream::new(self.log.client().clone());
        let stream = js
            .get_stream(INBOX_STREAM)
            .await
            .map_err(|e| IngestError::Consumer(e.to_string()))?;
        let consumer: PullConsumer = stream
            .get_consumer(CONSUMER)
            .await
            .map_err(|e| IngestError::Consumer(e.to_string()))?;
        consumer::run(
            consumer,
            MAX_BATCH,
            self.log.metrics().clone(),
            shutdown,
            |batch| {
                let this = self.clone();
                async move {
                    this.handle(batch)
                        .await
                        .map_err(|e| HandlerError::Transient(e.to_string()))
                }
            },
        )
        .await?;
        Ok(())
    }

    /// Applies a batch of deliveries. An error leaves the batch to be retried whole.
    #[tracing::instrument(skip_all, fields(deliveries = batch.len(), first = batch.first().map(|m| m.stream_sequence)))]
    pub async fn handle(&self, batch: Vec<Message>) -> Result<(), StoreError> {
        let mut work: BTreeMap<TenantId, TenantWork> = BTreeMap::new();
        // Reading needs each delivery's integration (one catch-up round trip): side by side.
        let read = futures::future::join_all(batch.iter().map(|m| self.read(m))).await;
        for (message, read) in batch.iter().zip(read) {
            let Some(delivery) = read? else {
                continue;
            };
            let ReadDelivery {
                tenant,
                signals,
                integration,
                confirmation,
                received_at,
            } = delivery;
            if let Some(confirmation) = confirmation {
                self.confirm_subscription(message, &tenant, confirmation, &integration)
                    .await?;
            }
            let w = work.entry(tenant).or_default();
            if message.delivered > 1 {
                let since = message.published;
                w.redelivered_since = Some(w.redelivered_since.map_or(since, |s| s.min(since)));
            }
            for (index, signal) in signals.into_iter().enumerate() {
                match signal {
                    Signal::Firing(alert) => {
                        w.alerts
                            .push(placed(message, received_at, index, alert, &integration));
                    }
                    Signal::Resolved {
                        fingerprint,
                        source_alert_id,
                        at,
                    } => w.resolves.push(Resolve {
                        fingerprint,
                        source_alert_id,
                        at,
                    }),
                    Signal::Change(change) => w.changes.push(ReportedChange {
                        change,
                        source: integration.source.clone(),
                        integration_id: integration.id.unwrap_or_default(),
                    }),
                    Signal::Acknowledged { .. } | Signal::Ignored { .. } => {}
                }
            }
        }
        let results = futures::future::join_all(
            work.into_iter()
                .map(|(tenant, w)| async move { self.tenant(&tenant, w).await }),
        )
        .await;
        results.into_iter().collect()
    }

    /// One tenant's share of a batch: decide its alerts, then apply the decisions (per incident
    /// in order, incidents side by side), then its resolves — after the alerts, so a resolve
    /// finds the incident its firing opened in the same batch — then its changes.
    #[tracing::instrument(skip_all, fields(tenant = %tenant, alerts = work.alerts.len(), resolves = work.resolves.len()))]
    async fn tenant(&self, tenant: &TenantId, work: TenantWork) -> Result<(), StoreError> {
        let decisions = self.decide(tenant, &work).await?;
        let mut per_incident: BTreeMap<IncidentId, Vec<(&AlertDecision, &Placed)>> =
            BTreeMap::new();
        for (decision, placed) in decisions.iter().zip(&work.alerts) {
            per_incident
                .entry(decision.incident_id)
                .or_default()
                .push((decision, placed));
        }
        let applied =
            futures::future::join_all(per_incident.into_iter().map(|(id, items)| async move {
                for (decision, placed) in items {
                    self.apply(tenant, id, decision, placed).await?;
                }
                Ok::<(), StoreError>(())
            }))
            .await;
        applied.into_iter().collect::<Result<(), _>>()?;
        for resolve in work.resolves {
            self.resolve(tenant, resolve).await?;
        }
        let recorded = futures::future::join_all(
            work.changes
                .into_iter()
                .map(|change| self.record_change(tenant, change)),
        )
        .await;
        recorded.into_iter().collect()
    }
}
