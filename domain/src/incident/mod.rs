//! The incident aggregate: one production problem, from the alert that opened it to its
//! resolution or its merge into another incident.
//!
//! [`IncidentCommand`] says what may be asked, [`IncidentEvent`] what happened, [`IncidentError`]
//! why a command was refused, and [`IncidentState`] is the fold of the events. The rules live in
//! `command.rs`; the fold in `state.rs`.

mod alert;
mod command;
mod error;
mod event;
mod state;

#[cfg(test)]
mod tests;

pub use alert::{Alert, AttachedAlert, Correlation, ResolveNotification, TopologyBasis};
pub use command::{IncidentCommand, ALERT_CAP, COMMENT_MAX_CHARS};
pub use error::IncidentError;
pub use event::{IncidentEvent, DEFAULT_ENVIRONMENT};
pub use state::{Comment, Feedback, IncidentState};

/// The incident aggregate (stored under the name `incident`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incident;

impl esrs::Aggregate for Incident {
    const NAME: &'static str = "incident";
    type State = IncidentState;
    type Command = IncidentCommand;
    type Event = IncidentEvent;
    type Error = IncidentError;

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

/// The incident as these events leave it. Fold the events up to a moment to see the incident as it
/// was then.
pub fn fold(events: impl IntoIterator<Item = IncidentEvent>) -> IncidentState {
    events
        .into_iter()
        .fold(IncidentState::default(), IncidentState::apply)
}
