//! A background investigation's agent run: a question in the investigation's own session,
//! answered like a chat question with its [`Journal`] attached.

use std::time::Duration;

use aurora_domain::chat::{FirstQuestion, NO_MODEL_TEXT};
use aurora_domain::investigation::Investigation;
use aurora_domain::{ChatCommand, ChatError, ChatMode, Incident, IncidentId, SessionId, TenantId};
use aurora_nats::envelope::Context;
use aurora_nats::{subjects, AggregateStore, StoreError};
use chrono::Utc;
use tracing::Instrument;
use uuid::Uuid;

use super::run_loop::Run;
use super::Agent;
use crate::agent::investigation::{self, journal, resume, Journal};
use crate::agent::session::answer_id;

/// What an investigation's run starts from.
pub struct Brief {
    pub run: Uuid,
    pub incident: IncidentId,
    /// The session's title.
    pub title: String,
    /// The investigation's input: the alert, what correlated, what changed.
    pub text: String,
    /// Correlated alerts already in `text` (later ones reach the model as they come).
    pub context_seen: usize,
    /// The run is failed when it lasts longer.
    pub time_limit: Duration,
}

/// Why an investigation's agent did not start.
#[derive(Debug, thiserror::Error)]
pub enum InvestigateError {
    #[error("{NO_MODEL_TEXT}")]
    NoModel,
    #[error("the investigation's session refused its question: {0}")]
    Refused(ChatError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Agent {
    /// Starts the agent on investigation `brief.run` (already recorded as started by the
    /// caller), in its background session; returns once the run is spawned. A repeated call for
    /// an answered question, or one running in this process, starts nothing; for a question
    /// asked before and not answered (its worker stopped), the run continues from what it
    /// recorded ([`resume`]): calls it had not finished are recorded as interrupted, not run
    /// again.
    pub async fn investigate(
        &self,
        tenant: &TenantId,
        brief: Brief,
        investigations: AggregateStore<Investigation>,
        incidents: AggregateStore<Incident>,
    ) -> Result<(), InvestigateError> {
        let Some(llm) = self.inner.llm.clone() else {
            return Err(InvestigateError::NoModel);
        };
        let session = investigation::session_id(brief.run);
        let question = investigation::question_id(brief.run);
        let control = self
            .inner
            .nats
            .subscribe(subjects::aggregate(tenant, "session", session))
            .await
            .map_err(StoreError::unavailable)?;
        let ask = ChatCommand::Ask(FirstQuestion {
            id: SessionId(session),
            owner: investigation::OWNER.to_owned(),
            title: brief.title.clone(),
            message_id: question,
            text: brief.text.clone(),
            mode: ChatMode::Ask,
            at: Utc::now(),
        });
        let (executed, mut state) = self
            .inner
            .sessions
            .store()
            .execute_with_state(tenant, session, ask, Context::new_root())
            .await?
            .map_err(InvestigateError::Refused)?;
        let answer = answer_id(question);
        if executed.events == 0 && state.has_message(answer) {
            return Ok(());
        }
        let running_here = self
            .inner
            .running
            .lock()
            .map(|running| running.contains(&question))
            .unwrap_or(true);
        if running_here {
            return Ok(());
        }
        let journal = Journal::new(
            tenant.clone(),
            brief.run,
            brief.incident,
            investigations.clone(),
            incidents.clone(),
            brief.context_seen,
        );
        // Asked before: the run is resumed. Alerts handed to the model before then are handed
        // again, as the messages that carried them were not recorded.
        let journal = if executed.events == 0 {
            let unfinished = resume::unfinished(&state);
            for step_id in &unfinished {
                self.inner
                    .sessions
                    .record(
                        tenant,
                        session,
                        ChatCommand::RecordToolError {
                            tool_call_id: step_id.clone(),
                            error: resume::INTERRUPTED.to_owned(),
                            duration_ms: 0,
                            at: Utc::now(),
                        },
                    )
                    .await?;
                journal
                    .step_finished(step_id, &Err(resume::INTERRUPTED.to_owned()), 0)
                    .await?;
            }
            if !unfinished.is_empty() {
                state = self
                    .inner
                    .sessions
                    .load(tenant, session)
                    .await?
                    .unwrap_or(state);
            }
            journal.seen_none()
        } else {
            journal
        };
        let fresh = self
            .inner
            .running
            .lock()
            .map(|mut running| running.insert(question))
            .unwrap_or(false);
        if !fresh {
            return Ok(());
        }
        let run = Run {
            agent: self.clone(),
            tenant: tenant.clone(),
            session,
            question,
            answer,
            mode: ChatMode::Ask,
            model: llm.model.clone(),
            hints: String::new(),
            provider_preference: Vec::new(),
            llm,
            calls: Vec::new(),
            stopping: self.inner.stopping.subscribe(),
            journal: Some(journal),
        };
        let agent = self.clone();
        let tenant = tenant.clone();
        let limited = async move {
            let limit = brief.time_limit;
            if tokio::time::timeout(limit, run.go(state, control))
                .await
                .is_err()
            {
                if let Ok(mut running) = agent.inner.running.lock() {
                    running.remove(&question);
                }
                let reason = format!(
                    "the investigation ran into its time limit of {} minutes",
                    limit.as_secs() / 60
                );
                if let Err(e) = journal::fail(
                    &investigations,
                    &incidents,
                    &tenant,
                    brief.run,
                    brief.incident,
                    reason,
                )
                .await
                {
                    tracing::error!(run = %brief.run, error = %e, "a timed-out investigation could not be failed");
                }
            }
        };
        if let Ok(mut runs) = self.inner.runs.lock() {
            while runs.try_join_next().is_some() {}
            // In the current span: the run belongs to the incident's trace.
            runs.spawn(limited.in_current_span());
        }
        Ok(())
    }
}
