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
//!
//! - [`consumer`]: the commands of `cmd.<tenant>.session.<id>`, a query starting a run.
//! - [`run_loop`]: one run, from the question to its answer and how it stopped.
//! - [`model_call`]: one streamed model call and what it cost.
//! - [`tool_call`]: one tool call, recorded and run.
//! - [`confirmations`]: the command gate and the user's confirmation.
//! - [`context_window`]: what of the conversation is sent to the model.

mod confirmations;
mod consumer;
mod context_window;
mod model_call;
mod run_loop;
mod tool_call;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::kv;
use aurora_domain::gate::Policy;
use aurora_domain::organization::Organization;
use aurora_domain::{ChatCommand, ChatError, ChatSession, TenantId};
use aurora_nats::consumer as nats_consumer;
use aurora_nats::envelope::Context;
use aurora_nats::subjects;
use aurora_nats::{AggregateStore, StoreError};
use tokio::sync::watch;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::llm::Llm;
use super::tools::Reader;
use super::{lease, sweep, AgentConfig};
use aurora_domain::chat::frames::ServerFrame;
pub use consumer::Outcome;
use consumer::CONSUMER;

/// How long shutdown waits for runs to record how they ended.
const DRAIN: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("cannot open the {CONSUMER} consumer: {0}")]
    Consumer(String),
    #[error(transparent)]
    Runner(#[from] nats_consumer::RunnerError),
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
            .get_or_try_init(|| lease::leases(&self.inner.nats))
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

    /// How the agent runs.
    pub fn config(&self) -> &AgentConfig {
        &self.inner.config
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
