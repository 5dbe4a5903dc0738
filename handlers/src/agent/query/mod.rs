//! The agent's read-only query tools over the tenant's connected observability accounts
//! (SPEC §7, issue 16): each an HTTP client of its provider's documented API.
//!
//! - [`tool`]: the tools' names and JSON schemas, and a call's arguments read into a
//!   [`QueryTool`]; only the tools of connected providers are offered. [`definition`]: one tool
//!   as the model is told of it, which each provider's file writes of its own.
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
pub mod definition;
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

use std::time::Duration;

use serde_json::Value;

pub use tool::{definitions, plan, QueryTool};

use aurora_domain::connector::{ConnectorKind, ConnectorSettings};

use self::http::ProviderHttp;
use crate::connectors::{ConnectedAccount, ConnectorConfig, Credentials, LookupError};
use crate::redact::Redactor;

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

/// Why a query gave no result. Its text is what the model is told.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("{} is not connected for this organisation", .0.title())]
    NotConnected(ConnectorKind),
    /// The account could not be looked up (the read model or the secret store failed).
    #[error("the {} account could not be looked up: {source}", .kind.title())]
    Lookup {
        kind: ConnectorKind,
        #[source]
        source: LookupError,
    },
    #[error("{} answered HTTP {status}: {message}", .provider.title())]
    Status {
        provider: ConnectorKind,
        status: u16,
        message: String,
    },
    /// An error the provider reports inside a successful answer (GraphQL errors, a query status).
    #[error("{} refused the query: {message}", .provider.title())]
    Refused {
        provider: ConnectorKind,
        message: String,
    },
    #[error("{} could not be reached: {reason}", .provider.title())]
    Unreachable {
        provider: ConnectorKind,
        reason: String,
    },
    #[error("{}'s answer could not be read: {detail}", .provider.title())]
    Unreadable {
        provider: ConnectorKind,
        detail: String,
    },
}

/// A connected account, with its secret, as a query needs it.
#[derive(Clone, PartialEq, Eq)]
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
    /// A connected account as its queries need it: the connector's API (its base URL, already
    /// the `AURORA_<KIND>_BASE_URL` override when one is set), settings and credential. `None`
    /// for kinds no query tool reads (clouds, Kubernetes) and for an account without its
    /// credential.
    pub fn of(connected: &ConnectedAccount, config: &ConnectorConfig) -> Option<Self> {
        let api_url = connected.base_url.clone();
        let account = match (&connected.settings, connected.credentials.as_deref()?) {
            (
                ConnectorSettings::Datadog { .. },
                Credentials::Datadog {
                    api_key,
                    application_key,
                },
            ) => Self::Datadog(datadog::DatadogAccount {
                api_url,
                api_key: api_key.clone(),
                application_key: application_key.clone(),
            }),
            (ConnectorSettings::Newrelic { account_id, .. }, Credentials::Newrelic { api_key }) => {
                Self::NewRelic(newrelic::NewRelicAccount {
                    api_url,
                    user_key: api_key.clone(),
                    account_id: *account_id,
                })
            }
            (ConnectorSettings::Splunk { .. }, Credentials::Splunk { token }) => {
                Self::Splunk(splunk::SplunkAccount {
                    url: api_url,
                    token: token.clone(),
                })
            }
            (ConnectorSettings::Sentry { organization }, Credentials::Sentry { token }) => {
                Self::Sentry(sentry::SentryAccount {
                    api_url,
                    organization: organization.clone(),
                    token: token.clone(),
                })
            }
            (ConnectorSettings::Grafana { .. }, Credentials::Grafana { token }) => {
                Self::Grafana(grafana::GrafanaAccount {
                    url: api_url,
                    token: token.clone(),
                })
            }
            (ConnectorSettings::Elasticsearch { .. }, Credentials::Elasticsearch { api_key }) => {
                Self::Elasticsearch(elasticsearch::ElasticsearchAccount {
                    url: api_url,
                    api_key: api_key.clone(),
                })
            }
            (ConnectorSettings::Tailscale { tailnet }, Credentials::Tailscale { api_key }) => {
                Self::Tailscale(tailscale::TailscaleAccount {
                    api_url,
                    tailnet: tailnet.clone(),
                    api_key: api_key.clone(),
                })
            }
            (
                ConnectorSettings::Ovh { region },
                Credentials::Ovh {
                    client_id,
                    client_secret,
                },
            ) => Self::Ovh(ovh::OvhAccount {
                api_url,
                token_url: config.ovh_token_url(*region),
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
            }),
            _ => return None,
        };
        Some(account)
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
            Ok(output) => Ok(crate::exec::capped(redactor.apply(&output.to_string()))),
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
            _ => return Err(QueryError::NotConnected(tool.kind())),
        };
        if let (Some(window), Value::Object(map)) = (tool.window(), &mut result) {
            map.insert("range".into(), window.describe());
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use aurora_domain::connector::{ConnectorState, DatadogSite, OvhRegion};
    use uuid::Uuid;

    use super::*;

    fn connected(
        settings: ConnectorSettings,
        credentials: Option<Credentials>,
    ) -> ConnectedAccount {
        ConnectedAccount {
            id: Uuid::from_u128(1),
            kind: settings.kind(),
            base_url: "https://api.example.test".into(),
            settings,
            state: ConnectorState::default(),
            credentials: credentials.map(Arc::new),
        }
    }

    #[test]
    fn a_connector_becomes_the_account_its_queries_use() {
        let config = ConnectorConfig::default();
        let datadog = connected(
            ConnectorSettings::Datadog {
                site: DatadogSite::Eu,
            },
            Some(Credentials::Datadog {
                api_key: "dd-api".into(),
                application_key: "dd-app".into(),
            }),
        );
        let Some(Account::Datadog(account)) = Account::of(&datadog, &config) else {
            panic!("a Datadog account");
        };
        assert_eq!(account.api_url, "https://api.example.test");
        assert_eq!(
            (account.api_key.as_str(), account.application_key.as_str()),
            ("dd-api", "dd-app")
        );
        let tailscale = connected(
            ConnectorSettings::Tailscale {
                tailnet: "acme.com".into(),
            },
            Some(Credentials::Tailscale {
                api_key: "tskey".into(),
            }),
        );
        assert!(matches!(
            Account::of(&tailscale, &config),
            Some(Account::Tailscale(a)) if a.tailnet == "acme.com"
        ));
        let ovh = connected(
            ConnectorSettings::Ovh {
                region: OvhRegion::Ca,
            },
            Some(Credentials::Ovh {
                client_id: "id".into(),
                client_secret: "secret".into(),
            }),
        );
        assert!(matches!(
            Account::of(&ovh, &config),
            Some(Account::Ovh(a)) if a.token_url == config.ovh_token_url(OvhRegion::Ca)
        ));
    }

    #[test]
    fn clouds_and_accounts_without_a_credential_have_no_query_account() {
        let config = ConnectorConfig::default();
        let scaleway = connected(
            ConnectorSettings::Scaleway {
                access_key: "SCWABCDEFGHIJKLMNOPQ".into(),
                project_id: "p".into(),
                region: "fr-par".into(),
            },
            Some(Credentials::Scaleway {
                secret_key: "s".into(),
            }),
        );
        assert!(Account::of(&scaleway, &config).is_none());
        let splunk = connected(
            ConnectorSettings::Splunk {
                url: "https://splunk.example.test".into(),
            },
            None,
        );
        assert!(Account::of(&splunk, &config).is_none());
    }
}
