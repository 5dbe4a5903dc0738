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

pub use alert::{
    Alert, AttachedAlert, Correlation, ResolveNotification, TitleBasis, TopologyBasis,
};
pub use command::{IncidentCommand, ALERT_CAP, COMMENT_MAX_CHARS, RCA_AUTHOR};
pub use describe::describe;
pub use error::IncidentError;
pub use event::{IncidentEvent, DEFAULT_ENVIRONMENT};
pub use state::{Comment, Feedback, IncidentState};

crate::aggregate::aggregate!(
    /// The incident aggregate (stored under the name `incident`).
    Incident = "incident", command::decide,
    IncidentState, IncidentCommand, IncidentEvent, IncidentError
);
