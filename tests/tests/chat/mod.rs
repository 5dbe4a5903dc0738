//! Chat with the agent end to end: a real WebSocket client, the real gateway and handlers, the
//! real async-openai client against a scripted OpenAI-compatible server, fake CLIs on the tools'
//! `PATH`, JetStream and PostgreSQL.

mod access;
mod answers;
mod cancel;
mod confirmations;
pub(crate) mod helpers;
mod history;
mod policy;
mod socket;
mod sweep;
mod tools;
