//! One run: the answer to one question, its steps, and how it ended (answered, cancelled,
//! superseded, interrupted). Every step is an event first and a frame second.

use std::collections::HashSet;

use aurora_domain::chat::frames::{code, RunStatus, ServerFrame};
use aurora_domain::chat::ChatSessionState;
use aurora_domain::{ChatCommand, ChatError, ChatEvent, ChatMode, TenantId};
use aurora_nats::StoreError;
use chrono::Utc;
use futures::{FutureExt, StreamExt};
use serde_json::json;
use tokio::sync::watch;
use uuid::Uuid;

use super::context_window;
use super::offer::Offer;
use super::Agent;
use crate::agent::investigation::journal::{Ending, Journal};
use crate::agent::llm::Llm;

/// Why a run stopped before its answer was complete.
#[derive(Debug)]
pub(super) enum Stop {
    /// The user cancelled.
    Cancelled,
    /// The user asked something else in the meantime.
    Superseded,
    /// The session was deleted.
    Deleted,
    /// This process is stopping.
    Shutdown,
    Llm(String),
    Store(String),
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Self::Store(e.to_string())
    }
}

/// What one model call cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct ModelCall {
    pub(super) input_tokens: u64,
    pub(super) output_tokens: u64,
    /// In micro-dollars.
    pub(super) cost_micros: i64,
}

impl ModelCall {
    /// What `calls` cost together.
    pub(super) fn total(calls: &[ModelCall]) -> ModelCall {
        calls
            .iter()
            .fold(ModelCall::default(), |sum, call| ModelCall {
                input_tokens: sum.input_tokens + call.input_tokens,
                output_tokens: sum.output_tokens + call.output_tokens,
                cost_micros: sum.cost_micros + call.cost_micros,
            })
    }
}

/// The answer to one question.
pub(super) struct Run {
    pub(super) agent: Agent,
    pub(super) tenant: TenantId,
    pub(super) session: Uuid,
    pub(super) question: Uuid,
    pub(super) answer: Uuid,
    pub(super) mode: ChatMode,
    pub(super) model: String,
    /// What the query said besides its text (preferred providers, selected project).
    pub(super) hints: String,
    /// The cloud providers the query asked for (`gcp`, `aws`…); empty: every connected one.
    pub(super) provider_preference: Vec<String>,
    pub(super) llm: Llm,
    /// What each model call of the run cost.
    pub(super) calls: Vec<ModelCall>,
    pub(super) stopping: watch::Receiver<bool>,
    /// Set when the run is a background investigation: its steps are recorded there too.
    pub(super) journal: Option<Journal>,
}

impl Run {
    /// Where the run counts its model and tool calls.
    pub(super) fn metrics(&self) -> &aurora_telemetry::Metrics {
        self.agent.inner.reader.log.metrics()
    }

    /// Answers the question of `state` (the session with it just recorded), following the
    /// session's events on `control` (subscribed before it was recorded).
    #[tracing::instrument(skip_all, fields(tenant = %self.tenant, session_id = %self.session, question = %self.question))]
    pub(super) async fn go(mut self, state: ChatSessionState, control: async_nats::Subscriber) {
        // The lease is taken beside the answer, and only by a chat run that lasts: the chat
        // sweep leaves sessions alone while they are younger than its quiet period anyway. An
        // investigation takes it at once: the RCA sweep continues a run that holds none.
        let after = match self.journal {
            Some(_) => std::time::Duration::ZERO,
            None => self.agent.inner.config.sweep_quiet / 2,
        };
        let lease = self
            .agent
            .inner
            .leases
            .hold(&self.tenant, self.session, self.question, after);
        self.answer_question(state, control).await;
        lease.release().await;
    }

