//! The `chat` consumer of `CMD` and the agent's runs.
//!
//! A query is recorded on the session (started if new), then a run is spawned and the command
//! acked: the consumer never waits for a model. A run streams the model's text to
//! `live.<tenant>.session.<id>`, and records every tool call, gate decision, confirmation, result
//! and usage record as an event before it sends the matching frame.
//!
//! A run listens to its session's own events (core NATS on `evt.<tenant>.session.<id>`), so a
//! cancel or a confirmation answered through any gateway and recorded by any handler reaches it:
//! `run_cancelled` stops it (the partial answer is kept), a newer user message supersedes it, and
//! `confirmation_answered` lets a waiting command go ahead or not.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::kv;
use async_nats::jetstream::{self, consumer::PullConsumer};
use aurora_domain::chat::{ChatSessionState, CONFIRMATION_TTL_SECS};
use aurora_domain::organization::Organization;
use aurora_domain::values::MessageRole;
use aurora_domain::{
    ChatCommand, ChatError, ChatEvent, ChatMode, ChatSession, ConfirmationDecision, GateVerdict,
    SessionId, TenantId,
};
use aurora_nats::consumer::{self, Delivery, HandlerError};
use aurora_nats::envelope::Context;
use aurora_nats::subjects::{self, CMD_STREAM};
use aurora_nats::{AggregateStore, StoreError};
use chrono::{DateTime, TimeDelta, Utc};
use futures::StreamExt;
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::exec::{self, ExecSpec};
use super::llm::{Llm, ToolCallRequest, Turn};
use super::tools::{self, Planned, Reader};
use super::{sweep, AgentConfig};
use aurora_domain::chat::frames::{code, RunStatus, ServerFrame};
use aurora_domain::chat::{estimate_tokens, Query, SessionRequest, NO_MODEL_TEXT};
use aurora_domain::gate::{self, Policy, RunMode, Verdict};

const CONSUMER: &str = "chat";
/// How long shutdown waits for runs to record how they ended.
const DRAIN: Duration = Duration::from_secs(10);
/// Commands taken at once; those of different sessions are handled concurrently.
const BATCH: usize = 64;
/// Room kept in the context window for the answer.
const ANSWER_RESERVE_TOKENS: usize = 4_096;
/// What a message costs beyond its text (role, separators), in tokens.
const MESSAGE_OVERHEAD_TOKENS: usize = 4;

const SYSTEM_PROMPT: &str = "You are Aurora, an incident-response engineer's assistant. \
Investigate with the tools you have: read before you conclude, cite what you saw, and say plainly \
what you could not check. Commands run without a shell (no pipes, redirections or `;`). In ask \
mode only read-only commands run; in agent mode a destructive command waits for the user's \
confirmation.";

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("cannot open the {CONSUMER} consumer: {0}")]
    Consumer(String),
    #[error(transparent)]
    Runner(#[from] consumer::RunnerError),
}

/// What became of one command.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// The session said no (the client got an `error` frame).
    Refused(String),
    /// Not a command we understand; acked so it does not come back forever.
    Malformed(String),
}

/// The agent of every session. Cheap to clone.
#[derive(Clone)]
pub struct Agent {
    inner: Arc<Inner>,
}

struct Inner {
    sessions: AggregateStore<ChatSession>,
    organizations: AggregateStore<Organization>,
    nats: async_nats::Client,
    reader: Reader,
    config: Arc<AgentConfig>,
    llm: Option<Llm>,
    /// Questions being answered by this process (a redelivered query does not start a second
    /// run).
    running: Mutex<HashSet<Uuid>>,
    /// The runs of this process, so shutdown can let them record how they ended.
    runs: Mutex<JoinSet<()>>,
    /// Turns true when the process stops: every run ends, keeping what it has.
    stopping: watch::Sender<bool>,
    leases: tokio::sync::OnceCell<kv::Store>,
}

impl Agent {
    pub fn new(
        sessions: AggregateStore<ChatSession>,
        organizations: AggregateStore<Organization>,
        pool: sqlx::PgPool,
        config: Arc<AgentConfig>,
    ) -> Self {
        let log = sessions.log().clone();
        Self {
            inner: Arc::new(Inner {
                nats: log.client().clone(),
                reader: Reader { pool, log },
                llm: config.llm.as_ref().map(Llm::new),
                config,
                sessions,
                organizations,
                running: Mutex::new(HashSet::new()),
                runs: Mutex::new(JoinSet::new()),
                stopping: watch::Sender::new(false),
                leases: tokio::sync::OnceCell::new(),
            }),
        }
    }

