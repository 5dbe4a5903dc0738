//! Connectors as the API lists them and as the agent looks them up.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

/// A connector as people see it (no secret reference: that is the agent's business).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ConnectorRow {
    pub id: Uuid,
    pub kind: String,
    pub status: String,
    pub settings: Value,
    pub projects: Value,
    pub root_project: Option<String>,
    pub last_check_ok: bool,
    pub last_check_detail: Option<String>,
    pub last_checked_at: DateTime<Utc>,
    pub connected_by: Uuid,
    pub connected_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, kind, status, settings, projects, root_project, last_check_ok,
    last_check_detail, last_checked_at, connected_by, connected_at, updated_at";

/// The tenant's connectors that are not disconnected, oldest first.
pub async fn connectors(
    conn: &mut PgConnection,
    tenant: &str,
) -> Result<Vec<ConnectorRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM connectors WHERE tenant_id = $1 AND status <> 'disconnected'
         ORDER BY connected_at, id"
    ))
    .bind(tenant)
    .fetch_all(&mut *conn)
    .await
}

/// One connector of the tenant, unless it was disconnected.
pub async fn connector(
    conn: &mut PgConnection,
    tenant: &str,
    id: Uuid,
) -> Result<Option<ConnectorRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM connectors WHERE tenant_id = $1 AND id = $2 AND status <> 'disconnected'"
    ))
    .bind(tenant)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
}

/// The live account of a kind as the agent needs it: its folded state (settings, projects,
/// secret reference).
/// Every live connector of the tenant, with its kind: `(id, kind, state)`, newest first.
pub async fn live_connectors(
    conn: &mut PgConnection,
    tenant: &str,
) -> Result<Vec<(Uuid, String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, kind, state FROM connectors WHERE tenant_id = $1 AND status <> 'disconnected'
         ORDER BY connected_at DESC, id DESC",
    )
    .bind(tenant)
    .fetch_all(&mut *conn)
    .await
}
