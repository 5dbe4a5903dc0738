//! Traces as an operator's collector receives them: the `aurora` processes (one per role, as in
//! production) export spans over OTLP/HTTP to a receiver this test serves, and one webhook is one
//! trace from the HTTP request to the projector's transaction. Without
//! `OTEL_EXPORTER_OTLP_ENDPOINT` nothing is exported and events keep fresh, unsampled trace ids.
//!
//! The tracer provider is process-global, so Aurora runs as child processes here.

mod common;

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aurora_nats::server::NatsServer;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message;

use common::{curl, drop_database, fresh_database, Killed};

/// The trace a test webhook arrives in (as a caller that traces would send it).
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// One span as received, with the role of the process that sent it.
#[derive(Debug, Clone)]
struct Received {
    trace_id: String,
    span_id: String,
    parent: String,
    name: String,
    /// The resource's `service.name`, `service.version` and `aurora.role`.
    service: String,
    version: String,
    role: String,
    attributes: HashMap<String, String>,
}

/// A span a trace must have: its name, the role of the process that sent it, and an attribute
/// it must carry, if any.
struct Hop(
    &'static str,
    &'static str,
    Option<(&'static str, &'static str)>,
);

impl Hop {
    fn matches(&self, span: &Received) -> bool {
        let Hop(name, role, attribute) = self;
        span.name == *name
            && span.role == *role
            && attribute.is_none_or(|(k, v)| span.attributes.get(k).is_some_and(|a| a == v))
    }
}

type Spans = Arc<Mutex<Vec<Received>>>;

/// An OTLP/HTTP receiver (`POST /v1/traces`, protobuf) on `addr`; what it received.
async fn receiver(addr: &str) -> (Spans, String) {
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
                Value::StringValue(s) => s.clone(),
                Value::IntValue(i) => i.to_string(),
                Value::BoolValue(b) => b.to_string(),
                Value::DoubleValue(d) => d.to_string(),
                _ => return None,
            };
            Some((kv.key.clone(), value))
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `aurora serve --role <role>` against `nats` and `db`, with `env` added.
fn serve(role: &str, port: u16, nats: &str, db: &str, data: &str, env: &[(&str, &str)]) -> Killed {
    let mut c = Command::new(env!("CARGO_BIN_EXE_aurora"));
    c.args([
        "serve",
        "--role",
        role,
        "--listen",
        &format!("127.0.0.1:{port}"),
    ])
    .env("NATS_URL", nats)
    .env("DATABASE_URL", db)
    .env("AURORA_DATA_DIR", data)
    .env("RUST_LOG", "warn")
    .env("AURORA_RCA_AUTOMATIC", "0")
    .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
    .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    .stdin(Stdio::null())
    .stdout(Stdio::null());
    for (name, value) in env {
        c.env(name, value);
    }
    Killed(c.spawn().expect("serve"))
}

/// The three roles, each its own process, with `env`.
fn roles(port: u16, nats: &str, db: &str, data: &str, env: &[(&str, &str)]) -> Vec<Killed> {
    ["gateway", "handlers", "projections"]
        .iter()
        .map(|role| serve(role, port, nats, db, data, env))
        .collect()
}

/// Sends a firing alert titled `title` carrying the caller's sampled `traceparent`, once an
/// account and an integration exist; the caller's bearer header.
async fn webhook(port: u16, title: &str) -> String {
    let registered = common::register_until_usable(port).await;
    let bearer = format!(
        "authorization: Bearer {}",
        registered["token"].as_str().expect("token")
    );
    let (path, secret) = common::grafana_integration(port, &bearer).await;
    let traceparent = format!("traceparent: 00-{TRACE_ID}-{CALLER_SPAN}-01");
    let accepted = curl(
        port,
        &path,
        &[
            "-H",
            &secret,
            "-H",
            &traceparent,
            "-H",
            "content-type: application/json",
            "-d",
            &common::firing(title),
        ],
    )
    .await;
    assert!(matches!(accepted, Some((202, _))), "{accepted:?}");
    bearer
}

/// The stored `traceparent` of the incident's first event.
async fn first_event_traceparent(port: u16, bearer: &str, id: &str) -> String {
    let (status, body) = curl(
        port,
        &format!("/api/incidents/{id}/events"),
        &["-H", bearer],
    )
    .await
    .expect("events");
    assert_eq!(status, 200, "{body}");
    let events: serde_json::Value = serde_json::from_str(&body).expect("json");
    let events = events["events"].as_array().expect("events");
    events[0]["cloudevents"]["traceparent"]
        .as_str()
        .expect("traceparent")
        .to_owned()
}