    async fn answer_question(
        &mut self,
        state: ChatSessionState,
        mut control: async_nats::Subscriber,
    ) {
        self.send(ServerFrame::Status {
            session_id: self.session,
            status: RunStatus::Start,
        })
        .await;
        let mut said = Vec::new();
        let outcome = self.steps(state, &mut control, &mut said).await;
        if let Err(stop) = &outcome {
            tracing::info!(session = %self.session, question = %self.question, ?stop, "run stopped");
        }
        let text = said
            .iter()
            .map(|s: &String| s.trim())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("\n\n");
        if let Some(journal) = self.journal.as_mut() {
            let ending = match &outcome {
                Ok(()) => Ending::Answered { text: &text },
                Err(Stop::Llm(e)) => Ending::Failed {
                    reason: format!("the model failed: {e}"),
                },
                Err(Stop::Store(e)) => Ending::Failed {
                    reason: format!("a step could not be recorded: {e}"),
                },
                Err(_) => Ending::Interrupted,
            };
            if let Err(e) = journal.finish(ending).await {
                tracing::error!(run = %journal.run, error = %e, "the investigation's end could not be recorded");
            }
        }
        let keep = !matches!(outcome, Err(Stop::Store(_)) | Err(Stop::Deleted));
        if keep {
            if !text.is_empty() {
                let recorded = self
                    .record(ChatCommand::RecordAssistantMessage {
                        message_id: self.answer,
                        text: text.clone(),
                        at: Utc::now(),
                    })
                    .await;
                if let Err(Stop::Store(e)) = recorded {
                    tracing::error!(session = %self.session, error = %e, "the answer could not be recorded");
                }
            }
            self.send(ServerFrame::Message {
                session_id: self.session,
                message_id: self.answer,
                text,
                is_chunk: false,
                is_complete: true,
            })
            .await;
        }
        let error = match outcome {
            Err(Stop::Llm(e)) => Some((code::LLM_ERROR, e)),
            Err(Stop::Store(e)) => Some((
                code::UNAVAILABLE,
                format!("the answer could not be recorded: {e}"),
            )),
            Err(Stop::Shutdown) => Some((
                code::INTERRUPTED,
                "Aurora restarted while answering; the partial answer is kept, ask again to go on"
                    .to_owned(),
            )),
            Ok(()) | Err(Stop::Cancelled | Stop::Superseded | Stop::Deleted) => None,
        };
        if let Some((code, text)) = error {
            self.send(ServerFrame::error(Some(self.session), code, text))
                .await;
        }
        if !self.calls.is_empty() {
            let total = ModelCall::total(&self.calls);
            self.send(ServerFrame::UsageInfo {
                session_id: self.session,
                model: self.model.clone(),
                input_tokens: total.input_tokens,
                output_tokens: total.output_tokens,
                estimated_cost: total.cost_micros as f64 / 1_000_000.0,
            })
            .await;
        }
        self.send(ServerFrame::Status {
            session_id: self.session,
            status: RunStatus::End,
        })
        .await;
        if let Ok(mut running) = self.agent.inner.running.lock() {
            running.remove(&self.question);
        }
    }

    /// The session as the log holds it now.
    pub(super) async fn load(&self) -> Result<ChatSessionState, Stop> {
        Ok(self
            .agent
            .inner
            .sessions
            .load(&self.tenant, self.session)
            .await?
            .unwrap_or_default())
    }

    /// The tenant's connected accounts (their CLIs and query tools are offered). A lookup
    /// that fails offers none, and says so in the log: the run goes on with Aurora's own tools.
    async fn connected_accounts(&self) -> Vec<crate::connectors::AccountName> {
        match self.agent.inner.connectors.accounts(&self.tenant).await {
            Ok(accounts) => accounts,
            Err(error) => {
                tracing::warn!(tenant = %self.tenant, error = %error, "connected accounts not known: no query tools offered");
                Vec::new()
            }
        }
    }

    /// Why this run must stop, judged on the stored events (never on a message merely seen on
    /// the subject, which JetStream may have refused).
    pub(super) fn stop_in(&self, state: &ChatSessionState) -> Option<Stop> {
        if state.deleted {
            Some(Stop::Deleted)
        } else if state.cancelled_questions.contains(&self.question) {
            Some(Stop::Cancelled)
        } else if state.last_question() != Some(self.question) {
            Some(Stop::Superseded)
        } else if *self.stopping.borrow() {
            Some(Stop::Shutdown)
        } else {
            None
        }
    }

    pub(super) async fn check(&self) -> Result<(), Stop> {
        let state = self.load().await?;
        match self.stop_in(&state) {
            Some(stop) => Err(stop),
            None => Ok(()),
        }
    }

