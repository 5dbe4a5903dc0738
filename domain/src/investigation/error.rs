//! Why an investigation refused a command.

use uuid::Uuid;

use super::values::InvestigationStatus;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvestigationError {
    #[error("the investigation has not been requested")]
    NotRequested,
    #[error("investigation {run} was already requested")]
    AlreadyRequested { run: Uuid },
    #[error("the investigation is {status}: it has already started")]
    AlreadyStarted { status: InvestigationStatus },
    #[error("the investigation is {status}, not running")]
    NotRunning { status: InvestigationStatus },
    #[error("the investigation has ended ({status})")]
    Ended { status: InvestigationStatus },
    #[error("{what} cannot be empty")]
    Empty { what: &'static str },
    #[error("{what} may hold at most {max} characters, this one has {len}")]
    TooLong {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error("no tool step {step_id:?} was started in this investigation")]
    UnknownToolStep { step_id: String },
    #[error("the investigation was already resumed ({attempt} times)")]
    AlreadyResumed { attempt: u32 },
    #[error("the investigation was resumed {max} times already: its worker keeps stopping")]
    ResumedTooOften { max: u32 },
    #[error("a cost cannot be negative, got {cost_micros} micro-units")]
    NegativeCost { cost_micros: i64 },
}
