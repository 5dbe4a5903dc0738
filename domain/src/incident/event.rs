//! What happened to an incident. Events carry everything the read models need, so no projector
//! has to look anything up.

use chrono::{DateTime, Utc};
use esrs::event::Upcaster;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::alert::Alert;
use crate::correlation::Correlation;
use crate::event::DomainEvent;
use crate::ids::IncidentId;
use crate::values::{IncidentStatus, RcaStatus, Severity};

/// The environment of incidents opened before events recorded one (version 1).
pub const DEFAULT_ENVIRONMENT: &str = "production";

/// An incident's opening: what [`super::IncidentCommand::Open`] asks for and
/// [`IncidentEvent::Opened`] records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct Opening {
    pub id: IncidentId,
    pub title: String,
    pub service: String,
    pub environment: String,
    pub severity: Severity,
    pub source: String,
    pub source_alert_id: String,
    pub fingerprint: String,
    pub alert_fired_at: DateTime<Utc>,
    pub at: DateTime<Utc>,
    /// Why its alert opened an incident rather than joining one (absent in events written
    /// before Aurora recorded it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// The integration its alert came in through, whose automatic-analysis setting decides
    /// whether the incident is analysed (absent in events written before Aurora recorded
    /// it, and for incidents opened other than by a delivery).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum IncidentEvent {
    /// A firing alert that matched no open incident opened this one (status `investigating`, RCA
    /// `idle`). The alert becomes the incident's first attached alert.
    Opened(Opening),
    /// Another alert was correlated with this incident.
    AlertCorrelated {
        alert: Alert,
        correlation: Correlation,
        at: DateTime<Utc>,
    },
    /// The source said the alert with `fingerprint` stopped firing; the incident keeps the notice
    /// (its status does not change).
    ResolveNotificationAttached {
        fingerprint: String,
        source_alert_id: String,
        at: DateTime<Utc>,
    },
    /// A manual status change (never to `resolved` or `merged`: those have their own events).
    StatusChanged {
        from: IncidentStatus,
        to: IncidentStatus,
        by: String,
        at: DateTime<Utc>,
    },
    /// A person changed the severity.
    SeverityChanged {
        from: Severity,
        to: Severity,
        by: String,
        at: DateTime<Utc>,
    },
    /// The root-cause analysis moved from `from` to `to` (`idle`, `running`, `summarizing`,
    /// `complete`, `error`).
    RcaStatusChanged {
        from: RcaStatus,
        to: RcaStatus,
        at: DateTime<Utc>,
    },
    /// Investigation `run` was asked for (`by` a person, or `None`: the incident's opening). Its
    /// steps are the events of `evt.<tenant>.investigation.<run>`.
    RcaRequested {
        run: Uuid,
        /// The incident's how-manieth investigation this is (1 for the first).
        episode: u32,
        by: Option<String>,
        at: DateTime<Utc>,
    },
    /// Investigation `run` was cancelled before it ended; the RCA status goes back to `idle`.
    RcaCancelled {
        run: Uuid,
        by: String,
        at: DateTime<Utc>,
    },
    /// The incident's summary was replaced.
    SummaryUpdated {
        summary: String,
        by: String,
        at: DateTime<Utc>,
    },
    /// This incident was merged into `target` and is closed for changes. If its RCA was running or
    /// summarizing, that RCA is cancelled (`rca_cancelled`) and its status goes back to `idle`.
    MergedInto {
        target: IncidentId,
        rca_cancelled: bool,
        by: String,
        at: DateTime<Utc>,
    },
    /// The target side of a merge: the alerts (only those not held yet) and affected services of
    /// `source` now belong to this incident.
    MergedAlertsAbsorbed {
        source: IncidentId,
        alerts: Vec<Alert>,
        affected_services: Vec<String>,
        at: DateTime<Utc>,
    },
    /// The incident was resolved (`reason`, when given, says how).
    Resolved {
        by: String,
        reason: Option<String>,
        at: DateTime<Utc>,
    },
    /// A person commented on the incident.
    CommentAdded {
        comment_id: Uuid,
        author: String,
        text: String,
        at: DateTime<Utc>,
    },
    /// A person asked for the postmortem to be written again (`request` names the request, so
    /// a redelivery writes one version).
    PostmortemRequested {
        request: Uuid,
        by: String,
        at: DateTime<Utc>,
    },
    /// Feedback on the analysis; a user's later feedback replaces their earlier one.
    FeedbackGiven {
        by: String,
        helpful: bool,
        comment: Option<String>,
        /// The investigation it rates: the incident's latest at that moment (absent: none had
        /// been asked for, or an event written before feedback named its run).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        run: Option<Uuid>,
        at: DateTime<Utc>,
    },
}

impl DomainEvent for IncidentEvent {
    crate::event::event_types! {
        Opened(Opening) => "incident.opened",
        AlertCorrelated => "incident.alert_correlated",
        ResolveNotificationAttached => "incident.resolve_notification_attached",
        StatusChanged => "incident.status_changed",
        SeverityChanged => "incident.severity_changed",
        RcaStatusChanged => "incident.rca_status_changed",
        RcaRequested => "incident.rca_requested",
        RcaCancelled => "incident.rca_cancelled",
        SummaryUpdated => "incident.summary_updated",
        MergedInto => "incident.merged_into",
        MergedAlertsAbsorbed => "incident.merged_alerts_absorbed",
        Resolved => "incident.resolved",
        CommentAdded => "incident.comment_added",
        FeedbackGiven => "incident.feedback_given",
        PostmortemRequested => "incident.postmortem_requested",
    }
}

/// Schema history:
/// - **1** (also stored without a version): `opened` had no `environment`, and its `severity` was a
///   PagerDuty-style priority `"P1"`..`"P5"`.
/// - **2**: `opened` carries `environment` and a [`Severity`] name.
impl Upcaster for IncidentEvent {
    fn upcast(mut value: Value, version: Option<i32>) -> Result<Self, serde_json::Error> {
        if version.unwrap_or(1) < 2 {
            upcast_opened_from_v1(&mut value);
        }
        serde_json::from_value(value)
    }

    fn current_version() -> Option<i32> {
        Some(2)
    }
}

/// Rewrites a version-1 `opened` body in place. Anything it does not recognise is left alone, so
/// deserialising reports it as the serde error it is.
fn upcast_opened_from_v1(value: &mut Value) {
    let Some(body) = value.as_object_mut() else {
        return;
    };
    if body.get("type").and_then(Value::as_str) != Some("opened") {
        return;
    }
    body.entry("environment")
        .or_insert_with(|| Value::String(DEFAULT_ENVIRONMENT.to_owned()));
    let severity = body
        .get("severity")
        .and_then(Value::as_str)
        .and_then(|priority| Severity::from_priority(priority).ok());
    if let Some(severity) = severity {
        body.insert(
            "severity".to_owned(),
            Value::String(severity.as_str().to_owned()),
        );
    }
}
