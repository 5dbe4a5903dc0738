//! The chat session aggregate: one conversation between a user and the agent, with its tool
//! calls, confirmations and usage.
//!
//! [`ChatCommand`] says what may be asked, [`ChatEvent`] what happened, [`ChatError`] why a
//! command was refused, and [`ChatSessionState`] is the fold of the events.
//!
//! The chat's wire contracts live here too: [`frames`] (the WebSocket protocol of `/ws/chat`)
//! and [`request`] (what the gateway puts on `CMD` for the agent, and a query's limits).

mod command;
mod error;
mod event;
pub mod frames;
pub mod request;
mod state;

#[cfg(test)]
mod tests;

pub use command::{ChatCommand, CONFIRMATION_TTL_SECS, TITLE_MAX_CHARS};
pub use error::ChatError;
pub use event::{ChatEvent, FirstQuestion, NewSession};
pub use request::{estimate_tokens, Query, SessionRequest, MAX_QUERY_TOKENS, NO_MODEL_TEXT};
pub use state::{
    ChatMessage, ChatSessionState, Confirmation, ConfirmationAnswer, GateDecision, ToolCall,
};

crate::aggregate::aggregate!(
    /// The chat session aggregate (stored under the name `session`).
    ChatSession = "session", command::decide,
    ChatSessionState, ChatCommand, ChatEvent, ChatError
);
