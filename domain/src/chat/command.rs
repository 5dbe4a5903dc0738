//! What may be asked of a chat session, and how it decides.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::error::ChatError;
use super::event::{ChatEvent, FirstQuestion, NewSession};
use super::state::ChatSessionState;
use crate::aggregate::text_within;
use crate::usage::ModelUsage;
use crate::values::{ChatMode, ConfirmationDecision, GateVerdict, ToolCallStatus};

/// How long a requested confirmation can be answered, in seconds.
pub const CONFIRMATION_TTL_SECS: i64 = 300;
/// The longest session title, in characters.
pub const TITLE_MAX_CHARS: usize = 200;

/// Commands travel on `CMD` as JSON, tagged by `type` (snake_case).
///
/// What a person asks of a session names them (`owner` or `by`, a user id) and is refused with
/// [`ChatError::NotOwner`] unless they own the session; see [`ChatCommand::acting_user`]. The
/// agent's own steps (messages it records, tool calls, gate decisions, usage) name nobody.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatCommand {
    Start(NewSession),
    /// A user's question: opens the session if it is new (one event), else posts to it — only
    /// its owner may. Idempotent on `message_id`.
    Ask(FirstQuestion),
    /// Allowed while a confirmation is pending: the user may ask something else instead.
    PostUserMessage {
        /// The user posting; only the owner may.
        by: String,
        message_id: Uuid,
        text: String,
        mode: ChatMode,
        at: DateTime<Utc>,
    },
    /// The final text of one assistant turn; idempotent on `message_id`.
    RecordAssistantMessage {
        message_id: Uuid,
        text: String,
        at: DateTime<Utc>,
    },
    StartToolCall {
        tool_call_id: String,
        tool_name: String,
        input: Value,
        at: DateTime<Utc>,
    },
    RecordToolResult {
        tool_call_id: String,
        output: String,
        duration_ms: u64,
        at: DateTime<Utc>,
    },
    RecordToolError {
        tool_call_id: String,
        error: String,
        duration_ms: u64,
        at: DateTime<Utc>,
    },
    /// What the command gate decided for a started tool call.
    RecordGateDecision {
        tool_call_id: String,
        command: String,
        verdict: GateVerdict,
        reason: String,
        at: DateTime<Utc>,
    },
    /// Ask the user before running `command`; the question expires
    /// [`CONFIRMATION_TTL_SECS`] after `at`.
    AskConfirmation {
        confirmation_id: Uuid,
        tool_call_id: Option<String>,
        command: String,
        reason: String,
        at: DateTime<Utc>,
    },
    /// The agent's own answer: a run (or the sweep of a dead run) withdrawing a question it
    /// no longer waits for. It can only answer `cancel`; approving is the owner's
    /// ([`ChatCommand::RespondToConfirmation`]).
    AnswerConfirmation {
        confirmation_id: Uuid,
        decision: ConfirmationDecision,
        at: DateTime<Utc>,
    },
    /// The user's answer to a confirmation (`confirmation_response`); only the owner may.
    RespondToConfirmation {
        by: String,
        confirmation_id: Uuid,
        decision: ConfirmationDecision,
        at: DateTime<Utc>,
    },
    /// Stop the running turn; every pending confirmation is answered `cancel`. Only the owner
    /// may. With no run in progress (see [`ChatSessionState::run_in_progress`]) it changes
    /// nothing: what the user wants, nothing running, already holds.
    Cancel {
        by: String,
        at: DateTime<Utc>,
    },
    RecordUsage(ModelUsage),
    /// Only the owner may.
    Rename {
        by: String,
        title: String,
        at: DateTime<Utc>,
    },
    /// Soft delete; only the owner may.
    Delete {
        by: String,
        at: DateTime<Utc>,
    },
}

