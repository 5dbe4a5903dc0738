//! `aurora-telemetry`: what Aurora tells operators about itself.
//!
//! - [`metrics`]: every Prometheus series, in one registry per process ([`Metrics`]), served as
//!   `GET /metrics` by the gateway (or on `AURORA_METRICS_LISTEN`).
//! - [`histogram`]: the lock-free histogram the latency and batch-size series use.
//! - [`trace`]: W3C trace context in and out of spans, so one trace runs from a webhook to the
//!   read model (all of it a no-op unless spans are exported).
//!
//! Depends on prometheus-client and OpenTelemetry's API (with its `tracing` bridge); every other
//! crate may depend on it. Start reading at [`Metrics`].

pub mod histogram;
pub mod metrics;
pub mod trace;

pub use metrics::{Metrics, MetricsOptions, Open, WebhookSeries};
