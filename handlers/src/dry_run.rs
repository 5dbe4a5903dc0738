//! Re-correlation dry run (SPEC §2): replay the `INBOX` deliveries of a period through other
//! settings, without writing anything, and show which alerts would be grouped differently from
//! how they were grouped then.
//!
//! "Grouped differently" compares partitions, not incident ids: an alert changes when the set of
//! alerts it shares an incident with is not the same under the new settings. The simulation
//! starts from the incidents the decision log had open at `from` (its last snapshot before).
//!
//! It scores topology on the tenant's service graph as it stood when each delivery arrived,
//! folded from the graph's events ([`crate::graph::topology::history`]): an edge declared or
//! discovered later does not regroup alerts that came before it. Titles are compared as live
//! correlation compares them: by the cosine of their embeddings when a model is configured.
//! Then the same alerts are decided again with titles compared by word overlap (Jaccard,
//! upstream's fallback), and every alert the two methods group differently is listed with both
//! decisions.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use async_nats::jetstream::consumer::{self, DeliverPolicy};
use aurora_domain::correlation::{
    correlator_id, CorrelationSettings, CorrelatorEvent, CorrelatorSnapshot, TitleBasis,
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
    /// How titles were compared for `changed` and `incidents_would_be`, as live correlation
    /// compares them: `embeddings` when a model is configured, else `word_overlap`.
    pub title_basis: TitleBasis,
    /// How many `DEPENDS_ON` edges the tenant's service graph had at `to` (each alert was
    /// scored on the graph as it stood when it arrived).
    pub graph_edges: usize,
    /// Every alert whose grouping changes.
    pub changed: Vec<ChangedAlert>,
    /// The same alerts under the same settings with titles compared by word overlap, beside
    /// the embeddings' decisions (only when titles were compared by embeddings).
    pub by_word_overlap: Option<TitleMethods>,
}

/// Embeddings against word overlap on the same alerts and settings.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TitleMethods {
    /// How many incidents the alerts would form with titles compared by word overlap.
    pub incidents_would_be: usize,
    /// Every alert the two methods group differently, with both decisions.
    pub differing: Vec<TitleDifference>,
}

/// One alert the two title methods group differently.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TitleDifference {
    pub alert_id: String,
    pub title: String,
    pub service: String,
    pub grouped_with_by_embeddings: Vec<String>,
    pub grouped_with_by_word_overlap: Vec<String>,
    pub decision_by_embeddings: String,
    pub decision_by_word_overlap: String,
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
    /// Why, under the new settings (titles compared as `title_basis` says).
    pub decision_now: String,
    /// Why, under the new settings with titles compared by word overlap (only when
    /// `decision_now` compared them by embeddings).
    pub decision_by_word_overlap: Option<String>,
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

        // How they would be grouped now, starting from the incidents open then, each on the
        // graph as it stood when it arrived, with titles compared as live correlation compares
        // them; and again by words.
        let mut snapshot = CorrelatorSnapshot {
            settings,
            candidates: open_at_start,
        };
        snapshot.prune(Some(from));
        let mut graph = crate::graph::topology::history(&self.log, tenant, to).await?;
        let pending: Vec<_> = alerts.iter().map(|p| p.pending.clone()).collect();
        let titles = self.title_vectors(&pending, &snapshot).await;
        let embedded = !titles.is_empty();
        let mut by_words_log = snapshot.clone();
        let mut by_words = Vec::with_capacity(pending.len());
        let mut decisions = Vec::with_capacity(pending.len());
        for alert in pending {
            let graph = graph.at(alert.received_at);
            if embedded {
                decisions.extend(snapshot.decide_all_with_titles(
                    tenant.as_str(),
                    vec![alert.clone()],
                    graph,
                    |a, b| titles.similarity(a, b),
                ));
            }
            by_words.extend(by_words_log.decide_all(tenant.as_str(), vec![alert], graph));
        }
        if !embedded {
            decisions.clone_from(&by_words);
        }

        let key = |p: &Placed| (p.pending.inbox_sequence, p.pending.index);
        let then_of = |i: usize| then.get(&key(&alerts[i])).copied();
        let groups_then = Groups::of(alerts.len(), then_of);
        let groups_now = Groups::of(alerts.len(), |i| Some(decisions[i].incident_id.0));
        let groups_by_words = Groups::of(alerts.len(), |i| Some(by_words[i].incident_id.0));
        let ids = |set: BTreeSet<usize>| {
            set.into_iter()
                .map(|j| alerts[j].pending.alert_id.clone())
                .collect::<Vec<_>>()
        };
        let mut changed = Vec::new();
        let mut differing = Vec::new();
        for (i, placed) in alerts.iter().enumerate() {
            let p = &placed.pending;
            let now = groups_now.mates(i);
            let before = groups_then.mates(i);
            let words = groups_by_words.mates(i);
            if embedded && now != words {
                differing.push(TitleDifference {
                    alert_id: p.alert_id.clone(),
                    title: p.title.clone(),
                    service: p.service.clone(),
                    grouped_with_by_embeddings: ids(now.clone()),
                    grouped_with_by_word_overlap: ids(words),
                    decision_by_embeddings: decisions[i].decision.explain(),
                    decision_by_word_overlap: by_words[i].decision.explain(),
                });
            }
            if before != now {
                changed.push(ChangedAlert {
                    alert_id: p.alert_id.clone(),
                    title: p.title.clone(),
                    service: p.service.clone(),
                    received_at: p.received_at,
                    incident_then: then_of(i),
                    grouped_with_then: ids(before),
                    grouped_with_now: ids(now),
                    decision_now: decisions[i].decision.explain(),
                    decision_by_word_overlap: embedded.then(|| by_words[i].decision.explain()),
                });
            }
        }
        Ok(DryRun {
            from,
            to,
            deliveries,
            alerts: alerts.len(),
            incidents_then: groups_then.count(),
            incidents_would_be: groups_now.count(),
            truncated,
            title_basis: if embedded {
                TitleBasis::Embeddings
            } else {
                TitleBasis::WordOverlap
            },
            graph_edges: graph.at(to).edge_count(),
            changed,
            by_word_overlap: embedded.then(|| TitleMethods {
                incidents_would_be: groups_by_words.count(),
                differing,
            }),
        })
    }
}

/// Which alerts (by index) shared which incident.
struct Groups {
    of_alert: Vec<Option<uuid::Uuid>>,
    members: BTreeMap<uuid::Uuid, BTreeSet<usize>>,
}

impl Groups {
    fn of(alerts: usize, incident: impl Fn(usize) -> Option<uuid::Uuid>) -> Self {
        let of_alert: Vec<_> = (0..alerts).map(incident).collect();
        let mut members: BTreeMap<uuid::Uuid, BTreeSet<usize>> = BTreeMap::new();
        for (i, g) in of_alert.iter().enumerate() {
            if let Some(g) = g {
                members.entry(*g).or_default().insert(i);
            }
        }
        Self { of_alert, members }
    }

    fn count(&self) -> usize {
        self.members.len()
    }

    /// The other alerts alert `i` shares its incident with.
    fn mates(&self, i: usize) -> BTreeSet<usize> {
        self.of_alert[i]
            .and_then(|g| self.members.get(&g))
            .map(|m| m.iter().copied().filter(|j| *j != i).collect())
            .unwrap_or_default()
    }
}
