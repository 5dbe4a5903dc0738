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
use uuid::Uuid;

use super::exec::{self, ExecSpec};
use super::frames::{code, RunStatus, ServerFrame};
use super::gate::{self, Policy, RunMode, Verdict};
use super::llm::{Llm, ToolCallRequest, Turn};
use super::tools::{self, Planned, Reader};
use super::{estimate_tokens, AgentConfig, Query, SessionRequest};

const CONSUMER: &str = "chat";
/// Room kept in the context window for the answer.
const ANSWER_RESERVE_TOKENS: usize = 4_096;

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
            }),
        }
    }

    /// Consumes `cmd.*.session.*` until `shutdown`, one command at a time.
    pub async fn run(self, shutdown: watch::Receiver<bool>) -> Result<(), AgentError> {
        let js = jetstream::new(self.inner.nats.clone());
        let stream = js
            .get_stream(CMD_STREAM)
            .await
            .map_err(|e| AgentError::Consumer(e.to_string()))?;
        let consumer: PullConsumer = stream
            .get_consumer(CONSUMER)
            .await
            .map_err(|e| AgentError::Consumer(e.to_string()))?;
        consumer::run(consumer, 1, shutdown, |deliveries| {
            let agent = self.clone();
            async move {
                for delivery in deliveries {
                    match agent.handle(&delivery).await {
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
        })
        .await?;
        Ok(())
    }

    /// Handles one delivered `cmd.<tenant>.session.<id>`.
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
                let confirmation = matches!(command, ChatCommand::AnswerConfirmation { .. });
                match self.execute(&tenant, id, command).await? {
                    Ok(()) => Ok(Outcome::Applied),
                    Err(refusal) => {
                        let code = if confirmation {
                            code::CONFIRMATION_REFUSED
                        } else {
                            code::BAD_FRAME
                        };
                        self.frame(
                            &tenant,
                            id,
                            &ServerFrame::error(Some(id), code, refusal.to_string()),
                        )
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
        let existing = self.inner.sessions.load(tenant, id).await?;
        match existing.as_ref().map(|s| s.inner()) {
            None => {
                let start = ChatCommand::Start {
                    id: SessionId(id),
                    owner: query.owner.clone(),
                    title: query.title.clone(),
                    mode: query.mode,
                    at: query.at,
                };
                if let Err(refusal) = self.execute(tenant, id, start).await? {
                    return self.refuse(tenant, id, code::BAD_FRAME, refusal).await;
                }
            }
            Some(state) if state.owner != query.owner || state.deleted => {
                let text = format!("session {id} not found");
                self.frame(
                    tenant,
                    id,
                    &ServerFrame::error(Some(id), code::SESSION_NOT_FOUND, text.clone()),
                )
                .await;
                return Ok(Outcome::Refused(text));
            }
            Some(_) => {}
        }
        let post = ChatCommand::PostUserMessage {
            message_id: query.message_id,
            text: query.text.clone(),
            mode: query.mode,
            at: query.at,
        };
        if let Err(refusal) = self.execute(tenant, id, post).await? {
            return self.refuse(tenant, id, code::EMPTY_QUERY, refusal).await;
        }
        let Some(llm) = self.inner.llm.clone() else {
            self.frame(
                tenant,
                id,
                &ServerFrame::error(Some(id), code::NO_MODEL, no_model_text()),
            )
            .await;
            return Ok(Outcome::Refused("no model configured".into()));
        };
        let answer = answer_id(query.message_id);
        let state = self.inner.sessions.load(tenant, id).await?;
        if state.is_some_and(|s| s.inner().has_message(answer)) {
            // A redelivered query that was answered already.
            return Ok(Outcome::Applied);
        }
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
                llm,
                asked_at: query.at,
                calls: Vec::new(),
            };
            tokio::spawn(run.go());
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
        self.frame(
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
    async fn frame(&self, tenant: &TenantId, session: Uuid, frame: &ServerFrame) {
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

/// The text of a `NO_MODEL` error frame.
pub fn no_model_text() -> String {
    "No language model is configured. Set LLM_BASE_URL (an OpenAI-compatible endpoint, e.g. \
     https://api.openai.com/v1), LLM_MODEL (e.g. gpt-4o) and LLM_API_KEY, then restart Aurora."
        .to_owned()
}

/// The id of the assistant's answer to the user message `question` (so a retried run records
/// it once).
pub fn answer_id(question: Uuid) -> Uuid {
    Uuid::new_v5(&question, b"answer")
}

/// Why a run stopped before its answer was complete.
enum Stop {
    /// The user cancelled, or asked something else.
    Cancelled,
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
    llm: Llm,
    asked_at: DateTime<Utc>,
    /// (input tokens, output tokens, cost in micro-dollars) of each model call.
    calls: Vec<(u64, u64, i64)>,
}

impl Run {
    async fn go(mut self) {
        let subject = subjects::aggregate(&self.tenant, "session", self.session);
        let control = self.agent.inner.nats.subscribe(subject).await;
        self.send(ServerFrame::Status {
            session_id: self.session,
            status: RunStatus::Start,
        })
        .await;
        let mut said = Vec::new();
        let outcome = match control {
            Ok(mut control) => self.steps(&mut control, &mut said).await,
            Err(e) => Err(Stop::Store(format!("cannot follow the session: {e}"))),
        };
        let text = said
            .iter()
            .map(|s: &String| s.trim())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("\n\n");
        match &outcome {
            Ok(()) | Err(Stop::Cancelled) | Err(Stop::Llm(_)) => {
                if !text.is_empty() {
                    self.record(ChatCommand::RecordAssistantMessage {
                        message_id: self.answer,
                        text: text.clone(),
                        at: Utc::now(),
                    })
                    .await;
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
            Err(Stop::Store(_)) => {}
        }
        match outcome {
            Err(Stop::Llm(e)) => {
                self.send(ServerFrame::error(Some(self.session), code::LLM_ERROR, e))
                    .await
            }
            Err(Stop::Store(e)) => {
                tracing::error!(session = %self.session, error = %e, "a run could not record its steps");
                self.send(ServerFrame::error(
                    Some(self.session),
                    code::UNAVAILABLE,
                    format!("the answer could not be recorded: {e}"),
                ))
                .await
            }
            Ok(()) | Err(Stop::Cancelled) => {}
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

    /// Model calls and tool calls until the model answers without tools, the step limit, or a
    /// stop. `said` collects the text of every step as it streams.
    async fn steps(
        &mut self,
        control: &mut async_nats::Subscriber,
        said: &mut Vec<String>,
    ) -> Result<(), Stop> {
        let state = self
            .agent
            .inner
            .sessions
            .load(&self.tenant, self.session)
            .await?
            .map(|s| s.into_inner())
            .unwrap_or_default();
        if state
            .cancelled_runs
            .last()
            .is_some_and(|at| *at >= self.asked_at)
        {
            return Err(Stop::Cancelled);
        }
        let definitions = tools::definitions();
        let mut messages = self.context(&state, &definitions);
        let mut known: HashSet<String> = state
            .tool_calls
            .iter()
            .map(|c| c.tool_call_id.clone())
            .collect();
        let max_steps = self.agent.inner.config.max_steps.max(1);
        for _ in 0..max_steps {
            let turn = self
                .call_model(&messages, &definitions, control, said)
                .await?;
            let calls = turn.calls();
            if calls.is_empty() {
                return Ok(());
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
                let mut event_id = if call.id.is_empty() {
                    format!("call-{}", Uuid::now_v7())
                } else {
                    call.id.clone()
                };
                // Models reuse ids across turns; the session's ids must stay unique.
                while known.contains(&event_id) {
                    event_id = format!("{}-{}", call.id, &Uuid::now_v7().simple().to_string()[..8]);
                }
                known.insert(event_id.clone());
                let output = self.tool(&call, &event_id, control).await?;
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

    /// The system prompt, as much history as fits the window (newest kept), and the question.
    fn context(&self, state: &ChatSessionState, definitions: &[Value]) -> Vec<Value> {
        let config = &self.agent.inner.config;
        let mode = match self.mode {
            ChatMode::Ask => "This conversation is in ask mode.",
            ChatMode::Agent => "This conversation is in agent mode.",
        };
        let system = format!("{SYSTEM_PROMPT} {mode}");
        let question = state
            .messages
            .iter()
            .find(|m| m.message_id == self.question)
            .map(|m| m.text.clone())
            .unwrap_or_default();
        let mut budget = config
            .context_tokens
            .saturating_sub(ANSWER_RESERVE_TOKENS)
            .saturating_sub(estimate_tokens(&system))
            .saturating_sub(estimate_tokens(
                &Value::Array(definitions.to_vec()).to_string(),
            ))
            .saturating_sub(estimate_tokens(&question));
        let mut history = Vec::new();
        for message in state
            .messages
            .iter()
            .rev()
            .filter(|m| m.message_id != self.question)
        {
            let cost = estimate_tokens(&message.text) + 4;
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
        let mut turn = Turn::default();
        let mut stopped = None;
        said.push(String::new());
        let opened = tokio::select! {
            opened = self.llm.stream(&self.model, messages, definitions) => Some(opened),
            stop = self.until_stopped(control) => { stopped = Some(stop); None }
        };
        if let Some(opened) = opened {
            match opened {
                Err(e) => stopped = Some(Stop::Llm(e.to_string())),
                Ok(mut stream) => loop {
                    tokio::select! {
                        chunk = stream.next() => match chunk {
                            None => break,
                            Some(Err(e)) => { stopped = Some(Stop::Llm(e.to_string())); break }
                            Some(Ok(chunk)) => {
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
            self.calls.push((input, output, cost.micros));
            self.record(ChatCommand::RecordUsage {
                model: self.model.clone(),
                input_tokens: input,
                output_tokens: output,
                cost_micros: cost.micros,
                at: Utc::now(),
            })
            .await;
        }
        match stopped {
            Some(stop) => Err(stop),
            None => Ok(turn),
        }
    }

    /// Resolves when the session's events say this run must stop.
    async fn until_stopped(&self, control: &mut async_nats::Subscriber) -> Stop {
        while let Some(message) = control.next().await {
            match serde_json::from_slice::<ChatEvent>(&message.payload) {
                Ok(ChatEvent::RunCancelled { .. }) => return Stop::Cancelled,
                Ok(ChatEvent::UserMessagePosted { message_id, .. })
                    if message_id != self.question =>
                {
                    return Stop::Cancelled
                }
                _ => {}
            }
        }
        Stop::Store("the session's events stopped arriving".into())
    }

    /// One tool call: recorded, gated if it is a command, run, its result recorded. The text is
    /// what the model is told.
    async fn tool(
        &mut self,
        call: &ToolCallRequest,
        event_id: &str,
        control: &mut async_nats::Subscriber,
    ) -> Result<String, Stop> {
        let input: Value = serde_json::from_str(&call.arguments)
            .unwrap_or_else(|_| Value::String(call.arguments.clone()));
        self.record_or_stop(ChatCommand::StartToolCall {
            tool_call_id: event_id.to_owned(),
            tool_name: call.name.clone(),
            input: input.clone(),
            at: Utc::now(),
        })
        .await?;
        self.send(ServerFrame::ToolCall {
            session_id: self.session,
            tool_call_id: event_id.to_owned(),
            tool_name: call.name.clone(),
            input,
            status: "running".into(),
        })
        .await;
        let started = Instant::now();
        let outcome = match tools::plan(&call.name, &call.arguments) {
            Err(e) => Err(e),
            Ok(Planned::Read(tool)) => self.agent.inner.reader.read(&self.tenant, &tool).await,
            Ok(Planned::Command { cli, command }) => {
                match self.gated(cli, &command, event_id, control).await {
                    Ok(outcome) => outcome,
                    Err(stop) => {
                        self.finish_tool(
                            call,
                            event_id,
                            started,
                            Err("stopped: the user cancelled the run".into()),
                        )
                        .await;
                        return Err(stop);
                    }
                }
            }
        };
        Ok(self.finish_tool(call, event_id, started, outcome).await)
    }

    async fn finish_tool(
        &mut self,
        call: &ToolCallRequest,
        event_id: &str,
        started: Instant,
        outcome: Result<String, String>,
    ) -> String {
        let duration_ms = started.elapsed().as_millis() as u64;
        match outcome {
            Ok(output) => {
                self.record(ChatCommand::RecordToolResult {
                    tool_call_id: event_id.to_owned(),
                    output: output.clone(),
                    duration_ms,
                    at: Utc::now(),
                })
                .await;
                self.send(ServerFrame::ToolResult {
                    session_id: self.session,
                    tool_call_id: event_id.to_owned(),
                    tool_name: call.name.clone(),
                    output: output.clone(),
                    duration_ms,
                })
                .await;
                tools::for_model(&output)
            }
            Err(error) => {
                self.record(ChatCommand::RecordToolError {
                    tool_call_id: event_id.to_owned(),
                    error: error.clone(),
                    duration_ms,
                    at: Utc::now(),
                })
                .await;
                self.send(ServerFrame::ToolError {
                    session_id: self.session,
                    tool_call_id: event_id.to_owned(),
                    tool_name: call.name.clone(),
                    error: error.clone(),
                    duration_ms,
                })
                .await;
                tools::for_model(&format!("error: {error}"))
            }
        }
    }

    /// The gate, the confirmation if it asks for one, then the command.
    async fn gated(
        &mut self,
        cli: gate::Cli,
        command: &str,
        event_id: &str,
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
        let shown = if decision.argv.is_empty() {
            command.to_owned()
        } else {
            decision.argv.join(" ")
        };
        let verdict = match decision.verdict {
            Verdict::Allow => GateVerdict::Allowed,
            Verdict::Confirm => GateVerdict::ConfirmationRequired,
            Verdict::Refuse => GateVerdict::Refused,
        };
        self.record_or_stop(ChatCommand::RecordGateDecision {
            tool_call_id: event_id.to_owned(),
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
                let confirmation_id = Uuid::new_v5(&self.answer, event_id.as_bytes());
                let at = Utc::now();
                self.record_or_stop(ChatCommand::AskConfirmation {
                    confirmation_id,
                    tool_call_id: Some(event_id.to_owned()),
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
                match self.answer_to(confirmation_id, control).await? {
                    Some(ConfirmationDecision::Execute) => {}
                    Some(ConfirmationDecision::Cancel) => {
                        return Ok(Err("the user declined to run this command".into()))
                    }
                    None => {
                        return Ok(Err(format!(
                            "nobody confirmed the command within {CONFIRMATION_TTL_SECS} s"
                        )))
                    }
                }
            }
            Verdict::Allow => {}
        }
        Ok(self.exec(decision.argv).await)
    }

    /// Waits for the user's answer to a confirmation (`None` once it expired).
    async fn answer_to(
        &self,
        confirmation_id: Uuid,
        control: &mut async_nats::Subscriber,
    ) -> Result<Option<ConfirmationDecision>, Stop> {
        let deadline = tokio::time::sleep(Duration::from_secs(CONFIRMATION_TTL_SECS as u64));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = &mut deadline => return Ok(None),
                message = control.next() => {
                    let Some(message) = message else {
                        return Err(Stop::Store("the session's events stopped arriving".into()));
                    };
                    match serde_json::from_slice::<ChatEvent>(&message.payload) {
                        Ok(ChatEvent::ConfirmationAnswered { confirmation_id: answered, decision, .. })
                            if answered == confirmation_id =>
                        {
                            // A cancel answers pending confirmations beside `run_cancelled`.
                            return Ok(Some(decision));
                        }
                        Ok(ChatEvent::RunCancelled { .. }) => return Err(Stop::Cancelled),
                        Ok(ChatEvent::UserMessagePosted { message_id, .. }) if message_id != self.question => {
                            return Err(Stop::Cancelled)
                        }
                        _ => {}
                    }
                }
            }
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
        self.agent.frame(&self.tenant, self.session, &frame).await;
    }

    /// Records a step; a refusal (which a run's own steps never cause) is logged.
    async fn record(&self, command: ChatCommand) {
        if let Err(Stop::Store(e)) = self.record_or_stop(command).await {
            tracing::error!(session = %self.session, error = %e, "a step could not be recorded");
        }
    }

    async fn record_or_stop(&self, command: ChatCommand) -> Result<(), Stop> {
        match self
            .agent
            .execute(&self.tenant, self.session, command)
            .await?
        {
            Ok(()) => Ok(()),
            Err(ChatError::Deleted) => Err(Stop::Cancelled),
            Err(refusal) => {
                tracing::warn!(session = %self.session, %refusal, "a run's step was refused");
                Ok(())
            }
        }
    }
}
