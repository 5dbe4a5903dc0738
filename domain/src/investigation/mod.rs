//! The investigation aggregate: one root-cause analysis of an incident (SPEC §4), from its request
//! to its conclusion, every thought, tool step, finding, suggestion and citation an event.
//!
//! One aggregate per run (`evt.<tenant>.investigation.<run>`), linked to its incident, rather than
//! more events on the incident: a run writes hundreds of events while the ingest path loads the
//! incident on every correlated alert, and the agent's steps would then race the alerts for the
//! incident's sequence. The incident records only that a run was requested, started, concluded,
//! failed or cancelled ([`crate::incident`]); [`start_window`] decides when a tenant may start one.
//!
//! The conclusion gate ([`Conclusion::supported_by`]) is the answer to confabulated root causes:
//! a conclusion stronger than the run's evidence is recorded as the strongest one it supports.

mod command;
mod error;
mod event;
pub mod start_window;
mod state;
mod thoughts;
mod values;

#[cfg(test)]
mod tests;

/// A run's id, from its incident and episode. It lives in [`crate::ids`] because the incident
/// aggregate needs it too, and the incident must not depend on this module (this one depends on
/// the incident for its alert).
pub use crate::ids::run_id;
pub use command::InvestigationCommand;
pub use error::InvestigationError;
pub use event::InvestigationEvent;
pub use state::{Finding, InvestigationState, Resume, Suggestion, ToolStep, Usage};
pub use thoughts::ThoughtBuffer;
pub use values::{Conclusion, InvestigationStatus, Risk, StepStatus, SuggestionKind, Trigger};

/// How many times a run is continued after its worker stopped. A run that keeps killing its
/// worker (a tool output that exhausts memory, say) must end failed rather than loop.
pub const MAX_RESUMES: u32 = 3;
/// The longest thought, finding or summary kept, in characters.
pub const TEXT_MAX_CHARS: usize = 20_000;
/// A thought is saved once a sentence of at least this many characters is complete.
pub const THOUGHT_MIN_CHARS: usize = 20;

crate::aggregate::aggregate!(
    /// The investigation aggregate (stored under the name `investigation`).
    Investigation = "investigation", command::decide,
    InvestigationState, InvestigationCommand, InvestigationEvent, InvestigationError
);