impl ChatCommand {
    /// The user a command acts for: `Some` for what a person asks (the session's owner, or the
    /// one starting it), `None` for the agent's own steps.
    pub fn acting_user(&self) -> Option<&str> {
        match self {
            Self::Start(NewSession { owner, .. }) | Self::Ask(FirstQuestion { owner, .. }) => {
                Some(owner)
            }
            Self::PostUserMessage { by, .. }
            | Self::RespondToConfirmation { by, .. }
            | Self::Cancel { by, .. }
            | Self::Rename { by, .. }
            | Self::Delete { by, .. } => Some(by),
            Self::RecordAssistantMessage { .. }
            | Self::StartToolCall { .. }
            | Self::RecordToolResult { .. }
            | Self::RecordToolError { .. }
            | Self::RecordGateDecision { .. }
            | Self::AskConfirmation { .. }
            | Self::AnswerConfirmation { .. }
            | Self::RecordUsage { .. } => None,
        }
    }
}

type Decision = Result<Vec<ChatEvent>, ChatError>;

pub(crate) fn decide(state: &ChatSessionState, command: ChatCommand) -> Decision {
    match command {
        ChatCommand::Start(session) => {
            if let Some(existing) = state.id {
                return Err(ChatError::AlreadyStarted { id: existing });
            }
            check_title(&session.title)?;
            Ok(vec![ChatEvent::Started(session)])
        }
        ChatCommand::Ask(question) => {
            if state.is_started() {
                // Asked again: a message of the asker like any other (refused unless it is the
                // owner's).
                return decide_on_started(
                    state,
                    ChatCommand::PostUserMessage {
                        by: question.owner,
                        message_id: question.message_id,
                        text: question.text,
                        mode: question.mode,
                        at: question.at,
                    },
                );
            }
            check_title(&question.title)?;
            if question.text.trim().is_empty() {
                return Err(ChatError::EmptyMessage);
            }
            Ok(vec![ChatEvent::Opened(question)])
        }
        other => decide_on_started(state, other),
    }
}

fn decide_on_started(state: &ChatSessionState, command: ChatCommand) -> Decision {
    let Some(id) = state.id else {
        return Err(ChatError::NotStarted);
    };
    // Before anything else is judged, deletion included: someone else learns nothing of the
    // session.
    if command
        .acting_user()
        .is_some_and(|user| user != state.owner)
    {
        return Err(ChatError::NotOwner);
    }
    if state.deleted {
        return Err(ChatError::Deleted);
    }
    match command {
        // `Ask` is decided in `decide` and never gets here.
        ChatCommand::Start { .. } | ChatCommand::Ask { .. } => {
            Err(ChatError::AlreadyStarted { id })
        }
        ChatCommand::PostUserMessage {
            by: _,
            message_id,
            text,
            mode,
            at,
        } => {
            if state.has_message(message_id) {
                return Ok(vec![]);
            }
            if text.trim().is_empty() {
                return Err(ChatError::EmptyMessage);
            }
            Ok(vec![ChatEvent::UserMessagePosted {
                message_id,
                text,
                mode,
                at,
            }])
        }
        ChatCommand::RecordAssistantMessage {
            message_id,
            text,
            at,
        } => {
            if state.has_message(message_id) {
                return Ok(vec![]);
            }
            Ok(vec![ChatEvent::AssistantMessageRecorded {
                message_id,
                text,
                at,
            }])
        }
        ChatCommand::StartToolCall {
            tool_call_id,
            tool_name,
            input,
            at,
        } => {
            if state.tool_call(&tool_call_id).is_some() {
                return Ok(vec![]);
            }
            Ok(vec![ChatEvent::ToolCallStarted {
                tool_call_id,
                tool_name,
                input,
                at,
            }])
        }
        ChatCommand::RecordToolResult {
            tool_call_id,
            output,
            duration_ms,
            at,
        } => {
            check_tool_call_running(state, &tool_call_id)?;
            Ok(vec![ChatEvent::ToolResultRecorded {
                tool_call_id,
                output,
                duration_ms,
                at,
            }])
        }
        ChatCommand::RecordToolError {
            tool_call_id,
            error,
            duration_ms,
            at,
        } => {
            check_tool_call_running(state, &tool_call_id)?;
            Ok(vec![ChatEvent::ToolCallFailed {
                tool_call_id,
                error,
                duration_ms,
                at,
            }])
        }
        ChatCommand::RecordGateDecision {
            tool_call_id,
            command,
            verdict,
            reason,
            at,
        } => {
            check_tool_call_running(state, &tool_call_id)?;
            if state
                .gate_decisions
                .iter()
                .any(|decision| decision.tool_call_id == tool_call_id)
            {
                return Ok(vec![]);
            }
            Ok(vec![ChatEvent::GateDecided {
                tool_call_id,
                command,
                verdict,
                reason,
                at,
            }])
        }
        ChatCommand::AskConfirmation {
            confirmation_id,
            tool_call_id,
            command,
            reason,
            at,
        } => {
            if state.confirmation(confirmation_id).is_some() {
                return Ok(vec![]);
            }
            if let Some(tool_call_id) = &tool_call_id {
                if state.tool_call(tool_call_id).is_none() {
                    return Err(ChatError::UnknownToolCall {
                        tool_call_id: tool_call_id.clone(),
                    });
                }
            }
            Ok(vec![ChatEvent::ConfirmationRequested {
                confirmation_id,
                tool_call_id,
                command,
                reason,
                expires_at: at + TimeDelta::seconds(CONFIRMATION_TTL_SECS),
                at,
            }])
        }
        ChatCommand::AnswerConfirmation {
            confirmation_id,
            decision,
            at,
        } => {
            if decision != ConfirmationDecision::Cancel {
                return Err(ChatError::ApprovalNeedsOwner { confirmation_id });
            }
            answer_confirmation(state, confirmation_id, decision, at)
        }
        ChatCommand::RespondToConfirmation {
            by: _,
            confirmation_id,
            decision,
            at,
        } => answer_confirmation(state, confirmation_id, decision, at),
        ChatCommand::Cancel { by: _, at } => {
            if !state.run_in_progress(at) {
                return Ok(vec![]);
            }
            let answers = state
                .pending_confirmations(at)
                .into_iter()
                .map(|confirmation| ChatEvent::ConfirmationAnswered {
                    confirmation_id: confirmation.confirmation_id,
                    decision: ConfirmationDecision::Cancel,
                    at,
                });
            Ok(std::iter::once(ChatEvent::RunCancelled { at })
                .chain(answers)
                .collect())
        }
        ChatCommand::RecordUsage(usage) => {
            if usage.cost_micros < 0 {
                return Err(ChatError::NegativeCost {
                    cost_micros: usage.cost_micros,
                });
            }
            Ok(vec![ChatEvent::UsageRecorded(usage)])
        }
        ChatCommand::Rename { by: _, title, at } => {
            check_title(&title)?;
            if state.title == title {
                return Ok(vec![]);
            }
            Ok(vec![ChatEvent::Renamed { title, at }])
        }
        ChatCommand::Delete { by: _, at } => Ok(vec![ChatEvent::SessionDeleted { at }]),
    }
}

