//! Lookups that find the tenant: a session or API token, an invitation, a user's memberships.
//! They run as the connecting user, before any tenant is known, and select by a secret's
//! SHA-256 (which only its holder can produce) or by a user id already authenticated.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// Who a valid credential belongs to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CredentialOwner {
    pub user_id: Uuid,
    pub email: String,
    pub tenant_id: String,
    pub organization_id: Uuid,
    pub role: String,
    /// The API token's id, when the credential is one.
    pub token_id: Option<Uuid>,
}

/// The owner of an unexpired, unrevoked login session, if still a member of its organisation.
pub async fn session_owner(
    pool: &PgPool,
    token_hash: &str,
) -> Result<Option<CredentialOwner>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.user_id, m.email, s.tenant_id, o.id AS organization_id, m.role, NULL::uuid AS token_id
         FROM auth_sessions s
         JOIN org_members m ON m.tenant_id = s.tenant_id AND m.user_id = s.user_id
         JOIN organizations o ON o.tenant_id = s.tenant_id
         WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await
}

/// The owner of an unexpired, unrevoked API token, if still a member of its organisation.
pub async fn api_token_owner(
    pool: &PgPool,
    token_hash: &str,
) -> Result<Option<CredentialOwner>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.user_id, m.email, t.tenant_id, o.id AS organization_id, m.role, t.id AS token_id
         FROM api_tokens t
         JOIN org_members m ON m.tenant_id = t.tenant_id AND m.user_id = t.user_id
         JOIN organizations o ON o.tenant_id = t.tenant_id
         WHERE t.token_hash = $1 AND NOT t.revoked AND t.expires_at > now()",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvitationByToken {
    pub tenant_id: String,
    pub organization_id: Uuid,
    pub organization_name: String,
    pub id: Uuid,
    pub email: String,
    pub role: String,
    pub status: String,
    pub expires_at: DateTime<Utc>,
}

pub async fn invitation_by_token(
    pool: &PgPool,
    token_hash: &str,
) -> Result<Option<InvitationByToken>, sqlx::Error> {
    sqlx::query_as(
        "SELECT i.tenant_id, o.id AS organization_id, o.name AS organization_name, i.id, i.email,
                i.role, i.status, i.expires_at
         FROM org_invitations i JOIN organizations o ON o.tenant_id = i.tenant_id
         WHERE i.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Membership {
    pub tenant_id: String,
    pub organization_id: Uuid,
    pub organization_name: String,
    pub role: String,
    pub joined_at: DateTime<Utc>,
}

/// The organisations `user` belongs to, oldest membership first.
pub async fn memberships(pool: &PgPool, user: Uuid) -> Result<Vec<Membership>, sqlx::Error> {
    sqlx::query_as(
        "SELECT m.tenant_id, o.id AS organization_id, o.name AS organization_name, m.role, m.joined_at
         FROM org_members m JOIN organizations o ON o.tenant_id = m.tenant_id
         WHERE m.user_id = $1 ORDER BY m.joined_at, m.tenant_id",
    )
    .bind(user)
    .fetch_all(pool)
    .await
}
