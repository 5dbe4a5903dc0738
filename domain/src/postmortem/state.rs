//! A postmortem as its events made it: every version, the latest last.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::event::{Origin, PostmortemEvent};
use crate::ids::IncidentId;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PostmortemState {
    /// `None` until the first version; every other field is empty until then.
    pub incident: Option<IncidentId>,
    /// Version `n` at index `n - 1`.
    pub versions: Vec<Version>,
    /// Regeneration requests already served, so a redelivered request writes nothing twice.
    pub requests: Vec<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    pub version: u32,
    pub markdown: String,
    pub change: Change,
    /// The person behind it; `None` for the generation on resolve.
    pub by: Option<String>,
    pub at: DateTime<Utc>,
}

/// How a version came to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    Generated { origin: Origin },
    Regenerated { origin: Origin },
    Edited { base_version: u32 },
    Restored { from_version: u32 },
}

impl Change {
    /// `generated`, `regenerated`, `edited` or `restored`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Generated { .. } => "generated",
            Self::Regenerated { .. } => "regenerated",
            Self::Edited { .. } => "edited",
            Self::Restored { .. } => "restored",
        }
    }
}

impl PostmortemState {
    pub fn latest(&self) -> Option<&Version> {
        self.versions.last()
    }

    /// The latest version's number (0 before the first).
    pub fn latest_version(&self) -> u32 {
        self.latest().map_or(0, |v| v.version)
    }

    pub fn version(&self, version: u32) -> Option<&Version> {
        let index = usize::try_from(version).ok()?.checked_sub(1)?;
        self.versions.get(index)
    }

    pub(crate) fn apply(mut self, event: PostmortemEvent) -> Self {
        let (version, markdown, change, by, at) = match event {
            PostmortemEvent::Generated {
                incident,
                version,
                markdown,
                origin,
                request,
                by,
                at,
            } => {
                self.incident = Some(incident);
                self.requests.extend(request);
                (version, markdown, Change::Generated { origin }, by, at)
            }
            PostmortemEvent::Regenerated {
                version,
                markdown,
                origin,
                request,
                by,
                at,
            } => {
                self.requests.push(request);
                (
                    version,
                    markdown,
                    Change::Regenerated { origin },
                    Some(by),
                    at,
                )
            }
            PostmortemEvent::Edited {
                version,
                base_version,
                markdown,
                by,
                at,
            } => (
                version,
                markdown,
                Change::Edited { base_version },
                Some(by),
                at,
            ),
            PostmortemEvent::Restored {
                version,
                from_version,
                markdown,
                by,
                at,
            } => (
                version,
                markdown,
                Change::Restored { from_version },
                Some(by),
                at,
            ),
        };
        self.versions.push(Version {
            version,
            markdown,
            change,
            by,
            at,
        });
        self
    }
}
