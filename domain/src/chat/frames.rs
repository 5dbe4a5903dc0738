//! The WebSocket protocol of `/ws/chat` (SPEC §5): the frames a client sends and the frames it
//! gets. Every frame is a JSON object tagged by `type`. Server frames also name the session they
//! belong to, so a client watching several sessions can tell them apart.

use crate::values::{ChatMode, ConfirmationDecision};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// Error codes of `error` frames.
pub mod code {
    /// No model is configured (LLM_BASE_URL / LLM_MODEL unset).
    pub const NO_MODEL: &str = "NO_MODEL";
    /// The frame is not JSON, or a field is missing or of the wrong type.
    pub const BAD_FRAME: &str = "BAD_FRAME";
    /// The frame's `type` is not one the server knows.
    pub const UNKNOWN_TYPE: &str = "UNKNOWN_TYPE";
    /// The frame is larger than 10 MiB.
    pub const FRAME_TOO_LARGE: &str = "FRAME_TOO_LARGE";
    /// More than 5 queries in 60 s.
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    /// A query of more than 20 000 (estimated) tokens.
    pub const QUERY_TOO_LONG: &str = "QUERY_TOO_LONG";
    /// An empty query.
    pub const EMPTY_QUERY: &str = "EMPTY_QUERY";
    /// The session does not exist (or is not the caller's, or was deleted).
    pub const SESSION_NOT_FOUND: &str = "SESSION_NOT_FOUND";
    /// A viewer asked for `agent` mode.
    pub const FORBIDDEN: &str = "FORBIDDEN";
    /// The confirmation is unknown, answered or expired.
    pub const CONFIRMATION_REFUSED: &str = "CONFIRMATION_REFUSED";
    /// The model endpoint failed.
    pub const LLM_ERROR: &str = "LLM_ERROR";
    /// The query asked for a model that is not offered (`LLM_MODEL`, `LLM_MODELS`).
    pub const MODEL_NOT_ALLOWED: &str = "MODEL_NOT_ALLOWED";
    /// The process answering stopped (a restart); the partial answer is kept.
    pub const INTERRUPTED: &str = "INTERRUPTED";
    /// Aurora could not take the frame in (the command log is unavailable); try again.
    pub const UNAVAILABLE: &str = "UNAVAILABLE";
}

/// The largest frame a client may send.
pub const MAX_FRAME_BYTES: usize = 10 * 1024 * 1024;

/// What a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    Query {
        query: String,
        #[serde(default)]
        session_id: Option<Uuid>,
        #[serde(default)]
        mode: ChatMode,
        #[serde(default)]
        model: Option<String>,
        #[serde(default)]
        provider_preference: Vec<String>,
        #[serde(default)]
        selected_project_id: Option<String>,
        #[serde(default)]
        attachments: Vec<Value>,
    },
    ConfirmationResponse {
        confirmation_id: Uuid,
        decision: ConfirmationDecision,
        #[serde(default)]
        session_id: Option<Uuid>,
    },
    Control {
        action: ControlAction,
        #[serde(default)]
        session_id: Option<Uuid>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlAction {
    Cancel,
}

/// Why a client frame could not be read: the `error` frame's code and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    pub code: &'static str,
    pub text: String,
}

impl ClientFrame {
    /// Reads one text frame, telling an unknown `type` from a malformed frame.
    pub fn parse(text: &str) -> Result<Self, FrameError> {
        if text.len() > MAX_FRAME_BYTES {
            return Err(FrameError {
                code: code::FRAME_TOO_LARGE,
                text: format!(
                    "a frame may hold at most {MAX_FRAME_BYTES} bytes; this one has {}",
                    text.len()
                ),
            });
        }
        let value: Value = serde_json::from_str(text).map_err(|e| FrameError {
            code: code::BAD_FRAME,
            text: format!("the frame is not JSON: {e}"),
        })?;
        let kind = value
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| FrameError {
                code: code::BAD_FRAME,
                text: "the frame has no string field `type`".into(),
            })?
            .to_owned();
        if !matches!(kind.as_str(), "query" | "confirmation_response" | "control") {
            return Err(FrameError {
                code: code::UNKNOWN_TYPE,
                text: format!(
                    "unknown frame type {kind:?}: expected query, confirmation_response or control"
                ),
            });
        }
        serde_json::from_value(value).map_err(|e| FrameError {
            code: code::BAD_FRAME,
            text: format!("a {kind} frame {e}"),
        })
    }
}

/// What the server sends. `message` frames with `is_chunk: true` are live only; every other frame
/// repeats something the session's events hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    Status {
        session_id: Uuid,
        status: RunStatus,
    },
    Message {
        session_id: Uuid,
        message_id: Uuid,
        text: String,
        is_chunk: bool,
        is_complete: bool,
    },
    ToolCall {
        session_id: Uuid,
        tool_call_id: String,
        tool_name: String,
        input: Value,
        status: String,
    },
    ToolResult {
        session_id: Uuid,
        tool_call_id: String,
        tool_name: String,
        output: String,
        duration_ms: u64,
    },
    ToolError {
        session_id: Uuid,
        tool_call_id: String,
        tool_name: String,
        error: String,
        duration_ms: u64,
    },
    ExecutionConfirmation {
        session_id: Uuid,
        confirmation_id: Uuid,
        command: String,
        reason: String,
        expires_at: DateTime<Utc>,
    },
    UsageInfo {
        session_id: Uuid,
        model: String,
        input_tokens: u64,
        output_tokens: u64,
        /// US dollars.
        estimated_cost: f64,
    },
    Error {
        #[serde(skip_serializing_if = "Option::is_none")]
        session_id: Option<Uuid>,
        text: String,
        code: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    Start,
    End,
}

