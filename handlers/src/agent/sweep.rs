//! Runs whose process died (a crash, `kill -9`, a lost machine) end properly anyway.
//!
//! Every run that lasts holds a lease: a key `<tenant>.<session>` in the NATS KV bucket
//! `agent_runs`, first written half the sweep's quiet period into the run (a quick answer never
//! needs one), rewritten every [`LEASE_REFRESH`](super::lease::LEASE_REFRESH), gone
//! [`LEASE_TTL`](super::lease::LEASE_TTL) after its last write (see [`lease`](super::lease)).
//! Every handlers process sweeps now and then: a recently active session that still waits — its newest message
//! is an unanswered question, or a confirmation is pending — and has no lease, lost its run. The
//! sweep records what a stopped run would have: the pending confirmations are withdrawn (answered
//! `cancel`, so a reloaded page no longer offers them) and the question gets an answer saying the
//! work was interrupted. Both are idempotent, so several processes sweeping at once is harmless.

use std::time::Duration;

use aurora_domain::chat::frames::{code, RunStatus, ServerFrame};
use aurora_domain::chat::ChatSessionState;
use aurora_domain::values::MessageRole;
use aurora_domain::{ChatCommand, ConfirmationDecision, TenantId};
use chrono::Utc;
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

use aurora_nats::StoreError;

use super::lease::{LeaseError, Leases};
use super::session::{answer_id, Sessions};

/// The answer recorded for a question whose run died.
pub const INTERRUPTED_ANSWER: &str =
    "(This answer was interrupted: Aurora stopped while working on it. Ask again to continue.)";

