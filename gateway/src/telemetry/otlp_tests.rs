use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use opentelemetry_sdk::Resource;
use prost::Message;

use super::*;
use crate::telemetry::otlp_request::{Batch, EncodedResource};

pub(crate) fn context(trace: u128, span: u64, remote: bool) -> SpanContext {
    SpanContext::new(
        TraceId::from(trace),
        SpanId::from(span),
        TraceFlags::SAMPLED,
        remote,
        TraceState::from_key_value([("vendor", "x")]).expect("a trace state"),
    )
}

fn at(seconds: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000 + seconds)
}

/// A span with every kind of content a span can have, in `scope`.
pub(crate) fn span(n: u64, scope: &InstrumentationScope, parent: Option<u64>) -> SpanData {
    let mut events = SpanEvents::default();
    events.events.push(Event::new(
        "retry",
        at(n + 1),
        vec![KeyValue::new("attempt", 2)],
        1,
    ));
    events.dropped_count = 3;
    let mut links = SpanLinks::default();
    links.links.push(Link::new(
        context(0xabc, 0xdef, true),
        vec![KeyValue::new("why", "batch")],
        0,
    ));
    SpanData {
        span_context: context(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736, n, false),
        parent_span_id: parent.map_or(SpanId::INVALID, SpanId::from),
        parent_span_is_remote: parent.is_some(),
        span_kind: if n.is_multiple_of(2) {
            SpanKind::Server
        } else {
            SpanKind::Consumer
        },
        name: format!("span {n}").into(),
        start_time: at(n),
        end_time: at(n + 2),
        attributes: vec![
            KeyValue::new("path", "/webhooks/grafana/x"),
            KeyValue::new("count", 7_i64),
            KeyValue::new("ratio", 0.25),
            KeyValue::new("ok", true),
            KeyValue::new("empty", ""),
            KeyValue::new("zero", 0_i64),
            // Longer than a one-byte length: its length is moved in front of it.
            KeyValue::new("query", "service:checkout ".repeat(20)),
            KeyValue::new(
                "tags",
                Value::Array(Array::String(vec![StringValue::from("a"), "b".into()])),
            ),
        ],
        dropped_attributes_count: 1,
        events,
        links,
        status: if n == 2 {
            Status::error("the store refused")
        } else {
            Status::Unset
        },
        instrumentation_scope: scope.clone(),
    }
}

pub(crate) fn resource() -> Resource {
    Resource::builder_empty()
        .with_service_name("aurora")
        .with_schema_url(
            [KeyValue::new("aurora.role", "gateway")],
            "https://opentelemetry.io/schemas/1.30.0",
        )
        .build()
}

/// `spans` written as one request through a [`Batch`].
fn encode(resource: &EncodedResource, spans: &[SpanData]) -> Vec<u8> {
    batch_of(spans).request(resource)
}

pub(crate) fn batch_of(spans: &[SpanData]) -> Batch {
    let mut batch = Batch::default();
    for span in spans {
        batch.push(span);
    }
    batch
}

/// The reference: opentelemetry-proto's grouping of the batch, encoded whole by prost.
fn reference(resource: &Resource, batch: Vec<SpanData>) -> ExportTraceServiceRequest {
    let attributes = ResourceAttributesWithSchema::from(resource);
    ExportTraceServiceRequest {
        resource_spans: group_spans_by_resource_and_scope(batch, &attributes),
    }
}

#[test]
fn a_batch_is_written_as_opentelemetry_proto_and_prost_write_it() {
    let aurora = InstrumentationScope::builder("aurora").build();
    let other = InstrumentationScope::builder("other")
        .with_version("1.2.3")
        .with_schema_url("https://example.com/schema")
        .with_attributes([KeyValue::new("lib", "x")])
        .build();
    let batch = vec![
        span(1, &aurora, None),
        span(2, &other, Some(1)),
        span(3, &aurora, Some(1)),
        span(4, &other, None),
    ];
    let resource = resource();
    let body = encode(&EncodedResource::of(&resource), &batch);
    let decoded = ExportTraceServiceRequest::decode(body.as_slice()).expect("a valid request");
    let expected = reference(&resource, batch);
    assert_eq!(decoded, expected);
    assert_eq!(
        decoded.resource_spans[0].scope_spans.len(),
        2,
        "one per scope"
    );
    assert_eq!(
        body,
        expected.encode_to_vec(),
        "the same bytes as prost writes"
    );
}

#[test]
fn an_empty_batch_and_a_resource_without_schema_encode_too() {
    let resource = Resource::builder_empty()
        .with_service_name("aurora")
        .build();
    let encoded = EncodedResource::of(&resource);
    for batch in [
        vec![],
        vec![span(
            1,
            &InstrumentationScope::builder("aurora").build(),
            None,
        )],
    ] {
        let body = encode(&encoded, &batch);
        let decoded = ExportTraceServiceRequest::decode(body.as_slice()).expect("valid");
        assert_eq!(
            decoded,
            reference(&resource, batch.clone()),
            "{} spans",
            batch.len()
        );
    }
}

