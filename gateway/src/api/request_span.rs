//! Each HTTP request's span: the root of a webhook's (or a chat query's) trace, continuing the
//! caller's `traceparent` when it sent one, and the span the request's log lines are printed in.
//!
//! Two spans, each paid for only where it is used: a `tracing` span for the log lines (enabled by
//! `RUST_LOG`, never exported) and, when spans are exported, the exported span made with the
//! OpenTelemetry SDK directly ([`request_tracer`]). The SDK's span is made and ended once; its
//! context is attached to the thread while the request's future is polled, which is where the
//! spans made inside the request (a chat query's publish, a command's append) and the INBOX
//! message's `traceparent` take their parent from ([`aurora_telemetry::trace`]). Made through
//! `tracing`, the exported span went through the registry, both layers' filters and the
//! OpenTelemetry layer at each of its ~4 enters and exits a request: half of what tracing a
//! webhook cost.

use std::future::Future;
use std::time::Instant;

use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SdkTracer;

use crate::telemetry::request_tracer;
use aurora_telemetry::trace;

/// Runs the request inside its spans; a server error is logged (with the time it took) and
/// marks the exported span as failed.
pub async fn instrument(request: Request, next: Next) -> Response {
    in_spans(request_tracer(), request, next).await
}

/// [`instrument`] with the tracer of the exported spans (none when spans are not exported).
async fn in_spans(tracer: Option<&SdkTracer>, request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // `&str` fields, copied as they are where `%` would run them through the formatter.
    let logged = tracing::info_span!(
        "request",
        method = request.method().as_str(),
        path = request.uri().path(),
        request_id = id,
    );
    let exported = tracer.map(|tracer| exported_span(tracer, &request, id));
    let started = Instant::now();
    let mut response = std::pin::pin!(next.run(request));
    // Polled here rather than by `Instrument`, which enters the span once more to drop the
    // finished future.
    let response = std::future::poll_fn(|cx| {
        let _logged = logged.enter();
        let _exported = exported.clone().map(opentelemetry::Context::attach);
        response.as_mut().poll(cx)
    })
    .await;
    let status = response.status();
    if let Some(exported) = exported {
        let span = exported.span();
        span.set_attribute(KeyValue::new(
            "http.response.status_code",
            i64::from(status.as_u16()),
        ));
        if status.is_server_error() {
            span.set_status(Status::error(status.to_string()));
        }
        span.end();
    }
    if status.is_server_error() {
        logged.in_scope(|| {
            tracing::error!(
                status = status.as_u16(),
                latency_ms = started.elapsed().as_millis() as u64,
                "response failed"
            )
        });
    }
    response
}

/// The request's exported span (a server span continuing the caller's `traceparent`), as the
/// context its work is done in.
fn exported_span(tracer: &SdkTracer, request: &Request, id: &str) -> opentelemetry::Context {
    let caller = request
        .headers()
        .get(trace::TRACEPARENT)
        .and_then(|v| v.to_str().ok());
    let parent = trace::remote_parent(caller);
    // Room for the status code added at the end: the SDK keeps this vector as the span's, and
    // growing it there would move it once more per request.
    let mut attributes = Vec::with_capacity(4);
    attributes.extend([
        KeyValue::new("http.request.method", method_name(request.method())),
        KeyValue::new("url.path", request.uri().path().to_owned()),
        KeyValue::new("request_id", id.to_owned()),
    ]);
    let span = tracer
        .span_builder("request")
        .with_kind(SpanKind::Server)
        .with_attributes(attributes)
        .start_with_context(tracer, &parent);
    parent.with_span(span)
}

/// The method's name, not copied for the standard ones.
fn method_name(method: &Method) -> opentelemetry::Value {
    match standard_method(method) {
        Some(name) => name.into(),
        None => method.as_str().to_owned().into(),
    }
}

