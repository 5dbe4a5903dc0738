//! Chat sessions, their history, and LLM usage.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

/// One session in a list.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SessionSummary {
    pub id: Uuid,
    pub title: String,
    /// `ask` or `agent`.
    pub mode: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub message_count: i32,
    pub input_tokens: i64,
    pub output_tokens: i64,
    /// US dollars × 10⁶.
    pub cost_micros: i64,
}

/// The sessions `owner` started that are not deleted, most recently active first, after the
/// `(updated_at, id)` cursor.
pub async fn list_sessions(
    conn: &mut PgConnection,
    tenant: &str,
    owner: &str,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<SessionSummary>, sqlx::Error> {
    let (after_at, after_id) = after.unzip();
    sqlx::query_as(
        "SELECT id, title, mode, created_at, updated_at, message_count, input_tokens, output_tokens, cost_micros
         FROM chat_sessions
         WHERE tenant_id = $1 AND owner = $2 AND NOT deleted
           AND ($3::timestamptz IS NULL OR (updated_at, id) < ($3, $4))
         ORDER BY updated_at DESC, id DESC LIMIT $5",
    )
    .bind(tenant)
    .bind(owner)
    .bind(after_at)
    .bind(after_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
}

/// One session as its row holds it: `(owner, deleted, folded state as JSON text, last sequence)`.
pub async fn session_state(
    conn: &mut PgConnection,
    tenant: &str,
    id: Uuid,
) -> Result<Option<(String, bool, String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT owner, deleted, state, last_sequence FROM chat_sessions WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
}

/// Every tenant's sessions that are not deleted and were last active between `from` and `to`:
/// `(tenant, id, folded state as JSON text)`. For the chat agent's sweep for runs whose process
/// died; it reads across tenants, so it runs as the caller's role (handlers: the owner), never
/// inside a [`scoped`](super::scoped) request.
pub async fn sessions_active_between(
    pool: &sqlx::PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(String, Uuid, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT tenant_id, id, state FROM chat_sessions
         WHERE NOT deleted AND updated_at BETWEEN $1 AND $2",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
}

/// One recorded step of a session: a message, tool step, gate decision, confirmation or usage
/// record.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct HistoryRow {
    pub stream_sequence: i64,
    pub message_id: String,
    /// The event's type without its `session.` prefix (`user_message_posted`, `tool_call_started`, …).
    pub kind: String,
    pub at: DateTime<Utc>,
    pub text: Option<String>,
    /// The event's body as it was stored: `type` names the event and the other fields are that
    /// event's at the version it was written with, so the shape is free-form here.
    pub data: Value,
}

/// Every message, tool step, gate decision, confirmation and usage record of a session, in order.
pub async fn session_history(
    conn: &mut PgConnection,
    tenant: &str,
    id: Uuid,
) -> Result<Vec<HistoryRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT stream_sequence, message_id, kind, at, text, data FROM chat_messages
         WHERE tenant_id = $1 AND session_id = $2 ORDER BY stream_sequence",
    )
    .bind(tenant)
    .bind(id)
    .fetch_all(&mut *conn)
    .await
}

#[derive(Debug, Clone, Default, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct UsageTotals {
    pub calls: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_micros: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct UsageBySession {
    pub session_id: Option<Uuid>,
    pub incident_id: Option<Uuid>,
    pub calls: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_micros: i64,
}

/// The usage of one incident's investigations (every run of it).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct UsageByIncident {
    pub incident_id: Uuid,
    pub calls: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_micros: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct UsageByModel {
    pub model: String,
    pub calls: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_micros: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct UsageByDay {
    pub day: NaiveDate,
    pub calls: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_micros: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct UsageReport {
    pub total: UsageTotals,
    pub by_session: Vec<UsageBySession>,
    pub by_incident: Vec<UsageByIncident>,
    pub by_model: Vec<UsageByModel>,
    pub by_day: Vec<UsageByDay>,
}

const SUMS: &str = "count(*)::bigint AS calls, coalesce(sum(input_tokens), 0)::bigint AS input_tokens,
    coalesce(sum(output_tokens), 0)::bigint AS output_tokens, coalesce(sum(cost_micros), 0)::bigint AS cost_micros";

/// Every model call (`llm_usage`, one row per call of a chat session), an investigation's calls
/// (made in its background session) attributed to its incident.
const CALLS: &str =
    "(SELECT u.tenant_id, u.session_id, coalesce(u.incident_id, i.incident_id) AS incident_id,
           u.model, u.day, u.input_tokens, u.output_tokens, u.cost_micros
    FROM llm_usage u
    LEFT JOIN investigations i ON i.tenant_id = u.tenant_id AND i.session_id = u.session_id) calls";

/// The tenant's LLM usage on the days `from..=to`: totals, then per session (or incident), per
/// incident investigated, per model and per day.
pub async fn llm_usage(
    conn: &mut PgConnection,
    tenant: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<UsageReport, sqlx::Error> {
    let filter = "WHERE tenant_id = $1 AND day BETWEEN $2 AND $3";
    let total = sqlx::query_as(&format!("SELECT {SUMS} FROM {CALLS} {filter}"))
        .bind(tenant)
        .bind(from)
        .bind(to)
        .fetch_one(&mut *conn)
        .await?;
    let by_session = sqlx::query_as(&format!(
        "SELECT session_id, incident_id, {SUMS} FROM {CALLS} {filter}
         GROUP BY session_id, incident_id ORDER BY cost_micros DESC, input_tokens DESC"
    ))
    .bind(tenant)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    let by_incident = sqlx::query_as(&format!(
        "SELECT incident_id, {SUMS} FROM {CALLS} {filter} AND incident_id IS NOT NULL
         GROUP BY incident_id ORDER BY cost_micros DESC, input_tokens DESC, incident_id"
    ))
    .bind(tenant)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    let by_model = sqlx::query_as(&format!(
        "SELECT model, {SUMS} FROM {CALLS} {filter} GROUP BY model ORDER BY model"
    ))
    .bind(tenant)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    let by_day = sqlx::query_as(&format!(
        "SELECT day, {SUMS} FROM {CALLS} {filter} GROUP BY day ORDER BY day"
    ))
    .bind(tenant)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    Ok(UsageReport {
        total,
        by_session,
        by_incident,
        by_model,
        by_day,
    })
}
