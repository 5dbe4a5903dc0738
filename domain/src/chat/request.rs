//! What the gateway puts on `cmd.<tenant>.session.<id>` for the chat consumer, and the limits a
//! query is held to before it is taken in.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ChatCommand;
use crate::values::ChatMode;

/// The most a query may hold, in (estimated) tokens.
pub const MAX_QUERY_TOKENS: usize = 20_000;

/// Tokens in `text`, estimated the usual way for English and code (four bytes a token) when the
/// model's tokenizer is not at hand.
pub fn estimate_tokens(text: &str) -> usize {
    text.len().div_ceil(4)
}

/// What a query is told when no model is configured (the `NO_MODEL` error's text).
pub const NO_MODEL_TEXT: &str = "No language model is configured. Set LLM_BASE_URL (an \
     OpenAI-compatible endpoint, e.g. https://api.openai.com/v1), LLM_MODEL (e.g. gpt-4o) and \
     LLM_API_KEY, then restart Aurora.";

/// A query (which starts the session if needed and runs the agent), or a command on the session
/// itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SessionRequest {
    Query(Query),
    /// Any [`ChatCommand`] (confirmation answers, cancel), run as it is; the user's commands
    /// name the user, and the session refuses them unless it is the owner.
    Command {
        command: ChatCommand,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Query {
    pub message_id: Uuid,
    /// The user id asking; a new session is theirs.
    pub owner: String,
    /// The title of a new session.
    pub title: String,
    pub text: String,
    pub mode: ChatMode,
    /// A model other than the configured one, if the user picked one.
    pub model: Option<String>,
    /// Cloud providers the user would rather the agent look at first (e.g. `gcp`).
    #[serde(default)]
    pub provider_preference: Vec<String>,
    /// The cloud project the user has selected in the UI.
    #[serde(default)]
    pub selected_project_id: Option<String>,
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_session_request_round_trips_through_json() {
        let query = SessionRequest::Query(Query {
            message_id: Uuid::from_u128(7),
            owner: "u1".into(),
            title: "why is checkout slow?".into(),
            text: "why is checkout slow?".into(),
            mode: ChatMode::Agent,
            model: None,
            provider_preference: vec!["gcp".into()],
            selected_project_id: None,
            at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        });
        let json = serde_json::to_value(&query).unwrap();
        assert_eq!(json["type"], "query");
        assert_eq!(json["mode"], "agent");
        assert_eq!(
            serde_json::from_value::<SessionRequest>(json).unwrap(),
            query
        );

        let cancel = SessionRequest::Command {
            command: ChatCommand::Cancel {
                by: "u1".into(),
                at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            },
        };
        let json = serde_json::to_value(&cancel).unwrap();
        assert_eq!(json["type"], "command");
        assert_eq!(json["command"]["type"], "cancel");
        assert_eq!(
            serde_json::from_value::<SessionRequest>(json).unwrap(),
            cancel
        );
    }

    #[test]
    fn tokens_are_estimated_at_four_bytes_each() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("abcd"), 1);
        assert_eq!(estimate_tokens("abcde"), 2);
        assert_eq!(estimate_tokens(&"x".repeat(80_000)), MAX_QUERY_TOKENS);
    }
}
