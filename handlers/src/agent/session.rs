//! A chat session as the agent writes it: its state loaded from the log, a step recorded on it,
//! a frame sent to the sockets watching it. A run and the [`sweep`](super::sweep) both write
//! sessions this way, so neither imports the other for it.

use aurora_domain::chat::frames::ServerFrame;
use aurora_domain::chat::ChatSessionState;
use aurora_domain::{ChatCommand, ChatError, ChatSession, TenantId};
use aurora_nats::envelope::Context;
use aurora_nats::subjects;
use aurora_nats::{AggregateStore, StoreError};
use uuid::Uuid;

/// The id of the assistant's answer to the user message `question` (so a retried run records
/// it once, and a sweep knows whether a question was answered).
pub fn answer_id(question: Uuid) -> Uuid {
    Uuid::new_v5(&question, b"answer")
}

/// The chat sessions of every tenant. Cheap to clone.
#[derive(Clone)]
pub struct Sessions {
    store: AggregateStore<ChatSession>,
}

impl Sessions {
    pub fn new(store: AggregateStore<ChatSession>) -> Self {
        Self { store }
    }

    /// The aggregate store, for a caller that needs its own context or the state after a
    /// command.
    pub fn store(&self) -> &AggregateStore<ChatSession> {
        &self.store
    }

    /// The session as the log holds it now (`None`: never started).
    pub async fn load(
        &self,
        tenant: &TenantId,
        session: Uuid,
    ) -> Result<Option<ChatSessionState>, StoreError> {
        Ok(self
            .store
            .load(tenant, session)
            .await?
            .map(|s| s.into_inner()))
    }

    /// Runs `command` on a session. `Ok(Err(_))` is the session's refusal.
    pub async fn execute(
        &self,
        tenant: &TenantId,
        session: Uuid,
        command: ChatCommand,
    ) -> Result<Result<(), ChatError>, StoreError> {
        Ok(self
            .store
            .execute(tenant, session, command, Context::new_root())
            .await?
            .map(|_| ()))
    }

    /// Runs `command` on a session; a refusal (an idempotent repeat, something answered
    /// meanwhile) is logged, not an error.
    pub async fn record(
        &self,
        tenant: &TenantId,
        session: Uuid,
        command: ChatCommand,
    ) -> Result<(), StoreError> {
        if let Err(refusal) = self.execute(tenant, session, command).await? {
            tracing::info!(%session, %refusal, "session command refused");
        }
        Ok(())
    }

    /// Sends a frame to every socket watching the session.
    pub async fn publish(&self, tenant: &TenantId, session: Uuid, frame: &ServerFrame) {
        let subject = subjects::live_session(tenant, session);
        if let Err(e) = self
            .store
            .log()
            .client()
            .publish(subject, frame.to_json().into())
            .await
        {
            tracing::warn!(%session, error = %e, "live frame not sent");
        }
    }
}
