//! `aurora-gateway`: the HTTP face of Aurora and the `aurora` binary.
//!
//! - [`cli`]: the subcommands (`up`, `serve --role`, `streams apply`, `replay`, `audit verify`).
//! - [`app`]: runs the roles (gateway, handlers, projections) in one process until shutdown, on
//!   the [`services`] (connections) with an [`app::Config`].
//! - [`api`]: the axum router — health, readiness, incidents — and the one error shape.
//! - [`embedded`]: the private PostgreSQL cluster `aurora up` makes under the data dir.
//!
//! May depend on domain, nats, projections (its `queries` and runners) and handlers; nothing
//! depends on it. Start reading at [`app::run`].

pub mod api;
pub mod app;
pub mod cli;
pub mod embedded;
pub mod services;
pub mod telemetry;
pub mod ui;
