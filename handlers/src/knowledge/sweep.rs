//! Documents whose process stopped: one in `processing` that made no progress for the limit
//! (3 minutes), and one left in `uploading` as long (its process stopped before the file was
//! stored), are failed with the reason. Progress is what processing reports through its
//! [`Heartbeat`] as it embeds: a large upload (50 MiB of text, ~40 000 chunks) takes longer than
//! the limit, and is not failed while it keeps going.

use std::time::{Duration, Instant};

use aurora_domain::knowledge::{DocumentStatus, STUCK_AFTER_SECS};
use aurora_domain::TenantId;
use aurora_projections::queries;
use chrono::Utc;
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

use super::{KnowledgeBase, KnowledgeBaseError};

/// Reports per limit, at the least: a heartbeat is written at most this often within it.
const BEATS_PER_LIMIT: u32 = 6;

/// What processing tells the sweep: how many chunks of document `id` are embedded, written at
/// most every sixth of the limit (a write per embedding step would cost a round trip per 32
/// chunks for nothing).
pub struct Heartbeat<'a> {
    pool: &'a PgPool,
    tenant: &'a TenantId,
    id: Uuid,
    every: Duration,
    last: Option<Instant>,
}

impl<'a> Heartbeat<'a> {
    pub fn new(kb: &KnowledgeBase, pool: &'a PgPool, tenant: &'a TenantId, id: Uuid) -> Self {
        Self {
            pool,
            tenant,
            id,
            every: kb.config.stuck_after / BEATS_PER_LIMIT,
            last: None,
        }
    }

    /// `chunks` are embedded now: recorded, unless the last record is recent.
    pub async fn beat(&mut self, chunks: usize) -> Result<(), sqlx::Error> {
        if self.last.is_some_and(|last| last.elapsed() < self.every) {
            return Ok(());
        }
        queries::record_knowledge_progress(
            self.pool,
            self.tenant.as_str(),
            self.id,
            i64::try_from(chunks).unwrap_or(i64::MAX),
            Utc::now(),
        )
        .await?;
        self.last = Some(Instant::now());
        Ok(())
    }
}

impl KnowledgeBase {
    /// Fails every document in `processing` without progress for longer than the configured
    /// limit (3 minutes), and every one in `uploading` for as long; how many.
    pub async fn sweep(&self, pool: &PgPool) -> Result<usize, KnowledgeBaseError> {
        let limit = chrono::Duration::from_std(self.config.stuck_after)
            .unwrap_or(chrono::Duration::seconds(STUCK_AFTER_SECS));
        let stuck = queries::knowledge_stuck(pool, Utc::now() - limit).await?;
        let seconds = self.config.stuck_after.as_secs_f64();
        for document in &stuck {
            let Ok(tenant) = TenantId::parse(document.tenant_id.clone()) else {
                continue;
            };
            let reason = if document.status == DocumentStatus::Uploading.as_str() {
                format!(
                    "the upload did not finish within {seconds} s (its process stopped before \
                     the file was stored); delete it and upload the file again"
                )
            } else {
                format!(
                    "stuck in processing: no progress for more than {seconds} s (its process \
                     stopped)"
                )
            };
            self.fail(&tenant, document.id, reason).await?;
        }
        Ok(stuck.len())
    }

    pub(super) async fn sweep_loop(
        self,
        pool: PgPool,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), KnowledgeBaseError> {
        loop {
            tokio::select! {
                _ = shutdown.wait_for(|s| *s) => return Ok(()),
                _ = tokio::time::sleep(self.config.sweep_every) => {}
            }
            if let Err(e) = self.sweep(&pool).await {
                tracing::warn!(error = %e, "knowledge-base sweep failed; trying again later");
            }
        }
    }
}
