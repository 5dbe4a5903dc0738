//! Root-cause analysis in the background (SPEC §4): the `rca` process manager.
//!
//! It follows the incidents' events (`evt.*.incident.*`, durable consumer `rca`):
//! - an incident opened whose integration asks for an RCA ([`wanted`]) → the incident's first
//!   investigation is requested (`RcaRequested`, idempotent by incident and episode);
//! - `RcaRequested` (by the opening or by `POST /api/incidents/{id}/rca`) → the `Investigation`
//!   is recorded, admitted by the tenant's [start window](admission) or queued, and started by
//!   the process that wins its `Start` — the agent in a background session when a model is
//!   configured, the deterministic [evidence] pass otherwise;
//! - a correlated alert → handed to the running agent; `RcaCancelled` or a merge → the run is
//!   cancelled (a merge carries its thoughts and findings into the target's run).
//!
//! [`sweep`] keeps it honest: queued runs start as slots free, a run whose worker died is
//! [`resume`]d (or failed, when it cannot be) once it made no progress for
//! `AURORA_RCA_STALE_SECS`, none runs past its time limit.
//!
//! It also writes the incidents' [`postmortem`]s: when one resolves, and when a person asks for
//! it again.

mod admission;
mod consumer;
pub mod evidence;
mod postmortem;
mod resume;
mod start;
mod sweep;
mod wanted;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aurora_domain::investigation::start_window::StartLimit;
use aurora_domain::investigation::Investigation;
use aurora_domain::postmortem::Postmortem;
use aurora_domain::{Incident, Integration};
use aurora_nats::{AggregateStore, StoreError};
use tokio::sync::watch;

use crate::agent::lease::Leases;
use crate::agent::llm::Llm;
use crate::agent::reader::Reader;
use crate::agent::run::Agent;
use crate::Variables;

/// How investigations are started and watched.
#[derive(Debug, Clone)]
pub struct RcaConfig {
    /// Whether an opened incident starts an investigation (as its integration's setting says);
    /// off, only a person starts one (`AURORA_RCA_AUTOMATIC=0`).
    pub automatic: bool,
    /// Starts per window per tenant (`AURORA_RCA_MAX_STARTS`, `AURORA_RCA_WINDOW_SECS`).
    pub limit: StartLimit,
    /// A run that recorded nothing for this long, with no live worker, is failed
    /// (`AURORA_RCA_STALE_SECS`).
    pub stale: Duration,
    /// No run lasts longer (`AURORA_RCA_TIME_LIMIT_SECS`, 30 minutes).
    pub time_limit: Duration,
    /// How often queued runs are looked at and stuck ones swept.
    pub tick: Duration,
    /// Whether a resolved incident gets its postmortem written (`AURORA_POSTMORTEM_ON_RESOLVE=0`
    /// turns it off; a person's request for one is always served).
    pub postmortem_on_resolve: bool,
}

impl Default for RcaConfig {
    fn default() -> Self {
        Self {
            automatic: true,
            limit: StartLimit::default(),
            stale: Duration::from_secs(300),
            time_limit: Duration::from_secs(30 * 60),
            tick: Duration::from_secs(1),
            postmortem_on_resolve: true,
        }
    }
}

/// A setting that does not read.
#[derive(Debug, thiserror::Error)]
#[error("{name}={value:?} is not a whole number")]
pub struct ConfigError {
    pub name: &'static str,
    pub value: String,
}

