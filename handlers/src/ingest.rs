//! The `INBOX` consumer: each raw delivery is parsed again by its source, its firing alerts are
//! correlated — decided in order on the tenant's decision log, so alerts arriving together never
//! open two incidents — and the decisions become incident commands: open, attach a correlated
//! alert, attach a resolve notification. The batch is acked only after all of that is stored.
//!
//! Redelivery after a crash at any point changes nothing:
//! - a delivery delivered before may already have its decisions on the log: they are looked up
//!   (from the time it was first stored) and reused, not made again;
//! - an incident opened by an alert has an id derived from the alert's `INBOX` position, so
//!   opening it again is refused as already done;
//! - attaching an alert is idempotent on its id, and so is a resolve notification.

use std::collections::{BTreeMap, HashMap};

use async_nats::jetstream::{self, consumer::PullConsumer};
use aurora_domain::change::{change_aggregate_id, Change, ChangeCommand};
use aurora_domain::correlation::{
    correlator_id, AlertDecision, CorrelatorEvent, CorrelatorSnapshot, PendingAlert, ServiceGraph,
};
use aurora_domain::incident::{Alert, IncidentError};
use aurora_domain::intake::{ChangeEvent, FiringAlert, Signal};
use aurora_domain::{Incident, IncidentCommand, IncidentId, Integration, TenantId};
use aurora_nats::consumer::{self, Delivery as Message, HandlerError};
use aurora_nats::envelope::Context;
use aurora_nats::log::append_event;
use aurora_nats::subjects::INBOX_STREAM;
use aurora_nats::{AggregateStore, EventLog, StoreError};
use chrono::{DateTime, Utc};
use esrs::event::Upcaster;
use sqlx::PgPool;
use tokio::sync::{watch, Mutex};
use uuid::Uuid;

use crate::sources::{self, Delivery};

const CONSUMER: &str = "ingest";
/// Deliveries per batch: decisions of one tenant in a batch are one append.
const MAX_BATCH: usize = 256;
/// Headers the gateway puts on every `INBOX` message (see `gateway::api::intake`).
pub const INTEGRATION_HEADER: &str = "Aurora-Integration-Id";
pub const SOURCE_HEADER: &str = "Aurora-Source";
pub const RECEIVED_AT_HEADER: &str = "Aurora-Received-At";

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
    /// Read models (to find the incident a resolve notification belongs to).
    pub pool: PgPool,
    /// The last known position of each tenant's decision log: (stream sequence, aggregate
    /// sequence, snapshot). A stale one is caught by the append's concurrency check.
    logs: std::sync::Arc<Mutex<HashMap<TenantId, LogPosition>>>,
    /// HTTP client and trusted origins for confirming SNS subscriptions (Amazon SNS only when
    /// unset; see [`Ingest::with_sns`]).
    sns: Option<sources::VerifyContext>,
    /// Decisions this process appended lately, by (tenant, INBOX sequence, index): a batch
    /// retried in place (its `delivered` count unchanged) reuses them instead of deciding again.
    decided: std::sync::Arc<std::sync::Mutex<HashMap<DecisionKey, AlertDecision>>>,
}

/// A decided alert: tenant, `INBOX` sequence, position in the delivery.
type DecisionKey = (TenantId, u64, u32);

/// Decisions remembered per process before the memory starts over (a miss only costs reading
/// the log again for a redelivered delivery).
const REMEMBERED_DECISIONS: usize = 100_000;
/// Alerts decided per decision event: keeps each event far below the server's message limit.
const DECISIONS_PER_EVENT: usize = 100;

/// Where a tenant's decision log is: stream sequence and aggregate sequence of its last event,
/// and the snapshot that event carries.
type LogPosition = (u64, i32, CorrelatorSnapshot);

/// A delivery's tenant, signals and integration.
type ReadDelivery = (
    TenantId,
    Vec<Signal>,
    aurora_domain::integration::IntegrationState,
    Option<sources::Confirmation>,
);

/// One alert of one delivery, with what its integration adds.
pub(crate) struct Placed {
    pub(crate) pending: PendingAlert,
    alert: FiringAlert,
    source: String,
    environment: String,
}

