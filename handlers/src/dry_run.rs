//! Re-correlation dry run (SPEC §2): replay the `INBOX` deliveries of a period through other
//! settings, without writing anything, and show which alerts would be grouped differently from
//! how they were grouped then.
//!
//! "Grouped differently" compares partitions, not incident ids: an alert changes when the set of
//! alerts it shares an incident with is not the same under the new settings. The simulation
//! starts from the incidents the decision log had open at `from` (its last snapshot before).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use async_nats::jetstream::consumer::{self, DeliverPolicy};
use aurora_domain::correlation::{
    correlator_id, CorrelationSettings, CorrelatorEvent, CorrelatorSnapshot, ServiceGraph,
};
use aurora_domain::intake::Signal;
use aurora_domain::TenantId;
use aurora_nats::consumer::Delivery as Message;
use aurora_nats::subjects::INBOX_STREAM;
use aurora_nats::StoreError;
use chrono::{DateTime, Utc};
use esrs::event::Upcaster;
use futures::StreamExt;
use serde::Serialize;

use crate::ingest::{placed, Ingest, Placed};

/// At most this many deliveries are replayed in one dry run.
pub const MAX_DELIVERIES: usize = 20_000;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DryRun {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub deliveries: usize,
    pub alerts: usize,
    /// How many incidents the alerts formed then, and would form now.
    pub incidents_then: usize,
    pub incidents_would_be: usize,
    /// Whether the period held more deliveries than were replayed.
    pub truncated: bool,
    /// Every alert whose grouping changes.
    pub changed: Vec<ChangedAlert>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChangedAlert {
    pub alert_id: String,
    pub title: String,
    pub service: String,
    pub received_at: DateTime<Utc>,
    /// The incident it went to then (None if it was never decided, e.g. still in flight).
    pub incident_then: Option<uuid::Uuid>,
    /// The other alerts it shared an incident with then, and would now.
    pub grouped_with_then: Vec<String>,
    pub grouped_with_now: Vec<String>,
    /// Why, under the new settings.
    pub decision_now: String,
}

impl Ingest {
    pub async fn dry_run(
        &self,
        tenant: &TenantId,
        settings: CorrelationSettings,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<DryRun, StoreError> {
        let js = async_nats::jetstream::new(self.log.client().clone());
        let stream = js
            .get_stream(INBOX_STREAM)
            .await
            .map_err(StoreError::unavailable)?;
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                filter_subject: aurora_nats::subjects::inbox_of_tenant(tenant),
                deliver_policy: DeliverPolicy::ByStartTime { start_time: from },
                ..Default::default()
            })
            .await
            .map_err(StoreError::unavailable)?;
        let mut pending = consumer.cached_info().num_pending;
        let mut alerts: Vec<Placed> = Vec::new();
        let mut deliveries = 0;
        let mut truncated = false;
        if pending > 0 {
            let mut messages = consumer.messages().await.map_err(StoreError::unavailable)?;
            while let Some(message) = messages.next().await {
                let message = message.map_err(StoreError::unavailable)?;
                let info = message.info().map_err(StoreError::unavailable)?;
                pending = info.pending;
                let published = info.published.with_timezone(&Utc);
                if published > to {
                    break;
                }
                let delivery = Message {
                    subject: message.subject.to_string(),
                    stream_sequence: info.stream_sequence,
                    delivered: 1,
                    headers: message.headers.clone(),
                    payload: message.payload.clone(),
                    published,
                };
                deliveries += 1;
                if let Some(read) = self.read(&delivery).await? {
                    for (index, signal) in read.signals.into_iter().enumerate() {
                        if let Signal::Firing(alert) = signal {
                            alerts.push(placed(
                                &delivery,
                                read.received_at,
                                index,
                                alert,
                                &read.integration,
                            ));
                        }
                    }
                }
                if deliveries >= MAX_DELIVERIES {
                    truncated = pending > 0;
                    break;
                }
                if pending == 0 {
                    break;
                }
            }
        }

        // How they were grouped then: the decision log of the period, read from one window
        // before it, whose last snapshot says which incidents were open when the period began.
        let subject =
            aurora_nats::subjects::aggregate(tenant, "correlator", correlator_id(tenant.as_str()));
        let mut then: HashMap<(u64, u32), uuid::Uuid> = HashMap::new();
        let mut open_at_start = Vec::new();
        for raw in self
            .log
            .read_subject_since(&subject, from - settings.window())
            .await?
        {
            let before = raw.time < from;
            match CorrelatorEvent::upcast(raw.data, raw.version) {
                Ok(event) if before => open_at_start = event.into_snapshot().candidates,
                Ok(CorrelatorEvent::Decided { decisions, .. }) => {
                    for d in decisions {
                        then.insert((d.alert.inbox_sequence, d.alert.index), d.incident_id.0);
                    }
                }
                _ => {}
            }
        }

        // How they would be grouped now, starting from the incidents open then.
        let mut snapshot = CorrelatorSnapshot {
            settings,
            candidates: open_at_start,
        };
        snapshot.prune(Some(from));
        let decisions = snapshot.decide_all(
            tenant.as_str(),
            alerts.iter().map(|p| p.pending.clone()).collect(),
            &ServiceGraph::new(),
        );
        let key = |p: &Placed| (p.pending.inbox_sequence, p.pending.index);
        let groups = |assign: &dyn Fn(usize) -> Option<uuid::Uuid>| {
            let mut members: BTreeMap<uuid::Uuid, BTreeSet<usize>> = BTreeMap::new();
            for i in 0..alerts.len() {
                if let Some(g) = assign(i) {
                    members.entry(g).or_default().insert(i);
                }
            }
            members
        };
        let then_of = |i: usize| then.get(&key(&alerts[i])).copied();
        let now_of = |i: usize| Some(decisions[i].incident_id.0);
        let groups_then = groups(&then_of);
        let groups_now = groups(&now_of);
        let mates =
            |groups: &BTreeMap<uuid::Uuid, BTreeSet<usize>>, g: Option<uuid::Uuid>, i: usize| {
                g.and_then(|g| groups.get(&g))
                    .map(|m| {
                        m.iter()
                            .copied()
                            .filter(|j| *j != i)
                            .collect::<BTreeSet<_>>()
                    })
                    .unwrap_or_default()
            };
        let mut changed = Vec::new();
        for i in 0..alerts.len() {
            let before = mates(&groups_then, then_of(i), i);
            let after = mates(&groups_now, now_of(i), i);
            if before != after {
                let ids = |set: &BTreeSet<usize>| {
                    set.iter()
                        .map(|j| alerts[*j].pending.alert_id.clone())
                        .collect::<Vec<_>>()
                };
                let p = &alerts[i].pending;
                changed.push(ChangedAlert {
                    alert_id: p.alert_id.clone(),
                    title: p.title.clone(),
                    service: p.service.clone(),
                    received_at: p.received_at,
                    incident_then: then_of(i),
                    grouped_with_then: ids(&before),
                    grouped_with_now: ids(&after),
                    decision_now: decisions[i].decision.explain(),
                });
            }
        }
        Ok(DryRun {
            from,
            to,
            deliveries,
            alerts: alerts.len(),
            incidents_then: groups_then.len(),
            incidents_would_be: groups_now.len(),
            truncated,
            changed,
        })
    }
}
