//! End-to-end tests against real services (one binary, as crates.io does).

mod api;
mod changes;
mod chat;
mod chat_sessions;
mod connectors;
mod dead_letters;
mod embeddings;
mod event_store;
mod events;
mod fixtures;
mod graph;
mod hygiene;
mod identity;
mod incident_commands;
mod intake;
mod investigations;
mod isolation;
mod knowledge;
mod metrics;
mod outage;
mod postmortems;
mod projections;
mod queries;
mod rca;
mod secrets;
mod streams;
