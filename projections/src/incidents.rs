//! The incidents projector: `incidents` (one row per incident, the folded domain state plus the
//! columns lists filter on), `incident_alerts` and `incident_timeline`.
//!
//! A batch is applied with three statements whatever its size: the rows of the touched incidents
//! are read once, every event is folded in memory with the aggregate's own `apply_event`, and the
//! results are written with `jsonb_populate_recordset` (one parameter per table).

use aurora_domain::correlation::Correlation;
pub use aurora_domain::incident::describe;
use aurora_domain::incident::{Alert, Incident, IncidentEvent, IncidentState, Opening};
use aurora_domain::DomainEvent;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::error::ProjectionError;
use crate::fold::{state_json, Folded, Seen, Tables, Tx};
use crate::rows::insert_new;
use crate::state_cache::Key;

/// The rows of a batch: incidents, their alerts and their timeline.
#[derive(Default)]
pub struct IncidentTables {
    incidents: IncidentRows,
    alerts: Vec<Value>,
    timeline: TimelineRows,
}

impl Tables for IncidentTables {
    type Aggregate = Incident;
    const STATE_TABLE: &'static str = "incidents";
    // The timeline stores the stored body verbatim, so the parsed tree can be consumed.
    const READS_DATA: bool = false;

    fn event(&mut self, seen: Seen<'_, Incident>) -> Result<(), ProjectionError> {
        let Seen {
            key, raw, event, ..
        } = seen;
        for (alert, correlation) in alerts_of(event) {
            self.alerts.push(alert_row(
                key,
                &alert,
                correlation.as_ref(),
                raw.stream_sequence,
            ));
        }
        let timeline = &mut self.timeline;
        timeline.tenant.push(key.tenant.clone());
        timeline.incident.push(key.id);
        timeline.sequence.push(raw.stream_sequence as i64);
        timeline.event_type.push(event.event_type());
        timeline.at.push(event.occurred_at());
        timeline.description.push(describe(event));
        timeline
            .data
            .push(String::from_utf8_lossy(&raw.body).into_owned());
        Ok(())
    }

    fn state(&mut self, folded: Folded<'_, Incident>) -> Result<(), ProjectionError> {
        let key = folded.key;
        if !self
            .incidents
            .push(key, folded.state, folded.last_sequence)?
        {
            tracing::warn!(tenant = %key.tenant, incident = %key.id, "events for an incident that was never opened; no row written");
        }
        Ok(())
    }

    async fn write(self, tx: &mut Tx<'_>, schema: &str) -> Result<(), ProjectionError> {
        self.incidents.upsert(tx, schema).await?;
        let alert_key = "tenant_id, incident_id, alert_id";
        insert_new(tx, schema, "incident_alerts", alert_key, self.alerts).await?;
        self.timeline.insert(tx, schema).await
    }
}

/// The `incidents` rows of a batch, column by column, written with one `UNNEST` upsert. The
/// folded state is stored as JSON text: only Aurora reads it back, so Postgres need not parse it.
#[derive(Default)]
struct IncidentRows {
    tenant: Vec<String>,
    id: Vec<Uuid>,
    title: Vec<String>,
    service: Vec<String>,
    environment: Vec<String>,
    severity: Vec<&'static str>,
    source: Vec<String>,
    source_alert_id: Vec<String>,
    status: Vec<&'static str>,
    rca_status: Vec<&'static str>,
    summary: Vec<Option<String>>,
    started_at: Vec<DateTime<Utc>>,
    analyzed_at: Vec<Option<DateTime<Utc>>>,
    resolved_at: Vec<Option<DateTime<Utc>>>,
    alert_fired_at: Vec<Option<DateTime<Utc>>>,
    updated_at: Vec<DateTime<Utc>>,
    affected_services: Vec<String>,
    correlated_alert_count: Vec<i32>,
    merged_into: Vec<Option<Uuid>>,
    last_sequence: Vec<i64>,
    state: Vec<String>,
}

impl IncidentRows {
    /// Adds the row of an opened incident; `false` if it was never opened.
    fn push(
        &mut self,
        key: &Key,
        s: &IncidentState,
        last_sequence: u64,
    ) -> Result<bool, ProjectionError> {
        let (Some(_), Some(started_at)) = (s.id, s.started_at) else {
            return Ok(false);
        };
        let encode = |e: serde_json::Error| ProjectionError::BadEvent {
            subject: format!("incident {}/{}", key.tenant, key.id),
            stream_sequence: last_sequence,
            reason: format!("state does not serialise: {e}"),
        };
        self.tenant.push(key.tenant.clone());
        self.id.push(key.id);
        self.title.push(s.title.clone());
        self.service.push(s.service.clone());
        self.environment.push(s.environment.clone());
        self.severity.push(s.severity.as_str());
        self.source.push(s.source.clone());
        self.source_alert_id.push(s.source_alert_id.clone());
        self.status.push(s.status.as_str());
        self.rca_status.push(s.rca_status.as_str());
        self.summary.push(s.summary.clone());
        self.started_at.push(started_at);
        self.analyzed_at.push(s.analyzed_at);
        self.resolved_at.push(s.resolved_at);
        self.alert_fired_at.push(s.alert_fired_at);
        self.updated_at.push(s.updated_at.unwrap_or(started_at));
        self.affected_services
            .push(serde_json::to_string(&s.affected_services).map_err(encode)?);
        self.correlated_alert_count
            .push(s.correlated_alert_count as i32);
        self.merged_into.push(s.merged_into.map(|m| m.0));
        self.last_sequence.push(last_sequence as i64);
        self.state.push(state_json("incident", key, s)?);
        Ok(true)
    }

