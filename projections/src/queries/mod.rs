//! The only SQL that reads read models.
//!
//! Tenant data is read inside a [`scoped`] transaction: it runs as the role `aurora_app`, which
//! row-level security limits to the rows of `app.tenant_id` (migration `0002_identity.sql`). Every
//! query also filters by tenant itself, so isolation holds twice: a query that forgets its filter
//! still sees one tenant, and a table that lost its policy still gets filtered.
//!
//! [`identity`] holds the few lookups that run before the tenant is known (a token or invitation
//! finds its organisation); they read as the connecting user and filter by the secret's hash.

mod connectors;
mod graph;
pub mod identity;
mod incidents;
mod investigations;
mod knowledge;
mod metrics;
mod organizations;
mod postmortems;
mod sessions;

use std::time::{Duration, Instant};

use sqlx::{PgPool, Postgres, Transaction};

pub use connectors::*;
pub use graph::*;
pub use incidents::*;
pub use investigations::*;
pub use knowledge::*;
pub use metrics::*;
pub use organizations::*;
pub use postmortems::*;
pub use sessions::*;

/// A read transaction that sees only the rows of `tenant`, every statement in it the same
/// snapshot: a page read by several queries (an incident, its alerts, its timeline) never mixes
/// two states of a projection committed between them.
pub async fn scoped(
    pool: &PgPool,
    tenant: &str,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    as_tenant(tx, tenant).await
}

/// A read-committed transaction scoped to `tenant` for the application's few writes of its own
/// (a login session): a snapshot would turn a concurrent conflicting insert into a serialization
/// failure instead of a conflict.
pub async fn scoped_write(
    pool: &PgPool,
    tenant: &str,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    as_tenant(pool.begin().await?, tenant).await
}

async fn as_tenant(
    mut tx: Transaction<'static, Postgres>,
    tenant: &str,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    // `set_config(…, true)` is `SET LOCAL`: both end with the transaction, so a pooled connection
    // never carries one request's tenant into the next.
    sqlx::query(
        "SELECT set_config('role', 'aurora_app', true), set_config('app.tenant_id', $1, true)",
    )
    .bind(tenant)
    .execute(&mut *tx)
    .await?;
    Ok(tx)
}

/// Every projector's checkpoint.
pub async fn checkpoints(pool: &PgPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT projector, last_sequence FROM projector_checkpoints ORDER BY projector")
        .fetch_all(pool)
        .await
}

/// Waits until `projector` has applied the event at `sequence` (read-your-writes for a caller
/// that just executed a command). `false` if `timeout` passed first.
pub async fn wait_for_checkpoint(
    pool: &PgPool,
    projector: &str,
    sequence: u64,
    timeout: Duration,
) -> Result<bool, sqlx::Error> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT last_sequence FROM projector_checkpoints WHERE projector = $1",
        )
        .bind(projector)
        .fetch_optional(pool)
        .await?;
        if at.is_some_and(|at| at as u64 >= sequence) {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}