impl ServerFrame {
    pub fn error(session_id: Option<Uuid>, code: &str, text: impl Into<String>) -> Self {
        Self::Error {
            session_id,
            text: text.into(),
            code: code.to_owned(),
        }
    }

    /// The frame as JSON text.
    pub fn to_json(&self) -> String {
        // Every field is a string, number, bool, uuid, time or JSON value: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_else(|e| {
            format!(r#"{{"type":"error","code":"INTERNAL","text":"frame not serialisable: {e}"}}"#)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_query_frame_is_read_with_its_defaults() {
        let frame =
            ClientFrame::parse(r#"{"type":"query","query":"why is checkout slow?"}"#).unwrap();
        let ClientFrame::Query {
            query,
            session_id,
            mode,
            attachments,
            ..
        } = frame
        else {
            panic!("not a query: {frame:?}");
        };
        assert_eq!(query, "why is checkout slow?");
        assert_eq!(session_id, None);
        assert_eq!(mode, ChatMode::Ask);
        assert!(attachments.is_empty());
    }

    #[test]
    fn every_client_frame_of_the_spec_is_read() {
        let id = Uuid::from_u128(5);
        let frame = ClientFrame::parse(&format!(
            r#"{{"type":"query","query":"q","session_id":"{id}","mode":"agent","model":"gpt-4o",
                "provider_preference":["gcp"],"selected_project_id":"p1","attachments":[{{"name":"a.txt"}}]}}"#
        ))
        .unwrap();
        assert!(
            matches!(frame, ClientFrame::Query { mode: ChatMode::Agent, session_id: Some(s), .. } if s == id)
        );
        let frame = ClientFrame::parse(&format!(
            r#"{{"type":"confirmation_response","confirmation_id":"{id}","decision":"execute"}}"#
        ))
        .unwrap();
        assert_eq!(
            frame,
            ClientFrame::ConfirmationResponse {
                confirmation_id: id,
                decision: ConfirmationDecision::Execute,
                session_id: None
            }
        );
        let frame = ClientFrame::parse(r#"{"type":"control","action":"cancel"}"#).unwrap();
        assert_eq!(
            frame,
            ClientFrame::Control {
                action: ControlAction::Cancel,
                session_id: None
            }
        );
    }

    #[test]
    fn bad_frames_get_their_own_codes() {
        let cases = [
            ("not json", code::BAD_FRAME, "not JSON"),
            (r#"{"query":"q"}"#, code::BAD_FRAME, "`type`"),
            (r#"{"type":"subscribe"}"#, code::UNKNOWN_TYPE, "subscribe"),
            (
                r#"{"type":"query"}"#,
                code::BAD_FRAME,
                "missing field `query`",
            ),
            (
                r#"{"type":"query","query":"q","mode":"god"}"#,
                code::BAD_FRAME,
                "god",
            ),
            (
                r#"{"type":"confirmation_response","confirmation_id":"x","decision":"execute"}"#,
                code::BAD_FRAME,
                "confirmation_response",
            ),
            (
                r#"{"type":"control","action":"pause"}"#,
                code::BAD_FRAME,
                "pause",
            ),
        ];
        for (text, expected, mentions) in cases {
            let error = ClientFrame::parse(text).unwrap_err();
            assert_eq!(error.code, expected, "{text}");
            assert!(error.text.contains(mentions), "{text}: {}", error.text);
        }
        let huge = format!(
            r#"{{"type":"query","query":"{}"}}"#,
            "x".repeat(MAX_FRAME_BYTES)
        );
        assert_eq!(
            ClientFrame::parse(&huge).unwrap_err().code,
            code::FRAME_TOO_LARGE
        );
    }

    #[test]
    fn server_frames_carry_the_fields_of_the_spec() {
        let id = Uuid::from_u128(1);
        let frame: Value = serde_json::from_str(
            &ServerFrame::Message {
                session_id: id,
                message_id: id,
                text: "Checkout".into(),
                is_chunk: true,
                is_complete: false,
            }
            .to_json(),
        )
        .unwrap();
        assert_eq!(frame["type"], "message");
        assert_eq!(frame["is_chunk"], true);
        let frame: Value = serde_json::from_str(
            &ServerFrame::Status {
                session_id: id,
                status: RunStatus::Start,
            }
            .to_json(),
        )
        .unwrap();
        assert_eq!(frame["status"], "START");
        let frame: Value = serde_json::from_str(
            &ServerFrame::error(None, code::NO_MODEL, "set LLM_MODEL").to_json(),
        )
        .unwrap();
        assert_eq!(
            frame,
            serde_json::json!({"type":"error","code":"NO_MODEL","text":"set LLM_MODEL"})
        );
    }
}