/// An answer to confirmation `confirmation_id`, by its owner or (withdrawing it) the agent.
fn answer_confirmation(
    state: &ChatSessionState,
    confirmation_id: Uuid,
    decision: ConfirmationDecision,
    at: DateTime<Utc>,
) -> Decision {
    let confirmation = state
        .confirmation(confirmation_id)
        .ok_or(ChatError::UnknownConfirmation { confirmation_id })?;
    if let Some(answer) = confirmation.answer {
        return Err(ChatError::ConfirmationAlreadyAnswered {
            confirmation_id,
            decision: answer.decision,
        });
    }
    if at > confirmation.expires_at {
        return Err(ChatError::ConfirmationExpired {
            confirmation_id,
            expired_at: confirmation.expires_at,
        });
    }
    Ok(vec![ChatEvent::ConfirmationAnswered {
        confirmation_id,
        decision,
        at,
    }])
}

fn check_title(title: &str) -> Result<(), ChatError> {
    text_within(title, TITLE_MAX_CHARS, ChatError::EmptyTitle, |len, max| {
        ChatError::TitleTooLong { len, max }
    })?;
    Ok(())
}

fn check_tool_call_running(state: &ChatSessionState, tool_call_id: &str) -> Result<(), ChatError> {
    let call = state
        .tool_call(tool_call_id)
        .ok_or_else(|| ChatError::UnknownToolCall {
            tool_call_id: tool_call_id.to_owned(),
        })?;
    if call.status != ToolCallStatus::Started {
        return Err(ChatError::ToolCallAlreadyFinished {
            tool_call_id: tool_call_id.to_owned(),
            status: call.status,
        });
    }
    Ok(())
}