#[test]
fn spans_shorter_and_longer_than_a_two_byte_length_are_written_as_prost_writes_them() {
    let aurora = InstrumentationScope::builder("aurora").build();
    let bare = SpanData {
        attributes: vec![],
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        ..span(5, &aurora, None)
    };
    let mut huge = span(6, &aurora, Some(5));
    huge.attributes
        .push(KeyValue::new("body", "x".repeat(20_000)));
    let resource = resource();
    let encoded = EncodedResource::of(&resource);
    for (batch, length) in [(vec![bare], "one byte"), (vec![huge], "three bytes")] {
        let body = encode(&encoded, &batch);
        assert_eq!(
            body,
            reference(&resource, batch).encode_to_vec(),
            "a span whose length takes {length}"
        );
    }
}

fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_vars(|name| vars.get(name).cloned())
}

#[test]
fn the_endpoint_headers_and_timeout_come_from_the_exporter_variables() {
    let general = config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")])
        .expect("a configuration");
    assert_eq!(general.endpoint, "http://collector:4318/v1/traces");
    assert_eq!(general.timeout, Duration::from_secs(10));
    assert!(general.headers.is_empty());

    let traces = config(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "https://traces.example/ingest",
        ),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "api-key=general,x-team=on%20call",
        ),
        ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "api-key=traces%3Dkey"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "none"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
    ])
    .expect("a configuration");
    assert_eq!(
        traces.endpoint, "https://traces.example/ingest",
        "used as it is"
    );
    assert_eq!(
        traces.headers["api-key"], "traces=key",
        "the traces variable wins"
    );
    assert_eq!(
        traces.headers["x-team"], "on call",
        "values are percent-decoded"
    );
    assert_eq!(traces.timeout, Duration::from_millis(2500));
}

#[test]
fn what_the_exporter_cannot_do_is_refused_naming_the_variable() {
    let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318");
    assert!(matches!(config(&[]), Err(ConfigError::NoEndpoint)));
    for (vars, says) in [
        (
            vec![endpoint, ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")],
            "OTEL_EXPORTER_OTLP_COMPRESSION=\"gzip\"",
        ),
        (
            vec![endpoint, ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc")],
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=\"grpc\"",
        ),
        (
            vec![endpoint, ("OTEL_EXPORTER_OTLP_TIMEOUT", "10s")],
            "OTEL_EXPORTER_OTLP_TIMEOUT=\"10s\"",
        ),
        (
            vec![endpoint, ("OTEL_EXPORTER_OTLP_HEADERS", "a=1,api-key")],
            "OTEL_EXPORTER_OTLP_HEADERS: the header \"api-key\"",
        ),
        (
            vec![
                endpoint,
                ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "bad key=s3cret"),
            ],
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS: the header \"bad key\"",
        ),
    ] {
        let error = config(&vars).expect_err(says).to_string();
        assert!(error.starts_with(says), "{error}");
        assert!(
            !error.contains("s3cret"),
            "a header's value is never quoted: {error}"
        );
    }
}

/// A request the receiver was sent: its headers and body.
pub(crate) type Received = (HashMap<String, String>, Vec<u8>);

/// An OTLP/HTTP receiver answering `status`, keeping the requests it was sent; its base URL.
pub(crate) fn receiver(status: u16) -> (String, std::sync::mpsc::Receiver<Received>) {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode};
    let (sent, received) = std::sync::mpsc::channel();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.set_nonblocking(true).expect("non-blocking");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let app = axum::Router::new().route(
                "/v1/traces",
                axum::routing::post(move |headers: HeaderMap, body: Bytes| async move {
                    let headers = headers
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                        .collect();
                    let _ = sent.send((headers, body.to_vec()));
                    StatusCode::from_u16(status).expect("a status")
                }),
            );
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            axum::serve(listener, app).await.expect("serves");
        });
    });
    (url, received)
}

/// A batch of one span, of the scope Aurora's spans have.
fn one_span() -> Vec<SpanData> {
    vec![span(
        1,
        &InstrumentationScope::builder("aurora").build(),
        None,
    )]
}

/// An exporter to `url`.
pub(crate) fn exporter(url: &str) -> OtlpExporter {
    let config = config(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", url),
        ("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20t0ken"),
    ])
    .expect("a configuration");
    OtlpExporter::new(config).expect("an exporter")
}

#[test]
fn a_batch_is_posted_as_protobuf_with_the_configured_headers() {
    let (url, received) = receiver(200);
    let batch = one_span();
    // Resource attributes are a hash map: the reference is made of the same resource.
    let resource = resource();
    exporter(&url)
        .send(&EncodedResource::of(&resource), &batch_of(&batch))
        .expect("exported");
    let (headers, body) = received
        .recv_timeout(Duration::from_secs(10))
        .expect("a request");
    assert_eq!(headers["content-type"], "application/x-protobuf");
    assert_eq!(headers["authorization"], "Bearer t0ken");
    let decoded = ExportTraceServiceRequest::decode(body.as_slice()).expect("valid");
    assert_eq!(decoded, reference(&resource, batch));
}

#[test]
fn a_refused_or_unreachable_export_is_an_error_saying_why() {
    let (url, _received) = receiver(400);
    let batch = one_span();
    let resource = EncodedResource::of(&resource());
    let error = exporter(&url)
        .send(&resource, &batch_of(&batch))
        .expect_err("refused")
        .to_string();
    assert!(error.contains("400"), "{error}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let url = format!("http://{}", closed.local_addr().expect("address"));
    drop(closed);
    let error = exporter(&url)
        .send(&resource, &batch_of(&batch))
        .expect_err("unreachable")
        .to_string();
    assert!(error.contains(&url), "{error}");
}
