//! `aurora-telemetry`: what Aurora tells operators about itself.
//!
//! - [`metrics`]: every Prometheus series, in one registry per process ([`Metrics`]), served as
//!   `GET /metrics` by the gateway (or on `AURORA_METRICS_LISTEN`).
//! - [`histogram`]: the lock-free histogram the latency and batch-size series use.
//!
//! Depends on prometheus-client only; every other crate may depend on it. Start reading at
//! [`Metrics`].

pub mod histogram;
pub mod metrics;

pub use metrics::{Metrics, MetricsOptions, Open};
