//! What happened in a chat session. Every message, tool call, tool result, confirmation and usage
//! record is an event, so a reload (or a rebuilt read model) sees the whole conversation.

use chrono::{DateTime, Utc};
use esrs::event::Upcaster;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::event::DomainEvent;
use crate::ids::SessionId;
use crate::usage::ModelUsage;
use crate::values::{ChatMode, ConfirmationDecision, GateVerdict};

/// An empty session: what [`super::ChatCommand::Start`] asks for and [`ChatEvent::Started`]
/// records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct NewSession {
    pub id: SessionId,
    /// The user id of whoever started the session.
    pub owner: String,
    pub title: String,
    pub mode: ChatMode,
    pub at: DateTime<Utc>,
}

/// A question that opens a session: what [`super::ChatCommand::Ask`] asks of a new session and
/// [`ChatEvent::Opened`] records (asked of a started one, it is a
/// [`super::ChatCommand::PostUserMessage`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct FirstQuestion {
    pub id: SessionId,
    pub owner: String,
    pub title: String,
    pub mode: ChatMode,
    pub message_id: Uuid,
    pub text: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatEvent {
    /// A session was started, empty.
    Started(NewSession),
    /// A session started by its first question: [`ChatEvent::Started`] and
    /// [`ChatEvent::UserMessagePosted`] in one event (one append instead of two on the path to
    /// the first token).
    Opened(FirstQuestion),
    /// A query from the user; `mode` is the mode it was asked in (and the session's mode from now).
    UserMessagePosted {
        message_id: Uuid,
        text: String,
        mode: ChatMode,
        at: DateTime<Utc>,
    },
    /// The assistant's final (or, after a cancel, partial) text for one turn.
    AssistantMessageRecorded {
        message_id: Uuid,
        text: String,
        at: DateTime<Utc>,
    },
    /// The agent called tool `tool_name` with `input`.
    ToolCallStarted {
        tool_call_id: String,
        tool_name: String,
        input: Value,
        at: DateTime<Utc>,
    },
    /// The (redacted, capped) output of a tool call that succeeded.
    ToolResultRecorded {
        tool_call_id: String,
        output: String,
        duration_ms: u64,
        at: DateTime<Utc>,
    },
    /// A tool call ended in an error.
    ToolCallFailed {
        tool_call_id: String,
        error: String,
        duration_ms: u64,
        at: DateTime<Utc>,
    },
    /// The command gate's decision on a command a tool call wanted to run (SPEC §6): every
    /// decision is kept, the allowed ones too.
    GateDecided {
        tool_call_id: String,
        command: String,
        verdict: GateVerdict,
        reason: String,
        at: DateTime<Utc>,
    },
    /// The agent wants to run `command` and needs the user's yes or no before `expires_at`.
    ConfirmationRequested {
        confirmation_id: Uuid,
        tool_call_id: Option<String>,
        command: String,
        reason: String,
        expires_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    /// The user answered a confirmation (`execute` or `cancel`).
    ConfirmationAnswered {
        confirmation_id: Uuid,
        decision: ConfirmationDecision,
        at: DateTime<Utc>,
    },
    /// The user stopped the running turn (pending confirmations are answered `cancel` beside it).
    RunCancelled { at: DateTime<Utc> },
    /// A model call's tokens and cost.
    UsageRecorded(ModelUsage),
    /// The session's title changed.
    Renamed { title: String, at: DateTime<Utc> },
    /// Soft delete: the history stays, the session no longer changes or lists.
    #[serde(rename = "deleted")]
    SessionDeleted { at: DateTime<Utc> },
}

impl DomainEvent for ChatEvent {
    crate::event::event_types! {
        Started(NewSession) => "session.started",
        Opened(FirstQuestion) => "session.opened",
        UserMessagePosted => "session.user_message_posted",
        AssistantMessageRecorded => "session.assistant_message_recorded",
        ToolCallStarted => "session.tool_call_started",
        ToolResultRecorded => "session.tool_result_recorded",
        ToolCallFailed => "session.tool_call_failed",
        GateDecided => "session.gate_decided",
        ConfirmationRequested => "session.confirmation_requested",
        ConfirmationAnswered => "session.confirmation_answered",
        RunCancelled => "session.run_cancelled",
        UsageRecorded(ModelUsage) => "session.usage_recorded",
        Renamed => "session.renamed",
        SessionDeleted => "session.deleted",
    }
}

/// Version 1 is the only schema so far, so the default upcast (plain deserialisation) suffices.
impl Upcaster for ChatEvent {
    fn current_version() -> Option<i32> {
        Some(1)
    }
}
