//! The postmortem aggregate: the written account of one incident (SPEC §3), generated when it
//! resolves and then versioned — every generation, edit, restore and regeneration is a new
//! numbered version, and the earlier ones are kept.
//!
//! One per incident (`evt.<tenant>.postmortem.<id>`, the id [`postmortem_id`] derived from the
//! incident's), apart from the incident: a postmortem is edited long after the incident ended and
//! carries texts of up to [`MARKDOWN_MAX_CHARS`], which the ingest, loading the incident on every
//! correlated alert, should not fold. [`template`] writes the deterministic version from the
//! incident's events when no model is configured (or the model fails).
//!
//! Edits are optimistic: an edit names the version it was written on, and an edit on a version
//! that is no longer the latest is refused ([`PostmortemError::StaleBase`]) instead of silently
//! overwriting what someone else wrote meanwhile.

mod command;
mod error;
mod event;
mod state;
pub mod template;

#[cfg(test)]
mod tests;

use uuid::Uuid;

pub use command::PostmortemCommand;
pub use error::PostmortemError;
pub use event::{Origin, PostmortemEvent};
pub use state::{Change, PostmortemState, Version};

use crate::ids::IncidentId;

/// The longest postmortem kept, in characters.
pub const MARKDOWN_MAX_CHARS: usize = 200_000;

crate::aggregate::aggregate!(
    /// The postmortem aggregate (stored under the name `postmortem`).
    Postmortem = "postmortem", command::decide,
    PostmortemState, PostmortemCommand, PostmortemEvent, PostmortemError
);

/// The id of `incident`'s postmortem: one per incident, found without a lookup.
pub fn postmortem_id(incident: IncidentId) -> Uuid {
    Uuid::new_v5(&incident.0, b"postmortem")
}
