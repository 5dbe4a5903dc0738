//! What happened to a postmortem. Every event that makes a version carries its whole text, so the
//! read model of versions is written from the events alone.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::event::DomainEvent;
use crate::ids::IncidentId;

/// Who wrote a generated version.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema,
)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    /// The configured model, in one completion, at this cost.
    Model {
        model: String,
        input_tokens: u64,
        output_tokens: u64,
        cost_micros: i64,
    },
    /// The deterministic template, filled from the incident's events; `reason` says why not a
    /// model (none configured, or it failed).
    Template { reason: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PostmortemEvent {
    /// Version 1, written when the incident resolved (`request` and `by` are `None`) or when a
    /// person asked for a postmortem of an incident that had none.
    Generated {
        incident: IncidentId,
        version: u32,
        markdown: String,
        origin: Origin,
        request: Option<Uuid>,
        by: Option<String>,
        at: DateTime<Utc>,
    },
    /// A person asked for it to be written again (request `request`, recorded on the incident).
    Regenerated {
        version: u32,
        markdown: String,
        origin: Origin,
        request: Uuid,
        by: String,
        at: DateTime<Utc>,
    },
    /// A person's text, written on `base_version` (the latest when they began).
    Edited {
        version: u32,
        base_version: u32,
        markdown: String,
        by: String,
        at: DateTime<Utc>,
    },
    /// The text of `from_version` made the latest again.
    Restored {
        version: u32,
        from_version: u32,
        markdown: String,
        by: String,
        at: DateTime<Utc>,
    },
}

impl PostmortemEvent {
    /// The version this event made.
    pub fn version(&self) -> u32 {
        match self {
            Self::Generated { version, .. }
            | Self::Regenerated { version, .. }
            | Self::Edited { version, .. }
            | Self::Restored { version, .. } => *version,
        }
    }
}

impl DomainEvent for PostmortemEvent {
    crate::event::event_types! {
        Generated => "postmortem.generated",
        Regenerated => "postmortem.regenerated",
        Edited => "postmortem.edited",
        Restored => "postmortem.restored",
    }
}

impl esrs::event::Upcaster for PostmortemEvent {
    fn current_version() -> Option<i32> {
        Some(1)
    }
}
