//! The `chat` consumer: the commands of `cmd.<tenant>.session.<id>`, in order per session. A
//! query is recorded and its run spawned; any other session command is executed as is.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::PullConsumer};
use aurora_domain::chat::frames::{code, ServerFrame};
use aurora_domain::chat::{FirstQuestion, Query, SessionRequest, NO_MODEL_TEXT};
use aurora_domain::{ChatCommand, ChatError, SessionId, TenantId};
use aurora_nats::consumer::{self, Delivery, HandlerError};
use aurora_nats::envelope::Context;
use aurora_nats::subjects::{self, CMD_STREAM};
use aurora_nats::StoreError;
use aurora_telemetry::trace;
use tokio::sync::watch;
use tracing::Instrument;
use uuid::Uuid;

use super::run_loop::Run;
use super::{Agent, AgentError};
use crate::agent::session::answer_id;
use crate::agent::sweep::Sweep;

pub(super) const CONSUMER: &str = "chat";
/// Commands taken at once; those of different sessions are handled concurrently.
const BATCH: usize = 64;

/// What became of one command.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// The session said no (the client got an `error` frame).
    Refused(String),
    /// Not a command we understand; acked so it does not come back forever.
    Malformed(String),
}

impl Agent {
    pub(super) async fn consume(&self, shutdown: watch::Receiver<bool>) -> Result<(), AgentError> {
        if self.inner.llm.is_some() {
            let sweep = Sweep {
                sessions: self.inner.sessions.clone(),
                leases: self.inner.leases.clone(),
                pool: self.inner.reader.pool.clone(),
            };
            let config = &self.inner.config;
            tokio::spawn(sweep.every(config.sweep_every, config.sweep_quiet, shutdown.clone()));
        }
        let js = jetstream::new(self.inner.nats.clone());
        let stream = js
            .get_stream(CMD_STREAM)
            .await
            .map_err(|e| AgentError::Consumer(e.into()))?;
        let consumer: PullConsumer = stream
            .get_consumer(CONSUMER)
            .await
            .map_err(AgentError::Consumer)?;
        consumer::run_gathering(
            consumer,
            BATCH,
            Duration::ZERO,
            self.inner.reader.log.metrics().clone(),
            shutdown,
            |deliveries| {
                let agent = self.clone();
                async move {
                    // A retried batch runs every command again: each is idempotent (see `handle`).
                    let mut sessions: Vec<(String, Vec<Delivery>)> = Vec::new();
                    for delivery in deliveries {
                        match sessions.iter_mut().find(|(s, _)| *s == delivery.subject) {
                            Some((_, group)) => group.push(delivery),
                            None => sessions.push((delivery.subject.clone(), vec![delivery])),
                        }
                    }
                    let results = futures::future::join_all(
                        sessions
                            .into_iter()
                            .map(|(_, group)| agent.handle_in_order(group)),
                    )
                    .await;
                    results.into_iter().collect::<Result<Vec<()>, _>>()?;
                    Ok(())
                }
            },
        )
        .await?;
        Ok(())
    }

    async fn handle_in_order(&self, deliveries: Vec<Delivery>) -> Result<(), HandlerError> {
        for delivery in deliveries {
            // In the trace of the request that sent it (the batch's span links it).
            let span = trace::item_span(
                delivery.traceparent(),
                || tracing::info_span!("session_command", subject = %delivery.subject),
            );
            match self.handle(&delivery).instrument(span).await {
                Ok(Outcome::Applied) => {}
                Ok(Outcome::Refused(why)) => {
                    tracing::info!(subject = %delivery.subject, %why, "session command refused")
                }
                Ok(Outcome::Malformed(why)) => {
                    tracing::warn!(subject = %delivery.subject, %why, "malformed session command dropped")
                }
                Err(e) => return Err(HandlerError::Transient(e.to_string())),
            }
        }
        Ok(())
    }

