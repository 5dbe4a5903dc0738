//! Which incidents hold a fingerprint, as the decision log says: what a resolve notification
//! needs to find its incident on the write side (SPEC §2: it attaches to the newest incident, by
//! `started_at`, holding that fingerprint), with no wait for the read models.
//!
//! Every alert the ingest places is on the log with its fingerprint and the incident it opened
//! or joined, so folding the log's decisions gives every incident that can hold the fingerprint.
//! The fold only narrows the search: which of them exists, holds it and started last is for the
//! incidents themselves to say.

use std::collections::HashMap;

use super::alert_decision::AlertDecision;
use crate::ids::IncidentId;

/// Incidents remembered per fingerprint, newest decided last. A fingerprint firing again and
/// again opens a new incident each time it is not correlated; the resolve wants the newest, so
/// the oldest are the ones to forget.
pub const HOLDERS_PER_FINGERPRINT: usize = 8;

/// fingerprint → the incidents its alerts were decided into.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FingerprintIndex {
    holders: HashMap<String, Vec<IncidentId>>,
}

impl FingerprintIndex {
    /// Folds one decision of tenant `tenant`'s log in.
    pub fn record(&mut self, tenant: &str, decision: &AlertDecision) {
        self.note(&decision.alert.fingerprint, decision.incident_id);
        if !decision.opens() {
            // A correlated alert whose incident no longer takes alerts when it is attached opens
            // its own incident instead, under the id it would have opened with.
            self.note(
                &decision.alert.fingerprint,
                decision.alert.new_incident_id(tenant),
            );
        }
    }

    fn note(&mut self, fingerprint: &str, incident: IncidentId) {
        let holders = self.holders.entry(fingerprint.to_owned()).or_default();
        holders.retain(|held| *held != incident);
        holders.push(incident);
        if holders.len() > HOLDERS_PER_FINGERPRINT {
            holders.remove(0);
        }
    }

    /// The incidents that may hold `fingerprint`, newest decided last.
    pub fn holders(&self, fingerprint: &str) -> &[IncidentId] {
        self.holders.get(fingerprint).map_or(&[], Vec::as_slice)
    }

    /// How many fingerprints are known.
    pub fn len(&self) -> usize {
        self.holders.len()
    }

    pub fn is_empty(&self) -> bool {
        self.holders.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlation::alert_decision::tests::alert as pending;
    use crate::correlation::{CorrelatorSnapshot, PendingAlert, ServiceGraph};

    /// Alert `seq` of `service` with its own `fingerprint`.
    fn alert(seq: u64, fingerprint: &str, service: &str, second: u32) -> PendingAlert {
        PendingAlert {
            fingerprint: fingerprint.into(),
            ..pending(seq, service, &format!("{service} is down"), second)
        }
    }

    #[test]
    fn an_alert_s_fingerprint_leads_to_the_incident_it_opened_or_joined() {
        let mut snapshot = CorrelatorSnapshot::default();
        let decisions = snapshot.decide_all(
            "acme",
            vec![
                alert(1, "fp-db", "db", 0),
                alert(2, "fp-db-2", "db", 1),
                alert(3, "fp-web", "web", 2),
            ],
            &ServiceGraph::new(),
        );
        let mut index = FingerprintIndex::default();
        for d in &decisions {
            index.record("acme", d);
        }
        assert_eq!(index.holders("fp-db"), [decisions[0].incident_id]);
        assert!(!decisions[1].opens(), "same service, same title: joined");
        assert_eq!(
            index.holders("fp-db-2"),
            [
                decisions[0].incident_id,
                decisions[1].alert.new_incident_id("acme")
            ],
            "the incident it joined, then the one it opens if the join is refused"
        );
        assert_eq!(index.holders("fp-web"), [decisions[2].incident_id]);
        assert_eq!(index.holders("fp-unknown"), []);
        assert_eq!(index.len(), 3);
    }

    #[test]
    fn a_fingerprint_that_fires_again_later_leads_to_the_newer_incident_last() {
        let mut index = FingerprintIndex::default();
        let mut snapshot = CorrelatorSnapshot::default();
        let first =
            snapshot.decide_all("acme", vec![alert(1, "fp", "db", 0)], &ServiceGraph::new());
        // Out of the window: a new incident for the same fingerprint.
        let mut late = alert(2, "fp", "db", 0);
        late.received_at += chrono::Duration::seconds(900);
        let second = snapshot.decide_all("acme", vec![late], &ServiceGraph::new());
        for d in first.iter().chain(&second) {
            index.record("acme", d);
        }
        assert_eq!(
            index.holders("fp"),
            [first[0].incident_id, second[0].incident_id]
        );
    }

    #[test]
    fn only_the_newest_holders_of_a_fingerprint_are_kept() {
        let mut index = FingerprintIndex::default();
        let mut snapshot = CorrelatorSnapshot::default();
        let mut opened = Vec::new();
        for seq in 0..(HOLDERS_PER_FINGERPRINT as u64 + 3) {
            let mut a = alert(seq, "fp", "db", 0);
            a.received_at += chrono::Duration::seconds(900 * seq as i64);
            let d = snapshot.decide_all("acme", vec![a], &ServiceGraph::new());
            index.record("acme", &d[0]);
            opened.push(d[0].incident_id);
        }
        assert_eq!(
            index.holders("fp"),
            &opened[opened.len() - HOLDERS_PER_FINGERPRINT..]
        );
    }
}
