//! Each HTTP request's span: the root of a webhook's (or a chat query's) trace, continuing the
//! caller's `traceparent` when it sent one, and the span the request's log lines are printed in.
//!
//! A middleware rather than tower-http's `TraceLayer`: that layer enters the span once more to
//! call the service and again at every poll of the response body, and each enter and exit costs
//! an exported span ~1k instructions, 2k of a webhook's; here the span is entered only while
//! the request's future is polled and closes with the answer's head.

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use aurora_telemetry::trace;

/// Runs the request inside its span; a server error is logged (with the time it took) and
/// marks the exported span as failed.
pub async fn instrument(request: Request, next: Next) -> Response {
    let span = span_of(&request);
    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
        span.in_scope(|| {
            tracing::error!(
                status = status.as_u16(),
                latency_ms = started.elapsed().as_millis() as u64,
                "response failed"
            );
        });
    }
    response
}

/// The request's span: method, path and `x-request-id` (set by the outer layer) as `&str`
/// fields, which are copied as they are where `%` would run them through the formatter.
fn span_of(request: &Request) -> tracing::Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let span = tracing::info_span!(
        "request",
        method = request.method().as_str(),
        path = request.uri().path(),
        request_id = id,
        otel.status_code = tracing::field::Empty,
    );
    if trace::exporting() {
        let caller = request.headers().get(trace::TRACEPARENT);
        trace::continue_trace(&span, caller.and_then(|v| v.to_str().ok()));
    }
    span
}