    /// Model calls and tool calls until the model answers without tools, the step limit, or a
    /// stop. `said` collects the text of every step as it streams.
    async fn steps(
        &mut self,
        state: ChatSessionState,
        control: &mut async_nats::Subscriber,
        said: &mut Vec<String>,
    ) -> Result<(), Stop> {
        if let Some(stop) = self.stop_in(&state) {
            return Err(stop);
        }
        let offer = Offer::of_accounts(&self.connected_accounts().await, &self.provider_preference);
        let mut definitions = offer.definitions();
        if self.journal.is_some() {
            definitions.extend(crate::agent::investigation::prompt::definitions());
        }
        let budget = context_window::budget(self.agent.inner.config.context_tokens, &definitions);
        let system = match &self.journal {
            Some(_) => crate::agent::investigation::prompt::system_prompt(),
            None => context_window::system_prompt(self.mode, &self.hints),
        };
        let mut messages = context_window::context(&state, self.question, system, budget);
        if let Some(journal) = &self.journal {
            messages.extend(journal.resumed(&state).await?);
        }
        let mut known: HashSet<String> = state
            .tool_calls
            .iter()
            .map(|c| c.tool_call_id.clone())
            .collect();
        let max_steps = self.agent.inner.config.max_steps.max(1);
        for _ in 0..max_steps {
            if let Some(journal) = self.journal.as_mut() {
                if let Some(news) = journal.new_context().await? {
                    messages.push(json!({"role": "user", "content": news}));
                }
            }
            context_window::fit(&mut messages, budget);
            let turn = self
                .call_model(&messages, &definitions, control, said)
                .await?;
            let mut calls = turn.calls();
            if calls.is_empty() {
                return Ok(());
            }
            // The session's tool-call ids are unique (models reuse theirs across turns, some
            // send none); the model is sent back the same ids.
            for call in &mut calls {
                let mut id = if call.id.is_empty() {
                    format!("call-{}", Uuid::now_v7().simple())
                } else {
                    call.id.clone()
                };
                while known.contains(&id) {
                    id = format!("{}-{}", call.id, &Uuid::now_v7().simple().to_string()[..8]);
                }
                known.insert(id.clone());
                call.id = id;
            }
            messages.push(json!({
                "role": "assistant",
                "content": (!turn.text.is_empty()).then_some(turn.text.clone()),
                "tool_calls": calls.iter().map(|c| json!({
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                })).collect::<Vec<_>>(),
            }));
            for call in calls {
                self.pending_stops(control).await?;
                let output = self.tool(&call, &offer, control).await?;
                messages.push(json!({
                    "role": "tool",
                    "tool_call_id": call.id,
                    "content": output,
                }));
            }
            if self.journal.as_ref().is_some_and(Journal::concluded) {
                return Ok(());
            }
        }
        said.push(match self.journal {
            Some(_) => format!("The investigation stopped after {max_steps} model calls without a conclusion."),
            None => format!(
                "(I stopped after {max_steps} steps without a final answer; ask me to go on if you want more.)"
            ),
        });
        Ok(())
    }

    /// Resolves when this run must stop: a cancel, a newer question or a delete recorded on the
    /// session, or this process stopping.
    pub(super) async fn until_stopped(&self, control: &mut async_nats::Subscriber) -> Stop {
        let mut stopping = self.stopping.clone();
        loop {
            let message = tokio::select! {
                _ = stopping.wait_for(|s| *s) => return Stop::Shutdown,
                message = control.next() => message,
            };
            let Some(message) = message else {
                return Stop::Store("the session's events stopped arriving".into());
            };
            if let Err(stop) = self.on_event(&message).await {
                return stop;
            }
        }
    }

    /// The session's events that arrived since `control` was last read, each checked as
    /// [`on_event`](Self::on_event) does. `control` was subscribed before the run's first read
    /// of the session, so it holds every later event: reading the whole session again before
    /// each tool call (a round trip and a copy of every message) would learn nothing more.
    pub(super) async fn pending_stops(
        &self,
        control: &mut async_nats::Subscriber,
    ) -> Result<(), Stop> {
        while let Some(message) = control.next().now_or_never() {
            let Some(message) = message else {
                return Err(Stop::Store("the session's events stopped arriving".into()));
            };
            self.on_event(&message).await?;
        }
        if *self.stopping.borrow() {
            return Err(Stop::Shutdown);
        }
        Ok(())
    }

    /// Whether an event seen on the session's subject stops the run, checked against the log.
    pub(super) async fn on_event(&self, message: &async_nats::Message) -> Result<(), Stop> {
        let relevant = matches!(
            serde_json::from_slice::<ChatEvent>(&message.payload),
            Ok(ChatEvent::RunCancelled { .. }
                | ChatEvent::UserMessagePosted { .. }
                | ChatEvent::SessionDeleted { .. })
        );
        if relevant {
            self.check().await?;
        }
        Ok(())
    }

    pub(super) async fn send(&self, frame: ServerFrame) {
        self.agent
            .inner
            .sessions
            .publish(&self.tenant, self.session, &frame)
            .await;
    }

    /// Records a step. A refusal (which a run's own steps never cause, unless the session was
    /// deleted) is logged; a store that cannot take it stops the run.
    pub(super) async fn record(&self, command: ChatCommand) -> Result<(), Stop> {
        match self
            .agent
            .inner
            .sessions
            .execute(&self.tenant, self.session, command)
            .await?
        {
            Ok(()) => Ok(()),
            Err(ChatError::Deleted) => Err(Stop::Deleted),
            Err(refusal) => {
                tracing::warn!(session = %self.session, %refusal, "a run's step was refused");
                Ok(())
            }
        }
    }
}