/// Everything a batch asks of one tenant.
#[derive(Default)]
struct TenantWork {
    alerts: Vec<Placed>,
    resolves: Vec<(String, String, DateTime<Utc>)>,
    /// Changes, with the source and integration that reported them.
    changes: Vec<(ChangeEvent, String, Uuid)>,
    /// Deliveries seen before: their decisions may already be on the log.
    redelivered_since: Option<DateTime<Utc>>,
}

impl Ingest {
    pub fn new(
        log: EventLog,
        incidents: AggregateStore<Incident>,
        integrations: AggregateStore<Integration>,
        pool: PgPool,
    ) -> Self {
        Self {
            changes: AggregateStore::new(log.clone()),
            log,
            incidents,
            integrations,
            pool,
            logs: Default::default(),
            decided: Default::default(),
            sns: None,
        }
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
        consumer::run(consumer, MAX_BATCH, shutdown, |batch| {
            let this = self.clone();
            async move {
                this.handle(batch)
                    .await
                    .map_err(|e| HandlerError::Transient(e.to_string()))
            }
        })
        .await?;
        Ok(())
    }

    /// Applies a batch of deliveries. An error leaves the batch to be retried whole.
    pub async fn handle(&self, batch: Vec<Message>) -> Result<(), StoreError> {
        let mut work: BTreeMap<TenantId, TenantWork> = BTreeMap::new();
        // Reading needs each delivery's integration (one catch-up round trip): side by side.
        let read = futures::future::join_all(batch.iter().map(|m| self.read(m))).await;
        for (message, read) in batch.iter().zip(read) {
            let Some((tenant, signals, integration, confirmation)) = read? else {
                continue;
            };
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
                        w.alerts.push(placed(message, index, alert, &integration));
                    }
                    Signal::Resolved {
                        fingerprint,
                        source_alert_id,
                        at,
                    } => w.resolves.push((fingerprint, source_alert_id, at)),
                    Signal::Change(change) => w.changes.push((
                        change,
                        integration.source.clone(),
                        integration.id.unwrap_or_default(),
                    )),
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

    /// The tenant, signals and integration of a delivery; `None` (logged) for a delivery that
    /// cannot be read — the gateway checked it, so this is an integration deleted since or a
    /// source removed from Aurora.
    pub(crate) async fn read(&self, message: &Message) -> Result<Option<ReadDelivery>, StoreError> {
        let header = |name: &str| {
            message
                .headers
                .as_ref()
                .and_then(|h| h.get(name))
                .map(|v| v.as_str().to_owned())
        };
        let skip = |why: String| {
            tracing::warn!(subject = %message.subject, sequence = message.stream_sequence, %why, "delivery skipped");
            Ok(None)
        };
        let Some(tenant) = message
            .subject
            .split('.')
            .nth(1)
            .and_then(|t| TenantId::parse(t).ok())
        else {
            return skip("not an inbox.<tenant>.<source> subject".into());
        };
        let Some(source) = header(SOURCE_HEADER).and_then(|s| sources::source(&s)) else {
            return skip("unknown source".into());
        };
        let Some(integration_id) =
            header(INTEGRATION_HEADER).and_then(|i| Uuid::parse_str(&i).ok())
        else {
            return skip("no integration id".into());
        };
        let Some(integration) = self.integrations.load(&tenant, integration_id).await? else {
            return skip(format!("integration {integration_id} does not exist"));
        };
        let integration = integration.into_inner();
        let headers = kept_headers(source, message);
        let delivery = Delivery {
            headers: &headers,
            body: &message.payload,
            received_at: received_at(message),
        };
        let confirmation = source.confirmation(&delivery);
        match source.parse(&delivery) {
            Ok(parsed) => Ok(Some((tenant, parsed.signals, integration, confirmation))),
            Err(e) => skip(format!("does not parse: {e}")),
        }
    }

    /// A delivery asking to confirm a subscription (SNS `SubscriptionConfirmation`) is confirmed
    /// by one GET of its URL (on the trusted origins only), then its topic is pinned on the
    /// integration. Redelivered, it changes nothing: a second GET is harmless and pinning the
    /// same topic again is a no-op. A topic other than the pinned one is logged and skipped.
    async fn confirm_subscription(
        &self,
        message: &Message,
        tenant: &TenantId,
        confirmation: sources::Confirmation,
        integration: &aurora_domain::integration::IntegrationState,
    ) -> Result<(), StoreError> {
        let (Some(id), false) = (integration.id, integration.deleted) else {
            tracing::info!(topic = %confirmation.topic, "subscription confirmation for a deleted integration: skipped");
            return Ok(());
        };
        if let Some(pinned) = integration
            .pinned_topic
            .as_ref()
            .filter(|p| **p != confirmation.topic)
        {
            tracing::warn!(integration = %id, %pinned, offered = %confirmation.topic, "subscription confirmation for another topic than the pinned one: not confirmed");
            return Ok(());
        }
        static AWS_ONLY: std::sync::OnceLock<sources::VerifyContext> = std::sync::OnceLock::new();
        let ctx = self.sns.as_ref().unwrap_or_else(|| {
            AWS_ONLY.get_or_init(|| sources::VerifyContext::new(sources::SnsOrigins::aws_only()))
        });
        let mut confirmed = ctx.confirm_subscription(&confirmation.url).await;
        if confirmed.is_err() {
            // Once more after a moment (SNS does not ask again by itself).
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            confirmed = ctx.confirm_subscription(&confirmation.url).await;
        }
        if let Err(why) = confirmed {
            tracing::warn!(integration = %id, topic = %confirmation.topic, %why, "the subscription could not be confirmed; request the confirmation again in SNS");
            return Ok(());
        }
        let command = aurora_domain::IntegrationCommand::PinTopic {
            topic: confirmation.topic.clone(),
            at: Utc::now(),
        };
        let context = Context::new_root().caused_by(format!("inbox:{}", message.stream_sequence));
        match self
            .integrations
            .execute(tenant, id, command, context)
            .await?
        {
            Ok(_) => {
                tracing::info!(integration = %id, topic = %confirmation.topic, "SNS subscription confirmed; topic pinned")
            }
            Err(refusal) => {
                tracing::warn!(integration = %id, topic = %confirmation.topic, %refusal, "SNS subscription confirmed but its topic not pinned")
            }
        }
        Ok(())
    }

    async fn tenant(&self, tenant: &TenantId, work: TenantWork) -> Result<(), StoreError> {
        let decisions = self.decide(tenant, &work).await?;
        // Commands per incident run in order; incidents run side by side.
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
        for (fingerprint, source_alert_id, at) in work.resolves {
            self.resolve(tenant, fingerprint, source_alert_id, at)
                .await?;
        }
        let recorded = futures::future::join_all(work.changes.into_iter().map(
            |(change, source, integration_id)| async move {
                let id = change_aggregate_id(tenant.as_str(), &source, &change.change_id);
                let command = ChangeCommand::Record {
                    change,
                    source,
                    integration_id,
                    at: Utc::now(),
                };
                match self
                    .changes
                    .execute(tenant, id, command, Context::new_root())
                    .await?
                {
                    Ok(_) => Ok(()),
                    Err(refusal) => {
                        tracing::info!(%refusal, "change not recorded");
                        Ok::<(), StoreError>(())
                    }
                }
            },
        ))
        .await;
        recorded.into_iter().collect()
    }

    /// The decisions for the tenant's alerts, in order: reused from the log for deliveries
    /// decided before, made (and appended) for the others.
    async fn decide(
        &self,
        tenant: &TenantId,
        work: &TenantWork,
    ) -> Result<Vec<AlertDecision>, StoreError> {
        if work.alerts.is_empty() {
            return Ok(Vec::new());
        }
        let id = correlator_id(tenant.as_str());
        let subject = aurora_nats::subjects::aggregate(tenant, "correlator", id);
        let mut known: HashMap<(u64, u32), AlertDecision> = HashMap::new();
        if let Ok(memory) = self.decided.lock() {
            for p in &work.alerts {
                let key = (tenant.clone(), p.pending.inbox_sequence, p.pending.index);
                if let Some(d) = memory.get(&key) {
                    known.insert((p.pending.inbox_sequence, p.pending.index), d.clone());
                }
            }
        }
        if let Some(since) = work.redelivered_since {
            for raw in self.log.read_subject_since(&subject, since).await? {
                if let Ok(CorrelatorEvent::Decided { decisions, .. }) =
                    CorrelatorEvent::upcast(raw.data, raw.version)
                {
                    for d in decisions {
                        known.insert((d.alert.inbox_sequence, d.alert.index), d);
                    }
                }
            }
        }
        let mut attempt = 0u32;
        loop {
            let (last, version, mut snapshot) = self.position(tenant, &subject).await?;
            let fresh: Vec<PendingAlert> = work
                .alerts
                .iter()
                .filter(|p| !known.contains_key(&(p.pending.inbox_sequence, p.pending.index)))
                .take(DECISIONS_PER_EVENT)
                .map(|p| p.pending.clone())
                .collect();
            let made = if fresh.is_empty() {
                Vec::new()
            } else {
                self.refresh(tenant, &mut snapshot).await?;
                snapshot.decide_all(tenant.as_str(), fresh, &ServiceGraph::new())
            };
            if made.is_empty() {
                return Ok(ordered(work, known));
            }
            let event = CorrelatorEvent::Decided {
                decisions: made.clone(),
                snapshot: snapshot.clone(),
                at: Utc::now(),
            };
            match append_event(
                &self.log,
                tenant,
                "correlator",
                id,
                last,
                version + 1,
                &event,
                &Context::new_root(),
            )
            .await
            {
                Ok((sequence, _)) => {
                    self.logs
                        .lock()
                        .await
                        .insert(tenant.clone(), (sequence, version + 1, snapshot));
                    if let Ok(mut memory) = self.decided.lock() {
                        if memory.len() > REMEMBERED_DECISIONS {
                            memory.clear();
                        }
                        for d in &made {
                            memory.insert(
                                (tenant.clone(), d.alert.inbox_sequence, d.alert.index),
                                d.clone(),
                            );
                        }
                    }
                    for d in made {
                        known.insert((d.alert.inbox_sequence, d.alert.index), d);
                    }
                    // More than one event's worth of alerts: the next chunk.
                }
                Err(StoreError::Conflict { .. }) => {
                    // Another handler appended first, possibly deciding some of these same
                    // alerts (a delivery redelivered to it): take its decisions, then start
                    // again from its snapshot.
                    self.logs.lock().await.remove(tenant);
                    for raw in self.log.read_subject(&subject, last + 1).await? {
                        if let Ok(CorrelatorEvent::Decided { decisions, .. }) =
                            CorrelatorEvent::upcast(raw.data, raw.version)
                        {
                            for d in decisions {
                                known.insert((d.alert.inbox_sequence, d.alert.index), d);
                            }
                        }
                    }
                    attempt += 1;
                    if attempt >= 32 {
                        return Err(StoreError::TooManyConflicts {
                            subject,
                            attempts: attempt,
                        });
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(
                        u64::from(attempt.min(6)) * 2,
                    ))
                    .await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The tenant's decision log as last known, or read (one direct get of its last event).
    async fn position(&self, tenant: &TenantId, subject: &str) -> Result<LogPosition, StoreError> {
        if let Some(known) = self.logs.lock().await.get(tenant) {
            return Ok(known.clone());
        }
        Ok(match self.log.last_event(subject).await? {
            None => (0, 0, CorrelatorSnapshot::default()),
            Some(raw) => {
                let event = CorrelatorEvent::upcast(raw.data, raw.version).map_err(|e| {
                    StoreError::Unavailable(format!("the decision log does not load: {e}"))
                })?;
                (
                    raw.stream_sequence,
                    raw.aggregate_sequence,
                    event.into_snapshot(),
                )
            }
        })
    }

    /// Brings the candidates up to date with their incidents (a person may have resolved one,
    /// or edited it, since the last decision).
    async fn refresh(
        &self,
        tenant: &TenantId,
        snapshot: &mut CorrelatorSnapshot,
    ) -> Result<(), StoreError> {
        // Only the newest can be chosen (decisions score at most `max_candidates`, newest
        // first), so only they are worth a look; the snapshot is kept newest first.
        let wanted = 2 * snapshot.settings.max_candidates as usize;
        let states = futures::future::join_all(
            snapshot
                .candidates
                .iter()
                .take(wanted)
                .map(|c| self.incidents.load(tenant, c.incident_id.0)),
        )
        .await;
        for (candidate, state) in snapshot.candidates.iter_mut().zip(states) {
            if let Some(state) = state? {
                let s = state.inner();
                candidate.open = s.status == aurora_domain::IncidentStatus::Investigating;
                candidate.correlated_alert_count = s.correlated_alert_count;
                if !s.affected_services.is_empty() {
                    candidate.affected_services = s.affected_services.clone();
                }
                if let Some(updated) = s.updated_at {
                    candidate.updated_at = candidate.updated_at.max(updated);
                }
            }
        }
        Ok(())
    }

    async fn apply(
        &self,
        tenant: &TenantId,
        id: IncidentId,
        decision: &AlertDecision,
        placed: &Placed,
    ) -> Result<(), StoreError> {
        let context = Context::new_root().caused_by(format!(
            "inbox:{}:{}",
            placed.pending.inbox_sequence, placed.pending.index
        ));
        let a = &placed.alert;
        let command = match &decision.decision {
            aurora_domain::correlation::Decision::Correlate { correlation, .. } => {
                IncidentCommand::AttachAlert {
                    alert: Alert {
                        alert_id: placed.pending.alert_id.clone(),
                        fingerprint: a.fingerprint.clone(),
                        title: a.title.clone(),
                        service: placed.pending.service.clone(),
                        severity: a.severity,
                        source: placed.source.clone(),
                        received_at: placed.pending.received_at,
                    },
                    correlation: correlation.clone(),
                    at: placed.pending.received_at,
                }
            }
            aurora_domain::correlation::Decision::Open { .. } => IncidentCommand::Open {
                id,
                title: a.title.clone(),
                service: placed.pending.service.clone(),
                environment: placed.environment.clone(),
                severity: a.severity,
                source: placed.source.clone(),
                source_alert_id: placed.pending.alert_id.clone(),
                fingerprint: a.fingerprint.clone(),
                alert_fired_at: a.fired_at,
                at: placed.pending.received_at,
                why: Some(decision.decision.explain()),
            },
        };
        match self
            .incidents
            .execute(tenant, id.0, command, context)
            .await?
        {
            Ok(_) | Err(IncidentError::AlreadyOpened { .. }) => Ok(()),
            // The alert that opens it was decided first, but its handler has not opened it yet
            // (or crashed, and its delivery will come back): try again later, never a second
            // incident.
            Err(IncidentError::NotOpened) => Err(StoreError::Unavailable(format!(
                "incident {id} is decided but not opened yet"
            ))),
            Err(refusal) => {
                // The incident changed between the decision and now (resolved, merged, full):
                // the alert still must not be lost, so it opens its own incident.
                tracing::info!(%refusal, incident = %id, "correlated alert refused; opening its own incident");
                let own = decision.alert.new_incident_id(tenant.as_str());
                let command = IncidentCommand::Open {
                    id: own,
                    title: a.title.clone(),
                    service: placed.pending.service.clone(),
                    environment: placed.environment.clone(),
                    severity: a.severity,
                    source: placed.source.clone(),
                    source_alert_id: placed.pending.alert_id.clone(),
                    fingerprint: a.fingerprint.clone(),
                    alert_fired_at: a.fired_at,
                    at: placed.pending.received_at,
                    why: Some(format!(
                        "the incident it was correlated with no longer took alerts ({refusal})"
                    )),
                };
                match self
                    .incidents
                    .execute(tenant, own.0, command, Context::new_root())
                    .await?
                {
                    Ok(_) | Err(IncidentError::AlreadyOpened { .. }) => Ok(()),
                    Err(refusal) => {
                        tracing::warn!(%refusal, "alert could not open an incident");
                        Ok(())
                    }
                }
            }
        }
    }

    /// Attaches a resolve notification to the newest incident holding `fingerprint`.
    async fn resolve(
        &self,
        tenant: &TenantId,
        fingerprint: String,
        source_alert_id: String,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let found = aurora_projections::queries::newest_incident_with_fingerprint(
            &self.pool,
            tenant.as_str(),
            &fingerprint,
        )
        .await
        .map_err(|e| StoreError::Unavailable(format!("read models: {e}")))?;
        let Some(incident) = found else {
            tracing::info!(%fingerprint, "resolve notification for no known incident");
            return Ok(());
        };
        let command = IncidentCommand::AttachResolveNotification {
            fingerprint,
            source_alert_id,
            at,
        };
        if let Err(refusal) = self
            .incidents
            .execute(tenant, incident, command, Context::new_root())
            .await?
        {
            tracing::info!(%refusal, %incident, "resolve notification not attached");
        }
        Ok(())
    }
}

/// A firing alert of a delivery, with what its integration adds (default service and
/// environment) and its position in `INBOX`.
pub(crate) fn placed(
    message: &Message,
    index: usize,
    alert: FiringAlert,
    integration: &aurora_domain::integration::IntegrationState,
) -> Placed {
    let settings = &integration.settings;
    let service = alert
        .service
        .clone()
        .or_else(|| settings.default_service.clone())
        .unwrap_or_else(|| "unknown".into());
    let environment = alert
        .environment
        .clone()
        .or_else(|| settings.default_environment.clone())
        .unwrap_or_else(|| aurora_domain::incident::DEFAULT_ENVIRONMENT.into());
    // Bounded, so a decision event stays small whatever a payload holds; never blank, so an
    // incident can always be opened for it.
    let title = match bounded(&alert.title, MAX_TITLE_CHARS) {
        t if t.trim().is_empty() => format!("Untitled alert from {}", integration.source),
        t => t,
    };
    let mut alert = alert;
    alert.title = title.clone();
    Placed {
        pending: PendingAlert {
            inbox_sequence: message.stream_sequence,
            index: index as u32,
            alert_id: format!("{}:{}", integration.source, alert.alert_id),
            fingerprint: alert.fingerprint.clone(),
            title,
            service: bounded(&service, MAX_SERVICE_CHARS),
            received_at: received_at(message),
        },
        source: integration.source.clone(),
        environment,
        alert,
    }
}

const MAX_TITLE_CHARS: usize = 300;
const MAX_SERVICE_CHARS: usize = 120;

/// `text` cut to at most `max` characters.
fn bounded(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => text[..cut].to_owned(),
        None => text.to_owned(),
    }
}

/// The decisions for `work.alerts`, in their order.
fn ordered(work: &TenantWork, mut known: HashMap<(u64, u32), AlertDecision>) -> Vec<AlertDecision> {
    work.alerts
        .iter()
        .filter_map(|p| known.remove(&(p.pending.inbox_sequence, p.pending.index)))
        .collect()
}

/// The request headers `source` needs, as stored with the delivery.
fn kept_headers(source: &dyn sources::Source, message: &Message) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    if let Some(stored) = &message.headers {
        for name in source.descriptor().kept_headers {
            if let Some(value) = stored.get(*name) {
                if let (Ok(n), Ok(v)) = (
                    http::HeaderName::from_bytes(name.as_bytes()),
                    http::HeaderValue::from_str(value.as_str()),
                ) {
                    headers.insert(n, v);
                }
            }
        }
    }
    headers
}

/// When the gateway received the delivery (its header), else when JetStream stored it.
fn received_at(message: &Message) -> DateTime<Utc> {
    message
        .headers
        .as_ref()
        .and_then(|h| h.get(RECEIVED_AT_HEADER))
        .and_then(|v| DateTime::parse_from_rfc3339(v.as_str()).ok())
        .map_or(message.published, |t| t.with_timezone(&Utc))
}
