//! `aurora audit verify`: replay every projector into a scratch schema and report every row that
//! differs from the live read models.
//!
//! The scratch copy is first built up to the live checkpoints as they were when the audit began
//! (so it is never ahead of the live tables), then, with the live checkpoint rows locked so the
//! projectors hold still, caught up to them exactly and compared table by table with `EXCEPT`
//! in both directions.

use async_nats::jetstream;
use serde_json::Value;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::error::ProjectionError;
use crate::projector::Projector;
use crate::replay::{build, create_schema};

/// One row that is in one side and not the other.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    pub table: &'static str,
    /// `live` (only in the live table) or `rebuilt` (only in the replayed one).
    pub side: &'static str,
    pub row: Value,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let where_ = if self.side == "live" {
            "only in the live table"
        } else {
            "only in the replay"
        };
        write!(f, "{} ({where_}): {}", self.table, self.row)
    }
}

/// Rebuilds everything into a scratch schema and returns every differing row.
pub async fn verify(
    pool: &PgPool,
    js: &jetstream::Context,
) -> Result<Vec<Difference>, ProjectionError> {
    let scratch = format!("audit_{}", Uuid::new_v4().simple());
    create_schema(pool, &scratch, &Projector::ALL).await?;
    let result = compare_all(pool, js, &scratch).await;
    sqlx::query(&format!("DROP SCHEMA {scratch} CASCADE"))
        .execute(pool)
        .await?;
    result
}

async fn compare_all(
    pool: &PgPool,
    js: &jetstream::Context,
    scratch: &str,
) -> Result<Vec<Difference>, ProjectionError> {
    for p in Projector::ALL {
        let live = crate::runner::checkpoint(pool, p).await?;
        build(pool, js, p, scratch, Some(live), None).await?;
    }
    let mut tx = pool.begin().await?;
    let mut differences = Vec::new();
    for p in Projector::ALL {
        let live: i64 = sqlx::query_scalar(
            "SELECT last_sequence FROM public.projector_checkpoints WHERE projector = $1 FOR SHARE",
        )
        .bind(p.name())
        .fetch_one(&mut *tx)
        .await?;
        build(pool, js, p, scratch, Some(live as u64), None).await?;
        for table in p.tables() {
            let rows = sqlx::query(&format!(
                "(SELECT 'live' AS side, to_jsonb(d) AS row FROM (SELECT * FROM public.{table} EXCEPT SELECT * FROM {scratch}.{table}) d)
                 UNION ALL
                 (SELECT 'rebuilt' AS side, to_jsonb(d) AS row FROM (SELECT * FROM {scratch}.{table} EXCEPT SELECT * FROM public.{table}) d)"
            ))
            .fetch_all(&mut *tx)
            .await?;
            for row in rows {
                let side: String = row.try_get("side")?;
                differences.push(Difference {
                    table,
                    side: if side == "live" { "live" } else { "rebuilt" },
                    row: row.try_get("row")?,
                });
            }
        }
    }
    tx.commit().await?;
    Ok(differences)
}
