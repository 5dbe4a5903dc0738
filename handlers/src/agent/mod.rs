//! The chat agent (SPEC §5, §6, §11): a person's query becomes a run of an LLM with tools, every
//! step recorded on the session's events, the tokens streamed live.
//!
//! - [`run`]: the `chat` consumer of `CMD` (`cmd.<tenant>.session.<id>`): records queries,
//!   confirmations and cancels on the `ChatSession` aggregate and runs the agent.
//! - [`session`]: a session as the agent writes it (load, record a step, send a frame), shared by
//!   the run and the sweep.
//! - [`lease`]: the KV key a live run holds, and [`sweep`]: closing runs whose process died.
//! - [`llm`]: the streamed completion with tool calls, through async-openai against any
//!   OpenAI-compatible endpoint.
//! - [`tools`]: what the agent may call ([`tool_args`]: how a call's arguments are read;
//!   [`query`]: the read-only queries of connected observability accounts), and
//!   [`aurora_domain::gate`]: what of it may run; [`exec`](crate::exec) runs a CLI.
//! - [`reader`]: the read tools over Aurora's own data ([`graph_context`]: the graph around a
//!   service, for the `service_graph` tool and an investigation's brief).
//! - [`prices`]: the per-model price table behind the estimated cost.
//! - The WebSocket protocol and what the gateway sends on `CMD` are the domain's
//!   ([`aurora_domain::chat::frames`], [`aurora_domain::chat::request`]).
//!
//! Token chunks go to `live.<tenant>.session.<id>` (core NATS, not stored); everything else is an
//! event first and a frame second, so a reloaded page and a replay see the same history.

pub mod graph_context;
pub mod investigation;
pub mod lease;
pub mod llm;
pub mod prices;
pub mod query;
pub mod reader;
pub mod run;
pub mod session;
pub mod sweep;
pub mod tool_args;
pub mod tools;

use std::path::PathBuf;
use std::time::Duration;

pub use prices::PriceTable;

use prices::PriceError;

/// The endpoint of the model (`LLM_BASE_URL`, `LLM_API_KEY`, `LLM_MODEL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlmConfig {
    pub base_url: String,
    pub api_key: String,
    pub model: String,
}

/// A setting of the agent's environment that does not parse.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("LLM_PRICES: {0}")]
    Prices(#[from] PriceError),
    #[error("{name}={value:?} is not a whole number")]
    NotANumber {
        name: String,
        value: String,
        #[source]
        source: std::num::ParseIntError,
    },
}

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// `None`: no model configured; a query is answered with `NO_MODEL`.
    pub llm: Option<LlmConfig>,
    pub prices: PriceTable,
    /// Model calls per turn before the agent stops and says so.
    pub max_steps: usize,
    /// The model's context window in tokens; history beyond it is left out, oldest first.
    pub context_tokens: usize,
    /// Each session's working directory is `<work_dir>/<tenant>/<session>`.
    pub work_dir: PathBuf,
    /// The `PATH` tools run with (the CLIs found on it are the ones the agent can use).
    pub tool_path: Option<String>,
    pub tool_timeout: Duration,
    /// How long a run waits for a confirmation: the confirmation's own 300 s (SPEC), or less.
    pub confirmation_wait: Duration,
    /// How long the model may stay silent (to answer at all, or between two chunks).
    pub llm_idle_timeout: Duration,
    /// Models a query may ask for besides the configured one (`LLM_MODELS`, comma separated).
    pub models: Vec<String>,
    /// How often this process looks for runs whose process died ([`sweep`]).
    pub sweep_every: Duration,
    /// How long a session must have been quiet before a sweep may close it.
    pub sweep_quiet: Duration,
}

impl AgentConfig {
    /// The defaults, with the model from `LLM_BASE_URL` / `LLM_API_KEY` / `LLM_MODEL` when all
    /// the required ones are set, and prices from `LLM_PRICES` (see [`PriceTable::parse`]).
    pub fn from_env(work_dir: PathBuf) -> Result<Self, ConfigError> {
        Self::from_vars(&crate::Variables::from_env(), work_dir)
    }

