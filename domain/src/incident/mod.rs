//! The incident aggregate: one production problem, from the alert that opened it to its
//! resolution or its merge into another incident.
//!
//! [`IncidentCommand`] says what may be asked, [`IncidentEvent`] what happened, [`IncidentError`]
//! why a command was refused, and [`IncidentState`] is the fold of the events. The rules live in
//! `command.rs`; the fold in `state.rs`.

mod alert;
mod command;
mod describe;
mod error;
mod event;
pub mod similar;
mod state;

#[cfg(test)]
mod tests;

/// Correlation's breakdown of why an alert joined an incident, also at its older path
/// `incident::…`. The edge points from the incident to correlation only: correlation never
/// imports the incident.
pub use crate::correlation::{Correlation, TitleBasis, TopologyBasis};
pub use alert::{Alert, AttachedAlert, ResolveNotification};
pub use command::{IncidentCommand, ALERT_CAP, COMMENT_MAX_CHARS, RCA_AUTHOR};
pub use describe::describe;
pub use error::IncidentError;
pub use event::{IncidentEvent, Opening, DEFAULT_ENVIRONMENT};
pub use state::{Comment, Feedback, IncidentState};

crate::aggregate::aggregate!(
    /// The incident aggregate (stored under the name `incident`).
    Incident = "incident", command::decide,
    IncidentState, IncidentCommand, IncidentEvent, IncidentError
);
