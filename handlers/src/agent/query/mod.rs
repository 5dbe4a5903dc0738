//! The agent's read-only query tools over the tenant's connected observability accounts
//! (SPEC §7, issue 16): each an HTTP client of its provider's documented API.
//!
//! - [`tool`]: the tools' names and JSON schemas, and a call's arguments read into a
//!   [`QueryTool`]; only the tools of connected providers are offered.
//! - [`window`]: the bounded time range every ranged tool takes.
//! - [`http`]: the one way they talk to a provider (timeout, bounded answer, errors that name the
//!   provider, the status and its message).
//! - One file per provider: its account, request and the answer cut to what an investigation
//!   reads — [`datadog`], [`newrelic`], [`splunk`], [`sentry`], [`grafana`] (Prometheus and Loki
//!   through its datasource proxy), [`elasticsearch`], [`tailscale`], [`ovh`].
//!
//! What a tool returns (or its error) is redacted with the account's own secrets and the shared
//! rules, then capped, exactly like command output ([`Queries::answer`]).

pub mod datadog;
pub mod elasticsearch;
pub mod grafana;
pub mod http;
pub mod newrelic;
pub mod ovh;
pub mod sentry;
pub mod splunk;
pub mod tailscale;
pub mod tool;
pub mod window;

use std::fmt;
use std::time::Duration;

use serde_json::Value;

pub use tool::{definitions, plan, QueryTool};

use self::http::ProviderHttp;
use super::redact::Redactor;

/// The most series of one metrics query the model is sent.
pub const MAX_SERIES: usize = 20;

/// The most points of one series the model is sent (the newest are kept).
pub const MAX_POINTS: usize = 120;

/// The newest [`MAX_POINTS`] of `points` (a JSON array, oldest first), and how many were left
/// out.
pub fn newest(points: &Value) -> (&[Value], usize) {
    let all = points.as_array().map(Vec::as_slice).unwrap_or_default();
    let kept = &all[all.len().saturating_sub(MAX_POINTS)..];
    (kept, all.len() - kept.len())
}

/// An observability provider the agent can query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    Datadog,
    NewRelic,
    Splunk,
    Sentry,
    Grafana,
    Elasticsearch,
    Tailscale,
    Ovh,
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Datadog => "Datadog",
            Self::NewRelic => "New Relic",
            Self::Splunk => "Splunk",
            Self::Sentry => "Sentry",
            Self::Grafana => "Grafana",
            Self::Elasticsearch => "Elasticsearch",
            Self::Tailscale => "Tailscale",
            Self::Ovh => "OVHcloud",
        })
    }
}

/// Why a query gave no result. Its text is what the model is told.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("{0} is not connected for this organisation")]
    NotConnected(Provider),
    #[error("{provider} answered HTTP {status}: {message}")]
    Status {
        provider: Provider,
        status: u16,
        message: String,
    },
    /// An error the provider reports inside a successful answer (GraphQL errors, a query status).
    #[error("{provider} refused the query: {message}")]
    Refused { provider: Provider, message: String },
    #[error("{provider} could not be reached: {reason}")]
    Unreachable { provider: Provider, reason: String },
    #[error("{provider}'s answer could not be read: {detail}")]
    Unreadable { provider: Provider, detail: String },
}

/// A connected account, with its secret, as a query needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Account {
    Datadog(datadog::DatadogAccount),
    NewRelic(newrelic::NewRelicAccount),
    Splunk(splunk::SplunkAccount),
    Sentry(sentry::SentryAccount),
    Grafana(grafana::GrafanaAccount),
    Elasticsearch(elasticsearch::ElasticsearchAccount),
    Tailscale(tailscale::TailscaleAccount),
    Ovh(ovh::OvhAccount),
}

impl Account {
    pub fn provider(&self) -> Provider {
        match self {
            Self::Datadog(_) => Provider::Datadog,
            Self::NewRelic(_) => Provider::NewRelic,
            Self::Splunk(_) => Provider::Splunk,
            Self::Sentry(_) => Provider::Sentry,
            Self::Grafana(_) => Provider::Grafana,
            Self::Elasticsearch(_) => Provider::Elasticsearch,
            Self::Tailscale(_) => Provider::Tailscale,
            Self::Ovh(_) => Provider::Ovh,
        }
    }

    /// The secret values of the account: redacted from whatever the provider answers.
    pub fn secrets(&self) -> Vec<String> {
        match self {
            Self::Datadog(a) => vec![a.api_key.clone(), a.application_key.clone()],
            Self::NewRelic(a) => vec![a.user_key.clone()],
            Self::Splunk(a) => vec![a.token.clone()],
            Self::Sentry(a) => vec![a.token.clone()],
            Self::Grafana(a) => vec![a.token.clone()],
            Self::Elasticsearch(a) => vec![a.api_key.clone()],
            Self::Tailscale(a) => vec![a.api_key.clone()],
            Self::Ovh(a) => vec![a.application_secret.clone(), a.consumer_key.clone()],
        }
    }
}

/// Runs query tools. Cheap to clone.
#[derive(Clone)]
pub struct Queries {
    http: ProviderHttp,
}

impl Queries {
    /// `timeout`: how long one provider request may take.
    pub fn new(timeout: Duration) -> Self {
        Self {
            http: ProviderHttp::new(timeout),
        }
    }

    /// Runs `tool` on `account`: the output or the error, redacted with `secrets` (the
    /// account's) and the shared rules, the output capped like a command's.
    pub async fn answer(
        &self,
        tool: &QueryTool,
        account: &Account,
        secrets: &[String],
    ) -> Result<String, String> {
        let redactor = Redactor::new(secrets);
        match self.run(tool, account).await {
            Ok(output) => Ok(super::tools::capped(redactor.apply(&output.to_string()))),
            Err(error) => Err(redactor.apply(&error.to_string())),
        }
    }

    /// The tool's result as JSON, with the range it covered.
    pub async fn run(&self, tool: &QueryTool, account: &Account) -> Result<Value, QueryError> {
        let http = &self.http;
        let mut result = match (tool, account) {
            (QueryTool::DatadogLogs(q), Account::Datadog(a)) => q.run(http, a).await?,
            (QueryTool::DatadogMetrics(q), Account::Datadog(a)) => q.run(http, a).await?,
            (QueryTool::NewRelicNrql(q), Account::NewRelic(a)) => q.run(http, a).await?,
            (QueryTool::SplunkSearch(q), Account::Splunk(a)) => q.run(http, a).await?,
            (QueryTool::SentryIssues(q), Account::Sentry(a)) => q.run(http, a).await?,
            (QueryTool::PrometheusQuery(q), Account::Grafana(a)) => q.run(http, a).await?,
            (QueryTool::LokiQuery(q), Account::Grafana(a)) => q.run(http, a).await?,
            (QueryTool::ElasticsearchSearch(q), Account::Elasticsearch(a)) => {
                q.run(http, a).await?
            }
            (QueryTool::TailscaleDevices, Account::Tailscale(a)) => {
                tailscale::devices(http, a).await?
            }
            (QueryTool::OvhApiGet(q), Account::Ovh(a)) => q.run(http, a).await?,
            _ => return Err(QueryError::NotConnected(tool.provider())),
        };
        if let (Some(window), Value::Object(map)) = (tool.window(), &mut result) {
            map.insert("range".into(), window.describe());
        }
        Ok(result)
    }
}
