//! What may be asked of a postmortem, and how it decides.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::PostmortemError;
use super::event::{Origin, PostmortemEvent};
use super::state::PostmortemState;
use super::MARKDOWN_MAX_CHARS;
use crate::aggregate::text_within;
use crate::ids::IncidentId;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PostmortemCommand {
    /// The incident resolved: version 1, unless a postmortem exists (a redelivered resolve, or
    /// an incident resolved again after a reopening, keeps what people wrote since).
    Generate {
        incident: IncidentId,
        markdown: String,
        origin: Origin,
        at: DateTime<Utc>,
    },
    /// A person asked for it to be written again: a new version (version 1 if there was none).
    /// A request already served writes nothing.
    Regenerate {
        incident: IncidentId,
        request: Uuid,
        markdown: String,
        origin: Origin,
        by: String,
        at: DateTime<Utc>,
    },
    /// A person's text, written on `base_version`.
    Edit {
        markdown: String,
        base_version: u32,
        by: String,
        at: DateTime<Utc>,
    },
    /// Make an earlier version's text the latest again.
    Restore {
        version: u32,
        by: String,
        at: DateTime<Utc>,
    },
}

type Decision = Result<Vec<PostmortemEvent>, PostmortemError>;

pub(crate) fn decide(state: &PostmortemState, command: PostmortemCommand) -> Decision {
    let next = state.latest_version() + 1;
    match command {
        PostmortemCommand::Generate {
            incident,
            markdown,
            origin,
            at,
        } => {
            if state.incident.is_some() {
                return Ok(vec![]);
            }
            Ok(vec![PostmortemEvent::Generated {
                incident,
                version: next,
                markdown: checked(markdown)?,
                origin,
                request: None,
                by: None,
                at,
            }])
        }
        PostmortemCommand::Regenerate {
            incident,
            request,
            markdown,
            origin,
            by,
            at,
        } => {
            if state.requests.contains(&request) {
                return Ok(vec![]);
            }
            let markdown = checked(markdown)?;
            if state.incident.is_none() {
                return Ok(vec![PostmortemEvent::Generated {
                    incident,
                    version: next,
                    markdown,
                    origin,
                    request: Some(request),
                    by: Some(by),
                    at,
                }]);
            }
            Ok(vec![PostmortemEvent::Regenerated {
                version: next,
                markdown,
                origin,
                request,
                by,
                at,
            }])
        }
        PostmortemCommand::Edit {
            markdown,
            base_version,
            by,
            at,
        } => {
            let latest = state.latest().ok_or(PostmortemError::NotGenerated)?;
            if base_version != latest.version {
                return Err(PostmortemError::StaleBase {
                    base_version,
                    latest: latest.version,
                });
            }
            let markdown = checked(markdown)?;
            // Saving the text unchanged makes no version.
            if markdown == latest.markdown {
                return Ok(vec![]);
            }
            Ok(vec![PostmortemEvent::Edited {
                version: next,
                base_version,
                markdown,
                by,
                at,
            }])
        }
        PostmortemCommand::Restore { version, by, at } => {
            let latest = state.latest().ok_or(PostmortemError::NotGenerated)?;
            let restored = state
                .version(version)
                .ok_or(PostmortemError::UnknownVersion {
                    version,
                    latest: latest.version,
                })?;
            // Its text is the latest already (a repeated restore): nothing to add.
            if restored.markdown == latest.markdown {
                return Ok(vec![]);
            }
            Ok(vec![PostmortemEvent::Restored {
                version: next,
                from_version: version,
                markdown: restored.markdown.clone(),
                by,
                at,
            }])
        }
    }
}

/// The text, if it is one a postmortem may hold.
fn checked(markdown: String) -> Result<String, PostmortemError> {
    text_within(
        &markdown,
        MARKDOWN_MAX_CHARS,
        PostmortemError::Empty,
        |len, max| PostmortemError::TooLong { len, max },
    )?;
    Ok(markdown)
}
