//! What the trace tests read: an OTLP/HTTP receiver keeping the spans it is sent, and the
//! checks of a trace (its hops present, its parents in it, each hop descending from the request).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Attribute;
use prost::Message;

/// The span of the caller every test request continues.
pub const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// One span as received, with the role of the process that sent it.
#[derive(Debug, Clone)]
pub struct Received {
    pub trace_id: String,
    pub span_id: String,
    pub parent: String,
    pub name: String,
    /// The resource's `service.name`, `service.version` and `aurora.role`.
    pub service: String,
    pub version: String,
    pub role: String,
    pub attributes: HashMap<String, String>,
}

/// A span a trace must have: its name, the role of the process that sent it, and an attribute
/// it must carry, if any.
pub struct Hop(
    pub &'static str,
    pub &'static str,
    pub Option<(&'static str, &'static str)>,
);

impl Hop {
    pub fn matches(&self, span: &Received) -> bool {
        let Hop(name, role, attribute) = self;
        span.name == *name
            && span.role == *role
            && attribute.is_none_or(|(k, v)| span.attributes.get(k).is_some_and(|a| a == v))
    }
}

pub type Spans = Arc<Mutex<Vec<Received>>>;

/// An OTLP/HTTP receiver (`POST /v1/traces`, protobuf) on `addr`; what it received.
pub async fn receiver(addr: &str) -> (Spans, String) {
    async fn traces(State(spans): State<Spans>, body: Bytes) -> &'static [u8] {
        let request = ExportTraceServiceRequest::decode(body).expect("an OTLP trace request");
        let mut received = spans.lock().expect("spans");
        for sent in request.resource_spans {
            let resource = sent
                .resource
                .map(|r| attributes_of(&r.attributes))
                .unwrap_or_default();
            let of = |key: &str| resource.get(key).cloned().unwrap_or_default();
            for scope in sent.scope_spans {
                for span in scope.spans {
                    received.push(Received {
                        trace_id: hex(&span.trace_id),
                        span_id: hex(&span.span_id),
                        parent: hex(&span.parent_span_id),
                        name: span.name,
                        service: of("service.name"),
                        version: of("service.version"),
                        role: of("aurora.role"),
                        attributes: attributes_of(&span.attributes),
                    });
                }
            }
        }
        // An empty ExportTraceServiceResponse.
        &[]
    }
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let spans = Spans::default();
    let app = axum::Router::new()
        .route("/v1/traces", post(traces))
        .with_state(spans.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (spans, url)
}

fn attributes_of(
    list: &[opentelemetry_proto::tonic::common::v1::KeyValue],
) -> HashMap<String, String> {
    list.iter()
        .filter_map(|kv| {
            let value = match kv.value.as_ref()?.value.as_ref()? {
                Attribute::StringValue(s) => s.clone(),
                Attribute::IntValue(i) => i.to_string(),
                Attribute::BoolValue(b) => b.to_string(),
                Attribute::DoubleValue(d) => d.to_string(),
                _ => return None,
            };
            Some((kv.key.clone(), value))
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The spans of `trace_id` received so far.
pub fn trace_of(spans: &Spans, trace_id: &str) -> Vec<Received> {
    spans
        .lock()
        .expect("spans")
        .iter()
        .filter(|s| s.trace_id == trace_id)
        .cloned()
        .collect()
}

/// The spans of `trace_id` once every hop is among them (at most 60 s).
pub async fn trace_with(spans: &Spans, trace_id: &str, hops: &[Hop]) -> Vec<Received> {
    let started = Instant::now();
    loop {
        let trace = trace_of(spans, trace_id);
        let missing: Vec<_> = hops
            .iter()
            .filter(|hop| !trace.iter().any(|s| hop.matches(s)))
            .map(|Hop(name, role, _)| (name, role))
            .collect();
        if missing.is_empty() {
            return trace;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "spans {missing:?} never arrived; the trace has {:#?}",
            trace
                .iter()
                .map(|s| (&s.name, &s.role, &s.attributes))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The spans of `trace_id` once it has every hop, checked whole: sent by `aurora` of this
/// version, every parent in the trace but the root's (the caller's span, [`CALLER_SPAN`]), the
/// root the request to a path starting with `path`, and every hop descending from it.
pub async fn whole_trace(spans: &Spans, trace_id: &str, hops: &[Hop], path: &str) -> Vec<Received> {
    trace_with(spans, trace_id, hops).await;
    // What ended with or before the hops (their children, the other consumers' spans) is in too.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let trace = trace_of(spans, trace_id);
    for span in &trace {
        assert_eq!(span.service, "aurora", "{span:?}");
        assert_eq!(span.version, env!("CARGO_PKG_VERSION"), "{span:?}");
    }
    let by_id: HashMap<&str, &Received> = trace.iter().map(|s| (s.span_id.as_str(), s)).collect();
    // The caller's span is the only parent from outside: every other link stays in the trace.
    for span in &trace {
        assert!(
            span.parent == CALLER_SPAN || by_id.contains_key(span.parent.as_str()),
            "{span:?} has a parent that is not in the trace"
        );
    }
    let request = trace
        .iter()
        .find(|s| s.name == "request")
        .expect("the request's span");
    assert_eq!(
        request.parent, CALLER_SPAN,
        "the caller's trace is continued"
    );
    assert!(
        request
            .attributes
            .get("url.path")
            .is_some_and(|p| p.starts_with(path)),
        "{request:?}"
    );
    let descends = |span: &Received| {
        let mut at = span;
        while let Some(parent) = by_id.get(at.parent.as_str()) {
            at = parent;
        }
        at.span_id == request.span_id
    };
    for hop in hops {
        let span = trace.iter().find(|s| hop.matches(s)).expect("hop");
        assert!(
            descends(span),
            "{} ({}) does not descend from the request",
            hop.0,
            hop.1
        );
    }
    trace
}
