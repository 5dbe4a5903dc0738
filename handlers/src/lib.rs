//! `aurora-handlers`: the work that turns durable inputs into commands on aggregates.
//!
//! Today: [`commands`], the consumer of `CMD` that runs each command through the event store.
//! Webhook sources, correlation, the chat agent and its tools arrive with later issues, each as
//! its own module here. Depends on `aurora-domain` and `aurora-nats` only.

pub mod commands;
pub mod secrets;
pub mod sources;
