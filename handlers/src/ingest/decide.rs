//! Deciding a tenant's firing alerts on its decision log (`evt.<tenant>.correlator.<id>`): each
//! batch's new alerts are decided from the log's last snapshot and appended with optimistic
//! concurrency, so two handlers never decide from the same state; alerts decided before (a
//! redelivery, a batch retried in place) get their earlier decisions back.

use std::collections::HashMap;
use std::sync::Arc;

use aurora_domain::correlation::{
    correlator_id, AlertDecision, CorrelatorEvent, CorrelatorSnapshot, PendingAlert, ServiceGraph,
};
use aurora_domain::TenantId;
use aurora_nats::envelope::Context;
use aurora_nats::log::append_event;
use aurora_nats::StoreError;
use chrono::Utc;
use esrs::event::Upcaster;

use super::{Ingest, TenantWork};

/// Decisions remembered per process before the memory starts over (a miss only costs reading
/// the log again for a redelivered delivery).
const REMEMBERED_DECISIONS: usize = 100_000;
/// Alerts decided per decision event: keeps each event far below the server's message limit.
const DECISIONS_PER_EVENT: usize = 100;
/// Appends tried before the batch is given back to be retried later.
const MAX_ATTEMPTS: u32 = 32;

/// A decided alert, as this process remembers it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct DecisionKey {
    tenant: TenantId,
    alert: AlertPosition,
}

/// Where an alert came from: its delivery's `INBOX` sequence and its index in the delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct AlertPosition {
    inbox_sequence: u64,
    index: u32,
}

impl AlertPosition {
    fn of(alert: &PendingAlert) -> Self {
        Self {
            inbox_sequence: alert.inbox_sequence,
            index: alert.index,
        }
    }
}

/// Where a tenant's decision log is: the stream and aggregate sequences of its last event, and
/// the snapshot that event carries.
#[derive(Debug, Clone)]
pub(super) struct LogPosition {
    stream_sequence: u64,
    version: i32,
    snapshot: CorrelatorSnapshot,
}

