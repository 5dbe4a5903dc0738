//! Why a chat session refused a command.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::ids::SessionId;
use crate::values::{ConfirmationDecision, ToolCallStatus};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChatError {
    #[error("the session has not been started")]
    NotStarted,
    #[error("session {id} is already started")]
    AlreadyStarted { id: SessionId },
    #[error("the session was deleted")]
    Deleted,
    #[error("the session belongs to someone else")]
    NotOwner,
    #[error("a session title cannot be empty")]
    EmptyTitle,
    #[error("a session title may hold at most {max} characters, this one has {len}")]
    TitleTooLong { len: usize, max: usize },
    #[error("a message cannot be empty")]
    EmptyMessage,
    #[error("no tool call {tool_call_id:?} was started in this session")]
    UnknownToolCall { tool_call_id: String },
    #[error("tool call {tool_call_id:?} has already finished ({status})")]
    ToolCallAlreadyFinished {
        tool_call_id: String,
        status: ToolCallStatus,
    },
    #[error("no confirmation {confirmation_id} was requested in this session")]
    UnknownConfirmation { confirmation_id: Uuid },
    #[error("confirmation {confirmation_id} was already answered ({decision})")]
    ConfirmationAlreadyAnswered {
        confirmation_id: Uuid,
        decision: ConfirmationDecision,
    },
    /// The agent's own answer ([`super::ChatCommand::AnswerConfirmation`]) said `execute`:
    /// only the session's owner approves a command.
    #[error("confirmation {confirmation_id} can be approved only by the session's owner")]
    ApprovalNeedsOwner { confirmation_id: Uuid },
    #[error("confirmation {confirmation_id} expired at {expired_at}")]
    ConfirmationExpired {
        confirmation_id: Uuid,
        expired_at: DateTime<Utc>,
    },
    #[error("a cost cannot be negative, got {cost_micros} micro-units")]
    NegativeCost { cost_micros: i64 },
}
