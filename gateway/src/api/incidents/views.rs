//! The bodies the incident routes answer with, so /openapi.json describes them.

use aurora_domain::incident::{Comment, Feedback, IncidentState};
use aurora_domain::{IncidentStatus, RcaStatus, Severity};
use aurora_projections::queries::{AlertRow, IncidentSummary, TimelineRow};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::rca_view::RcaView;
use crate::api::changes::ChangeBefore;

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentPage {
    pub items: Vec<IncidentSummary>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

/// The incident as the API shows it, built from the domain state (live or folded up to a time).
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentView {
    pub id: Uuid,
    pub title: String,
    pub service: String,
    pub environment: String,
    pub severity: Severity,
    pub source: String,
    pub source_alert_id: String,
    pub status: IncidentStatus,
    pub rca_status: RcaStatus,
    pub summary: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub analyzed_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub alert_fired_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub affected_services: Vec<String>,
    pub correlated_alert_count: u32,
    pub merged_into: Option<Uuid>,
    pub comments: Vec<Comment>,
    pub feedback: Vec<Feedback>,
}

impl IncidentView {
    pub fn new(id: Uuid, s: IncidentState) -> Self {
        Self {
            id,
            title: s.title,
            service: s.service,
            environment: s.environment,
            severity: s.severity,
            source: s.source,
            source_alert_id: s.source_alert_id,
            status: s.status,
            rca_status: s.rca_status,
            summary: s.summary,
            started_at: s.started_at,
            analyzed_at: s.analyzed_at,
            resolved_at: s.resolved_at,
            alert_fired_at: s.alert_fired_at,
            updated_at: s.updated_at,
            affected_services: s.affected_services,
            correlated_alert_count: s.correlated_alert_count,
            merged_into: s.merged_into.map(|m| m.0),
            comments: s.comments,
            feedback: s.feedback,
        }
    }
}

/// One incident, now (`as_of` null) or as Aurora knew it at `as_of`.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentDetail {
    pub incident: IncidentView,
    pub alerts: Vec<AlertRow>,
    pub timeline: Vec<TimelineRow>,
    /// The changes of the hour before it started.
    pub changes_before: Vec<ChangeBefore>,
    /// Its current (latest) investigation; null when none was ever requested.
    pub rca: Option<RcaView>,
    pub as_of: Option<DateTime<Utc>>,
    /// The stream sequence of its newest event shown.
    pub last_sequence: i64,
}

/// The CloudEvents attributes of a stored event.
#[derive(Debug, Serialize, ToSchema)]
pub struct CloudEventAttributes {
    /// Always `1.0`.
    pub specversion: &'static str,
    pub id: Uuid,
    pub source: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub subject: Uuid,
    pub time: DateTime<Utc>,
    /// Always `application/json`.
    pub datacontenttype: &'static str,
    pub causationid: Option<String>,
    pub correlationid: Option<String>,
    pub traceparent: Option<String>,
}

impl CloudEventAttributes {
    /// The attributes of `raw`, an event of aggregate `subject`.
    pub fn of(raw: &aurora_nats::RawEvent, subject: Uuid) -> Self {
        Self {
            specversion: "1.0",
            id: raw.id,
            source: raw.source.clone(),
            event_type: raw.event_type.clone(),
            subject,
            time: raw.time,
            datacontenttype: "application/json",
            causationid: raw.causation_id.clone(),
            correlationid: raw.correlation_id.clone(),
            traceparent: raw.traceparent.clone(),
        }
    }
}

/// One event as JetStream holds it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventItem {
    pub sequence: u64,
    pub aggregate_sequence: i32,
    #[serde(rename = "type")]
    pub event_type: String,
    pub time: DateTime<Utc>,
    pub cloudevents: CloudEventAttributes,
    pub version: Option<i32>,
    pub subject: String,
    /// The event's body as it was stored: `type` names the event and the other fields are that
    /// event's at `version`, so the shape is free-form here.
    pub data: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentEvents {
    pub incident_id: Uuid,
    pub events: Vec<EventItem>,
}
