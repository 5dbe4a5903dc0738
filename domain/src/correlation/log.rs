//! The tenant's decision log: every correlation decision, in order, on one subject per tenant
//! (`evt.<tenant>.correlator.<id>`). Appending with optimistic concurrency on that subject is what
//! serialises a tenant's decisions — two alerts arriving together are decided one after the
//! other, so they never open two incidents.
//!
//! Each event carries the [`CorrelatorSnapshot`] after it: the settings and the open incidents
//! still inside the window. Deciding needs only the last event, however long the history.

use chrono::{DateTime, Utc};
use esrs::event::Upcaster;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::alert_decision::{AlertDecision, PendingAlert};
use super::decision::decide_with_title_similarity;
use super::graph::ServiceGraph;
use super::score::{AlertFacts, Candidate};
use super::settings::CorrelationSettings;
use crate::event::DomainEvent;
use crate::ids::IncidentId;

/// What the next decision starts from. It is in every event, so it is kept small: a decision
/// scores at most `max_candidates` open incidents, the newest, so the snapshot remembers twice
/// that many (the reserve for those a person resolved meanwhile, which [`Self::remembered`] says).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CorrelatorSnapshot {
    pub settings: CorrelationSettings,
    /// Incidents that alerts opened or joined within the window, newest update first.
    pub candidates: Vec<Candidate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CorrelatorEvent {
    /// Alerts were placed: each opened an incident or joined one, with the scores that decided it.
    Decided {
        decisions: Vec<AlertDecision>,
        snapshot: CorrelatorSnapshot,
        at: DateTime<Utc>,
    },
    /// The tenant's correlation settings were replaced.
    SettingsChanged {
        settings: CorrelationSettings,
        by: Uuid,
        snapshot: CorrelatorSnapshot,
        at: DateTime<Utc>,
    },
}

impl CorrelatorEvent {
    pub fn snapshot(&self) -> &CorrelatorSnapshot {
        match self {
            Self::Decided { snapshot, .. } | Self::SettingsChanged { snapshot, .. } => snapshot,
        }
    }

    pub fn into_snapshot(self) -> CorrelatorSnapshot {
        match self {
            Self::Decided { snapshot, .. } | Self::SettingsChanged { snapshot, .. } => snapshot,
        }
    }

    /// The decisions a stored event holds (none for a settings change), each without the
    /// candidates it considered, read from its JSON body without building its snapshot: what
    /// readers of the decisions alone need, for every version stored so far (the shape has not
    /// changed) — see [`super::decisions_read`].
    pub fn decisions_in(body: &[u8]) -> Result<Vec<AlertDecision>, serde_json::Error> {
        super::decisions_read::decisions_without_candidates(body)
    }
}

impl DomainEvent for CorrelatorEvent {
    crate::event::event_types! {
        Decided => "correlator.decided",
        SettingsChanged => "correlator.settings_changed",
    }
}

impl Upcaster for CorrelatorEvent {
    fn current_version() -> Option<i32> {
        Some(1)
    }
}

/// The aggregate id of a tenant's decision log.
pub fn correlator_id(tenant: &str) -> Uuid {
    Uuid::new_v5(
        &Uuid::NAMESPACE_OID,
        format!("aurora:{tenant}:correlator").as_bytes(),
    )
}

impl CorrelatorSnapshot {
    /// Decides `alerts` in order, each seeing the incidents the ones before it opened or joined,
    /// and returns the decisions. `self` becomes the snapshot after them.
    pub fn decide_all(
        &mut self,
        tenant: &str,
        alerts: Vec<PendingAlert>,
        graph: &ServiceGraph,
    ) -> Vec<AlertDecision> {
        self.decide_all_with_titles(tenant, alerts, graph, |_, _| None)
    }

