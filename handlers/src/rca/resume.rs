//! Continuing a run whose worker stopped, instead of failing it (issue 15: "resumed from its
//! last step if its worker is back").
//!
//! The rule. The sweep finds a run `running` with no progress for `AURORA_RCA_STALE_SECS` and no
//! live process holding its lease (a run holds it from its first step and refreshes it while it
//! works, so a live run always has one). The sweeping process then continues it, when:
//! - at least a minute of the run's 30-minute limit is left (counted from its first start: a
//!   resumption does not buy more time), and
//! - it ran with a model and this process has one (a run without a model is the evidence pass,
//!   which any process can run again: its steps are idempotent), and
//! - it was resumed fewer than [`MAX_RESUMES`](aurora_domain::investigation::MAX_RESUMES) times (a run that keeps killing its worker ends).
//!
//! `Resumed` is recorded on the investigation first, deciding on the attempt number, so of two
//! processes sweeping at once one continues it. The agent then continues from the session's
//! history ([`crate::agent::investigation::resume`]): no recorded step is done again. Otherwise
//! the run is failed, saying why it could not be continued.

use aurora_domain::investigation::{InvestigationCommand, InvestigationError, InvestigationState};
use aurora_domain::TenantId;
use chrono::{TimeDelta, Utc};
use uuid::Uuid;

use super::start::Launch;
use super::{Investigator, RcaError};
use crate::agent::investigation::counted;

/// A run with less of its time limit left is failed rather than continued.
const LEAST_TIME_LEFT: TimeDelta = TimeDelta::minutes(1);

/// What the sweep did with a run whose worker stopped.
pub(super) enum Resumption {
    /// This process (or another, deciding at the same moment) continues it.
    Resumed,
    /// It cannot be continued, for this reason.
    Impossible(String),
}

impl Investigator {
    /// Continues `run` of `tenant` (`state` as the sweep loaded it), if the rule allows.
    pub(super) async fn resume(
        &self,
        tenant: &TenantId,
        run: Uuid,
        state: &InvestigationState,
    ) -> Result<Resumption, RcaError> {
        let Some(incident) = state.incident else {
            return Ok(Resumption::Impossible("it names no incident".into()));
        };
        let limit =
            TimeDelta::from_std(self.inner.config.time_limit).unwrap_or(TimeDelta::minutes(30));
        let left = state
            .started_at
            .map_or(limit, |started| limit - (Utc::now() - started));
        if left < LEAST_TIME_LEFT {
            return Ok(Resumption::Impossible(format!(
                "less than {} s of its time limit is left",
                LEAST_TIME_LEFT.num_seconds()
            )));
        }
        let with_model = state.model.is_some();
        if with_model && self.inner.agent.config().llm.is_none() {
            return Ok(Resumption::Impossible(
                "it ran with a model and this process has none configured".into(),
            ));
        }
        let resumed = counted::execute(
            &self.inner.investigations,
            tenant,
            run,
            InvestigationCommand::Resume {
                worker: self.inner.worker.clone(),
                attempt: state.resumes + 1,
                at: Utc::now(),
            },
        )
        .await?;
        match resumed {
            Ok(_) => {}
            // Another process won this attempt and continues the run.
            Err(InvestigationError::AlreadyResumed { .. }) => return Ok(Resumption::Resumed),
            Err(refusal) => return Ok(Resumption::Impossible(refusal.to_string())),
        }
        tracing::warn!(%run, attempt = state.resumes + 1, "continuing an investigation whose worker stopped");
        let launch = Launch {
            run,
            incident,
            with_model,
            context_seen: state.context.len(),
            time_limit: left.to_std().unwrap_or_default(),
        };
        self.launch(tenant, launch).await?;
        Ok(Resumption::Resumed)
    }
}