    async fn upsert(
        self,
        tx: &mut Transaction<'_, Postgres>,
        schema: &str,
    ) -> Result<(), ProjectionError> {
        if self.id.is_empty() {
            return Ok(());
        }
        sqlx::query(&format!(
            "INSERT INTO {schema}.incidents
             SELECT tenant_id, id, title, service, environment, severity, source, source_alert_id, status,
                    rca_status, summary, started_at, analyzed_at, resolved_at, alert_fired_at, updated_at,
                    ARRAY(SELECT jsonb_array_elements_text(affected::jsonb)), correlated_alert_count,
                    merged_into, last_sequence, state
             FROM UNNEST($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                         $8::text[], $9::text[], $10::text[], $11::text[], $12::timestamptz[], $13::timestamptz[],
                         $14::timestamptz[], $15::timestamptz[], $16::timestamptz[], $17::text[], $18::int[],
                         $19::uuid[], $20::bigint[], $21::text[])
               AS r(tenant_id, id, title, service, environment, severity, source, source_alert_id, status,
                    rca_status, summary, started_at, analyzed_at, resolved_at, alert_fired_at, updated_at,
                    affected, correlated_alert_count, merged_into, last_sequence, state)
             ON CONFLICT (tenant_id, id) DO UPDATE SET
               title = EXCLUDED.title, service = EXCLUDED.service, environment = EXCLUDED.environment,
               severity = EXCLUDED.severity, source = EXCLUDED.source, source_alert_id = EXCLUDED.source_alert_id,
               status = EXCLUDED.status, rca_status = EXCLUDED.rca_status, summary = EXCLUDED.summary,
               started_at = EXCLUDED.started_at, analyzed_at = EXCLUDED.analyzed_at, resolved_at = EXCLUDED.resolved_at,
               alert_fired_at = EXCLUDED.alert_fired_at, updated_at = EXCLUDED.updated_at,
               affected_services = EXCLUDED.affected_services, correlated_alert_count = EXCLUDED.correlated_alert_count,
               merged_into = EXCLUDED.merged_into, last_sequence = EXCLUDED.last_sequence, state = EXCLUDED.state"
        ))
        .bind(&self.tenant)
        .bind(&self.id)
        .bind(&self.title)
        .bind(&self.service)
        .bind(&self.environment)
        .bind(&self.severity)
        .bind(&self.source)
        .bind(&self.source_alert_id)
        .bind(&self.status)
        .bind(&self.rca_status)
        .bind(&self.summary)
        .bind(&self.started_at)
        .bind(&self.analyzed_at)
        .bind(&self.resolved_at)
        .bind(&self.alert_fired_at)
        .bind(&self.updated_at)
        .bind(&self.affected_services)
        .bind(&self.correlated_alert_count)
        .bind(&self.merged_into)
        .bind(&self.last_sequence)
        .bind(&self.state)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

/// The `incident_timeline` rows of a batch, column by column.
#[derive(Default)]
struct TimelineRows {
    tenant: Vec<String>,
    incident: Vec<Uuid>,
    sequence: Vec<i64>,
    event_type: Vec<&'static str>,
    at: Vec<DateTime<Utc>>,
    description: Vec<String>,
    data: Vec<String>,
}

impl TimelineRows {
    async fn insert(
        self,
        tx: &mut Transaction<'_, Postgres>,
        schema: &str,
    ) -> Result<(), ProjectionError> {
        if self.sequence.is_empty() {
            return Ok(());
        }
        sqlx::query(&format!(
            "INSERT INTO {schema}.incident_timeline
             SELECT * FROM UNNEST($1::text[], $2::uuid[], $3::bigint[], $4::text[], $5::timestamptz[], $6::text[], $7::text[])
             ON CONFLICT (tenant_id, stream_sequence) DO NOTHING"
        ))
        .bind(&self.tenant)
        .bind(&self.incident)
        .bind(&self.sequence)
        .bind(&self.event_type)
        .bind(&self.at)
        .bind(&self.description)
        .bind(&self.data)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

/// The alerts an event attaches, with their correlation when there was one.
fn alerts_of(event: &IncidentEvent) -> Vec<(Alert, Option<Correlation>)> {
    match event {
        IncidentEvent::Opened(Opening {
            title,
            service,
            severity,
            source,
            source_alert_id,
            fingerprint,
            alert_fired_at,
            ..
        }) => {
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
        "tenant_id": key.tenant,
        "incident_id": key.id,
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
