//! Incidents, their alerts and timeline.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgConnection, QueryBuilder, Row};
use uuid::Uuid;

/// Filters and page position of the incident list.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    pub status: Option<String>,
    pub severity: Option<String>,
    pub service: Option<String>,
    /// Only incidents opened by this source (`grafana`, …).
    pub source: Option<String>,
    /// Only incidents whose title or summary holds this text, any case (matched literally:
    /// `%`, `_` and `\` are not wildcards).
    pub search: Option<String>,
    /// Rows after this `(started_at, id)` in the list's order (newest first).
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct IncidentSummary {
    pub id: Uuid,
    pub title: String,
    pub service: String,
    pub environment: String,
    pub severity: String,
    pub source: String,
    pub status: String,
    pub rca_status: String,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub affected_services: Vec<String>,
    pub correlated_alert_count: i32,
    pub merged_into: Option<Uuid>,
    /// What its investigation concluded (or a person wrote), once there is one.
    pub summary: Option<String>,
}

/// The columns of an [`IncidentSummary`], in every query that reads one.
pub(super) const SUMMARY_COLUMNS: &str =
    "id, title, service, environment, severity, source, status, rca_status, started_at, updated_at,
     resolved_at, affected_services, correlated_alert_count, merged_into, summary";

/// A page of the incident list as `f` filters it, newest first (keyset: after `f.after`).
pub async fn list_incidents(
    conn: &mut PgConnection,
    tenant: &str,
    f: &IncidentFilter,
) -> Result<Vec<IncidentSummary>, sqlx::Error> {
    let mut q = QueryBuilder::new(format!(
        "SELECT {SUMMARY_COLUMNS} FROM incidents WHERE tenant_id = "
    ));
    q.push_bind(tenant);
    if let Some(status) = &f.status {
        q.push(" AND status = ").push_bind(status);
    }
    if let Some(severity) = &f.severity {
        q.push(" AND severity = ").push_bind(severity);
    }
    if let Some(service) = &f.service {
        q.push(" AND (service = ")
            .push_bind(service)
            .push(" OR ")
            .push_bind(service)
            .push(" = ANY(affected_services))");
    }
    if let Some(source) = &f.source {
        q.push(" AND source = ").push_bind(source);
    }
    if let Some(search) = &f.search {
        // Each side is served by its own trigram index (migration 0015), OR-ed as bitmaps.
        let pattern = format!("%{}%", like_literal(search));
        q.push(" AND (title ILIKE ")
            .push_bind(pattern.clone())
            .push(" ESCAPE '\\' OR summary ILIKE ")
            .push_bind(pattern)
            .push(" ESCAPE '\\')");
    }
    if let Some((started_at, id)) = f.after {
        q.push(" AND (started_at, id) < (")
            .push_bind(started_at)
            .push(", ")
            .push_bind(id)
            .push(")");
    }
    q.push(" ORDER BY started_at DESC, id DESC LIMIT ")
        .push_bind(f.limit);
    q.build_query_as().fetch_all(&mut *conn).await
}

/// `text` as a LIKE pattern that matches only itself: its wildcards and escape character escaped.
fn like_literal(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern
}

/// One incident's list row.
pub async fn incident_summary(
    conn: &mut PgConnection,
    tenant: &str,
    id: Uuid,
) -> Result<Option<IncidentSummary>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {SUMMARY_COLUMNS} FROM incidents WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
}

/// The `limit` most recently started incidents opened before `(started_at, id)` — the incident
/// similar ones are looked for, itself excluded — and not merged away (their alerts live on in
/// the incident they joined), newest first. Incidents started at the same instant are ordered by
/// id (UUIDv7: the order they were made in).
pub async fn incidents_opened_before(
    conn: &mut PgConnection,
    tenant: &str,
    started_at: DateTime<Utc>,
    id: Uuid,
    limit: i64,
) -> Result<Vec<IncidentSummary>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {SUMMARY_COLUMNS} FROM incidents
         WHERE tenant_id = $1 AND (started_at, id) < ($2, $3) AND merged_into IS NULL
         ORDER BY started_at DESC, id DESC LIMIT $4"
    ))
    .bind(tenant)
    .bind(started_at)
    .bind(id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
}

/// The folded state of one incident (JSON text) and the stream sequence it is at.
pub async fn incident_state(
    conn: &mut PgConnection,
    tenant: &str,
    id: Uuid,
) -> Result<Option<(String, i64)>, sqlx::Error> {
    let row =
        sqlx::query("SELECT state, last_sequence FROM incidents WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    row.map(|r| Ok((r.try_get("state")?, r.try_get("last_sequence")?)))
        .transpose()
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AlertRow {
    pub alert_id: String,
    pub fingerprint: String,
    pub title: String,
    pub service: String,
    pub severity: String,
    pub source: String,
    pub received_at: DateTime<Utc>,
    /// Why it joined the incident (null for the alert that opened it): the correlation as the
    /// event recorded it.
    #[schema(value_type = Option<aurora_domain::incident::Correlation>)]
    pub correlation: Option<Value>,
}

pub async fn incident_alerts(
    conn: &mut PgConnection,
    tenant: &str,
    id: Uuid,
) -> Result<Vec<AlertRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT alert_id, fingerprint, title, service, severity, source, received_at, correlation
         FROM incident_alerts WHERE tenant_id = $1 AND incident_id = $2 ORDER BY stream_sequence, alert_id",
    )
    .bind(tenant)
    .bind(id)
    .fetch_all(&mut *conn)
    .await
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct TimelineRow {
    pub stream_sequence: i64,
    pub event_type: String,
    pub at: DateTime<Utc>,
    pub description: String,
    /// The event's own fields as the timeline keeps them; they depend on `event_type`, so the
    /// shape is free-form here.
    pub data: Value,
}

pub async fn incident_timeline(
    conn: &mut PgConnection,
    tenant: &str,
    id: Uuid,
) -> Result<Vec<TimelineRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT stream_sequence, event_type, at, description, data::jsonb AS data
         FROM incident_timeline WHERE tenant_id = $1 AND incident_id = $2 ORDER BY stream_sequence",
    )
    .bind(tenant)
    .bind(id)
    .fetch_all(&mut *conn)
    .await
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ChangeRow {
    pub id: Uuid,
    pub source: String,
    pub kind: String,
    pub service: String,
    pub environment: Option<String>,
    pub version: Option<String>,
    pub title: String,
    pub author: Option<String>,
    pub at: DateTime<Utc>,
    pub url: Option<String>,
}

/// Changes of the tenant between `from` and `to` (inclusive), newest first, optionally of one
/// service.
pub async fn changes(
    conn: &mut PgConnection,
    tenant: &str,
    service: Option<&str>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<ChangeRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, source, kind, service, environment, version, title, author, at, url FROM changes
         WHERE tenant_id = $1 AND ($2::text IS NULL OR service = $2) AND at BETWEEN $3 AND $4
         ORDER BY at DESC, id LIMIT $5",
    )
    .bind(tenant)
    .bind(service)
    .bind(from)
    .bind(to)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
}
