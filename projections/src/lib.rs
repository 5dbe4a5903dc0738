//! `aurora-projections`: the read side. Projectors consume `EVENTS` with durable consumers and
//! keep Postgres read models; [`queries`] is the only SQL that reads them.
//!
//! - [`projector`]: the registry of projectors (incidents, sessions, organizations, integrations,
//!   changes, investigations, postmortems, services, knowledge, deliveries): consumer, subjects,
//!   tables, and which table code applies their events.
//! - [`fold`]: the one skeleton of a projector: a batch folded over an `esrs::Aggregate` with the
//!   [`state_cache`], handed to the projector's [`fold::Tables`] (one file each: [`incidents`],
//!   [`sessions`], [`organizations`], [`integrations`], [`investigations`], [`knowledge`];
//!   [`changes`], [`postmortems`] and [`deliveries`] keep no state); [`rows`] is how all of them
//!   write.
//! - [`runner`]: batch → one transaction (checkpoint row locked first, rows, checkpoint) → ack.
//! - [`replay`]: rebuild a projector from sequence 0 into shadow tables and swap them in.
//! - [`audit`]: rebuild everything into a scratch schema and list every differing row.
//!
//! Depends on `aurora-domain` (the projectors fold events with the aggregates' own
//! `apply_event`, so a read model cannot disagree with the aggregate) and `aurora-nats`.

pub mod audit;
pub mod changes;
pub mod connectors;
pub mod deliveries;
pub mod error;
pub mod fold;
pub mod incidents;
pub mod integrations;
pub mod investigations;
pub mod knowledge;
pub mod organizations;
pub mod postmortems;
pub mod projector;
pub mod queries;
pub mod replay;
pub mod rows;
pub mod runner;
pub mod services;
pub mod sessions;
pub mod state_cache;

pub use error::ProjectionError;
pub use projector::{ProjectionCache, Projector};

/// Runs the sqlx migrations of `migrations/`.
pub async fn migrate(pool: &sqlx::PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sqlx::migrate!("../migrations").run(pool).await
}
