//! Lookups that find the tenant: a session or API token, an invitation, a user's memberships,
//! a user's password hash. They run before any tenant is known, through the SECURITY DEFINER
//! functions of `migrations/0003_app_role.sql`, each selecting only by a secret's SHA-256 (which
//! only its holder can produce) or by a user already authenticated — so the gateway's role
//! (`aurora_app`) never reads across tenants itself.

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

/// The owner of an unexpired, unrevoked login session, if still a member of its organisation
/// (and a member since before the session began).
pub async fn session_owner(
    pool: &PgPool,
    token_hash: &str,
) -> Result<Option<CredentialOwner>, sqlx::Error> {
    sqlx::query_as("SELECT * FROM aurora_session_owner($1)")
        .bind(token_hash)
        .fetch_optional(pool)
        .await
}

/// The owner of an unexpired, unrevoked API token, if still a member of its organisation.
pub async fn api_token_owner(
    pool: &PgPool,
    token_hash: &str,
) -> Result<Option<CredentialOwner>, sqlx::Error> {
    sqlx::query_as("SELECT * FROM aurora_api_token_owner($1)")
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
    sqlx::query_as("SELECT * FROM aurora_invitation_by_token($1)")
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
    sqlx::query_as("SELECT * FROM aurora_memberships($1)")
        .bind(user)
        .fetch_all(pool)
        .await
}

/// The user's id and password hash, for a login attempt.
pub async fn credentials(
    pool: &PgPool,
    email: &str,
) -> Result<Option<(Uuid, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, password_hash FROM aurora_user_credentials($1)")
        .bind(email)
        .fetch_optional(pool)
        .await
}

/// Ends a login session (whatever its tenant: the hash is the proof of holding it).
pub async fn revoke_session(pool: &PgPool, token_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT aurora_revoke_session($1)")
        .bind(token_hash)
        .execute(pool)
        .await?;
    Ok(())
}

/// An integration as the webhook intake needs it, found by the id in the URL.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IntakeIntegration {
    pub tenant_id: String,
    pub source: String,
    pub enabled: bool,
    pub deleted: bool,
    pub secret_ref: String,
    pub pinned_topic: Option<String>,
    pub settings: serde_json::Value,
}

pub async fn intake_integration(
    pool: &PgPool,
    id: Uuid,
) -> Result<Option<IntakeIntegration>, sqlx::Error> {
    sqlx::query_as("SELECT * FROM aurora_integration($1)")
        .bind(id)
        .fetch_optional(pool)
        .await
}
