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
    async move {
        let response = next.run(request).await;
        let status = response.status();
        if status.is_server_error() {
            tracing::Span::current().record("otel.status_code", "ERROR");
            tracing::error!(
                status = status.as_u16(),
                latency_ms = started.elapsed().as_millis() as u64,
                "response failed"
            );
        }
        response
    }
    .instrument(span)
    .await
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::body::Body;
    use axum::http::StatusCode;
    use tower::ServiceExt;
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Subscriber};
    use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
    use tracing_subscriber::registry::LookupSpan;

    /// What the test's subscriber saw: `span.field=value` for each span field recorded, and
    /// `level message (in span)` for each event.
    #[derive(Clone, Default)]
    struct Seen(Arc<Mutex<Vec<String>>>);

    struct Fields<'a>(&'a mut Vec<(String, String)>);

    impl Visit for Fields<'_> {
        fn record_str(&mut self, field: &Field, value: &str) {
            self.0.push((field.name().into(), value.into()));
        }
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.0.push((field.name().into(), format!("{value:?}")));
        }
    }

    impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Seen {
        fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
            let mut fields = Vec::new();
            attrs.record(&mut Fields(&mut fields));
            let mut seen = self.0.lock().expect("seen");
            for (name, value) in fields {
                seen.push(format!("{}.{name}={value}", attrs.metadata().name()));
            }
        }
        fn on_record(&self, id: &Id, values: &Record<'_>, cx: Context<'_, S>) {
            let mut fields = Vec::new();
            values.record(&mut Fields(&mut fields));
            let name = cx.span(id).map_or("?", |s| s.name());
            let mut seen = self.0.lock().expect("seen");
            for (field, value) in fields {
                seen.push(format!("{name}.{field}={value}"));
            }
        }
        fn on_event(&self, event: &Event<'_>, cx: Context<'_, S>) {
            let mut fields = Vec::new();
            event.record(&mut Fields(&mut fields));
            let message = fields
                .iter()
                .find(|(f, _)| f == "message")
                .map(|(_, v)| v.clone());
            let status = fields
                .iter()
                .find(|(f, _)| f == "status")
                .map(|(_, v)| v.clone());
            let span = cx.event_span(event).map_or("none", |s| s.name());
            self.0.lock().expect("seen").push(format!(
                "{} {} status={} (in {span})",
                event.metadata().level(),
                message.unwrap_or_default(),
                status.unwrap_or_default()
            ));
        }
    }

    async fn answer(status: StatusCode, path: &str) -> Vec<String> {
        let seen = Seen::default();
        let _guard =
            tracing::subscriber::set_default(tracing_subscriber::registry().with(seen.clone()));
        let app = axum::Router::new()
            .fallback(move || async move { status })
            .layer(axum::middleware::from_fn(super::instrument));
        let request = axum::http::Request::post(path)
            .header("x-request-id", "req-1")
            .body(Body::empty())
            .expect("a request");
        let response = app.oneshot(request).await.expect("an answer");
        assert_eq!(response.status(), status);
        let seen = seen.0.lock().expect("seen").clone();
        seen
    }

    #[tokio::test]
    async fn a_request_is_one_span_and_a_server_error_is_logged_in_it_and_marks_it_failed() {
        let seen = answer(StatusCode::SERVICE_UNAVAILABLE, "/webhooks/grafana/x").await;
        assert_eq!(
            seen,
            [
                "request.method=POST",
                "request.path=/webhooks/grafana/x",
                "request.request_id=req-1",
                "request.otel.status_code=ERROR",
                "ERROR response failed status=503 (in request)",
            ]
        );

        let seen = answer(StatusCode::NOT_FOUND, "/nowhere").await;
        assert_eq!(
            seen,
            [
                "request.method=POST",
                "request.path=/nowhere",
                "request.request_id=req-1",
            ],
            "a client error is the caller's: not logged, the span not failed"
        );
    }
}
