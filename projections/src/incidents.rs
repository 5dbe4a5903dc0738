//! The incidents projector: `incidents` (one row per incident, the folded domain state plus the
//! columns lists filter on), `incident_alerts` and `incident_timeline`.
//!
//! A batch is applied with three statements whatever its size: the rows of the touched incidents
//! are read once, every event is folded in memory with the aggregate's own `apply_event`, and the
//! results are written with `jsonb_populate_recordset` (one parameter per table).

use std::collections::HashMap;

use aurora_domain::incident::{Alert, Correlation, Incident, IncidentEvent, IncidentState};
use aurora_domain::DomainEvent;
use aurora_nats::subjects::EventSubject;
use aurora_nats::RawEvent;
use esrs::Aggregate;
use serde_json::{json, Value};
use sqlx::{Postgres, Row, Transaction};
use uuid::Uuid;

use crate::projector::{checked_schema, upcast, ProjectionError};

type Key = (String, Uuid);

pub async fn apply(
    tx: &mut Transaction<'_, Postgres>,
    schema: &str,
    events: Vec<(EventSubject, RawEvent)>,
) -> Result<(), ProjectionError> {
    let schema = checked_schema(schema);
    if events.is_empty() {
        return Ok(());
    }
    let mut touched: Vec<Key> = Vec::new();
    let mut decoded = Vec::with_capacity(events.len());
    for (subject, raw) in events {
        let event: IncidentEvent = upcast(&raw)?;
        let key = (subject.tenant.to_string(), subject.id);
        if !touched.contains(&key) {
            touched.push(key.clone());
        }
        decoded.push((key, raw, event));
    }

    let mut states = load_states(tx, schema, &touched).await?;
    let mut alerts = Vec::new();
    let mut timeline = Vec::with_capacity(decoded.len());
    let mut last_sequence: HashMap<Key, u64> = HashMap::new();
    for (key, raw, event) in decoded {
        for alert in alerts_of(&event) {
            alerts.push(alert_row(
                &key,
                &alert.0,
                alert.1.as_ref(),
                raw.stream_sequence,
            ));
        }
        timeline.push(json!({
            "tenant_id": key.0,
            "incident_id": key.1,
            "stream_sequence": raw.stream_sequence,
            "event_type": event.event_type(),
            "at": event.occurred_at(),
            "description": describe(&event),
            "data": raw.data,
        }));
        let state = states.remove(&key).unwrap_or_default();
        states.insert(key.clone(), Incident::apply_event(state, event));
        last_sequence.insert(key, raw.stream_sequence);
    }

    let mut rows = Vec::with_capacity(touched.len());
    for key in &touched {
        let Some(state) = states.get(key) else {
            continue;
        };
        match incident_row(key, state, last_sequence.get(key).copied().unwrap_or(0)) {
            Some(row) => rows.push(row),
            None => {
                tracing::warn!(tenant = %key.0, incident = %key.1, "events for an incident that was never opened; no row written")
            }
        }
    }

    sqlx::query(&format!(
        "INSERT INTO {schema}.incidents SELECT * FROM jsonb_populate_recordset(NULL::{schema}.incidents, $1)
         ON CONFLICT (tenant_id, id) DO UPDATE SET
           title = EXCLUDED.title, service = EXCLUDED.service, environment = EXCLUDED.environment,
           severity = EXCLUDED.severity, source = EXCLUDED.source, source_alert_id = EXCLUDED.source_alert_id,
           status = EXCLUDED.status, rca_status = EXCLUDED.rca_status, summary = EXCLUDED.summary,
           started_at = EXCLUDED.started_at, analyzed_at = EXCLUDED.analyzed_at, resolved_at = EXCLUDED.resolved_at,
           alert_fired_at = EXCLUDED.alert_fired_at, updated_at = EXCLUDED.updated_at,
           affected_services = EXCLUDED.affected_services, correlated_alert_count = EXCLUDED.correlated_alert_count,
           merged_into = EXCLUDED.merged_into, last_sequence = EXCLUDED.last_sequence, state = EXCLUDED.state"
    ))
    .bind(Value::Array(rows))
    .execute(&mut **tx)
    .await?;
    if !alerts.is_empty() {
        sqlx::query(&format!(
            "INSERT INTO {schema}.incident_alerts SELECT * FROM jsonb_populate_recordset(NULL::{schema}.incident_alerts, $1)
             ON CONFLICT (tenant_id, incident_id, alert_id) DO NOTHING"
        ))
        .bind(Value::Array(alerts))
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query(&format!(
        "INSERT INTO {schema}.incident_timeline SELECT * FROM jsonb_populate_recordset(NULL::{schema}.incident_timeline, $1)
         ON CONFLICT (tenant_id, stream_sequence) DO NOTHING"
    ))
    .bind(Value::Array(timeline))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn load_states(
    tx: &mut Transaction<'_, Postgres>,
    schema: &str,
    keys: &[Key],
) -> Result<HashMap<Key, IncidentState>, ProjectionError> {
    let tenants: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
    let ids: Vec<Uuid> = keys.iter().map(|k| k.1).collect();
    let rows = sqlx::query(&format!(
        "SELECT i.tenant_id, i.id, i.state FROM {schema}.incidents i
         JOIN UNNEST($1::text[], $2::uuid[]) AS k(tenant_id, id) ON i.tenant_id = k.tenant_id AND i.id = k.id"
    ))
    .bind(&tenants)
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await?;
    let mut states = HashMap::with_capacity(rows.len());
    for row in rows {
        let key: Key = (row.try_get("tenant_id")?, row.try_get("id")?);
        let state: Value = row.try_get("state")?;
        let state = serde_json::from_value(state).map_err(|e| ProjectionError::BadEvent {
            subject: format!("incidents row {}/{}", key.0, key.1),
            stream_sequence: 0,
            reason: format!("stored state does not load: {e}"),
        })?;
        states.insert(key, state);
    }
    Ok(states)
}

fn incident_row(key: &Key, s: &IncidentState, last_sequence: u64) -> Option<Value> {
    s.id?;
    Some(json!({
        "tenant_id": key.0,
        "id": key.1,
        "title": s.title,
        "service": s.service,
        "environment": s.environment,
        "severity": s.severity.as_str(),
        "source": s.source,
        "source_alert_id": s.source_alert_id,
        "status": s.status.as_str(),
        "rca_status": s.rca_status.as_str(),
        "summary": s.summary,
        "started_at": s.started_at?,
        "analyzed_at": s.analyzed_at,
        "resolved_at": s.resolved_at,
        "alert_fired_at": s.alert_fired_at,
        "updated_at": s.updated_at.or(s.started_at)?,
        "affected_services": s.affected_services,
        "correlated_alert_count": s.correlated_alert_count,
        "merged_into": s.merged_into.map(|id| id.0),
        "last_sequence": last_sequence,
        "state": s,
    }))
}

/// The alerts an event attaches, with their correlation when there was one.
fn alerts_of(event: &IncidentEvent) -> Vec<(Alert, Option<Correlation>)> {
    match event {
        IncidentEvent::Opened {
            title,
            service,
            severity,
            source,
            source_alert_id,
            fingerprint,
            alert_fired_at,
            ..
        } => {
            vec![(
                Alert {
                    alert_id: source_alert_id.clone(),
                    fingerprint: fingerprint.clone(),
                    title: title.clone(),
                    service: service.clone(),
                    severity: *severity,
                    source: source.clone(),
                    received_at: *alert_fired_at,
                },
                None,
            )]
        }
        IncidentEvent::AlertCorrelated {
            alert, correlation, ..
        } => vec![(alert.clone(), Some(correlation.clone()))],
        IncidentEvent::MergedAlertsAbsorbed { alerts, .. } => {
            alerts.iter().map(|a| (a.clone(), None)).collect()
        }
        _ => Vec::new(),
    }
}

fn alert_row(key: &Key, a: &Alert, correlation: Option<&Correlation>, sequence: u64) -> Value {
    json!({
        "tenant_id": key.0,
        "incident_id": key.1,
        "alert_id": a.alert_id,
        "fingerprint": a.fingerprint,
        "title": a.title,
        "service": a.service,
        "severity": a.severity.as_str(),
        "source": a.source,
        "received_at": a.received_at,
        "correlation": correlation,
        "stream_sequence": sequence,
    })
}

/// One line of the timeline, as an on-call engineer reads it.
pub fn describe(event: &IncidentEvent) -> String {
    match event {
        IncidentEvent::Opened { title, service, severity, source, .. } => {
            format!("Incident opened from {source}: {title} ({severity}, service {service})")
        }
        IncidentEvent::AlertCorrelated { alert, correlation, .. } => format!(
            "Alert \"{}\" correlated with score {:.2}: topology {:.2}, time {:.2}, similarity {:.2} ({} candidates considered)",
            alert.title,
            correlation.score,
            correlation.topology,
            correlation.time,
            correlation.similarity,
            correlation.candidates_considered
        ),
        IncidentEvent::ResolveNotificationAttached { source_alert_id, .. } => {
            format!("Resolve notification received for alert {source_alert_id}")
        }
        IncidentEvent::StatusChanged { from, to, by, .. } => format!("Status changed from {from} to {to} by {by}"),
        IncidentEvent::SeverityChanged { from, to, by, .. } => format!("Severity changed from {from} to {to} by {by}"),
        IncidentEvent::RcaStatusChanged { from, to, .. } => format!("RCA {from} → {to}"),
        IncidentEvent::SummaryUpdated { by, .. } => format!("Summary updated by {by}"),
        IncidentEvent::MergedInto { target, rca_cancelled, by, .. } => {
            let rca = if *rca_cancelled { "; its RCA was cancelled" } else { "" };
            format!("Merged into incident {target} by {by}{rca}")
        }
        IncidentEvent::MergedAlertsAbsorbed { source, alerts, .. } => {
            format!("Absorbed {} alert(s) from merged incident {source}", alerts.len())
        }
        IncidentEvent::Resolved { by, reason, .. } => match reason {
            Some(reason) => format!("Resolved by {by}: {reason}"),
            None => format!("Resolved by {by}"),
        },
        IncidentEvent::CommentAdded { author, .. } => format!("Comment by {author}"),
        IncidentEvent::FeedbackGiven { by, helpful, .. } => {
            format!("Feedback from {by}: {}", if *helpful { "helpful" } else { "not helpful" })
        }
    }
}
