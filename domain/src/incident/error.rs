//! Why an incident refused a command.

use crate::ids::IncidentId;
use crate::values::{IncidentStatus, RcaStatus};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IncidentError {
    #[error("the incident has not been opened")]
    NotOpened,
    #[error("incident {id} is already open")]
    AlreadyOpened { id: IncidentId },
    #[error("an incident needs a title")]
    EmptyTitle,
    #[error("the incident was merged into {into} and no longer changes")]
    Merged { into: IncidentId },
    #[error("the incident is resolved; a new alert opens a new incident")]
    Resolved,
    #[error("the incident is already resolved")]
    AlreadyResolved,
    #[error("the incident is {status}, not resolved: its postmortem is written when it resolves")]
    NotResolved { status: IncidentStatus },
    #[error("the incident already holds the maximum of {cap} correlated alerts")]
    AlertCapReached { cap: u32 },
    #[error("the incident holds no alert with fingerprint {fingerprint:?}")]
    FingerprintNotHeld { fingerprint: String },
    #[error("an incident is resolved with the resolve command, not by changing its status")]
    UseResolve,
    #[error("an incident is merged with the merge command, not by changing its status")]
    UseMergeInto,
    #[error("the status cannot change from {from} to {to}")]
    InvalidStatusTransition {
        from: IncidentStatus,
        to: IncidentStatus,
    },
    #[error("the RCA status cannot change from {from} to {to}")]
    InvalidRcaTransition { from: RcaStatus, to: RcaStatus },
    #[error("investigation {run} of this incident is under way; cancel it first")]
    RcaUnderWay { run: uuid::Uuid },
    #[error("{run} is not this incident's next investigation ({next} is)")]
    NotNextRca { run: uuid::Uuid, next: uuid::Uuid },
    #[error("no investigation of this incident is under way")]
    NoRcaUnderWay,
    #[error("investigation {run} is not this incident's current one ({})", current.map_or_else(|| "none is under way".to_owned(), |c| c.to_string()))]
    NotCurrentRca {
        run: uuid::Uuid,
        current: Option<uuid::Uuid>,
    },
    #[error("a summary cannot be empty")]
    EmptySummary,
    #[error("incident {id} cannot be merged with itself")]
    MergeIntoItself { id: IncidentId },
    #[error("incident {target} was itself merged; merging into a merged incident is refused")]
    TargetMerged { target: IncidentId },
    #[error("a comment cannot be empty")]
    EmptyComment,
    #[error("a comment may hold at most {max} characters, this one has {len}")]
    CommentTooLong { len: usize, max: usize },
}
