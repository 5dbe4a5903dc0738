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
//! - [`offer`]: the tools a run offers the model, and the refusal of any other.
//! - [`tool_call`]: one tool call, recorded and run.
//! - [`confirmations`]: the command gate and the user's confirmation.
//! - [`context_window`]: what of the conversation is sent to the model.

mod confirmations;
mod consumer;
mod context_window;
mod investigate;
mod model_call;
mod offer;
mod run_loop;
mod tool_call;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aurora_domain::gate::{Policy, PolicyError};
use aurora_domain::organization::Organization;
use aurora_domain::{ChatSession, TenantId};
use aurora_nats::consumer as nats_consumer;
use aurora_nats::{AggregateStore, StoreError};
use tokio::sync::watch;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::lease::Leases;
use super::llm::Llm;
use super::query::Queries;
use super::reader::Reader;
use super::session::Sessions;
use super::AgentConfig;
use crate::connectors::Connectors;
pub use consumer::Outcome;
use consumer::CONSUMER;
pub use investigate::{Brief, InvestigateError};

/// How long shutdown waits for runs to record how they ended.
const DRAIN: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("cannot open the {CONSUMER} consumer: {0}")]
    Consumer(#[source] async_nats::Error),
    #[error(transparent)]
    Runner(#[from] nats_consumer::RunnerError),
}

/// Why an organisation's command policy is not at hand.
#[derive(Debug, thiserror::Error)]
pub enum PolicyUnusable {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Invalid(#[from] PolicyError),
}

/// The agent of every session. Cheap to clone.
#[derive(Clone)]
pub struct Agent {
    inner: Arc<Inner>,
}

struct Inner {
    sessions: Sessions,
    organizations: AggregateStore<Organization>,
    nats: async_nats::Client,
    reader: Reader,
    /// The tenants' connected accounts, looked up at each tool call: which CLIs and query tools
    /// are offered, and the credentials of a command or a query.
    connectors: Connectors,
    queries: Queries,
    config: Arc<AgentConfig>,
    llm: Option<Llm>,
    /// Questions being answered by this process (a redelivered query does not start a second
    /// run).
    running: Mutex<HashSet<Uuid>>,
    /// The runs of this process, so shutdown can let them record how they ended.
    runs: Mutex<JoinSet<()>>,
    /// Turns true when the process stops: every run ends, keeping what it has.
    stopping: watch::Sender<bool>,
    leases: Leases,
}

impl Agent {
    pub fn new(
        sessions: AggregateStore<ChatSession>,
        organizations: AggregateStore<Organization>,
        pool: sqlx::PgPool,
        config: Arc<AgentConfig>,
        connectors: Connectors,
        knowledge: Option<crate::knowledge::KnowledgeBase>,
    ) -> Self {
        let log = sessions.log().clone();
        let nats = log.client().clone();
        Self {
            inner: Arc::new(Inner {
                leases: Leases::new(nats.clone()),
                nats,
                reader: Reader {
                    pool,
                    log,
                    knowledge,
                },
                queries: Queries::new(connectors.config().timeout),
                connectors,
                llm: config.llm.as_ref().map(Llm::new),
                config,
                sessions: Sessions::new(sessions),
                organizations,
                running: Mutex::new(HashSet::new()),
                runs: Mutex::new(JoinSet::new()),
                stopping: watch::Sender::new(false),
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

    /// The chat sessions the agent writes.
    pub fn sessions(&self) -> &Sessions {
        &self.inner.sessions
    }

    /// How the agent runs.
    /// The knowledge base its `knowledge_base_search` tool reads, if any.
    pub fn knowledge(&self) -> Option<&crate::knowledge::KnowledgeBase> {
        self.inner.reader.knowledge.as_ref()
    }

    pub fn config(&self) -> &AgentConfig {
        &self.inner.config
    }

    /// The organisation's allow/deny policy for agent commands.
    async fn policy(&self, tenant: &TenantId) -> Result<Policy, PolicyUnusable> {
        let Ok(organization) = Uuid::parse_str(tenant.as_str()) else {
            return Ok(Policy::default());
        };
        let state = self.inner.organizations.load(tenant, organization).await?;
        let Some(state) = state else {
            return Ok(Policy::default());
        };
        let policy = &state.inner().agent_policy;
        Ok(Policy::new(&policy.allow, &policy.deny)?)
    }
}