impl Ingest {
    /// The decisions for the tenant's alerts, in order: reused from the log for deliveries
    /// decided before, made (and appended) for the others.
    #[tracing::instrument(skip_all, fields(tenant = %tenant, alerts = work.alerts.len()))]
    pub(super) async fn decide(
        &self,
        tenant: &TenantId,
        work: &TenantWork,
    ) -> Result<Vec<AlertDecision>, StoreError> {
        if work.alerts.is_empty() {
            return Ok(Vec::new());
        }
        let id = correlator_id(tenant.as_str());
        let subject = aurora_nats::subjects::aggregate(tenant, "correlator", id);
        let mut known: HashMap<AlertPosition, AlertDecision> = HashMap::new();
        if let Ok(memory) = self.decided.lock() {
            for p in &work.alerts {
                let key = DecisionKey {
                    tenant: tenant.clone(),
                    alert: AlertPosition::of(&p.pending),
                };
                if let Some(d) = memory.get(&key) {
                    known.insert(key.alert, d.clone());
                }
            }
        }
        if let Some(since) = work.redelivered_since {
            let earlier = self.log.read_subject_since(&subject, since).await?;
            remember_decisions(&mut known, earlier);
        }
        let mut attempt = 0u32;
        loop {
            let LogPosition {
                stream_sequence: last,
                version,
                mut snapshot,
            } = self.position(tenant, &subject).await?;
            let fresh: Vec<PendingAlert> = work
                .alerts
                .iter()
                .filter(|p| !known.contains_key(&AlertPosition::of(&p.pending)))
                .take(DECISIONS_PER_EVENT)
                .map(|p| p.pending.clone())
                .collect();
            let made = if fresh.is_empty() {
                Vec::new()
            } else {
                self.refresh(tenant, &mut snapshot).await?;
                let graph = self.graph_of(tenant).await;
                let titles = self.title_vectors(&fresh, &snapshot).await;
                snapshot.decide_all_with_titles(tenant.as_str(), fresh, &graph, |a, b| {
                    titles.similarity(a, b)
                })
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
                    self.logs.lock().await.insert(
                        tenant.clone(),
                        LogPosition {
                            stream_sequence: sequence,
                            version: version + 1,
                            snapshot,
                        },
                    );
                    if let Ok(mut memory) = self.decided.lock() {
                        if memory.len() > REMEMBERED_DECISIONS {
                            memory.clear();
                        }
                        for d in &made {
                            let key = DecisionKey {
                                tenant: tenant.clone(),
                                alert: AlertPosition::of(&d.alert),
                            };
                            memory.insert(key, d.clone());
                        }
                    }
                    for d in made {
                        known.insert(AlertPosition::of(&d.alert), d);
                    }
                    // More than one event's worth of alerts: the next chunk.
                }
                Err(StoreError::Conflict { .. }) => {
                    // Another handler appended first, possibly deciding some of these same
                    // alerts (a delivery redelivered to it): take its decisions, then start
                    // again from its snapshot.
                    self.logs.lock().await.remove(tenant);
                    let theirs = self.log.read_subject(&subject, last + 1).await?;
                    remember_decisions(&mut known, theirs);
                    attempt += 1;
                    if attempt >= MAX_ATTEMPTS {
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
            None => LogPosition {
                stream_sequence: 0,
                version: 0,
                snapshot: CorrelatorSnapshot::default(),
            },
            Some(raw) => {
                let event = CorrelatorEvent::upcast(raw.data, raw.version).map_err(|e| {
                    StoreError::unavailable(format!("the decision log does not load: {e}"))
                })?;
                LogPosition {
                    stream_sequence: raw.stream_sequence,
                    version: raw.aggregate_sequence,
                    snapshot: event.into_snapshot(),
                }
            }
        })
    }

    /// The tenant's service graph as correlation scores topology on it (empty without one).
    pub(crate) async fn graph_of(&self, tenant: &TenantId) -> Arc<ServiceGraph> {
        match &self.topology {
            Some(topology) => topology.of(tenant).await,
            None => Arc::default(),
        }
    }

    /// The embeddings of the alerts' and the candidates' titles (cached: an open incident's
    /// title is embedded once), or none — then titles are compared by word overlap, as upstream
    /// falls back when its vectorizer is down.
    pub(crate) async fn title_vectors(
        &self,
        alerts: &[PendingAlert],
        snapshot: &CorrelatorSnapshot,
    ) -> TitleVectors {
        let Some(embedder) = &self.embedder else {
            return TitleVectors::default();
        };
        let titles: Vec<&str> = alerts
            .iter()
            .map(|a| a.title.as_str())
            .chain(snapshot.candidates.iter().map(|c| c.title.as_str()))
            .filter(|t| !t.trim().is_empty())
            .collect();
        match embedder.embed_cached(&titles).await {
            Ok(vectors) => TitleVectors(vectors),
            Err(e) => {
                tracing::warn!(error = %e, "titles not embedded; comparing them by word overlap");
                TitleVectors::default()
            }
        }
    }

    /// Brings the candidates up to date with their incidents (a person may have resolved one,
    /// or edited it, since the last decision).
    async fn refresh(
        &self,
        tenant: &TenantId,
        snapshot: &mut CorrelatorSnapshot,
    ) -> Result<(), StoreError> {
        // Only the newest can be chosen (a decision scores at most `max_candidates`, newest
        // first): the snapshot keeps those and their reserve (one stored before may hold more).
        let wanted = snapshot.remembered();
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
}

/// Title embeddings by title; two titles with both vectors compare by their cosine.
#[derive(Default)]
pub(crate) struct TitleVectors(HashMap<String, Arc<[f32]>>);

impl TitleVectors {
    /// True when no title was embedded (no model, or it failed): word overlap decides.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The cosine of the two titles' embeddings, clamped to `0..=1` as upstream clamps it;
    /// `None` when either was not embedded (word overlap decides then).
    pub(crate) fn similarity(&self, a: &str, b: &str) -> Option<f64> {
        let (a, b) = (self.0.get(a)?, self.0.get(b)?);
        Some(aurora_domain::vector::cosine(a, b).clamp(0.0, 1.0))
    }
}

/// The decisions of the log's `events` (those that load), by alert.
fn remember_decisions(
    known: &mut HashMap<AlertPosition, AlertDecision>,
    events: Vec<aurora_nats::RawEvent>,
) {
    for raw in events {
        if let Ok(CorrelatorEvent::Decided { decisions, .. }) =
            CorrelatorEvent::upcast(raw.data, raw.version)
        {
            for d in decisions {
                known.insert(AlertPosition::of(&d.alert), d);
            }
        }
    }
}

/// The decisions for `work.alerts`, in their order.
fn ordered(
    work: &TenantWork,
    mut known: HashMap<AlertPosition, AlertDecision>,
) -> Vec<AlertDecision> {
    work.alerts
        .iter()
        .filter_map(|p| known.remove(&AlertPosition::of(&p.pending)))
        .collect()
}
