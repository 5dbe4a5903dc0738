//! The organisation of the caller: members, invitations, API tokens and the audit log.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct OrganizationRow {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub member_count: i32,
}

pub async fn organization(
    conn: &mut PgConnection,
    tenant: &str,
) -> Result<Option<OrganizationRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, name, created_at, member_count FROM organizations WHERE tenant_id = $1",
    )
    .bind(tenant)
    .fetch_optional(&mut *conn)
    .await
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct MemberRow {
    pub user_id: Uuid,
    pub email: String,
    pub role: String,
    pub joined_at: DateTime<Utc>,
}

pub async fn members(conn: &mut PgConnection, tenant: &str) -> Result<Vec<MemberRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT user_id, email, role, joined_at FROM org_members WHERE tenant_id = $1 ORDER BY joined_at, email",
    )
    .bind(tenant)
    .fetch_all(&mut *conn)
    .await
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct InvitationRow {
    pub id: Uuid,
    pub email: String,
    pub role: String,
    pub status: String,
    pub invited_by: Uuid,
    pub expires_at: DateTime<Utc>,
}

pub async fn invitations(
    conn: &mut PgConnection,
    tenant: &str,
) -> Result<Vec<InvitationRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, email, role, status, invited_by, expires_at FROM org_invitations
         WHERE tenant_id = $1 ORDER BY expires_at DESC, id",
    )
    .bind(tenant)
    .fetch_all(&mut *conn)
    .await
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ApiTokenRow {
    pub id: Uuid,
    pub name: String,
    pub user_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub revoked: bool,
}

/// The API tokens of the organisation, or only those of `owner`.
pub async fn api_tokens(
    conn: &mut PgConnection,
    tenant: &str,
    owner: Option<Uuid>,
) -> Result<Vec<ApiTokenRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, name, user_id, expires_at, revoked FROM api_tokens
         WHERE tenant_id = $1 AND ($2::uuid IS NULL OR user_id = $2) ORDER BY expires_at DESC, id",
    )
    .bind(tenant)
    .bind(owner)
    .fetch_all(&mut *conn)
    .await
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AuditRow {
    pub sequence: i64,
    pub event_type: String,
    pub at: DateTime<Utc>,
    pub actor: Option<Uuid>,
    pub description: String,
    /// The event's own fields; they depend on `event_type`, so the shape is free-form here.
    pub data: Value,
}

/// The newest `limit` audit entries before stream sequence `before` (all when `None`).
pub async fn audit_log(
    conn: &mut PgConnection,
    tenant: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    sqlx::query_as(
        // The organisation's own entries and its connectors' (both numbered by the EVENTS
        // stream, so one order and one cursor serve both).
        "SELECT stream_sequence AS sequence, event_type, at, actor, description, data FROM (
           SELECT * FROM audit_log WHERE tenant_id = $1
           UNION ALL SELECT * FROM connector_audit WHERE tenant_id = $1
         ) entries
         WHERE $2::bigint IS NULL OR stream_sequence < $2
         ORDER BY stream_sequence DESC LIMIT $3",
    )
    .bind(tenant)
    .bind(before)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct IntegrationRow {
    pub id: Uuid,
    pub source: String,
    pub name: String,
    pub enabled: bool,
    pub settings: Value,
    pub pinned_topic: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The tenant's integrations that are not deleted, oldest first.
pub async fn integrations(
    conn: &mut PgConnection,
    tenant: &str,
) -> Result<Vec<IntegrationRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, source, name, enabled, settings, pinned_topic, created_at, updated_at
         FROM integrations WHERE tenant_id = $1 AND NOT deleted ORDER BY created_at, id",
    )
    .bind(tenant)
    .fetch_all(&mut *conn)
    .await
}

pub async fn integration(
    conn: &mut PgConnection,
    tenant: &str,
    id: Uuid,
) -> Result<Option<IntegrationRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, source, name, enabled, settings, pinned_topic, created_at, updated_at
         FROM integrations WHERE tenant_id = $1 AND id = $2 AND NOT deleted",
    )
    .bind(tenant)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
}

/// One alert an integration delivered, and what correlation made of it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AlertDeliveryRow {
    /// The alert's place in the intake log (its delivery and index there) as an id.
    pub id: Uuid,
    /// The source's own id of the alert.
    pub alert_id: String,
    pub title: String,
    pub service: String,
    pub received_at: DateTime<Utc>,
    /// The incident it opened or joined.
    pub incident_id: Uuid,
    /// Whether it opened that incident (else it joined it).
    pub opened: bool,
    /// Why, in words.
    pub decision: String,
}

/// The alerts integration `integration` delivered, newest first, from after `before` (the
/// `(received_at, id)` of the last row of the previous page).
pub async fn alert_deliveries(
    conn: &mut PgConnection,
    tenant: &str,
    integration: Uuid,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<AlertDeliveryRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, alert_id, title, service, received_at, incident_id, opened, decision
         FROM alert_deliveries
         WHERE tenant_id = $1 AND integration_id = $2
           AND ($3::timestamptz IS NULL OR (received_at, id) < ($3, $4))
         ORDER BY received_at DESC, id DESC LIMIT $5",
    )
    .bind(tenant)
    .bind(integration)
    .bind(before.map(|(at, _)| at))
    .bind(before.map(|(_, id)| id))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
}
