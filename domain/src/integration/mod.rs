//! The integration aggregate: one connected webhook source of a tenant (a Grafana, a PagerDuty,
//! …): which source it is, its settings, and a reference to its secret in the secret store (the
//! secret itself never enters an event).
//!
//! Deleting an integration is final: later deliveries to its URL answer 404. Disabling it
//! (`settings.enabled = false`) answers 404 too, but can be undone.

mod command;
mod error;
mod event;
mod settings;
mod state;

#[cfg(test)]
mod tests;

pub use command::{IntegrationCommand, NAME_MAX_CHARS};
pub use error::IntegrationError;
pub use event::{IntegrationEvent, NewIntegration};
pub use settings::IntegrationSettings;
pub use state::IntegrationState;

crate::aggregate::aggregate!(
    /// The integration aggregate (stored under the name `integration`).
    Integration = "integration", command::decide,
    IntegrationState, IntegrationCommand, IntegrationEvent, IntegrationError
);