    /// [`AgentConfig::from_env`] reading `vars`.
    pub fn from_vars(vars: &crate::Variables, work_dir: PathBuf) -> Result<Self, ConfigError> {
        let var = |name: &str| vars.get(name).map(str::to_owned);
        let llm = match (var("LLM_BASE_URL"), var("LLM_MODEL")) {
            (Some(base_url), Some(model)) => Some(LlmConfig {
                base_url,
                api_key: var("LLM_API_KEY").unwrap_or_default(),
                model,
            }),
            _ => None,
        };
        let mut prices = PriceTable::default();
        if let Some(table) = var("LLM_PRICES") {
            prices = prices.with(&table)?;
        }
        let number = |name: &str, default: u64| -> Result<u64, ConfigError> {
            var(name).map_or(Ok(default), |value| {
                value.parse().map_err(|source| ConfigError::NotANumber {
                    name: name.to_owned(),
                    value,
                    source,
                })
            })
        };
        Ok(Self {
            llm,
            prices,
            max_steps: number("AURORA_AGENT_MAX_STEPS", 10)? as usize,
            context_tokens: number("LLM_CONTEXT_TOKENS", 128_000)? as usize,
            work_dir,
            tool_path: var("AURORA_TOOL_PATH"),
            tool_timeout: Duration::from_secs(number("AURORA_TOOL_TIMEOUT_SECS", 60)?),
            confirmation_wait: Duration::from_secs(
                aurora_domain::chat::CONFIRMATION_TTL_SECS as u64,
            ),
            llm_idle_timeout: Duration::from_secs(number("LLM_TIMEOUT_SECS", 120)?),
            models: var("LLM_MODELS")
                .map(|list| {
                    list.split(',')
                        .map(str::trim)
                        .filter(|m| !m.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            sweep_every: Duration::from_secs(60),
            sweep_quiet: Duration::from_secs(60),
        })
    }

    /// No model, defaults elsewhere.
    pub fn without_model(work_dir: PathBuf) -> Self {
        Self {
            llm: None,
            prices: PriceTable::default(),
            max_steps: 10,
            context_tokens: 128_000,
            work_dir,
            tool_path: None,
            tool_timeout: Duration::from_secs(60),
            confirmation_wait: Duration::from_secs(
                aurora_domain::chat::CONFIRMATION_TTL_SECS as u64,
            ),
            llm_idle_timeout: Duration::from_secs(120),
            models: Vec::new(),
            sweep_every: Duration::from_secs(60),
            sweep_quiet: Duration::from_secs(60),
        }
    }

    /// Whether a query may ask for `model`: the configured one or one of `LLM_MODELS`.
    pub fn allows_model(&self, model: &str) -> bool {
        self.llm.as_ref().is_some_and(|llm| llm.model == model)
            || self.models.iter().any(|m| m == model)
    }

    pub fn with_llm(mut self, llm: LlmConfig) -> Self {
        self.llm = Some(llm);
        self
    }

    pub fn with_tool_path(mut self, path: impl Into<String>) -> Self {
        self.tool_path = Some(path.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::{AgentConfig, ConfigError};
    use crate::Variables;

    fn config(pairs: &[(&str, &str)]) -> Result<AgentConfig, ConfigError> {
        AgentConfig::from_vars(
            &pairs.iter().copied().collect::<Variables>(),
            PathBuf::from("/work"),
        )
    }

    #[test]
    fn without_variables_there_is_no_model_and_the_defaults_hold() {
        let defaults = config(&[]).expect("defaults");
        assert!(defaults.llm.is_none());
        assert_eq!(defaults.max_steps, 10);
        assert_eq!(defaults.context_tokens, 128_000);
        assert_eq!(defaults.tool_timeout, Duration::from_secs(60));
        assert_eq!(defaults.llm_idle_timeout, Duration::from_secs(120));
        assert!(defaults.models.is_empty() && defaults.tool_path.is_none());
        // A model needs both its address and its name; blank counts as unset.
        let half = config(&[("LLM_BASE_URL", "http://llm"), ("LLM_MODEL", " ")]).expect("ok");
        assert!(half.llm.is_none());
    }

    #[test]
    fn the_model_its_limits_and_the_other_models_come_from_their_variables() {
        let set = config(&[
            ("LLM_BASE_URL", "http://llm:8000/v1"),
            ("LLM_MODEL", "gpt-test"),
            ("LLM_API_KEY", "sk-test"),
            ("LLM_MODELS", "small, ,large"),
            ("AURORA_AGENT_MAX_STEPS", "4"),
            ("AURORA_TOOL_TIMEOUT_SECS", "5"),
            ("AURORA_TOOL_PATH", "/opt/tools"),
        ])
        .expect("valid");
        let llm = set.llm.expect("a model");
        assert_eq!(
            (
                llm.base_url.as_str(),
                llm.model.as_str(),
                llm.api_key.as_str()
            ),
            ("http://llm:8000/v1", "gpt-test", "sk-test")
        );
        assert_eq!(set.models, ["small", "large"]);
        assert_eq!(set.max_steps, 4);
        assert_eq!(set.tool_timeout, Duration::from_secs(5));
        assert_eq!(set.tool_path.as_deref(), Some("/opt/tools"));
    }

    #[test]
    fn a_number_that_does_not_parse_is_refused_naming_its_variable() {
        let refused = config(&[("LLM_TIMEOUT_SECS", "soon")]).expect_err("not a number");
        assert_eq!(
            refused.to_string(),
            "LLM_TIMEOUT_SECS=\"soon\" is not a whole number"
        );
    }
}