    /// Consumes `cmd.*.session.*` until `shutdown`. A batch is what has arrived (nobody waits
    /// for more); its sessions are handled concurrently, each session's commands in order.
    pub async fn run(self, shutdown: watch::Receiver<bool>) -> Result<(), AgentError> {
        let result = self.consume(shutdown.clone()).await;
        if *shutdown.borrow() {
            self.drain().await;
        }
        result
    }

    /// Stops every run of this process and waits (at most [`DRAIN`]) while they record their
    /// partial answers and withdraw their pending confirmations.
    async fn drain(&self) {
        self.inner.stopping.send_replace(true);
        let runs = self
            .inner
            .runs
            .lock()
            .map(|mut runs| std::mem::take(&mut *runs))
            .unwrap_or_default();
        if runs.is_empty() {
            return;
        }
        let waited = tokio::time::timeout(DRAIN, runs.join_all()).await;
        if waited.is_err() {
            tracing::warn!("some agent runs did not finish recording before shutdown");
        }
    }

    /// Sweeps for runs whose process died, every `sweep_every`, until shutdown.
    async fn sweeping(self, mut shutdown: watch::Receiver<bool>) {
        let config = self.inner.config.clone();
        loop {
            tokio::select! {
                _ = shutdown.wait_for(|s| *s) => return,
                _ = tokio::time::sleep(config.sweep_every) => {}
            }
            match sweep::sweep(&self, &self.inner.reader.pool, config.sweep_quiet).await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(sessions = n, "closed chat runs whose process died"),
                Err(e) => tracing::warn!(error = %e, "the sweep for dead chat runs failed"),
            }
        }
    }

    /// The run lease bucket, created once per process.
    pub async fn leases(&self) -> Result<&kv::Store, String> {
        self.inner
            .leases
            .get_or_try_init(|| sweep::leases(&self.inner.nats))
            .await
    }

    pub fn nats(&self) -> &async_nats::Client {
        &self.inner.nats
    }

    pub fn sessions(&self) -> &AggregateStore<ChatSession> {
        &self.inner.sessions
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

    async fn consume(&self, shutdown: watch::Receiver<bool>) -> Result<(), AgentError> {
        if self.inner.llm.is_some() {
            tokio::spawn(self.clone().sweeping(shutdown.clone()));
        }
        let js = jetstream::new(self.inner.nats.clone());
        let stream = js
            .get_stream(CMD_STREAM)
            .await
            .map_err(|e| AgentError::Consumer(e.to_string()))?;
        let consumer: PullConsumer = stream
            .get_consumer(CONSUMER)
            .await
            .map_err(|e| AgentError::Consumer(e.to_string()))?;
        consumer::run_gathering(consumer, BATCH, Duration::ZERO, shutdown, |deliveries| {
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
        })
        .await?;
        Ok(())
    }

    async fn handle_in_order(&self, deliveries: Vec<Delivery>) -> Result<(), HandlerError> {
        for delivery in deliveries {
            match self.handle(&delivery).await {
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
    pub async fn handle(&self, delivery: &Delivery) -> Result<Outcome, StoreError> {
        let parts: Vec<&str> = delivery.subject.split('.').collect();
        let (tenant, id) = match parts.as_slice() {
            ["cmd", tenant, "session", id] => {
                match (TenantId::parse(*tenant), Uuid::parse_str(id)) {
                    (Ok(tenant), Ok(id)) => (tenant, id),
                    _ => {
                        return Ok(Outcome::Malformed(format!(
                            "bad tenant or id in {}",
                            delivery.subject
                        )))
                    }
                }
            }
            _ => {
                return Ok(Outcome::Malformed(format!(
                    "subject {} is not cmd.<tenant>.session.<id>",
                    delivery.subject
                )))
            }
        };
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
                        self.publish(&tenant, id, &ServerFrame::error(Some(id), code, text))
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
            .map_err(|e| StoreError::Unavailable(format!("cannot follow the session: {e}")))?;
        // One event records the question, opening the session if it is new (a single append: an
        // atomic batch of two measured ~3 ms slower here); a redelivered query records nothing,
        // and the state then tells whether it was answered already.
        let ask = ChatCommand::Ask {
            id: SessionId(id),
            owner: query.owner.clone(),
            title: query.title.clone(),
            message_id: query.message_id,
            text: query.text.clone(),
            mode: query.mode,
            at: query.at,
        };
        let asked = self
            .inner
            .sessions
            .execute_with_state(tenant, id, ask, Context::new_root())
            .await?;
        let (executed, state) = match asked {
            Ok(done) => done,
            Err(ChatError::NotOwner | ChatError::Deleted) => {
                let text = format!("session {id} not found");
                self.publish(
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
            self.publish(
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
                llm,
                calls: Vec::new(),
                stopping: self.inner.stopping.subscribe(),
            };
            if let Ok(mut runs) = self.inner.runs.lock() {
                // Finished runs are reaped here, so the set holds only live ones.
                while runs.try_join_next().is_some() {}
                runs.spawn(run.go(state, control));
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
        self.publish(
            tenant,
            id,
            &ServerFrame::error(Some(id), code, refusal.to_string()),
        )
        .await;
        Ok(Outcome::Refused(refusal.to_string()))
    }

    async fn execute(
        &self,
        tenant: &TenantId,
        id: Uuid,
        command: ChatCommand,
    ) -> Result<Result<(), ChatError>, StoreError> {
        Ok(self
            .inner
            .sessions
            .execute(tenant, id, command, Context::new_root())
            .await?
            .map(|_| ()))
    }

    /// Sends a frame to every socket watching the session.
    pub async fn publish(&self, tenant: &TenantId, session: Uuid, frame: &ServerFrame) {
        let subject = subjects::live_session(tenant, session);
        if let Err(e) = self
            .inner
            .nats
            .publish(subject, frame.to_json().into())
            .await
        {
            tracing::warn!(%session, error = %e, "live frame not sent");
        }
    }

    /// The organisation's allow/deny policy for agent commands.
    async fn policy(&self, tenant: &TenantId) -> Result<Policy, String> {
        let Ok(organization) = Uuid::parse_str(tenant.as_str()) else {
            return Ok(Policy::default());
        };
        let state = self
            .inner
            .organizations
            .load(tenant, organization)
            .await
            .map_err(|e| e.to_string())?;
        let Some(state) = state else {
            return Ok(Policy::default());
        };
        let policy = &state.inner().agent_policy;
        Policy::new(&policy.allow, &policy.deny).map_err(|e| e.to_string())
    }
}

/// The id of the assistant's answer to the user message `question` (so a retried run records
/// it once).
pub fn answer_id(question: Uuid) -> Uuid {
    Uuid::new_v5(&question, b"answer")
}

/// Why a run stopped before its answer was complete.
#[derive(Debug)]
enum Stop {
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

/// The answer to one question.
struct Run {
    agent: Agent,
    tenant: TenantId,
    session: Uuid,
    question: Uuid,
    answer: Uuid,
    mode: ChatMode,
    model: String,
    /// What the query said besides its text (preferred providers, selected project).
    hints: String,
    llm: Llm,
    /// (input tokens, output tokens, cost in micro-dollars) of each model call.
    calls: Vec<(u64, u64, i64)>,
    stopping: watch::Receiver<bool>,
}

impl Run {
    /// Answers the question of `state` (the session with it just recorded), following the
    /// session's events on `control` (subscribed before it was recorded).
    async fn go(mut self, state: ChatSessionState, control: async_nats::Subscriber) {
        // The lease is taken beside the answer, and only by a run that lasts: the sweep leaves
        // sessions alone while they are younger than its quiet period anyway.
        let taken = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let lease = tokio::spawn(lease(
            self.agent.clone(),
            sweep::lease_key(&self.tenant, self.session),
            self.question,
            taken.clone(),
        ));
        self.answer_question(state, control).await;
        lease.abort();
        if taken.load(std::sync::atomic::Ordering::Acquire) {
            if let Ok(store) = self.agent.leases().await {
                let _ = store
                    .delete(sweep::lease_key(&self.tenant, self.session))
                    .await;
            }
        }
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
            let (input, output, micros) = self
                .calls
                .iter()
                .fold((0, 0, 0), |acc, c| (acc.0 + c.0, acc.1 + c.1, acc.2 + c.2));
            self.send(ServerFrame::UsageInfo {
                session_id: self.session,
                model: self.model.clone(),
                input_tokens: input,
                output_tokens: output,
                estimated_cost: micros as f64 / 1_000_000.0,
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
    async fn load(&self) -> Result<ChatSessionState, Stop> {
        Ok(self
            .agent
            .inner
            .sessions
            .load(&self.tenant, self.session)
            .await?
            .map(|s| s.into_inner())
            .unwrap_or_default())
    }

    /// Why this run must stop, judged on the stored events (never on a message merely seen on
    /// the subject, which JetStream may have refused).
    fn stop_in(&self, state: &ChatSessionState) -> Option<Stop> {
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

    async fn check(&self) -> Result<(), Stop> {
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
        let definitions = tools::definitions();
        let mut messages = self.context(&state, &definitions);
        let mut known: HashSet<String> = state
            .tool_calls
            .iter()
            .map(|c| c.tool_call_id.clone())
            .collect();
        let budget = self.budget(&definitions);
        let max_steps = self.agent.inner.config.max_steps.max(1);
        for _ in 0..max_steps {
            fit(&mut messages, budget);
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
                self.check().await?;
                let output = self.tool(&call, control).await?;
                messages.push(json!({
                    "role": "tool",
                    "tool_call_id": call.id,
                    "content": output,
                }));
            }
        }
        said.push(format!(
            "(I stopped after {max_steps} steps without a final answer; ask me to go on if you want more.)"
        ));
        Ok(())
    }

    /// Tokens the messages of one call may hold: the window less the tools and the answer.
    fn budget(&self, definitions: &[Value]) -> usize {
        self.agent
            .inner
            .config
            .context_tokens
            .saturating_sub(ANSWER_RESERVE_TOKENS)
            .saturating_sub(estimate_tokens(
                &Value::Array(definitions.to_vec()).to_string(),
            ))
    }

    /// The system prompt, as much of the conversation before the question as fits the window
    /// (newest kept), and the question.
    fn context(&self, state: &ChatSessionState, definitions: &[Value]) -> Vec<Value> {
        let mode = match self.mode {
            ChatMode::Ask => "This conversation is in ask mode.",
            ChatMode::Agent => "This conversation is in agent mode.",
        };
        let system = format!("{SYSTEM_PROMPT} {mode}{}", self.hints);
        let position = state
            .messages
            .iter()
            .position(|m| m.message_id == self.question)
            .unwrap_or(state.messages.len());
        let question = state
            .messages
            .get(position)
            .map(|m| m.text.clone())
            .unwrap_or_default();
        let mut budget = self
            .budget(definitions)
            .saturating_sub(estimate_tokens(&system))
            .saturating_sub(estimate_tokens(&question));
        let mut history = Vec::new();
        for message in state.messages[..position].iter().rev() {
            let cost = estimate_tokens(&message.text) + MESSAGE_OVERHEAD_TOKENS;
            if cost > budget {
                break;
            }
            budget -= cost;
            let role = match message.role {
                MessageRole::User => "user",
                MessageRole::Assistant => "assistant",
            };
            history.push(json!({"role": role, "content": message.text}));
        }
        history.reverse();
        let mut messages = vec![json!({"role": "system", "content": system})];
        messages.extend(history);
        messages.push(json!({"role": "user", "content": question}));
        messages
    }

    /// One streamed model call; its text goes out chunk by chunk and its usage is recorded.
    async fn call_model(
        &mut self,
        messages: &[Value],
        definitions: &[Value],
        control: &mut async_nats::Subscriber,
        said: &mut Vec<String>,
    ) -> Result<Turn, Stop> {
        let idle = self.agent.inner.config.llm_idle_timeout;
        let mut turn = Turn::default();
        let mut stopped = None;
        said.push(String::new());
        let opened = tokio::select! {
            opened = tokio::time::timeout(idle, self.llm.stream(&self.model, messages, definitions)) => Some(opened),
            stop = self.until_stopped(control) => { stopped = Some(stop); None }
        };
        match opened {
            None => {}
            Some(Err(_)) => {
                stopped = Some(Stop::Llm(format!(
                    "the model did not answer within {} s",
                    idle.as_secs()
                )))
            }
            Some(Ok(Err(e))) => stopped = Some(Stop::Llm(e.to_string())),
            Some(Ok(Ok(mut stream))) => loop {
                tokio::select! {
                    chunk = tokio::time::timeout(idle, stream.next()) => match chunk {
                        Err(_) => {
                            stopped = Some(Stop::Llm(format!("the model sent nothing for {} s", idle.as_secs())));
                            break;
                        }
                        Ok(None) => break,
                        Ok(Some(Err(e))) => { stopped = Some(Stop::Llm(e.to_string())); break }
                        Ok(Some(Ok(chunk))) => {
                            if let Some(error) = chunk.error.as_ref() {
                                stopped = Some(Stop::Llm(format!("the model endpoint reported an error: {error}")));
                                break;
                            }
                            if let Some(text) = turn.absorb(chunk) {
                                if let Some(last) = said.last_mut() {
                                    last.push_str(&text);
                                }
                                self.send(ServerFrame::Message {
                                    session_id: self.session,
                                    message_id: self.answer,
                                    text,
                                    is_chunk: true,
                                    is_complete: false,
                                })
                                .await;
                            }
                        }
                    },
                    stop = self.until_stopped(control) => { stopped = Some(stop); break }
                }
            },
        }
        // A call that produced anything is recorded, estimated when the server gave no usage.
        let (input, output) = match turn.usage {
            Some(usage) => (usage.prompt_tokens, usage.completion_tokens),
            None => {
                let sent = estimate_tokens(&Value::Array(messages.to_vec()).to_string()) as u64;
                let args: usize = turn.calls().iter().map(|c| c.arguments.len()).sum();
                (
                    sent,
                    estimate_tokens(&turn.text) as u64 + (args as u64).div_ceil(4),
                )
            }
        };
        if turn.usage.is_some() || !turn.text.is_empty() || !turn.tool_calls.is_empty() {
            let cost = self
                .agent
                .inner
                .config
                .prices
                .cost(&self.model, input, output);
            if !cost.priced {
                tracing::warn!(model = %self.model, "no price for this model; its calls cost 0 (set LLM_PRICES)");
            }
            self.calls.push((input, output, cost.micros));
            self.record(ChatCommand::RecordUsage {
                model: self.model.clone(),
                input_tokens: input,
                output_tokens: output,
                cost_micros: cost.micros,
                at: Utc::now(),
            })
            .await?;
        }
        match stopped {
            Some(stop) => Err(stop),
            None => Ok(turn),
        }
    }

    /// Resolves when this run must stop: a cancel, a newer question or a delete recorded on the
    /// session, or this process stopping.
    async fn until_stopped(&self, control: &mut async_nats::Subscriber) -> Stop {
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

    /// Whether an event seen on the session's subject stops the run, checked against the log.
    async fn on_event(&self, message: &async_nats::Message) -> Result<(), Stop> {
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

    /// One tool call: recorded, gated if it is a command, run, its result recorded. The text is
    /// what the model is told. A stop during the call ends it (a running command is killed).
    async fn tool(
        &mut self,
        call: &ToolCallRequest,
        control: &mut async_nats::Subscriber,
    ) -> Result<String, Stop> {
        let input: Value = serde_json::from_str(&call.arguments)
            .unwrap_or_else(|_| Value::String(call.arguments.clone()));
        self.record(ChatCommand::StartToolCall {
            tool_call_id: call.id.clone(),
            tool_name: call.name.clone(),
            input: input.clone(),
            at: Utc::now(),
        })
        .await?;
        self.send(ServerFrame::ToolCall {
            session_id: self.session,
            tool_call_id: call.id.clone(),
            tool_name: call.name.clone(),
            input,
            status: "running".into(),
        })
        .await;
        let started = Instant::now();
        let outcome = match tools::plan(&call.name, &call.arguments) {
            Err(e) => Ok(Err(e)),
            Ok(Planned::Read(tool)) => {
                let reader = self.agent.inner.reader.clone();
                let tenant = self.tenant.clone();
                let read = async move {
                    reader
                        .read(&tenant, &tool)
                        .await
                        .map(|output| cap(super::redact::redact(&output, &[])))
                };
                tokio::select! {
                    output = read => Ok(output),
                    stop = self.until_stopped(control) => Err(stop),
                }
            }
            Ok(Planned::Command { cli, command }) => {
                self.gated(cli, &command, &call.id, control).await
            }
        };
        match outcome {
            Ok(outcome) => self.finish_tool(call, started, outcome).await,
            Err(stop) => {
                let why = match stop {
                    Stop::Shutdown => "stopped: Aurora restarted",
                    _ => "stopped: the run was cancelled",
                };
                // Best effort: a deleted session refuses it, a failing store cannot take it.
                let _ = self.finish_tool(call, started, Err(why.into())).await;
                Err(stop)
            }
        }
    }

    async fn finish_tool(
        &mut self,
        call: &ToolCallRequest,
        started: Instant,
        outcome: Result<String, String>,
    ) -> Result<String, Stop> {
        let duration_ms = started.elapsed().as_millis() as u64;
        match outcome {
            Ok(output) => {
                self.record(ChatCommand::RecordToolResult {
                    tool_call_id: call.id.clone(),
                    output: output.clone(),
                    duration_ms,
                    at: Utc::now(),
                })
                .await?;
                let for_model = tools::for_model(&output);
                self.send(ServerFrame::ToolResult {
                    session_id: self.session,
                    tool_call_id: call.id.clone(),
                    tool_name: call.name.clone(),
                    output,
                    duration_ms,
                })
                .await;
                Ok(for_model)
            }
            Err(error) => {
                self.record(ChatCommand::RecordToolError {
                    tool_call_id: call.id.clone(),
                    error: error.clone(),
                    duration_ms,
                    at: Utc::now(),
                })
                .await?;
                let for_model = tools::for_model(&format!("error: {error}"));
                self.send(ServerFrame::ToolError {
                    session_id: self.session,
                    tool_call_id: call.id.clone(),
                    tool_name: call.name.clone(),
                    error,
                    duration_ms,
                })
                .await;
                Ok(for_model)
            }
        }
    }

    /// The gate, the confirmation if it asks for one, then the command. `Ok(Err(_))` is a
    /// failure the model is told about; `Err(_)` stops the run.
    async fn gated(
        &mut self,
        cli: gate::Cli,
        command: &str,
        tool_call_id: &str,
        control: &mut async_nats::Subscriber,
    ) -> Result<Result<String, String>, Stop> {
        let policy = match self.agent.policy(&self.tenant).await {
            Ok(policy) => policy,
            Err(e) => {
                return Ok(Err(format!(
                    "the organisation's command policy is unusable: {e}"
                )))
            }
        };
        let mode = match self.mode {
            ChatMode::Ask => RunMode::Ask,
            ChatMode::Agent => RunMode::Agent,
        };
        let decision = gate::check(cli, command, mode, &policy);
        // Arguments with spaces or quotes are quoted, so what the user approves is what runs.
        let shown = if decision.argv.is_empty() {
            command.to_owned()
        } else {
            shown(&decision.argv)
        };
        let verdict = match decision.verdict {
            Verdict::Allow => GateVerdict::Allowed,
            Verdict::Confirm => GateVerdict::ConfirmationRequired,
            Verdict::Refuse => GateVerdict::Refused,
        };
        self.record(ChatCommand::RecordGateDecision {
            tool_call_id: tool_call_id.to_owned(),
            command: shown.clone(),
            verdict,
            reason: decision.reason.clone(),
            at: Utc::now(),
        })
        .await?;
        match decision.verdict {
            Verdict::Refuse => {
                return Ok(Err(format!(
                    "refused by the command gate: {}",
                    decision.reason
                )))
            }
            Verdict::Confirm => {
                let confirmation_id = Uuid::new_v5(&self.answer, tool_call_id.as_bytes());
                let at = Utc::now();
                self.record(ChatCommand::AskConfirmation {
                    confirmation_id,
                    tool_call_id: Some(tool_call_id.to_owned()),
                    command: shown.clone(),
                    reason: decision.reason.clone(),
                    at,
                })
                .await?;
                let expires_at = at + TimeDelta::seconds(CONFIRMATION_TTL_SECS);
                self.send(ServerFrame::ExecutionConfirmation {
                    session_id: self.session,
                    confirmation_id,
                    command: shown.clone(),
                    reason: decision.reason.clone(),
                    expires_at,
                })
                .await;
                match self.answer_to(confirmation_id, expires_at, control).await? {
                    Some(ConfirmationDecision::Execute) => {}
                    Some(ConfirmationDecision::Cancel) => {
                        return Ok(Err("the user declined to run this command".into()))
                    }
                    None => {
                        return Ok(Err(
                            "nobody confirmed the command in time; the confirmation was withdrawn"
                                .into(),
                        ))
                    }
                }
            }
            Verdict::Allow => {}
        }
        let exec = self.exec(decision.argv);
        tokio::select! {
            outcome = exec => Ok(outcome),
            // Dropping the command's future kills it.
            stop = self.until_stopped(control) => Err(stop),
        }
    }

    /// The user's answer to a confirmation, as the log holds it (`None`: none came in time). A
    /// confirmation this run stops waiting for (expired, or the run stopped) is withdrawn —
    /// answered `cancel` — so it can no longer be approved for nothing.
    async fn answer_to(
        &self,
        confirmation_id: Uuid,
        expires_at: DateTime<Utc>,
        control: &mut async_nats::Subscriber,
    ) -> Result<Option<ConfirmationDecision>, Stop> {
        let wait = (expires_at - Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(self.agent.inner.config.confirmation_wait);
        let deadline = tokio::time::sleep(wait);
        tokio::pin!(deadline);
        let mut stopping = self.stopping.clone();
        let stop = loop {
            let message = tokio::select! {
                _ = &mut deadline => break None,
                _ = stopping.wait_for(|s| *s) => break Some(Stop::Shutdown),
                message = control.next() => message,
            };
            let Some(message) = message else {
                break Some(Stop::Store("the session's events stopped arriving".into()));
            };
            let event = serde_json::from_slice::<ChatEvent>(&message.payload);
            if let Ok(ChatEvent::ConfirmationAnswered {
                confirmation_id: answered,
                ..
            }) = &event
            {
                if *answered == confirmation_id {
                    let state = self.load().await?;
                    if let Some(answer) = state.confirmation(confirmation_id).and_then(|c| c.answer)
                    {
                        // A cancel answers it `cancel` beside `run_cancelled`: stop for that.
                        if let Some(stop) = self.stop_in(&state) {
                            break Some(stop);
                        }
                        return Ok(Some(answer.decision));
                    }
                }
            }
            if let Err(stop) = self.on_event(&message).await {
                break Some(stop);
            }
        };
        let withdraw = ChatCommand::AnswerConfirmation {
            confirmation_id,
            decision: ConfirmationDecision::Cancel,
            at: Utc::now().min(expires_at),
        };
        match self
            .agent
            .execute(&self.tenant, self.session, withdraw)
            .await
        {
            Ok(Ok(())) => {}
            // Answered meanwhile (or the session is gone): the stored answer stands.
            Ok(Err(refusal)) => {
                tracing::info!(session = %self.session, %refusal, "confirmation not withdrawn")
            }
            Err(e) => {
                tracing::warn!(session = %self.session, error = %e, "confirmation not withdrawn")
            }
        }
        match stop {
            Some(stop) => Err(stop),
            None => Ok(None),
        }
    }

    async fn exec(&self, argv: Vec<String>) -> Result<String, String> {
        let config = &self.agent.inner.config;
        let mut env = Vec::new();
        if let Some(path) = &config.tool_path {
            env.push(("PATH".to_owned(), path.clone()));
        }
        let spec = ExecSpec {
            argv,
            env,
            cwd: self.work_dir(),
            timeout: config.tool_timeout,
            secrets: Vec::new(),
        };
        match exec::run(spec).await {
            Ok(output) if output.success() => Ok(output.combined()),
            Ok(output) => Err(format!(
                "the command failed (exit code {}):\n{}",
                output
                    .exit_code
                    .map_or_else(|| "none".to_owned(), |c| c.to_string()),
                output.combined()
            )),
            Err(e) => Err(e.to_string()),
        }
    }

    fn work_dir(&self) -> PathBuf {
        self.agent
            .inner
            .config
            .work_dir
            .join(self.tenant.as_str())
            .join(self.session.to_string())
    }

    async fn send(&self, frame: ServerFrame) {
        self.agent.publish(&self.tenant, self.session, &frame).await;
    }

    /// Records a step. A refusal (which a run's own steps never cause, unless the session was
    /// deleted) is logged; a store that cannot take it stops the run.
    async fn record(&self, command: ChatCommand) -> Result<(), Stop> {
        match self
            .agent
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

/// Holds the session's lease (see [`sweep`]) until aborted: written now, rewritten every
/// [`sweep::LEASE_REFRESH`].
///
/// Short runs never take it: the first write waits half the sweep's quiet period (a sweep only
/// looks at sessions quiet for longer than that), so a quick answer costs no KV traffic.
async fn lease(
    agent: Agent,
    key: String,
    question: Uuid,
    taken: Arc<std::sync::atomic::AtomicBool>,
) {
    tokio::time::sleep(agent.inner.config.sweep_quiet / 2).await;
    taken.store(true, std::sync::atomic::Ordering::Release);
    let Ok(store) = agent.leases().await else {
        tracing::warn!(%key, "a run without a lease (the bucket is unavailable)");
        return;
    };
    let value = bytes::Bytes::from(question.to_string());
    loop {
        if let Err(e) = store.put(&key, value.clone()).await {
            tracing::warn!(%key, error = %e, "the run's lease was not refreshed");
        }
        tokio::time::sleep(sweep::LEASE_REFRESH).await;
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

/// A command line as people read it: arguments that need it quoted.
fn shown(argv: &[String]) -> String {
    argv.iter()
        .map(|arg| {
            if arg.is_empty() || arg.contains(|c: char| c.is_whitespace() || "'\"\\".contains(c)) {
                shell_words::quote(arg).into_owned()
            } else {
                arg.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Output of a read tool, capped like a command's.
fn cap(output: String) -> String {
    let kept = exec::char_floor(&output, exec::OUTPUT_CAP);
    if kept.len() == output.len() {
        return output;
    }
    format!("{kept}\n{}", exec::TRUNCATION_NOTICE)
}

/// Fits a run's messages into `budget` tokens: the oldest tool outputs are shortened first,
/// then the oldest history is dropped; the system prompt and the question always stay.
fn fit(messages: &mut Vec<Value>, budget: usize) {
    let size = |messages: &[Value]| -> usize {
        messages
            .iter()
            .map(|m| estimate_tokens(&m.to_string()) + MESSAGE_OVERHEAD_TOKENS)
            .sum()
    };
    let mut total = size(messages);
    let mut i = 0;
    while total > budget && i < messages.len() {
        if messages[i]["role"] == "tool" {
            let before = estimate_tokens(&messages[i].to_string());
            messages[i]["content"] = json!("[output left out to fit the model's context window]");
            total = total - before + estimate_tokens(&messages[i].to_string());
        }
        i += 1;
    }
    // Then whole history messages, oldest first (never the system prompt at 0, nor anything of
    // the current question, which starts at its user message).
    let question = messages
        .iter()
        .rposition(|m| m["role"] == "user")
        .unwrap_or(messages.len());
    let mut drop = 0;
    while total > budget && 1 + drop < question {
        total -= estimate_tokens(&messages[1 + drop].to_string()) + MESSAGE_OVERHEAD_TOKENS;
        drop += 1;
    }
    messages.drain(1..1 + drop);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn fitting_shortens_old_tool_outputs_before_dropping_history() {
        let big = "x".repeat(40_000);
        let mut messages = vec![
            json!({"role": "system", "content": "sys"}),
            json!({"role": "user", "content": "earlier question"}),
            json!({"role": "assistant", "content": "earlier answer"}),
            json!({"role": "user", "content": "why?"}),
            json!({"role": "assistant", "content": null, "tool_calls": []}),
            json!({"role": "tool", "tool_call_id": "a", "content": big}),
            json!({"role": "tool", "tool_call_id": "b", "content": "small"}),
        ];
        fit(&mut messages, 1_000);
        assert_eq!(
            messages.len(),
            7,
            "history kept once the output was shortened"
        );
        assert!(messages[5]["content"]
            .as_str()
            .unwrap()
            .contains("left out"));
        assert_eq!(messages[6]["content"], "small");
    }

    #[test]
    fn fitting_drops_the_oldest_history_but_never_the_question() {
        let long = "y".repeat(8_000);
        let mut messages = vec![
            json!({"role": "system", "content": "sys"}),
            json!({"role": "user", "content": long}),
            json!({"role": "assistant", "content": long}),
            json!({"role": "user", "content": "the question"}),
        ];
        fit(&mut messages, 2_500);
        assert_eq!(messages[0]["role"], "system");
        assert_eq!(messages.last().unwrap()["content"], "the question");
        assert_eq!(messages.len(), 3, "only the oldest message went");
        let mut tiny = vec![
            json!({"role": "system", "content": "sys"}),
            json!({"role": "user", "content": "the question"}),
        ];
        fit(&mut tiny, 1);
        assert_eq!(tiny.len(), 2);
    }

    #[test]
    fn a_command_is_shown_with_only_the_quotes_it_needs() {
        let argv: Vec<String> = [
            "gcloud",
            "--format=json",
            "logging",
            "read",
            "severity>=ERROR AND x",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            shown(&argv),
            "gcloud --format=json logging read 'severity>=ERROR AND x'"
        );
    }

    #[test]
    fn read_tool_output_is_capped() {
        let capped = cap("z".repeat(exec::OUTPUT_CAP + 10));
        assert!(capped.len() <= exec::OUTPUT_CAP + exec::TRUNCATION_NOTICE.len() + 1);
        assert!(capped.ends_with(exec::TRUNCATION_NOTICE));
        assert_eq!(cap("short".into()), "short");
    }
}
