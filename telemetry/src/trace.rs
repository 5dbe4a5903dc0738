//! Trace context across Aurora's hops: W3C `traceparent` in and out of `tracing` spans.
//!
//! One trace runs from a webhook (or a chat query, or an investigation) to the read model: the
//! HTTP request's span continues the caller's `traceparent`, each message Aurora publishes
//! carries the publishing span's `traceparent`, and each consumer's batch span continues the
//! first message's trace (linking the others'), while each item of the batch, or the batch's
//! outcome, is a span in the item's own trace.
//!
//! All of it is off unless an OpenTelemetry layer exports spans ([`set_exporting`], called by
//! the binary's start-up when `OTEL_EXPORTER_OTLP_ENDPOINT` is set): then every function here is
//! one relaxed atomic load and returns, so the hot paths (a command is ~80k instructions) pay
//! nothing, and events keep the fresh, unsampled `traceparent` they get today.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The header (HTTP and NATS) that carries the trace context.
pub const TRACEPARENT: &str = "traceparent";

/// Links a batch span records at most: a projector's batch holds up to 2000 events.
const MAX_LINKS: usize = 128;

static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Says that spans are exported from now on (an OpenTelemetry layer is installed).
pub fn set_exporting() {
    EXPORTING.store(true, Ordering::Relaxed);
}

/// Whether spans are exported: work done only for the trace is skipped when they are not.
#[inline]
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// The current span as a `traceparent`, when spans are exported and there is a current span.
#[inline]
pub fn current_traceparent() -> Option<String> {
    if !exporting() {
        return None;
    }
    let current = current_span_context();
    current.is_valid().then(|| write(&current))
}

/// The span work is done in: the current `tracing` span when it is exported, else the span of
/// the OpenTelemetry context attached to this thread — an HTTP request's, which the gateway
/// makes with the SDK directly rather than through `tracing` (`aurora_gateway::api::
/// request_span`); invalid when there is neither.
fn current_span_context() -> SpanContext {
    let current = Span::current().context().span().span_context().clone();
    if current.is_valid() {
        return current;
    }
    opentelemetry::Context::map_current(|cx| cx.span().span_context().clone())
}

/// `span` as a `traceparent` (`None` for a disabled span or without an OpenTelemetry layer).
pub fn traceparent_of(span: &Span) -> Option<String> {
    let context = span.context();
    let span_context = context.span().span_context().clone();
    span_context.is_valid().then(|| write(&span_context))
}

/// `version-trace_id-span_id-flags`, written into one buffer (one allocation per message).
fn write(span_context: &SpanContext) -> String {
    let mut text = *b"00-00000000000000000000000000000000-0000000000000000-00";
    let fill = |out: &mut [u8], bytes: &[u8]| {
        hex::encode_to_slice(bytes, out).expect("each part is sized for its hex");
    };
    fill(&mut text[3..35], &span_context.trace_id().to_bytes());
    fill(&mut text[36..52], &span_context.span_id().to_bytes());
    fill(&mut text[53..], &[span_context.trace_flags().to_u8()]);
    String::from_utf8(text.to_vec()).expect("hex digits and dashes")
}

/// The span of a publish (made by `make` only when spans are exported; a disabled span
/// otherwise) and the `traceparent` the published message carries: that span's.
pub fn producer_span(make: impl FnOnce() -> Span) -> (Span, Option<String>) {
    if !exporting() {
        return (Span::none(), None);
    }
    let span = make();
    let traceparent = traceparent_of(&span);
    (span, traceparent)
}

