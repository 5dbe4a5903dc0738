//! Investigations (root-cause analyses) and what they produced.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

/// One run as `investigations` holds it (its folded state aside).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvestigationRow {
    pub id: Uuid,
    pub incident_id: Uuid,
    pub episode: i32,
    /// `opened` or `manual`
    pub trigger: String,
    pub requested_by: Option<String>,
    pub status: String,
    pub session_id: Option<Uuid>,
    pub model: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub last_progress_at: DateTime<Utc>,
    pub conclusion: Option<String>,
    pub asked_conclusion: Option<String>,
    pub summary: Option<String>,
    pub reason: Option<String>,
    pub model_calls: i32,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_micros: i64,
    pub last_sequence: i64,
}

/// One thought, tool step, finding, suggestion or context alert of a run (`kind`), as the
/// domain state holds it (`data`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvestigationItem {
    /// See `aurora_projections::investigations::kind`.
    pub kind: String,
    pub item_key: String,
    /// The stream sequence of the event that added it.
    pub position: i64,
    pub at: DateTime<Utc>,
    pub data: Value,
}

/// Run `id`, if the projector has seen it.
pub async fn investigation(
    conn: &mut PgConnection,
    tenant: &str,
    id: Uuid,
) -> Result<Option<InvestigationRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, incident_id, episode, trigger, requested_by, status, session_id, model, requested_at,
                started_at, ended_at, last_progress_at, conclusion, asked_conclusion, summary, reason,
                model_calls, input_tokens, output_tokens, cost_micros, last_sequence
         FROM investigations WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
}

/// Every item of run `id`, in the order they were added.
pub async fn investigation_items(
    conn: &mut PgConnection,
    tenant: &str,
    id: Uuid,
) -> Result<Vec<InvestigationItem>, sqlx::Error> {
    sqlx::query_as(
        "SELECT kind, item_key, position, at, data FROM investigation_items
         WHERE tenant_id = $1 AND run_id = $2 ORDER BY position, idx",
    )
    .bind(tenant)
    .bind(id)
    .fetch_all(&mut *conn)
    .await
}
