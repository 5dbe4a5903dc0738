//! The identity store's writes: users and login sessions. These live only in Postgres (see
//! `migrations/0002_identity.sql` for why they are not events); reads go through
//! `aurora_projections::queries::identity`.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// Inserts a user; `None` if the email is already registered.
pub async fn insert_user(
    conn: &mut PgConnection,
    email: &str,
    password_hash: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO users (id, email, password_hash) VALUES ($1, $2, $3)
         ON CONFLICT (email) DO NOTHING RETURNING id",
    )
    .bind(Uuid::now_v7())
    .bind(email)
    .bind(password_hash)
    .fetch_optional(conn)
    .await
}

/// Inside a transaction scoped to `tenant` (row-level security checks the row's tenant).
pub async fn insert_session(
    conn: &mut PgConnection,
    token_hash: &str,
    tenant: &str,
    user: Uuid,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO auth_sessions (token_hash, tenant_id, user_id, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(tenant)
    .bind(user)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}