/// Reads a W3C `traceparent` (any version's first four fields; version 00 has exactly four).
pub fn parse(traceparent: &str) -> Option<SpanContext> {
    let mut parts = traceparent.trim().split('-');
    let version = parts.next()?;
    let (trace_id, span_id, flags) = (parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex(version, 2) || version == "ff" || (version == "00" && parts.next().is_some()) {
        return None;
    }
    if !hex(trace_id, 32) || !hex(span_id, 16) || !hex(flags, 2) {
        return None;
    }
    let span_context = SpanContext::new(
        TraceId::from_hex(trace_id).ok()?,
        SpanId::from_hex(span_id).ok()?,
        TraceFlags::new(u8::from_str_radix(flags, 16).ok()? & TraceFlags::SAMPLED.to_u8()),
        true,
        TraceState::default(),
    );
    span_context.is_valid().then_some(span_context)
}

/// The OpenTelemetry context of a request whose caller sent `traceparent`: the caller's span
/// as the remote parent, or nothing (a new trace) when there is none or it does not parse.
pub fn remote_parent(traceparent: Option<&str>) -> opentelemetry::Context {
    match traceparent.and_then(parse) {
        Some(parent) => opentelemetry::Context::new().with_remote_span_context(parent),
        None => opentelemetry::Context::new(),
    }
}

/// Makes a batch's `span` continue the first message's trace and link the other traces among
/// `traceparents` (each once, at most [`MAX_LINKS`]): one span for the batch's one unit of work
/// (one transaction, one handler call), reachable from every message's trace.
pub fn continue_batch<'a>(span: &Span, traceparents: impl IntoIterator<Item = &'a str>) {
    if !exporting() {
        return;
    }
    let mut contexts = traceparents.into_iter().filter_map(parse);
    let Some(first) = contexts.next() else { return };
    let mut linked = vec![first.trace_id()];
    let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(first));
    for other in contexts {
        if linked.len() > MAX_LINKS {
            break;
        }
        if !linked.contains(&other.trace_id()) {
            linked.push(other.trace_id());
            span.add_link(other);
        }
    }
}

/// Shows a batch's one unit of work (a projector's transaction) in the trace of every message it
/// served, not only the first's, which the batch span continues: for each other trace among
/// `traceparents`, a span made by `make` (call it once the work is done), a child of that
/// message's span and linked to the current span. Each trace gets one, however many of its
/// messages the batch held.
pub fn mark_each_trace<'a>(
    traceparents: impl IntoIterator<Item = &'a str>,
    make: impl Fn() -> Span,
) {
    if !exporting() {
        return;
    }
    let current = current_span_context();
    let mut marked: HashSet<TraceId> = HashSet::from([current.trace_id()]);
    for message in traceparents.into_iter().filter_map(parse) {
        if !marked.insert(message.trace_id()) {
            continue;
        }
        let span = make();
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(message));
        if current.is_valid() {
            span.add_link(current.clone());
        }
    }
}

/// The span of one item of a batch (made by `make` only when spans are exported; a disabled
/// span otherwise). It is a child of the current span when the item came in the batch's own
/// trace, else it continues the item's `traceparent` (the trace the batch span only links), so
/// what the item causes stays in its own trace.
pub fn item_span(traceparent: Option<&str>, make: impl FnOnce() -> Span) -> Span {
    if !exporting() {
        return Span::none();
    }
    let span = make();
    if let Some(item) = traceparent.and_then(parse) {
        if current_span_context().trace_id() != item.trace_id() {
            let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(item));
        }
    }
    span
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_traceparent_parses_and_bad_ones_do_not() {
        let parsed =
            parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").expect("valid");
        assert_eq!(
            format!("{:032x}", parsed.trace_id()),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(format!("{:016x}", parsed.span_id()), "00f067aa0ba902b7");
        assert!(parsed.is_sampled() && parsed.is_remote());
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-xx",
        ] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
        let text = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(write(&parse(text).expect("valid")), text, "written as read");
        // A later version may append fields.
        assert!(parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-x").is_some());
    }

    #[test]
    fn without_an_exporter_nothing_is_read_from_spans() {
        assert!(!exporting());
        let span = tracing::info_span!("quiet");
        let _entered = span.enter();
        assert_eq!(current_traceparent(), None);
    }
}
