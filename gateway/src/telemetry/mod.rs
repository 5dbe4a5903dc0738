//! Logs and traces of the `aurora` process.
//!
//! Logs go to stderr: `RUST_LOG` filters (default `info`), `RUST_LOG_FORMAT=json` switches to
//! JSON lines.
//!
//! Traces are exported only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (`OTEL_EXPORTER_OTLP_
//! TRACES_ENDPOINT` overrides it for traces): OTLP over HTTP with protobuf bodies ([`otlp`]), in
//! batches written as the spans end (`OTEL_BSP_*`, [`batch`]), sampled by `OTEL_TRACES_SAMPLER`
//! / `OTEL_TRACES_SAMPLER_ARG` (default `parentbased_always_on`). The resource names the service (`OTEL_SERVICE_NAME`, else
//! `aurora`), its version and the process's role (`aurora.role`); `OTEL_RESOURCE_ATTRIBUTES`
//! adds more. Without the endpoint nothing of OpenTelemetry is installed and the trace context
//! code is a no-op ([`aurora_telemetry::trace`]).

pub mod batch;
pub mod otlp;
mod otlp_request;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::KeyValue;
use std::sync::OnceLock;

use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The spans exported: Aurora's at INFO, and the event store's commands, which are at DEBUG so
/// that logging does not pay for them (see `AggregateStore::execute`) but are a trace's appends.
/// Not the HTTP request's `tracing` span, which is only for the log lines: the request's exported
/// span is made with the SDK directly ([`request_tracer`]).
const EXPORTED_SPANS: &str = "info,aurora_nats::store=debug,aurora_gateway::api::request_span=off";

/// The tracer of the HTTP requests' spans, set when spans are exported.
static REQUEST_TRACER: OnceLock<SdkTracer> = OnceLock::new();

/// The tracer the gateway makes each HTTP request's span with, when spans are exported. Through
/// the SDK rather than `tracing`: an exported `tracing` span is entered and left at every poll of
/// the request, each time through the registry, both layers' filters and the OpenTelemetry
/// layer; the SDK's span is made once, ended once, and its context attached to the thread while
/// the request is polled (the spans made inside it take it as their parent from there).
pub fn request_tracer() -> Option<&'static SdkTracer> {
    REQUEST_TRACER.get()
}

/// What [`init`] installed; [`Telemetry::shutdown`] flushes the spans still buffered.
#[must_use = "shut down on exit, or the last spans are lost"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports what is buffered and stops the exporter (nothing without one).
    pub fn shutdown(self) {
        if let Some(provider) = self.provider {
            if let Err(e) = provider.shutdown() {
                eprintln!("warning: the last spans were not exported: {e}");
            }
        }
    }
}

/// Installs logging, and span export when configured; `role` is what this process runs
/// (`gateway`, `handlers`, `projections`, `all`, or a command's name).
pub fn init(role: &str) -> Telemetry {
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("RUST_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    if !endpoint_set() {
        // Exactly the subscriber Aurora had before traces: one global filter, no per-layer
        // filtering on the hot paths.
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter())
            .with_writer(std::io::stderr);
        let _ = if json {
            builder.json().try_init()
        } else {
            builder.try_init()
        };
        return Telemetry { provider: None };
    }
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = if json {
        logs.json().with_filter(filter()).boxed()
    } else {
        logs.with_filter(filter()).boxed()
    };
    let provider = match tracer_provider(role) {
        Ok(provider) => provider,
        Err(e) => {
            let _ = tracing_subscriber::registry().with(logs).try_init();
            tracing::error!(error = %e, "spans will not be exported");
            return Telemetry { provider: None };
        }
    };
    // Per span, only what an operator reads: no busy/idle timing and no thread attributes (a
    // clock read at every poll, a thread name copied per span), no source location or module
    // (four attributes of every span, for the developer, each converted and encoded once more on
    // export: a third of an exported webhook's instructions went to encoding them), and no
    // OpenTelemetry context attached at every poll (nothing of ours reads `Context::current`:
    // the trace context is read from the span itself, `aurora_telemetry::trace`).
    // One tracer (one instrumentation scope) for the spans made through `tracing` and the
    // requests' spans made with the SDK.
    let tracer = provider.tracer("aurora");
    let spans = tracing_opentelemetry::layer()
        .with_tracer(tracer.clone())
        .with_tracked_inactivity(false)
        .with_threads(false)
        .with_location(false)
        .with_target(false)
        .with_context_activation(false)
        .with_filter(exported_spans());
    if tracing_subscriber::registry()
        .with(logs)
        .with(spans)
        .try_init()
        .is_ok()
    {
        let _ = REQUEST_TRACER.set(tracer);
        aurora_telemetry::trace::set_exporting();
    }
    Telemetry {
        provider: Some(provider),
    }
}

/// [`EXPORTED_SPANS`] as a plain target filter: unlike `EnvFilter`, it has nothing to look up
/// when a span is entered or left, which an exported request span is at every poll.
pub(crate) fn exported_spans() -> Targets {
    EXPORTED_SPANS
        .parse()
        .expect("EXPORTED_SPANS is a valid target filter")
}

fn endpoint_set() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
}

fn tracer_provider(role: &str) -> Result<SdkTracerProvider, otlp::ConfigError> {
    let exporter = otlp::OtlpExporter::new(otlp::Config::from_env()?)?;
    let settings = batch::Settings::from_env()?;
    let service = std::env::var("OTEL_SERVICE_NAME")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "aurora".into());
    let resource = Resource::builder()
        .with_service_name(service)
        .with_attributes([
            KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
            KeyValue::new("aurora.role", role.to_owned()),
        ])
        .build();
    // The sampler is the SDK's default, which reads OTEL_TRACES_SAMPLER(_ARG).
    Ok(SdkTracerProvider::builder()
        .with_span_processor(batch::BatchProcessor::new(exporter, settings))
        .with_resource(resource)
        .build())
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    #[test]
    fn the_exported_spans_are_aurora_at_info_and_the_store_commands_at_debug_not_the_request_log_span(
    ) {
        let filter = super::exported_spans();
        assert!(filter.would_enable("aurora_gateway::api", &Level::INFO));
        assert!(!filter.would_enable("aurora_gateway::api", &Level::DEBUG));
        assert!(filter.would_enable("aurora_nats::store", &Level::DEBUG));
        assert!(!filter.would_enable("aurora_nats::store", &Level::TRACE));
        assert!(
            !filter.would_enable("aurora_gateway::api::request_span", &Level::INFO),
            "the request's span is exported by the SDK, not through tracing"
        );
    }
}
