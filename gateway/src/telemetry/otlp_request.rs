//! The OTLP trace request (`ExportTraceServiceRequest`, protobuf) written straight from the
//! SDK's spans ([`Batch`]): its writer. Its reader is opentelemetry-proto's, which the tests decode it with
//! and compare, byte for byte, with what opentelemetry-proto's conversion and prost write.
//!
//! Written here rather than through those two because, for a webhook's one span, converting it
//! into opentelemetry-proto's messages (a `String` or `Vec` for every id, name and attribute)
//! and having prost measure each message again at every enclosing level cost ~8k instructions,
//! a third of what tracing a webhook cost (callgrind, BENCHMARKS.md). Here each nested message
//! is written in place and its length put in front of it once it is known.

use std::time::SystemTime;

use opentelemetry::trace::{Event, Link, SpanContext, SpanKind, Status};
use opentelemetry::{Array, InstrumentationScope, Key, KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;
use prost::encoding::{encode_key, encode_varint, encoded_len_varint, WireType};

/// The resource, written once (field 1 of every `ResourceSpans`, then its schema URL, field 3).
#[derive(Debug, Default)]
pub struct EncodedResource {
    resource: Vec<u8>,
    schema_url: Vec<u8>,
}

impl EncodedResource {
    pub fn of(resource: &Resource) -> Self {
        let mut encoded = Self::default();
        message(&mut encoded.resource, 1, |buf| {
            for (key, value) in resource.iter() {
                key_value(buf, 1, key, value);
            }
        });
        string(
            &mut encoded.schema_url,
            3,
            resource.schema_url().unwrap_or(""),
        );
        encoded
    }
}

/// Spans written as OTLP as they end, grouped by instrumentation scope in the order the batch
/// first names each, until [`Batch::request`] frames them as one request: one `ResourceSpans`
/// holding a `ScopeSpans` per scope. Each span is written once, into its scope's buffer, and the
/// two levels around them framed with lengths then known, so that the bulk of the request is not
/// moved again for each level's length.
#[derive(Debug, Default)]
pub struct Batch {
    scopes: Vec<ScopeSpans>,
    spans: usize,
    /// The room each new scope's buffer starts with, in spans.
    expected: usize,
}

impl Batch {
    /// An empty batch expecting `spans` spans.
    pub fn with_capacity(spans: usize) -> Self {
        Self {
            scopes: Vec::new(),
            spans: 0,
            expected: spans,
        }
    }

    /// Writes `span` into the batch.
    pub fn push(&mut self, span: &SpanData) {
        let scope = &span.instrumentation_scope;
        let index = match self.scopes.iter().position(|s| s.scope == *scope) {
            Some(index) => index,
            None => {
                self.scopes
                    .push(ScopeSpans::new(scope.clone(), self.expected));
                self.scopes.len() - 1
            }
        };
        sized_message(&mut self.scopes[index].spans, 2, 2, |buf| {
            self::span(buf, span)
        });
        self.spans += 1;
    }

    /// Spans in the batch.
    pub fn len(&self) -> usize {
        self.spans
    }

    pub fn is_empty(&self) -> bool {
        self.spans == 0
    }

    /// The `ExportTraceServiceRequest` of the batch's spans, of `resource`.
    pub fn request(&self, resource: &EncodedResource) -> Vec<u8> {
        let resource_spans = resource.resource.len()
            + self
                .scopes
                .iter()
                .map(|s| framed_len(2, s.len()))
                .sum::<usize>()
            + resource.schema_url.len();
        let mut buf = Vec::with_capacity(framed_len(1, resource_spans));
        frame(&mut buf, 1, resource_spans);
        buf.extend_from_slice(&resource.resource);
        for scope in &self.scopes {
            frame(&mut buf, 2, scope.len());
            buf.extend_from_slice(&scope.head);
            buf.extend_from_slice(&scope.spans);
            buf.extend_from_slice(&scope.tail);
        }
        buf.extend_from_slice(&resource.schema_url);
        buf
    }
}

/// A `ScopeSpans` in three parts: the scope (field 1), its spans (field 2 each), the scope's
/// schema URL (field 3).
#[derive(Debug)]
struct ScopeSpans {
    scope: InstrumentationScope,
    head: Vec<u8>,
    spans: Vec<u8>,
    tail: Vec<u8>,
}

impl ScopeSpans {
    /// A scope's part of a batch of `spans`, its buffer sized for them (a span is ~200 bytes).
    fn new(scope: InstrumentationScope, spans: usize) -> Self {
        let mut head = Vec::new();
        message(&mut head, 1, |buf| {
            string(buf, 1, scope.name());
            string(buf, 2, scope.version().unwrap_or(""));
            for attribute in scope.attributes() {
                key_value(buf, 3, &attribute.key, &attribute.value);
            }
        });
        let mut tail = Vec::new();
        string(&mut tail, 3, scope.schema_url().unwrap_or(""));
        Self {
            scope,
            head,
            spans: Vec::with_capacity(spans * 256),
            tail,
        }
    }

    fn len(&self) -> usize {
        self.head.len() + self.spans.len() + self.tail.len()
    }
}

/// A `Span`, its fields in the order of their numbers, as prost writes them.
fn span(buf: &mut Vec<u8>, span: &SpanData) {
    let context = &span.span_context;
    bytes(buf, 1, &context.trace_id().to_bytes());
    bytes(buf, 2, &context.span_id().to_bytes());
    string(buf, 3, &context.trace_state().header());
    if span.parent_span_id != opentelemetry::trace::SpanId::INVALID {
        bytes(buf, 4, &span.parent_span_id.to_bytes());
    }
    string(buf, 5, &span.name);
    uint(buf, 6, kind(&span.span_kind));
    fixed64(buf, 7, nanos(span.start_time));
    fixed64(buf, 8, nanos(span.end_time));
    for attribute in &span.attributes {
        key_value(buf, 9, &attribute.key, &attribute.value);
    }
    uint(buf, 10, span.dropped_attributes_count.into());
    for event in span.events.iter() {
        message(buf, 11, |buf| self::event(buf, event));
    }
    uint(buf, 12, span.events.dropped_count.into());
    for link in span.links.iter() {
        message(buf, 13, |buf| self::link(buf, link));
    }
    uint(buf, 14, span.links.dropped_count.into());
    message(buf, 15, |buf| status(buf, &span.status));
    fixed32(buf, 16, flags(context, span.parent_span_is_remote));
}

fn event(buf: &mut Vec<u8>, event: &Event) {
    fixed64(buf, 1, nanos(event.timestamp));
    string(buf, 2, &event.name);
    attributes(buf, 3, &event.attributes);
    uint(buf, 4, event.dropped_attributes_count.into());
}

fn link(buf: &mut Vec<u8>, link: &Link) {
    let context = &link.span_context;
    bytes(buf, 1, &context.trace_id().to_bytes());
    bytes(buf, 2, &context.span_id().to_bytes());
    string(buf, 3, &context.trace_state().header());
    attributes(buf, 4, &link.attributes);
    uint(buf, 5, link.dropped_attributes_count.into());
    fixed32(buf, 6, flags(context, context.is_remote()));
}

fn status(buf: &mut Vec<u8>, status: &Status) {
    let (message, code) = match status {
        Status::Unset => ("", 0),
        Status::Ok => ("", 1),
        Status::Error { description } => (description.as_ref(), 2),
    };
    string(buf, 2, message);
    uint(buf, 3, code);
}

fn attributes(buf: &mut Vec<u8>, tag: u32, attributes: &[KeyValue]) {
    for attribute in attributes {
        key_value(buf, tag, &attribute.key, &attribute.value);
    }
}

fn key_value(buf: &mut Vec<u8>, tag: u32, key: &Key, value: &Value) {
    message(buf, tag, |buf| {
        string(buf, 1, key.as_str());
        message(buf, 2, |buf| any_value(buf, value));
    });
}

/// An `AnyValue`'s one field (written even when it holds its type's default: a oneof's is).
fn any_value(buf: &mut Vec<u8>, value: &Value) {
    match value {
        Value::String(s) => {
            frame(buf, 1, s.as_str().len());
            buf.extend_from_slice(s.as_str().as_bytes());
        }
        Value::Bool(b) => {
            encode_key(2, WireType::Varint, buf);
            encode_varint(u64::from(*b), buf);
        }
        Value::I64(i) => {
            encode_key(3, WireType::Varint, buf);
            encode_varint(*i as u64, buf);
        }
        Value::F64(f) => {
            encode_key(4, WireType::SixtyFourBit, buf);
            buf.extend_from_slice(&f.to_le_bytes());
        }
        Value::Array(array) => message(buf, 5, |buf| {
            let each =
                |buf: &mut Vec<u8>, value: Value| message(buf, 1, |buf| any_value(buf, &value));
            match array {
                Array::Bool(values) => values.iter().for_each(|v| each(buf, Value::Bool(*v))),
                Array::I64(values) => values.iter().for_each(|v| each(buf, Value::I64(*v))),
                Array::F64(values) => values.iter().for_each(|v| each(buf, Value::F64(*v))),
                Array::String(values) => values
                    .iter()
                    .for_each(|v| each(buf, Value::String(v.clone()))),
                // A later version's kind of array: its text, as for any value Aurora does not
                // know how to write.
                _ => each(buf, Value::String(array.to_string().into())),
            }
        }),
        _ => any_value(buf, &Value::String(value.to_string().into())),
    }
}

/// Span flags: the W3C trace flags, and whether the parent's remoteness is known (always, here)
/// and true.
fn flags(context: &SpanContext, remote: bool) -> u32 {
    const HAS_IS_REMOTE: u32 = 0x100;
    const IS_REMOTE: u32 = 0x200;
    u32::from(context.trace_flags().to_u8()) | HAS_IS_REMOTE | if remote { IS_REMOTE } else { 0 }
}

fn kind(kind: &SpanKind) -> u64 {
    match kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

fn nanos(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A nested message: `write` puts its content in place, then its length goes in front of it
/// (one byte reserved, the content moved along in the rare case the length needs more).
fn message(buf: &mut Vec<u8>, tag: u32, write: impl FnOnce(&mut Vec<u8>)) {
    sized_message(buf, tag, 1, write);
}

/// [`message`] with `reserved` bytes set aside for the length: a span is mostly 128 bytes to
/// 16 KiB long, a two-byte length, and moving each span's bytes to widen its length cost as much
/// as writing them.
fn sized_message(buf: &mut Vec<u8>, tag: u32, reserved: usize, write: impl FnOnce(&mut Vec<u8>)) {
    encode_key(tag, WireType::LengthDelimited, buf);
    let start = buf.len();
    buf.resize(start + reserved, 0);
    write(buf);
    let len = buf.len() - start - reserved;
    if reserved == 1 && len < 0x80 {
        buf[start] = len as u8;
        return;
    }
    let mut prefix = [0u8; 10];
    let width = encoded_len_varint(len as u64);
    encode_varint(len as u64, &mut &mut prefix[..]);
    if width == reserved {
        buf[start..start + width].copy_from_slice(&prefix[..width]);
    } else {
        buf.splice(start..start + reserved, prefix[..width].iter().copied());
    }
}

fn framed_len(tag: u32, len: usize) -> usize {
    prost::encoding::key_len(tag) + encoded_len_varint(len as u64) + len
}

fn frame(buf: &mut Vec<u8>, tag: u32, len: usize) {
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(len as u64, buf);
}

/// proto3 scalars are left out when they hold their default.
fn string(buf: &mut Vec<u8>, tag: u32, value: &str) {
    bytes(buf, tag, value.as_bytes());
}

fn bytes(buf: &mut Vec<u8>, tag: u32, value: &[u8]) {
    if !value.is_empty() {
        frame(buf, tag, value.len());
        buf.extend_from_slice(value);
    }
}

fn uint(buf: &mut Vec<u8>, tag: u32, value: u64) {
    if value != 0 {
        encode_key(tag, WireType::Varint, buf);
        encode_varint(value, buf);
    }
}

fn fixed32(buf: &mut Vec<u8>, tag: u32, value: u32) {
    if value != 0 {
        encode_key(tag, WireType::ThirtyTwoBit, buf);
        buf.extend_from_slice(&value.to_le_bytes());
    }
}

fn fixed64(buf: &mut Vec<u8>, tag: u32, value: u64) {
    if value != 0 {
        encode_key(tag, WireType::SixtyFourBit, buf);
        buf.extend_from_slice(&value.to_le_bytes());
    }
}