    /// [`Self::decide_all`], comparing titles with `title_similarity(alert title, incident
    /// title)` (the cosine of their embeddings) where it gives a value, else by word overlap.
    pub fn decide_all_with_titles(
        &mut self,
        tenant: &str,
        alerts: Vec<PendingAlert>,
        graph: &ServiceGraph,
        title_similarity: impl Fn(&str, &str) -> Option<f64>,
    ) -> Vec<AlertDecision> {
        let mut decisions = Vec::with_capacity(alerts.len());
        for alert in alerts {
            let facts = AlertFacts {
                title: &alert.title,
                service: &alert.service,
                received_at: alert.received_at,
                title_similarity_override: None,
            };
            let decision = decide_with_title_similarity(
                &facts,
                &self.candidates,
                &self.settings,
                graph,
                |c| title_similarity(&alert.title, &c.title),
            );
            let incident_id = decision
                .incident()
                .unwrap_or_else(|| alert.new_incident_id(tenant));
            self.record(&alert, incident_id);
            decisions.push(AlertDecision {
                alert,
                incident_id,
                decision,
            });
        }
        self.prune(decisions.last().map(|d| d.alert.received_at));
        decisions
    }

    /// Notes that `alert` opened or joined `incident_id`.
    fn record(&mut self, alert: &PendingAlert, incident_id: IncidentId) {
        match self
            .candidates
            .iter_mut()
            .find(|c| c.incident_id == incident_id)
        {
            Some(c) => {
                c.updated_at = c.updated_at.max(alert.received_at);
                c.correlated_alert_count += 1;
                if !c.affected_services.contains(&alert.service) {
                    c.affected_services.push(alert.service.clone());
                }
            }
            None => self.candidates.push(Candidate {
                incident_id,
                title: alert.title.clone(),
                service: alert.service.clone(),
                affected_services: vec![alert.service.clone()],
                updated_at: alert.received_at,
                correlated_alert_count: 0,
                open: true,
            }),
        }
    }

    /// Forgets incidents that left the window (as of `now`) and keeps the newest first.
    pub fn prune(&mut self, now: Option<DateTime<Utc>>) {
        if let Some(now) = now {
            let horizon = now - self.settings.window();
            self.candidates.retain(|c| c.updated_at >= horizon);
        }
        self.candidates
            .sort_by_key(|c| std::cmp::Reverse(c.updated_at));
        self.candidates.truncate(self.remembered());
    }

