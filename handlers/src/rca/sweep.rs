//! The process manager's clock: queued runs start as slots free, and runs that cannot end by
//! themselves are ended — never "running" forever (upstream's PRs 344 and 439 were RCAs stuck
//! after a worker died).
//!
//! A run is dead when it recorded nothing for `stale` and no process holds its lease (the agent's
//! run lease on its session, refreshed while it works); it is [resumed](super::resume) by the
//! sweeping process when the rule allows, and failed with the reason otherwise. A run past
//! its time limit is failed whatever its worker does. A run requested or queued whose admitting
//! process died is admitted again (admission and start are idempotent). Every process sweeps; the
//! investigation's own events decide, so two sweeps fail a run once.

use aurora_domain::investigation::InvestigationStatus;
use aurora_domain::IncidentId;
use chrono::{TimeDelta, Utc};
use tokio::sync::watch;

use super::admission::LiveRun;
use super::resume::Resumption;
use super::{Investigator, RcaError};
use crate::agent::investigation::{self, journal};
use crate::agent::lease;

/// A requested run not started for this long is admitted again.
const ADMIT_AGAIN_AFTER: TimeDelta = TimeDelta::seconds(10);
/// The sweep runs every this many ticks.
const SWEEP_EVERY_TICKS: u32 = 5;

impl Investigator {
    pub(super) async fn ticking(self, mut shutdown: watch::Receiver<bool>) {
        let mut ticks = 0u32;
        loop {
            tokio::select! {
                _ = shutdown.wait_for(|s| *s) => return,
                _ = tokio::time::sleep(self.inner.config.tick) => {}
            }
            if let Err(e) = self.release().await {
                tracing::warn!(error = %e, "queued investigations could not be looked at");
            }
            ticks = ticks.wrapping_add(1);
            if ticks.is_multiple_of(SWEEP_EVERY_TICKS) {
                match self.sweep().await {
                    Ok(0) => {}
                    Ok(n) => tracing::warn!(
                        runs = n,
                        "failed investigations that could not end by themselves"
                    ),
                    Err(e) => tracing::warn!(error = %e, "the investigation sweep failed"),
                }
                match self.retry_postmortems().await {
                    Ok(0) => {}
                    Ok(n) => tracing::warn!(
                        postmortems = n,
                        "writing postmortems again whose process stopped"
                    ),
                    Err(e) => tracing::warn!(error = %e, "owed postmortems could not be looked at"),
                }
            }
        }
    }

    /// Starts the queued runs whose slot has come.
    async fn release(&self) -> Result<(), RcaError> {
        let buckets = self.buckets().await?;
        for tenant in buckets.queued_tenants().await? {
            for run in buckets.release(&tenant, self.inner.config.limit).await? {
                self.start(&tenant, run).await?;
            }
        }
        Ok(())
    }

    /// One sweep of the runs that have not ended; how many it failed.
    pub async fn sweep(&self) -> Result<usize, RcaError> {
        let buckets = self.buckets().await?;
        let mut failed = 0;
        for live in buckets.live_runs().await? {
            if self.sweep_one(&live).await? {
                failed += 1;
            }
        }
        Ok(failed)
    }

    async fn sweep_one(&self, live: &LiveRun) -> Result<bool, RcaError> {
        let buckets = self.buckets().await?;
        let now = Utc::now();
        let Some(state) = self.investigation(&live.tenant, live.run).await? else {
            // Its request was never recorded; the incident's event comes back until it is.
            if now - live.since > TimeDelta::hours(1) {
                buckets.ended(&live.tenant, live.run).await?;
            }
            return Ok(false);
        };
        let stale = TimeDelta::from_std(self.inner.config.stale).unwrap_or(TimeDelta::minutes(5));
        let limit =
            TimeDelta::from_std(self.inner.config.time_limit).unwrap_or(TimeDelta::minutes(30));
        let reason = match state.status {
            status if status.has_ended() => {
                buckets.ended(&live.tenant, live.run).await?;
                return Ok(false);
            }
            InvestigationStatus::Requested | InvestigationStatus::Queued => {
                let since = state.last_progress_at.unwrap_or(live.since);
                if now - since > ADMIT_AGAIN_AFTER {
                    self.admit(&live.tenant, live.run).await?;
                }
                return Ok(false);
            }
            _ => {
                let started = state.started_at.unwrap_or(live.since);
                let progress = state.last_progress_at.unwrap_or(started);
                if now - started > limit + TimeDelta::seconds(30) {
                    format!(
                        "the investigation ran into its time limit of {} minutes",
                        limit.num_minutes()
                    )
                } else if now - progress > stale && !self.leased(live).await? {
                    match self.resume(&live.tenant, live.run, &state).await? {
                        Resumption::Resumed => return Ok(false),
                        Resumption::Impossible(why) => format!(
                            "its worker stopped: no progress for {} s and no live process holds the run; it cannot be resumed: {why}",
                            (now - progress).num_seconds()
                        ),
                    }
                } else {
                    return Ok(false);
                }
            }
        };
        let Some(incident) = state.incident else {
            return Ok(false);
        };
        let failed = journal::fail(
            &self.inner.investigations,
            &self.inner.incidents,
            &live.tenant,
            live.run,
            IncidentId(incident.0),
            reason,
        )
        .await?;
        buckets.ended(&live.tenant, live.run).await?;
        Ok(failed)
    }

    /// Whether a live process holds the agent's run lease of this investigation's session.
    async fn leased(&self, live: &LiveRun) -> Result<bool, RcaError> {
        self.inner
            .leases
            .is_held(&live.tenant, investigation::session_id(live.run))
            .await
            .map_err(|e| RcaError::Bucket {
                bucket: lease::LEASE_BUCKET,
                reason: e.to_string(),
            })
    }
}
