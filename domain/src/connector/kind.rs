//! Which provider a connector is an account of.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A provider Aurora connects to. Clouds and Kubernetes are reached through their CLIs, the
/// observability tools through their HTTP APIs (read-only).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ConnectorKind {
    Gcp,
    Aws,
    Azure,
    Scaleway,
    Tailscale,
    Ovh,
    Kubernetes,
    Datadog,
    Newrelic,
    Splunk,
    Sentry,
    Grafana,
    Elasticsearch,
}

impl ConnectorKind {
    pub const ALL: [ConnectorKind; 13] = [
        Self::Gcp,
        Self::Aws,
        Self::Azure,
        Self::Scaleway,
        Self::Tailscale,
        Self::Ovh,
        Self::Kubernetes,
        Self::Datadog,
        Self::Newrelic,
        Self::Splunk,
        Self::Sentry,
        Self::Grafana,
        Self::Elasticsearch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gcp => "gcp",
            Self::Aws => "aws",
            Self::Azure => "azure",
            Self::Scaleway => "scaleway",
            Self::Tailscale => "tailscale",
            Self::Ovh => "ovh",
            Self::Kubernetes => "kubernetes",
            Self::Datadog => "datadog",
            Self::Newrelic => "newrelic",
            Self::Splunk => "splunk",
            Self::Sentry => "sentry",
            Self::Grafana => "grafana",
            Self::Elasticsearch => "elasticsearch",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// What people call it.
    pub fn title(self) -> &'static str {
        match self {
            Self::Gcp => "Google Cloud",
            Self::Aws => "AWS",
            Self::Azure => "Azure",
            Self::Scaleway => "Scaleway",
            Self::Tailscale => "Tailscale",
            Self::Ovh => "OVHcloud",
            Self::Kubernetes => "Kubernetes",
            Self::Datadog => "Datadog",
            Self::Newrelic => "New Relic",
            Self::Splunk => "Splunk",
            Self::Sentry => "Sentry",
            Self::Grafana => "Grafana",
            Self::Elasticsearch => "Elasticsearch",
        }
    }

    /// The `provider` of `cloud_exec` (the CLI's name) this kind serves, if any.
    pub fn cli_provider(self) -> Option<&'static str> {
        match self {
            Self::Gcp => Some("gcloud"),
            Self::Aws => Some("aws"),
            Self::Azure => Some("az"),
            Self::Scaleway => Some("scw"),
            Self::Tailscale => Some("tailscale"),
            Self::Ovh => Some("ovh"),
            Self::Kubernetes => Some("kubectl"),
            _ => None,
        }
    }

    /// The kind whose CLI is `provider` (`gcloud` → GCP), the reverse of [`Self::cli_provider`].
    pub fn of_cli(provider: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.cli_provider() == Some(provider))
    }

    /// The names a person or the model may use in `provider_preference` for this kind: its own
    /// name and its CLI's (`gcp` or `gcloud`).
    pub fn answers_to(self, name: &str) -> bool {
        let name = name.trim().to_ascii_lowercase();
        name == self.as_str() || self.cli_provider() == Some(name.as_str())
    }
}

impl fmt::Display for ConnectorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