    /// How many candidates are kept: twice the most a decision scores. The ingest refreshes that
    /// many from their incidents before deciding, so up to half may have closed meanwhile and a
    /// decision still sees `max_candidates` open ones, as upstream's query of open incidents would.
    pub fn remembered(&self) -> usize {
        2 * usize::try_from(self.settings.max_candidates).unwrap_or(usize::MAX / 2)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::correlation::alert_decision::tests::alert;
    use crate::correlation::decision::Decision;

    #[test]
    fn alerts_decided_together_see_each_other() {
        let mut snapshot = CorrelatorSnapshot::default();
        let decisions = snapshot.decide_all(
            "acme",
            vec![
                alert(1, "checkout", "Checkout latency high", 0),
                alert(2, "checkout", "Checkout error rate high", 1),
                alert(3, "search", "Index lag", 2),
            ],
            &ServiceGraph::new(),
        );
        assert!(decisions[0].opens());
        assert!(!decisions[1].opens(), "{}", decisions[1].decision.explain());
        assert_eq!(decisions[1].incident_id, decisions[0].incident_id);
        assert!(decisions[2].opens(), "another service, another title");
        assert_eq!(snapshot.candidates.len(), 2);
        assert_eq!(snapshot.candidates[0].service, "search", "newest first");
        assert_eq!(snapshot.candidates[1].correlated_alert_count, 1);
    }

    #[test]
    fn decisions_read_without_the_snapshot_are_the_events_own() {
        let mut snapshot = CorrelatorSnapshot::default();
        let decisions = snapshot.decide_all(
            "acme",
            vec![
                alert(1, "checkout", "Checkout latency high", 0),
                alert(2, "checkout", "Checkout error rate high", 1),
                alert(3, "search", "Index lag", 2),
            ],
            &ServiceGraph::new(),
        );
        let at = decisions[0].alert.received_at;
        let decided = CorrelatorEvent::Decided {
            decisions: decisions.clone(),
            snapshot: snapshot.clone(),
            at,
        };
        let body = serde_json::to_vec(&decided).expect("serialises");
        // What was decided, to the last field, without the candidates that lost.
        let mut without_candidates = decisions.clone();
        for d in &mut without_candidates {
            match &mut d.decision {
                Decision::Correlate { considered, .. } | Decision::Open { considered, .. } => {
                    considered.clear()
                }
            }
        }
        assert!(decisions
            .iter()
            .any(|d| !d.decision.considered().is_empty()));
        assert_eq!(
            CorrelatorEvent::decisions_in(&body).expect("reads"),
            without_candidates
        );
        // A correlation stored without its scores is no decision.
        let mut broken: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        let correlated = broken["decisions"][1]["decision"]
            .as_object_mut()
            .expect("a decision");
        assert_eq!(correlated["outcome"], "correlate");
        correlated.remove("correlation");
        let broken = serde_json::to_vec(&broken).expect("serialises");
        assert!(CorrelatorEvent::decisions_in(&broken).is_err());
        let changed = CorrelatorEvent::SettingsChanged {
            settings: CorrelationSettings::default(),
            by: Uuid::nil(),
            snapshot,
            at,
        };
        let body = serde_json::to_vec(&changed).expect("serialises");
        assert_eq!(CorrelatorEvent::decisions_in(&body).expect("reads"), []);
        assert!(
            CorrelatorEvent::decisions_in(b"[1]").is_err(),
            "not an event"
        );
    }

    #[test]
    fn the_snapshot_keeps_twice_the_candidates_a_decision_scores() {
        let mut snapshot = CorrelatorSnapshot::default();
        snapshot.settings.max_candidates = 3;
        let words = [
            "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
        ];
        let alerts = (0..words.len())
            .map(|i| alert(i as u64, words[i], words[i], i as u32))
            .collect();
        let decisions = snapshot.decide_all("acme", alerts, &ServiceGraph::new());
        assert!(
            decisions.iter().all(AlertDecision::opens),
            "unrelated alerts"
        );
        let kept: Vec<&str> = snapshot
            .candidates
            .iter()
            .map(|c| c.service.as_str())
            .collect();
        assert_eq!(
            kept,
            ["india", "hotel", "golf", "foxtrot", "echo", "delta"],
            "the six newest, newest first"
        );
    }

    #[test]
    fn incidents_outside_the_window_are_forgotten() {
        let mut snapshot = CorrelatorSnapshot::default();
        snapshot.decide_all(
            "acme",
            vec![alert(1, "db", "Disk full", 0)],
            &ServiceGraph::new(),
        );
        let mut late = alert(2, "db", "Disk full", 0);
        late.received_at += chrono::Duration::seconds(301);
        let decisions = snapshot.decide_all("acme", vec![late], &ServiceGraph::new());
        assert!(decisions[0].opens(), "the first incident left the window");
        assert_eq!(snapshot.candidates.len(), 1);
    }

    #[test]
    fn a_decision_event_round_trips_through_json() {
        let mut snapshot = CorrelatorSnapshot::default();
        let decisions = snapshot.decide_all(
            "acme",
            vec![alert(1, "db", "Disk full", 0)],
            &ServiceGraph::new(),
        );
        let event = CorrelatorEvent::Decided {
            decisions,
            snapshot,
            at: Utc::now(),
        };
        let json = serde_json::to_value(&event).expect("serialise");
        let back: CorrelatorEvent = serde_json::from_value(json).expect("deserialise");
        assert_eq!(back, event);
    }
}
