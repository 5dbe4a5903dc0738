//! Postmortems: their versions, the latest last.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

/// One version of a postmortem, without its text.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PostmortemVersionSummary {
    pub version: i32,
    /// How it came to be: generated (by the model, with its cost, or by the template, saying
    /// why), regenerated, edited (on which version) or restored (from which version).
    #[schema(value_type = aurora_domain::postmortem::Change)]
    pub change: Value,
    /// The person behind it; null for the generation when the incident resolved.
    pub by: Option<String>,
    pub at: DateTime<Utc>,
    /// The length of its text, in characters.
    pub chars: i32,
}

/// One version of a postmortem with its text.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PostmortemVersionRow {
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub summary: PostmortemVersionSummary,
    pub markdown: String,
}

/// Every version of postmortem `id`, oldest first (none: there is no postmortem yet).
pub async fn postmortem_versions(
    conn: &mut PgConnection,
    tenant: &str,
    id: Uuid,
) -> Result<Vec<PostmortemVersionSummary>, sqlx::Error> {
    sqlx::query_as(
        "SELECT version, change, by, at, chars FROM postmortem_versions
         WHERE tenant_id = $1 AND postmortem_id = $2 ORDER BY version",
    )
    .bind(tenant)
    .bind(id)
    .fetch_all(&mut *conn)
    .await
}

/// Version `version` of postmortem `id`, or its latest when `None`.
pub async fn postmortem_version(
    conn: &mut PgConnection,
    tenant: &str,
    id: Uuid,
    version: Option<i32>,
) -> Result<Option<PostmortemVersionRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT version, change, by, at, chars, markdown FROM postmortem_versions
         WHERE tenant_id = $1 AND postmortem_id = $2 AND ($3::integer IS NULL OR version = $3)
         ORDER BY version DESC LIMIT 1",
    )
    .bind(tenant)
    .bind(id)
    .bind(version)
    .fetch_optional(&mut *conn)
    .await
}