    /// Handles one delivered `cmd.<tenant>.session.<id>`. Handling it again changes nothing: a
    /// query's start and message are idempotent and its run starts once, and a session command's
    /// events carry the delivery's idempotency key (JetStream drops the second copy).
    #[tracing::instrument(
        skip_all,
        fields(subject = %delivery.subject, tenant = tracing::field::Empty, session_id = tracing::field::Empty),
        err
    )]
    pub async fn handle(&self, delivery: &Delivery) -> Result<Outcome, StoreError> {
        let (tenant, id) = match subjects::parse_command_subject(&delivery.subject) {
            Some(parsed) if parsed.aggregate == "session" => (parsed.tenant, parsed.id),
            _ => {
                return Ok(Outcome::Malformed(format!(
                    "subject {} is not cmd.<tenant>.session.<id>",
                    delivery.subject
                )))
            }
        };
        let span = tracing::Span::current();
        span.record("tenant", tracing::field::display(&tenant));
        span.record("session_id", tracing::field::display(id));
        let request: SessionRequest = match serde_json::from_slice(&delivery.payload) {
            Ok(r) => r,
            Err(e) => return Ok(Outcome::Malformed(format!("not a session request: {e}"))),
        };
        match request {
            SessionRequest::Query(query) => self.take_query(&tenant, id, query).await,
            SessionRequest::Command { command } => {
                let confirmation = matches!(
                    command,
                    ChatCommand::RespondToConfirmation { .. }
                        | ChatCommand::AnswerConfirmation { .. }
                );
                let cause = format!("cmd:{}", delivery.stream_sequence);
                let context = Context::new_root()
                    .caused_by(cause.clone())
                    .with_idempotency_key(cause);
                let executed = self
                    .inner
                    .sessions
                    .store()
                    .execute(&tenant, id, command, context)
                    .await?
                    .map(|_| ());
                match executed {
                    Ok(()) => Ok(Outcome::Applied),
                    Err(refusal) => {
                        // Someone else's session is not found, as for a query.
                        let code = match &refusal {
                            ChatError::NotOwner | ChatError::Deleted | ChatError::NotStarted => {
                                code::SESSION_NOT_FOUND
                            }
                            _ if confirmation => code::CONFIRMATION_REFUSED,
                            _ => code::BAD_FRAME,
                        };
                        let text = match &refusal {
                            ChatError::NotOwner => format!("session {id} not found"),
                            other => other.to_string(),
                        };
                        self.inner
                            .sessions
                            .publish(&tenant, id, &ServerFrame::error(Some(id), code, text))
                            .await;
                        Ok(Outcome::Refused(refusal.to_string()))
                    }
                }
            }
        }
    }

    async fn take_query(
        &self,
        tenant: &TenantId,
        id: Uuid,
        query: Query,
    ) -> Result<Outcome, StoreError> {
        // Followed before the question is recorded: everything after it reaches the run.
        let control = self
            .inner
            .nats
            .subscribe(subjects::aggregate(tenant, "session", id))
            .await
            .map_err(StoreError::unavailable)?;
        // One event records the question, opening the session if it is new (a single append: an
        // atomic batch of two measured ~3 ms slower here); a redelivered query records nothing,
        // and the state then tells whether it was answered already.
        let ask = ChatCommand::Ask(FirstQuestion {
            id: SessionId(id),
            owner: query.owner.clone(),
            title: query.title.clone(),
            message_id: query.message_id,
            text: query.text.clone(),
            mode: query.mode,
            at: query.at,
        });
        let asked = self
            .inner
            .sessions
            .store()
            .execute_with_state(tenant, id, ask, Context::new_root())
            .await?;
        let (executed, state) = match asked {
            Ok(done) => done,
            Err(ChatError::NotOwner | ChatError::Deleted) => {
                let text = format!("session {id} not found");
                self.inner
                    .sessions
                    .publish(
                        tenant,
                        id,
                        &ServerFrame::error(Some(id), code::SESSION_NOT_FOUND, text.clone()),
                    )
                    .await;
                return Ok(Outcome::Refused(text));
            }
            Err(refusal) => return self.refuse(tenant, id, code::EMPTY_QUERY, refusal).await,
        };
        let answer = answer_id(query.message_id);
        if executed.events == 0 && state.has_message(answer) {
            // A redelivered query that was answered already.
            return Ok(Outcome::Applied);
        }
        let Some(llm) = self.inner.llm.clone() else {
            self.inner
                .sessions
                .publish(
                    tenant,
                    id,
                    &ServerFrame::error(Some(id), code::NO_MODEL, NO_MODEL_TEXT),
                )
                .await;
            return Ok(Outcome::Refused("no model configured".into()));
        };
        let fresh = self
            .inner
            .running
            .lock()
            .map(|mut running| running.insert(query.message_id))
            .unwrap_or(false);
        if fresh {
            let run = Run {
                agent: self.clone(),
                tenant: tenant.clone(),
                session: id,
                question: query.message_id,
                answer,
                mode: query.mode,
                model: query.model.clone().unwrap_or_else(|| llm.model.clone()),
                hints: hints(&query),
                provider_preference: query.provider_preference.clone(),
                llm,
                calls: Vec::new(),
                stopping: self.inner.stopping.subscribe(),
                journal: None,
            };
            if let Ok(mut runs) = self.inner.runs.lock() {
                // Finished runs are reaped here, so the set holds only live ones.
                while runs.try_join_next().is_some() {}
                // In the current span (the command's): the run belongs to the query's trace.
                runs.spawn(run.go(state, control).in_current_span());
            }
        }
        Ok(Outcome::Applied)
    }

    async fn refuse(
        &self,
        tenant: &TenantId,
        id: Uuid,
        code: &str,
        refusal: ChatError,
    ) -> Result<Outcome, StoreError> {
        self.inner
            .sessions
            .publish(
                tenant,
                id,
                &ServerFrame::error(Some(id), code, refusal.to_string()),
            )
            .await;
        Ok(Outcome::Refused(refusal.to_string()))
    }
}

/// The query's preferences, as a sentence for the system prompt ("" when it has none).
fn hints(query: &Query) -> String {
    let mut hints = String::new();
    if !query.provider_preference.is_empty() {
        hints.push_str(&format!(
            " The user prefers these cloud providers, in order: {}.",
            query.provider_preference.join(", ")
        ));
    }
    if let Some(project) = &query.selected_project_id {
        hints.push_str(&format!(" The user has selected the project {project:?}."));
    }
    hints
}