impl RcaConfig {
    /// [`Self::from_vars`] with the process's environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&Variables::from_env())
    }

    /// The defaults, changed by the `AURORA_RCA_*` (and `AURORA_POSTMORTEM_ON_RESOLVE`)
    /// variables that are set in `vars`.
    pub fn from_vars(vars: &Variables) -> Result<Self, ConfigError> {
        let number = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
            match vars.get(name) {
                None => Ok(default),
                Some(value) => value.trim().parse().map_err(|_| ConfigError {
                    name,
                    value: value.to_owned(),
                }),
            }
        };
        let defaults = Self::default();
        Ok(Self {
            automatic: number("AURORA_RCA_AUTOMATIC", 1)? != 0,
            limit: StartLimit {
                limit: number("AURORA_RCA_MAX_STARTS", defaults.limit.limit as u64)? as usize,
                window: chrono::Duration::seconds(number(
                    "AURORA_RCA_WINDOW_SECS",
                    defaults.limit.window.num_seconds() as u64,
                )? as i64),
            },
            stale: Duration::from_secs(number("AURORA_RCA_STALE_SECS", defaults.stale.as_secs())?),
            time_limit: Duration::from_secs(number(
                "AURORA_RCA_TIME_LIMIT_SECS",
                defaults.time_limit.as_secs(),
            )?),
            tick: defaults.tick,
            postmortem_on_resolve: number("AURORA_POSTMORTEM_ON_RESOLVE", 1)? != 0,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RcaError {
    #[error("cannot open the rca consumer: {0}")]
    Consumer(String),
    #[error(transparent)]
    Runner(#[from] aurora_nats::consumer::RunnerError),
    #[error("the {bucket} bucket is unavailable: {reason}")]
    Bucket {
        bucket: &'static str,
        reason: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("event {stream_sequence} of {subject} does not load: {source}")]
    Undecodable {
        subject: String,
        stream_sequence: u64,
        source: serde_json::Error,
    },
}

/// The process manager. Cheap to clone.
#[derive(Clone)]
pub struct Investigator {
    inner: Arc<Inner>,
}

struct Inner {
    incidents: AggregateStore<Incident>,
    investigations: AggregateStore<Investigation>,
    postmortems: AggregateStore<Postmortem>,
    /// Whose automatic-analysis setting decides on a new incident ([`wanted`]).
    integrations: AggregateStore<Integration>,
    agent: Agent,
    /// The model postmortems are written by, when one is configured.
    llm: Option<Llm>,
    /// Postmortems a task of this process is writing (by their pending key).
    writing: Mutex<HashSet<String>>,
    reader: Reader,
    config: RcaConfig,
    /// This process, as recorded on the runs it starts.
    worker: String,
    buckets: tokio::sync::OnceCell<admission::Buckets>,
    /// The agent's run leases: a run that holds one has a live worker.
    leases: Leases,
}

impl Investigator {
    pub fn new(
        incidents: AggregateStore<Incident>,
        investigations: AggregateStore<Investigation>,
        postmortems: AggregateStore<Postmortem>,
        agent: Agent,
        pool: sqlx::PgPool,
        config: RcaConfig,
    ) -> Self {
        let log = incidents.log().clone();
        let leases = Leases::new(log.client().clone());
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "aurora".to_owned());
        Self {
            inner: Arc::new(Inner {
                integrations: AggregateStore::new(log.clone()),
                incidents,
                investigations,
                postmortems,
                llm: agent.config().llm.as_ref().map(Llm::new),
                writing: Mutex::new(HashSet::new()),
                reader: Reader {
                    pool,
                    log,
                    knowledge: agent.knowledge().cloned(),
                },
                agent,
                config,
                worker: format!("{host}:{}", std::process::id()),
                buckets: tokio::sync::OnceCell::new(),
                leases,
            }),
        }
    }

    /// Consumes the incidents' events and ticks the queue and the sweep until `shutdown`.
    pub async fn run(self, shutdown: watch::Receiver<bool>) -> Result<(), RcaError> {
        let ticking = tokio::spawn(self.clone().ticking(shutdown.clone()));
        let result = self.consume(shutdown).await;
        ticking.abort();
        result
    }

    async fn buckets(&self) -> Result<&admission::Buckets, RcaError> {
        self.inner
            .buckets
            .get_or_try_init(|| admission::Buckets::open(self.inner.incidents.log().client()))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_variables_the_defaults_hold_and_set_ones_change_them() {
        let defaults =
            RcaConfig::from_vars(&Variables::from_iter([("AURORA_RCA_STALE_SECS", " ")]))
                .expect("valid");
        assert!(defaults.automatic && defaults.postmortem_on_resolve);
        assert_eq!(defaults.stale, Duration::from_secs(300), "blank is unset");
        assert_eq!(defaults.time_limit, Duration::from_secs(30 * 60));

        let set = RcaConfig::from_vars(&Variables::from_iter([
            ("AURORA_RCA_AUTOMATIC", "0"),
            ("AURORA_RCA_MAX_STARTS", "3"),
            ("AURORA_RCA_WINDOW_SECS", "60"),
            ("AURORA_RCA_STALE_SECS", " 30 "),
            ("AURORA_RCA_TIME_LIMIT_SECS", "600"),
            ("AURORA_POSTMORTEM_ON_RESOLVE", "0"),
        ]))
        .expect("valid");
        assert!(!set.automatic && !set.postmortem_on_resolve);
        assert_eq!(set.limit.limit, 3);
        assert_eq!(set.limit.window, chrono::Duration::seconds(60));
        assert_eq!(set.stale, Duration::from_secs(30));
        assert_eq!(set.time_limit, Duration::from_secs(600));
    }

    #[test]
    fn a_value_that_is_not_a_whole_number_is_named() {
        let refused =
            RcaConfig::from_vars(&Variables::from_iter([("AURORA_RCA_MAX_STARTS", "five")]))
                .expect_err("refused");
        assert_eq!(
            (refused.name, refused.value.as_str()),
            ("AURORA_RCA_MAX_STARTS", "five")
        );
    }
}
