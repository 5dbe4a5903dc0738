//! The agent's read-only query tools: each client against a fake of its provider (real HTTP,
//! the provider's documented shapes), then end to end through a chat.

mod chat;
mod clients;
mod invalidation;