/// The spans of [`TRACE_ID`] received so far.
fn trace_of(spans: &Spans) -> Vec<Received> {
    spans
        .lock()
        .expect("spans")
        .iter()
        .filter(|s| s.trace_id == TRACE_ID)
        .cloned()
        .collect()
}

/// The spans of [`TRACE_ID`] once every hop is among them (at most 60 s).
async fn trace_with(spans: &Spans, hops: &[Hop]) -> Vec<Received> {
    let started = Instant::now();
    loop {
        let trace = trace_of(spans);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_webhook_is_one_trace_from_the_request_to_the_projector() {
    let (spans, endpoint) = receiver("127.0.0.1:0").await;
    let nats = NatsServer::start_temporary().await.expect("nats-server");
    let db = fresh_database("aurora_traces").await;
    let data = tempfile::tempdir().expect("data dir");
    let data_dir = data.path().to_str().expect("utf-8");
    let port = aurora_nats::server::free_port().expect("port");
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ];
    let processes = roles(port, &nats.url(), &db, data_dir, &env);

    let bearer = webhook(port, "Disk full on db-1").await;
    let (id, _) = common::incident_served(port, &bearer, "Disk full on db-1").await;

    let hops = [
        Hop("request", "gateway", None),
        Hop("inbox.publish", "gateway", None),
        Hop("consume", "handlers", Some(("consumer", "ingest"))),
        Hop("handle", "handlers", None),
        Hop("decide", "handlers", None),
        Hop("apply", "handlers", None),
        Hop("execute", "handlers", None),
        Hop(
            "consume",
            "projections",
            Some(("consumer", "proj-incidents")),
        ),
        Hop(
            "apply_batch",
            "projections",
            Some(("projector", "incidents")),
        ),
    ];
    trace_with(&spans, &hops).await;
    // What ended with or before the hops (their children, the other consumers' spans) is in too.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let trace = trace_of(&spans);
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
        .expect("the webhook's request span");
    assert_eq!(
        request.parent, CALLER_SPAN,
        "the caller's trace is continued"
    );
    assert!(
        request
            .attributes
            .get("path")
            .is_some_and(|p| p.starts_with("/webhooks/grafana/")),
        "{request:?}"
    );
    // Every hop descends from the webhook's request.
    let descends = |span: &Received| {
        let mut at = span;
        while let Some(parent) = by_id.get(at.parent.as_str()) {
            at = parent;
        }
        at.span_id == request.span_id
    };
    for hop in &hops {
        let span = trace.iter().find(|s| hop.matches(s)).expect("hop");
        assert!(
            descends(span),
            "{} ({}) does not descend from the request",
            hop.0,
            hop.1
        );
    }

    // The stored event names the span that appended it (the alert's `apply`), in this trace.
    let traceparent = first_event_traceparent(port, &bearer, &id).await;
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts[1], TRACE_ID, "{traceparent}");
    assert_eq!(parts[3], "01", "sampled: {traceparent}");
    let appender = by_id.get(parts[2]).expect("the event's span was exported");
    assert_eq!(appender.name, "apply", "{appender:?}");

    drop(processes);
    drop_database(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_endpoint_nothing_is_exported_and_events_keep_fresh_trace_ids() {
    // Where an exporter with no endpoint configured would send (OTLP/HTTP's default).
    let (spans, _) = receiver("127.0.0.1:4318").await;
    let nats = NatsServer::start_temporary().await.expect("nats-server");
    let db = fresh_database("aurora_traces_off").await;
    let data = tempfile::tempdir().expect("data dir");
    let data_dir = data.path().to_str().expect("utf-8");
    let port = aurora_nats::server::free_port().expect("port");
    let processes = roles(
        port,
        &nats.url(),
        &db,
        data_dir,
        &[("OTEL_BSP_SCHEDULE_DELAY", "100")],
    );

    let bearer = webhook(port, "Disk full on db-2").await;
    let (id, _) = common::incident_served(port, &bearer, "Disk full on db-2").await;
    let traceparent = first_event_traceparent(port, &bearer, &id).await;
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_ne!(parts[1], TRACE_ID, "{traceparent}");
    assert_eq!(parts[3], "00", "not sampled: {traceparent}");

    // Longer than any export would have taken.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        spans.lock().expect("spans").is_empty(),
        "spans were exported"
    );
    drop(processes);
    drop_database(&db).await;
}