/// The name of a standard method (any other is a token the client chose).
pub(super) fn standard_method(method: &Method) -> Option<&'static str> {
    Some(match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => return None,
    })
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

    use opentelemetry::trace::{SpanKind, Status, TracerProvider as _};
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};

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

    /// The spans a test's tracer exported.
    #[derive(Clone, Debug, Default)]
    struct Exported(Arc<Mutex<Vec<SpanData>>>);

    impl SpanExporter for Exported {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            self.0.lock().expect("exported").extend(batch);
            Ok(())
        }
    }

    const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const CALLER_SPAN: &str = "00f067aa0ba902b7";

    /// Answers a request with `status` (its handler making a `child` span), through the
    /// middleware, with Aurora's exported-span filter; what the log layer saw and what was
    /// exported.
    async fn answer(status: StatusCode, traceparent: Option<&str>) -> (Vec<String>, Vec<SpanData>) {
        let exported = Exported::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exported.clone())
            .build();
        let tracer = provider.tracer("aurora");
        let seen = Seen::default();
        let spans = tracing_opentelemetry::layer()
            .with_tracer(tracer.clone())
            .with_filter(crate::telemetry::exported_spans());
        let _guard = tracing::subscriber::set_default(
            tracing_subscriber::registry()
                .with(seen.clone())
                .with(spans),
        );
        let app = axum::Router::new()
            .fallback(move || async move {
                let child = tracing::info_span!(target: "aurora_gateway::api::intake", "child");
                child.in_scope(|| ());
                status
            })
            .layer(axum::middleware::from_fn(move |request, next| {
                let tracer = tracer.clone();
                async move { super::in_spans(Some(&tracer), request, next).await }
            }));
        let mut request =
            axum::http::Request::post("/webhooks/grafana/x").header("x-request-id", "req-1");
        if let Some(traceparent) = traceparent {
            request = request.header("traceparent", traceparent);
        }
        let request = request.body(Body::empty()).expect("a request");
        let response = app.oneshot(request).await.expect("an answer");
        assert_eq!(response.status(), status);
        provider.force_flush().expect("flushed");
        let seen = seen.0.lock().expect("seen").clone();
        let exported = exported.0.lock().expect("exported").clone();
        (seen, exported)
    }

    fn attribute(span: &SpanData, key: &str) -> Option<String> {
        span.attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.to_string())
    }

    #[tokio::test]
    async fn a_request_is_one_exported_span_continuing_the_caller_and_parenting_its_work() {
        let caller = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");
        let (seen, exported) = answer(StatusCode::SERVICE_UNAVAILABLE, Some(&caller)).await;
        assert_eq!(
            seen,
            [
                "request.method=POST",
                "request.path=/webhooks/grafana/x",
                "request.request_id=req-1",
                "ERROR response failed status=503 (in request)",
            ],
            "the log span has the request's fields and the failure is logged in it"
        );
        let names: Vec<&str> = exported.iter().map(|s| s.name.as_ref()).collect();
        assert_eq!(names, ["child", "request"], "the log span is not exported");
        let (child, request) = (&exported[0], &exported[1]);
        assert_eq!(request.span_kind, SpanKind::Server);
        assert_eq!(
            format!("{:032x}", request.span_context.trace_id()),
            CALLER_TRACE
        );
        assert_eq!(format!("{:016x}", request.parent_span_id), CALLER_SPAN);
        assert!(request.parent_span_is_remote);
        assert_eq!(
            child.span_context.trace_id(),
            request.span_context.trace_id()
        );
        assert_eq!(child.parent_span_id, request.span_context.span_id());
        for (key, value) in [
            ("http.request.method", "POST"),
            ("url.path", "/webhooks/grafana/x"),
            ("request_id", "req-1"),
            ("http.response.status_code", "503"),
        ] {
            assert_eq!(attribute(request, key).as_deref(), Some(value), "{key}");
        }
        assert_eq!(
            request.status,
            Status::error("503 Service Unavailable"),
            "a server error marks the span failed"
        );
    }

    #[tokio::test]
    async fn a_client_error_is_neither_logged_nor_failed_and_without_a_caller_a_trace_begins() {
        let (seen, exported) = answer(StatusCode::NOT_FOUND, None).await;
        assert_eq!(
            seen,
            [
                "request.method=POST",
                "request.path=/webhooks/grafana/x",
                "request.request_id=req-1",
            ],
            "a client error is the caller's: not logged"
        );
        let request = exported
            .iter()
            .find(|s| s.name == "request")
            .expect("the request's span");
        assert_eq!(
            request.parent_span_id,
            opentelemetry::trace::SpanId::INVALID
        );
        assert_eq!(request.status, Status::Unset);
        assert_eq!(
            attribute(request, "http.response.status_code").as_deref(),
            Some("404")
        );
    }
}
