//! Given / when / then tests of the chat session aggregate, one file per group of rules.

#![allow(clippy::unwrap_used)]

mod confirmations;
mod messages;
mod ownership;
mod session;
mod tools;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use uuid::Uuid;

use super::{ChatCommand, ChatEvent, ChatSession};
use crate::chat::NewSession;
use crate::ids::SessionId;
use crate::scenario::{self, Given};
use crate::usage::ModelUsage;
use crate::values::ChatMode;

/// `seconds` after a fixed moment (2025-03-01T12:00:00Z), so tests read as a timeline.
fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_740_830_400, 0).unwrap() + TimeDelta::seconds(seconds)
}

fn id() -> SessionId {
    SessionId(Uuid::from_u128(1))
}

fn uuid(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn given(events: Vec<ChatEvent>) -> Given<ChatSession> {
    scenario::given::<ChatSession>(events)
}

/// Ana's session "Checkout errors", started in ask mode at second 0.
fn started() -> ChatEvent {
    ChatEvent::Started(NewSession {
        id: id(),
        owner: "ana".to_owned(),
        title: "Checkout errors".to_owned(),
        mode: ChatMode::Ask,
        at: at(0),
    })
}

fn tool_call_started(tool_call_id: &str, second: i64) -> ChatEvent {
    ChatEvent::ToolCallStarted {
        tool_call_id: tool_call_id.to_owned(),
        tool_name: "kubectl".to_owned(),
        input: json!({"command": "kubectl delete pod checkout-7"}),
        at: at(second),
    }
}

/// Confirmation `n` asked at `second`, for `kubectl delete pod`; it expires 300 s later.
fn confirmation_requested(n: u128, second: i64) -> ChatEvent {
    ChatEvent::ConfirmationRequested {
        confirmation_id: uuid(n),
        tool_call_id: None,
        command: "kubectl delete pod checkout-7".to_owned(),
        reason: "restart the stuck pod".to_owned(),
        expires_at: at(second + 300),
        at: at(second),
    }
}

/// One of every command except `Start`, the user's ones as Ana.
fn every_command_but_start() -> Vec<ChatCommand> {
    use crate::values::ConfirmationDecision;
    use ChatCommand::*;
    vec![
        PostUserMessage {
            by: "ana".to_owned(),
            message_id: uuid(100),
            text: "why?".to_owned(),
            mode: ChatMode::Ask,
            at: at(10),
        },
        RecordAssistantMessage {
            message_id: uuid(101),
            text: "because".to_owned(),
            at: at(10),
        },
        StartToolCall {
            tool_call_id: "call-9".to_owned(),
            tool_name: "kubectl".to_owned(),
            input: json!({}),
            at: at(10),
        },
        RecordToolResult {
            tool_call_id: "call-9".to_owned(),
            output: "ok".to_owned(),
            duration_ms: 5,
            at: at(10),
        },
        RecordToolError {
            tool_call_id: "call-9".to_owned(),
            error: "boom".to_owned(),
            duration_ms: 5,
            at: at(10),
        },
        AskConfirmation {
            confirmation_id: uuid(102),
            tool_call_id: None,
            command: "rm".to_owned(),
            reason: "r".to_owned(),
            at: at(10),
        },
        AnswerConfirmation {
            confirmation_id: uuid(102),
            decision: ConfirmationDecision::Cancel,
            at: at(10),
        },
        RespondToConfirmation {
            by: "ana".to_owned(),
            confirmation_id: uuid(102),
            decision: ConfirmationDecision::Execute,
            at: at(10),
        },
        Cancel {
            by: "ana".to_owned(),
            at: at(10),
        },
        RecordUsage(ModelUsage {
            model: "m".to_owned(),
            input_tokens: 1,
            output_tokens: 1,
            cost_micros: 1,
            at: at(10),
        }),
        Rename {
            by: "ana".to_owned(),
            title: "t".to_owned(),
            at: at(10),
        },
        Delete {
            by: "ana".to_owned(),
            at: at(10),
        },
    ]
}

/// Ana's question `n`, posted at `second`.
fn question(n: u128, second: i64) -> ChatEvent {
    ChatEvent::UserMessagePosted {
        message_id: uuid(n),
        text: "why is checkout failing?".to_owned(),
        mode: ChatMode::Agent,
        at: at(second),
    }
}

/// `by` stops the run at `second`.
fn cancel(by: &str, second: i64) -> ChatCommand {
    ChatCommand::Cancel {
        by: by.to_owned(),
        at: at(second),
    }
}