/// Why a sweep stopped; the next one tries again.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    Lease(#[from] LeaseError),
    #[error("the sessions read model is unavailable: {0}")]
    ReadModel(#[from] sqlx::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a session that lost its run needs: the question to answer and the confirmations to
/// withdraw (`None` when it waits for nothing).
pub fn orphaned(
    state: &ChatSessionState,
    now: chrono::DateTime<Utc>,
) -> Option<(Option<Uuid>, Vec<Uuid>)> {
    if state.deleted {
        return None;
    }
    let unanswered = state
        .messages
        .last()
        .filter(|m| m.role == MessageRole::User)
        .map(|m| m.message_id);
    let pending: Vec<Uuid> = state
        .pending_confirmations(now)
        .into_iter()
        .map(|c| c.confirmation_id)
        .collect();
    (unanswered.is_some() || !pending.is_empty()).then_some((unanswered, pending))
}

/// What a sweep reads and writes: the sessions (their read model to find candidates, their
/// events to judge and close them) and the leases of live runs.
#[derive(Clone)]
pub struct Sweep {
    pub sessions: Sessions,
    pub leases: Leases,
    pub pool: PgPool,
}

impl Sweep {
    /// Sweeps every `every` until shutdown, closing sessions quiet for `quiet`.
    pub async fn every(
        self,
        every: Duration,
        quiet: Duration,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                _ = shutdown.wait_for(|s| *s) => return,
                _ = tokio::time::sleep(every) => {}
            }
            match self.once(quiet).await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(sessions = n, "closed chat runs whose process died"),
                Err(e) => tracing::warn!(error = %e, "the sweep for dead chat runs failed"),
            }
        }
    }

    /// One sweep: sessions active in the last hour but quiet for `quiet`, waiting on a run that
    /// holds no lease. Returns how many were closed.
    pub async fn once(&self, quiet: Duration) -> Result<usize, SweepError> {
        self.leases.bucket().await.map_err(LeaseError::from)?;
        let quiet = chrono::TimeDelta::from_std(quiet).unwrap_or(chrono::TimeDelta::seconds(60));
        let now = Utc::now();
        let candidates = aurora_projections::queries::sessions_active_between(
            &self.pool,
            now - chrono::TimeDelta::hours(1),
            now - quiet,
        )
        .await?;
        let mut closed = 0;
        for (tenant, session, state) in candidates {
            let Ok(state) = serde_json::from_str::<ChatSessionState>(&state) else {
                continue;
            };
            if orphaned(&state, now).is_none() {
                continue;
            }
            let Ok(tenant) = TenantId::parse(tenant) else {
                continue;
            };
            if self.leases.is_held(&tenant, session).await? {
                continue;
            }
            if self.close(&tenant, session).await? {
                closed += 1;
            }
        }
        Ok(closed)
    }

    /// Closes a session whose run died, judged again on its events (the read model may lag).
    async fn close(&self, tenant: &TenantId, session: Uuid) -> Result<bool, StoreError> {
        let sessions = &self.sessions;
        let Some(state) = sessions.load(tenant, session).await? else {
            return Ok(false);
        };
        let Some((question, pending)) = orphaned(&state, Utc::now()) else {
            return Ok(false);
        };
        tracing::warn!(%tenant, %session, "closing a chat run whose process died");
        for confirmation_id in pending {
            let withdraw = ChatCommand::AnswerConfirmation {
                confirmation_id,
                decision: ConfirmationDecision::Cancel,
                at: Utc::now(),
            };
            sessions.record(tenant, session, withdraw).await?;
        }
        // Tool calls left running are finished as failed, so the history says what happened.
        for call in state
            .tool_calls
            .iter()
            .filter(|c| c.status == aurora_domain::ToolCallStatus::Started)
        {
            let failed = ChatCommand::RecordToolError {
                tool_call_id: call.tool_call_id.clone(),
                error: "interrupted: Aurora stopped while this ran".into(),
                duration_ms: 0,
                at: Utc::now(),
            };
            sessions.record(tenant, session, failed).await?;
        }
        let question = question.or_else(|| state.last_question());
        if let Some(question) = question {
            let answer = answer_id(question);
            if !state.has_message(answer) {
                let interrupted = ChatCommand::RecordAssistantMessage {
                    message_id: answer,
                    text: INTERRUPTED_ANSWER.into(),
                    at: Utc::now(),
                };
                sessions.record(tenant, session, interrupted).await?;
            }
        }
        sessions
            .publish(
                tenant,
                session,
                &ServerFrame::error(
                    Some(session),
                    code::INTERRUPTED,
                    "Aurora stopped while answering; ask again to continue",
                ),
            )
            .await;
        sessions
            .publish(
                tenant,
                session,
                &ServerFrame::Status {
                    session_id: session,
                    status: RunStatus::End,
                },
            )
            .await;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use aurora_domain::chat::fold;
    use aurora_domain::{ChatEvent, ChatMode, SessionId};
    use chrono::{DateTime, TimeDelta};

    use super::*;
    use aurora_domain::chat::NewSession;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn started() -> ChatEvent {
        ChatEvent::Started(NewSession {
            id: SessionId(Uuid::from_u128(1)),
            owner: "u".into(),
            title: "t".into(),
            mode: ChatMode::Agent,
            at: at(0),
        })
    }

    fn asked(n: u128) -> ChatEvent {
        ChatEvent::UserMessagePosted {
            message_id: Uuid::from_u128(n),
            text: "why?".into(),
            mode: ChatMode::Agent,
            at: at(1),
        }
    }

    #[test]
    fn an_unanswered_question_is_orphaned() {
        let state = fold([started(), asked(2)]);
        assert_eq!(
            orphaned(&state, at(10)),
            Some((Some(Uuid::from_u128(2)), vec![]))
        );
    }

    #[test]
    fn an_answered_session_waits_for_nothing() {
        let state = fold([
            started(),
            asked(2),
            ChatEvent::AssistantMessageRecorded {
                message_id: answer_id(Uuid::from_u128(2)),
                text: "because".into(),
                at: at(3),
            },
        ]);
        assert_eq!(orphaned(&state, at(10)), None);
    }

    #[test]
    fn a_pending_confirmation_is_orphaned_until_it_expires() {
        let requested = ChatEvent::ConfirmationRequested {
            confirmation_id: Uuid::from_u128(9),
            tool_call_id: None,
            command: "kubectl delete pod x".into(),
            reason: "deletes".into(),
            expires_at: at(2) + TimeDelta::seconds(300),
            at: at(2),
        };
        let state = fold([started(), asked(2), requested]);
        assert_eq!(
            orphaned(&state, at(10)),
            Some((Some(Uuid::from_u128(2)), vec![Uuid::from_u128(9)]))
        );
        assert_eq!(
            orphaned(&state, at(400)),
            Some((Some(Uuid::from_u128(2)), vec![])),
            "expired: only the question is left"
        );
    }
}
