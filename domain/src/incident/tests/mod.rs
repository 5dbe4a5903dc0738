//! Given / when / then tests of the incident aggregate, one file per group of rules.

#![allow(clippy::unwrap_used)]

mod alerts;
mod inference;
mod merge;
mod notes;
mod opening;
mod rca;
mod status;
mod upcasting;
mod update;

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::{Alert, Incident, IncidentEvent};
use crate::correlation::{Correlation, TitleBasis, TopologyBasis};
use crate::ids::IncidentId;
use crate::incident::Opening;
use crate::scenario::{self, Given};
use crate::values::{RcaStatus, Severity};

/// `minutes` after a fixed moment (2025-03-01T12:00:00Z), so tests read as a timeline.
fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_740_830_400, 0).unwrap() + TimeDelta::minutes(minutes)
}

fn id() -> IncidentId {
    IncidentId(Uuid::from_u128(1))
}

/// The integration the opening alert came in through.
fn integration() -> Uuid {
    Uuid::from_u128(3)
}

fn other_id() -> IncidentId {
    IncidentId(Uuid::from_u128(2))
}

fn given(events: Vec<IncidentEvent>) -> Given<Incident> {
    scenario::given::<Incident>(events)
}

/// The incident opened at minute 0 by alert `alert-1` (fingerprint `fp-1`) on `checkout`.
fn opened() -> IncidentEvent {
    IncidentEvent::Opened(Opening {
        id: id(),
        title: "High error rate on checkout".to_owned(),
        service: "checkout".to_owned(),
        environment: "production".to_owned(),
        severity: Severity::High,
        source: "grafana".to_owned(),
        source_alert_id: "alert-1".to_owned(),
        fingerprint: "fp-1".to_owned(),
        alert_fired_at: at(-2),
        at: at(0),
        why: None,
        integration_id: Some(integration()),
    })
}

/// Alert `alert-<n>` (fingerprint `fp-<n>`) on `service`, received at minute `n`.
fn alert(n: i64, service: &str) -> Alert {
    Alert {
        alert_id: format!("alert-{n}"),
        fingerprint: format!("fp-{n}"),
        title: format!("Alert {n} on {service}"),
        service: service.to_owned(),
        severity: Severity::Medium,
        source: "datadog".to_owned(),
        received_at: at(n),
    }
}

fn correlation() -> Correlation {
    Correlation {
        strategy: "topology".to_owned(),
        score: 0.82,
        topology: 1.0,
        time: 0.9,
        similarity: 0.35,
        candidates_considered: 3,
        topology_basis: TopologyBasis::ServiceGraph,
        topology_path: None,
        title_basis: TitleBasis::WordOverlap,
    }
}

/// Alert `n` on `service` correlated at minute `n`.
fn correlated(n: i64, service: &str) -> IncidentEvent {
    IncidentEvent::AlertCorrelated {
        alert: alert(n, service),
        correlation: correlation(),
        at: at(n),
    }
}

/// Events that bring an opened incident's RCA to `status` by allowed steps.
fn rca_history(status: RcaStatus) -> Vec<IncidentEvent> {
    use RcaStatus::*;
    let path: &[RcaStatus] = match status {
        Idle => &[Idle],
        Running => &[Idle, Running],
        Summarizing => &[Idle, Running, Summarizing],
        Complete => &[Idle, Running, Summarizing, Complete],
        Error => &[Idle, Running, Error],
    };
    let mut events = vec![opened()];
    for (step, pair) in (1..).zip(path.windows(2)) {
        events.push(IncidentEvent::RcaStatusChanged {
            from: pair[0],
            to: pair[1],
            at: at(step),
        });
    }
    events
}

fn merged_into_other() -> IncidentEvent {
    IncidentEvent::MergedInto {
        target: other_id(),
        rca_cancelled: false,
        by: "ana".to_owned(),
        at: at(10),
    }
}

fn resolved() -> IncidentEvent {
    IncidentEvent::Resolved {
        by: "ana".to_owned(),
        reason: Some("rolled back".to_owned()),
        at: at(30),
    }
}

/// One of every command except `Open`, each of which would change an open incident.
fn every_command_but_open() -> Vec<super::IncidentCommand> {
    use super::IncidentCommand::*;
    use crate::values::IncidentStatus;
    let by = || "ana".to_owned();
    vec![
        AttachAlert {
            alert: alert(5, "payments"),
            correlation: correlation(),
            at: at(5),
        },
        AttachResolveNotification {
            fingerprint: "fp-1".to_owned(),
            source_alert_id: "alert-1".to_owned(),
            at: at(20),
        },
        ChangeStatus {
            to: IncidentStatus::Analyzed,
            by: by(),
            at: at(20),
        },
        ChangeSeverity {
            to: Severity::Critical,
            by: by(),
            at: at(20),
        },
        ChangeRcaStatus {
            to: RcaStatus::Running,
            at: at(20),
        },
        SetSummary {
            summary: "Bad deploy".to_owned(),
            by: by(),
            at: at(20),
        },
        MergeInto {
            target: IncidentId(Uuid::from_u128(3)),
            target_status: IncidentStatus::Investigating,
            by: by(),
            at: at(20),
        },
        AbsorbMerged {
            source: IncidentId(Uuid::from_u128(3)),
            alerts: vec![alert(7, "search")],
            affected_services: vec!["search".to_owned()],
            at: at(20),
        },
        Resolve {
            by: by(),
            reason: None,
            at: at(20),
        },
        AddComment {
            comment_id: Uuid::from_u128(9),
            author: by(),
            text: "Looking".to_owned(),
            at: at(20),
        },
        GiveFeedback {
            by: by(),
            helpful: true,
            comment: None,
            at: at(20),
        },
        Update {
            severity: Some(Severity::Low),
            summary: None,
            status: None,
            reason: None,
            by: by(),
            at: at(20),
        },
    ]
}
