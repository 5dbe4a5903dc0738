//! One alert's decision: the firing alert to place ([`PendingAlert`]) and where it went
//! ([`AlertDecision`]). The decision log records these, and its cheap reader
//! (`decisions_read.rs`) reads them back without the candidates considered.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::decision::Decision;
use crate::ids::IncidentId;
use crate::intake::Placement;

/// A firing alert to place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PendingAlert {
    /// Where it came from: `INBOX` stream sequence and position in the delivery.
    pub inbox_sequence: u64,
    pub index: u32,
    pub alert_id: String,
    pub fingerprint: String,
    pub title: String,
    pub service: String,
    pub received_at: DateTime<Utc>,
    /// The integration it came through (absent in decisions recorded before it was kept): the
    /// read model of an integration's recent deliveries is made of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_id: Option<Uuid>,
    /// Where in Kubernetes it fires, when its labels say (the graph's `graph-alerts` consumer
    /// makes nodes of it; absent in decisions recorded before).
    #[serde(default, skip_serializing_if = "Placement::is_empty")]
    pub placement: Placement,
}

impl PendingAlert {
    /// The id of the incident this alert opens, if it opens one: the same on every retry.
    pub fn new_incident_id(&self, tenant: &str) -> IncidentId {
        IncidentId(Uuid::new_v5(
            &Uuid::NAMESPACE_OID,
            format!(
                "aurora:{tenant}:inbox:{}:{}",
                self.inbox_sequence, self.index
            )
            .as_bytes(),
        ))
    }
}

/// Where one alert went, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AlertDecision {
    pub alert: PendingAlert,
    /// The incident it opened or joined.
    pub incident_id: IncidentId,
    pub decision: Decision,
}

impl AlertDecision {
    pub fn opens(&self) -> bool {
        self.decision.incident().is_none()
    }
}

#[cfg(test)]
pub(super) mod tests {
    use chrono::TimeZone;

    use super::*;

    /// Alert `seq` (fingerprint `fp-<seq>`) of `service`, received `second`s into a fixed minute.
    pub(in crate::correlation) fn alert(
        seq: u64,
        service: &str,
        title: &str,
        second: u32,
    ) -> PendingAlert {
        PendingAlert {
            inbox_sequence: seq,
            index: 0,
            alert_id: format!("a-{seq}"),
            fingerprint: format!("fp-{seq}"),
            title: title.into(),
            service: service.into(),
            received_at: Utc
                .with_ymd_and_hms(2026, 11, 23, 10, 0, second)
                .single()
                .expect("time"),
            integration_id: None,
            placement: Placement::default(),
        }
    }

    #[test]
    fn the_incident_an_alert_opens_has_the_same_id_on_every_retry() {
        let a = alert(7, "db", "Disk full", 0);
        assert_eq!(a.new_incident_id("acme"), a.new_incident_id("acme"));
        assert_ne!(a.new_incident_id("acme"), a.new_incident_id("globex"));
        assert_ne!(
            a.new_incident_id("acme"),
            alert(8, "db", "Disk full", 0).new_incident_id("acme")
        );
    }
}
