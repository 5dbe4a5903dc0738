//! Connectors (SPEC §7): the tenant's accounts at clouds, Kubernetes clusters and observability
//! tools, and how their credentials reach the agent.
//!
//! - [`connect`]: a connect request read and checked with the provider ([`check`]), before the
//!   gateway records it on the `Connector` aggregate.
//! - [`Connectors`] ([`accounts`]): the lookup every tool call makes — the tenant's live account of a
//!   kind, its settings and its credential, resolved from the secret store only then.
//!   The tenant's live rows are kept in memory until the projector announces a change
//!   ([`cache`]).
//! - [`gcp_oauth`]: GCP through a Google account (OAuth 2.0 authorization code with PKCE), its
//!   access tokens cached until shortly before expiry.
//! - [`aws`]: STS AssumeRole with the tenant's external id, sessions cached until shortly
//!   before expiry; [`kubeconfig`]: uploaded kubeconfigs.
//! - [`credentials`]: the secret half of an account, never logged; [`expiring`]: sessions and
//!   access tokens held until shortly before they expire.
//!
//! Nothing here puts a secret in an event, a read model or a log line: events carry the secret
//! store's reference, errors carry a provider's words with the account's secrets redacted.

mod accounts;
pub mod aws;
pub mod check;
pub mod cli_env;
mod config;
pub mod connect;
pub mod credentials;
mod expiring;
pub mod gcp_oauth;
pub mod kubeconfig;

use aurora_domain::connector::{ConnectorError, ConnectorKind};

pub use accounts::{account_argument, AccountName, ConnectedAccount, Connectors, LookupError};
pub use config::{AwsIdentity, ConnectorConfig, GcpOauthClient};
pub use credentials::Credentials;

/// Why an account could not be connected.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The credential (or its file) is not what the provider issues.
    #[error("{0}")]
    Malformed(String),
    /// The settings do not read as the kind's.
    #[error("the settings: {0}")]
    InvalidSettings(String),
    /// The settings read but break a rule.
    #[error(transparent)]
    Settings(#[from] ConnectorError),
    /// The provider answered that the credential does not work.
    #[error("{provider} refused the credential (HTTP {status}){}", if detail.is_empty() { String::new() } else { format!(": {detail}") })]
    Refused {
        provider: &'static str,
        status: u16,
        detail: String,
    },
    /// The provider's OAuth 2.0 token endpoint answered an error (RFC 6749 §5.2).
    #[error("{provider} refused: {error}{}", if detail.is_empty() { String::new() } else { format!(" ({detail})") })]
    OauthRefused {
        provider: &'static str,
        error: String,
        detail: String,
    },
    #[error("{provider} answered something Aurora does not understand: {reason}")]
    Unexpected {
        provider: &'static str,
        reason: String,
    },
    #[error("{provider} could not be reached")]
    Unreachable {
        provider: &'static str,
        #[source]
        source: reqwest::Error,
    },
    /// OVHcloud without `FEATURE_FLAG_OVH_ENABLED`.
    #[error("{} connectors are not offered here", .0.title())]
    NotOffered(ConnectorKind),
    /// Aurora has no OAuth client at Google (or its URLs do not parse).
    #[error("GCP cannot be connected with a Google account here: {0}")]
    GcpOauthNotConfigured(String),
    #[error("AWS roles cannot be assumed: Aurora has no AWS identity (AURORA_AWS_ACCESS_KEY_ID and AURORA_AWS_SECRET_ACCESS_KEY)")]
    NoAwsIdentity,
}

/// `text` without any of `secrets`.
pub(crate) fn redact_all(text: &str, secrets: &[&str]) -> String {
    let owned: Vec<String> = secrets.iter().map(|s| (*s).to_owned()).collect();
    crate::redact::redact(text, &owned)
}
