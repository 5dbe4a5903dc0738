use std::sync::mpsc::Receiver;
use std::time::Duration;

use opentelemetry::trace::{SpanContext, TraceFlags};
use opentelemetry::InstrumentationScope;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

use super::*;
use crate::telemetry::otlp::tests::{exporter, receiver, resource, span, Received};

/// A processor exporting to `url` with `settings`, of the test resource (as the provider sets it).
fn processor(url: &str, settings: Settings) -> BatchProcessor {
    let mut processor = BatchProcessor::new(exporter(url), settings);
    processor.set_resource(&resource());
    processor
}

fn ended(n: u64) -> SpanData {
    span(n, &InstrumentationScope::builder("aurora").build(), None)
}

/// The spans' names in each request received within `wait`, until none comes.
fn requests(received: &Receiver<Received>, wait: Duration) -> Vec<Vec<String>> {
    let mut requests = Vec::new();
    while let Ok((_, body)) = received.recv_timeout(wait) {
        let request = ExportTraceServiceRequest::decode(body.as_slice()).expect("an OTLP request");
        assert_eq!(request.resource_spans.len(), 1, "one resource");
        requests.push(
            request
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .flat_map(|s| &s.spans)
                .map(|s| s.name.clone())
                .collect(),
        );
    }
    requests
}

#[test]
fn a_full_batch_leaves_at_once_and_what_is_left_waits() {
    let (url, received) = receiver(200);
    let processor = processor(
        &url,
        Settings {
            delay: Duration::from_secs(600),
            max_batch: 2,
            max_queue: 10,
        },
    );
    for n in 1..=3 {
        processor.on_end(ended(n));
    }
    assert_eq!(
        requests(&received, Duration::from_secs(5)),
        [["span 1", "span 2"]],
        "the full batch, long before the delay; the third span waits"
    );
    processor.force_flush().expect("flushed");
    assert_eq!(requests(&received, Duration::ZERO), [["span 3"]]);
    processor.shutdown().expect("shut down");
}

#[test]
fn what_waits_leaves_at_the_delay() {
    let (url, received) = receiver(200);
    let processor = processor(
        &url,
        Settings {
            delay: Duration::from_millis(100),
            ..Settings::default()
        },
    );
    processor.on_end(ended(1));
    let (_, body) = received
        .recv_timeout(Duration::from_secs(10))
        .expect("exported at the delay, without a flush");
    let request = ExportTraceServiceRequest::decode(body.as_slice()).expect("an OTLP request");
    assert_eq!(request.resource_spans[0].scope_spans[0].spans.len(), 1);
    processor.shutdown().expect("shut down");
}

#[test]
fn a_flush_exports_what_waits_and_an_unsampled_span_is_not_exported() {
    let (url, received) = receiver(200);
    let processor = processor(
        &url,
        Settings {
            delay: Duration::from_secs(600),
            ..Settings::default()
        },
    );
    let mut unsampled = ended(2);
    unsampled.span_context = SpanContext::new(
        unsampled.span_context.trace_id(),
        unsampled.span_context.span_id(),
        TraceFlags::NOT_SAMPLED,
        false,
        Default::default(),
    );
    processor.on_end(ended(1));
    processor.on_end(unsampled);
    processor.force_flush().expect("flushed");
    // The flush returned once the receiver had answered: the request is there.
    let (_, body) = received.try_recv().expect("exported by the flush");
    let request = ExportTraceServiceRequest::decode(body.as_slice()).expect("an OTLP request");
    let spans = &request.resource_spans[0].scope_spans[0].spans;
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].name, "span 1");
    processor.shutdown().expect("shut down");
    assert!(received.try_recv().is_err(), "nothing was left to export");
}

#[test]
fn the_shutdown_exports_what_waits_and_spans_beyond_the_queue_are_dropped() {
    let (url, received) = receiver(200);
    let processor = processor(
        &url,
        Settings {
            delay: Duration::from_secs(600),
            max_batch: 10,
            max_queue: 3,
        },
    );
    for n in 1..=5 {
        processor.on_end(ended(n));
    }
    processor.shutdown().expect("shut down");
    assert_eq!(
        requests(&received, Duration::from_millis(500)),
        [["span 1", "span 2", "span 3"]],
        "the queue's three, no more"
    );
    assert!(matches!(
        processor.shutdown(),
        Err(OTelSdkError::AlreadyShutdown)
    ));
    processor.on_end(ended(6));
    assert!(matches!(
        processor.force_flush(),
        Err(OTelSdkError::AlreadyShutdown)
    ));
    assert!(received.try_recv().is_err(), "nothing after the shutdown");
}

#[test]
fn a_refused_batch_is_not_tried_again_and_the_next_is_sent() {
    let (refusing, received) = receiver(503);
    let processor = processor(
        &refusing,
        Settings {
            delay: Duration::from_secs(600),
            ..Settings::default()
        },
    );
    processor.on_end(ended(1));
    let error = processor.force_flush().expect_err("the batch was refused");
    assert!(error.to_string().contains("503"), "{error}");
    processor.on_end(ended(2));
    processor
        .force_flush()
        .expect_err("the thread goes on, refused again");
    processor.on_end(ended(3));
    let error = processor
        .shutdown()
        .expect_err("the last batch was refused too");
    assert!(error.to_string().contains("503"), "{error}");
    assert_eq!(
        requests(&received, Duration::from_millis(500)),
        [["span 1"], ["span 2"], ["span 3"]]
    );
}

#[test]
fn the_settings_are_the_batch_processor_variables() {
    let settings = |vars: &[(&str, &str)]| {
        Settings::from_vars(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
    };
    assert_eq!(settings(&[]).expect("defaults"), Settings::default());
    assert_eq!(
        settings(&[
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "64"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "128"),
        ])
        .expect("set"),
        Settings {
            delay: Duration::from_millis(100),
            max_batch: 64,
            max_queue: 64,
        },
        "a batch is at most the queue"
    );
    assert_eq!(
        settings(&[("OTEL_BSP_SCHEDULE_DELAY", "0")])
            .expect("set")
            .delay,
        Duration::from_millis(1),
        "no spinning export thread"
    );
    let error = settings(&[("OTEL_BSP_MAX_QUEUE_SIZE", "lots")])
        .expect_err("not a number")
        .to_string();
    assert!(
        error.contains("OTEL_BSP_MAX_QUEUE_SIZE") && error.contains("lots"),
        "{error}"
    );
}
