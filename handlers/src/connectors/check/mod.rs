//! Asking a provider whether a credential works, with the cheapest read its API documents. The
//! answer is what connecting records: accepted (with what was learned, e.g. GCP's projects),
//! refused by the provider (its status, its words redacted), or not reachable.

mod cloud;
pub(crate) mod gcp;
mod observability;

use aurora_domain::connector::ConnectorSettings;
use reqwest::RequestBuilder;
use serde_json::Value;

use super::{ConnectError, ConnectorConfig, Credentials};
use crate::redact::redact;

/// What a provider told about an account that accepted its credential.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Probe {
    /// GCP: the projects the key reaches.
    pub projects: Vec<String>,
}

/// Asks the account's provider. AWS is checked by assuming its role (see `super::aws`).
pub async fn probe(
    config: &ConnectorConfig,
    settings: &ConnectorSettings,
    credentials: Option<&Credentials>,
) -> Result<Probe, ConnectError> {
    let http = config.http();
    let base = config.base_url(settings);
    let secrets = credentials.map(Credentials::values).unwrap_or_default();
    let call = Call {
        http: &http,
        base: &base,
        secrets: &secrets,
    };
    match (settings, credentials) {
        (ConnectorSettings::Gcp { .. }, Some(Credentials::Gcp { key })) => {
            gcp::probe(config, &call, key).await
        }
        (ConnectorSettings::Aws { .. }, None) => {
            super::aws::assume(config, settings, "aurora-connect-check")
                .await
                .map(|_| Probe::default())
        }
        (ConnectorSettings::Kubernetes { .. }, Some(Credentials::Kubernetes { .. })) => {
            // Parsed already; a private cluster need not be reachable from here.
            Ok(Probe::default())
        }
        (_, Some(credentials)) => match cloud::probe(config, &call, settings, credentials).await {
            Some(outcome) => outcome,
            None => observability::probe(&call, settings, credentials).await,
        }
        .map(|()| Probe::default()),
        (_, None) => Err(ConnectError::Malformed(format!(
            "{} needs credentials",
            settings.kind().title()
        ))),
    }
}

/// One provider's HTTP API, with the values to keep out of what it answers.
pub(crate) struct Call<'a> {
    pub http: &'a reqwest::Client,
    pub base: &'a str,
    pub secrets: &'a [String],
}

impl Call<'_> {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends `request`; a 2xx JSON answer is the value, anything else the error naming
    /// `provider`.
    pub async fn json(
        &self,
        provider: &'static str,
        request: RequestBuilder,
    ) -> Result<Value, ConnectError> {
        let response = request
            .send()
            .await
            .map_err(|source| ConnectError::Unreachable { provider, source })?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|source| ConnectError::Unreachable { provider, source })?;
        if !status.is_success() {
            return Err(ConnectError::Refused {
                provider,
                status: status.as_u16(),
                detail: self.excerpt(&body),
            });
        }
        serde_json::from_str(&body).map_err(|e| ConnectError::Unexpected {
            provider,
            reason: format!("the answer is not JSON: {e}"),
        })
    }

    /// At most 300 characters of what a provider said, without any secret of the account.
    pub fn excerpt(&self, text: &str) -> String {
        let clean = redact(text, self.secrets);
        let cut: String = clean.chars().take(300).collect();
        cut.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}
