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
pub use event::IntegrationEvent;
pub use settings::IntegrationSettings;
pub use state::IntegrationState;

/// The integration aggregate (stored under the name `integration`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Integration;

impl esrs::Aggregate for Integration {
    const NAME: &'static str = "integration";
    type State = IntegrationState;
    type Command = IntegrationCommand;
    type Event = IntegrationEvent;
    type Error = IntegrationError;

    fn handle_command(
        state: &Self::State,
        command: Self::Command,
    ) -> Result<Vec<Self::Event>, Self::Error> {
        command::decide(state, command)
    }

    fn apply_event(state: Self::State, payload: Self::Event) -> Self::State {
        state.apply(payload)
    }
}
