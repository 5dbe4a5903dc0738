//! The connector aggregate: one connected account of a tenant at a cloud (GCP, AWS, Azure,
//! Scaleway, Tailscale, OVH), a Kubernetes cluster, or an observability tool (Datadog, New Relic,
//! Splunk, Sentry, Grafana, Elasticsearch). Its events carry the account's non-secret settings
//! and a *reference* to its secret in the secret store, never the secret.
//!
//! The provider is asked before [`ConnectorCommand::Connect`] is decided (outside information is
//! looked up first); the aggregate holds the rules of the settings ([`ConnectorSettings::validate`])
//! and, for GCP, which projects the agent may use ([`ConnectorState::project_for`]). Disconnecting
//! is final: connecting again makes a new connector.

mod command;
mod error;
mod event;
mod kind;
mod settings;
mod state;
mod values;

#[cfg(test)]
mod tests;

pub use command::ConnectorCommand;
pub use error::ConnectorError;
pub use event::ConnectorEvent;
pub use kind::ConnectorKind;
pub use settings::{
    external_id_shape, gcp_project, role_arn_shape, url_shape, ConnectorSettings, GcpAuth,
};
pub use state::{Check, ConnectorState};
pub use values::{DatadogSite, NewRelicRegion, OvhRegion};

crate::aggregate::aggregate!(
    /// The connector aggregate (stored under the name `connector`).
    Connector = "connector", command::decide,
    ConnectorState, ConnectorCommand, ConnectorEvent, ConnectorError
);
