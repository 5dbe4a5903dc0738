//! The `traceparent` header of the messages Aurora publishes (commands, deliveries, events), with
//! the header that keeps nats-server from inspecting them.
//!
//! nats-server 2.11 and later read the headers of every message for a *sampled* W3C
//! `traceparent` (message tracing, ADR-41): finding one, they copy every header of the message
//! into a map before asking whether the account traces messages at all, which Aurora's does not.
//! That was ~7 % of nats-server's CPU on the intake with spans exported (the map and its two
//! dozen allocations, and the garbage collection after them: perf, issue 20's notes). The header
//! `Nats-Trace-Dest: trace disabled`, nats-server's own mark for a message it must not trace,
//! ends that inspection where it is found. It goes only beside a sampled `traceparent`: an
//! unsampled one costs nats-server nothing (and without an exporter every `traceparent` is).

use async_nats::header::{HeaderName, IntoHeaderValue};
use async_nats::HeaderMap;

/// The W3C trace context header.
pub const TRACEPARENT: &str = aurora_telemetry::trace::TRACEPARENT;
/// nats-server's message tracing destination; [`TRACE_DISABLED`] as its value turns tracing off.
pub const NATS_TRACE_DEST: &str = "Nats-Trace-Dest";
/// The value nats-server itself writes into [`NATS_TRACE_DEST`] for a message it must not trace.
pub const TRACE_DISABLED: &str = "trace disabled";

/// Puts `traceparent` into `headers`, and beside it, when it is sampled, the header that keeps
/// nats-server from inspecting the message for it.
pub fn insert(headers: &mut HeaderMap, traceparent: impl AsRef<str> + IntoHeaderValue) {
    const NAME: HeaderName = HeaderName::from_static(TRACEPARENT);
    const DEST: HeaderName = HeaderName::from_static(NATS_TRACE_DEST);
    if sampled(traceparent.as_ref()) {
        headers.insert(DEST, TRACE_DISABLED);
    }
    headers.insert(NAME, traceparent);
}

/// Whether a `traceparent`'s flags (its fourth field, two hex digits) say sampled, read as
/// nats-server reads them.
fn sampled(traceparent: &str) -> bool {
    let mut fields = traceparent.split('-');
    let flags = fields.nth(3);
    fields.next().is_none()
        && flags
            .is_some_and(|f| f.len() == 2 && u8::from_str_radix(f, 16).is_ok_and(|f| f & 1 == 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLED: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const UNSAMPLED: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";

    #[test]
    fn a_sampled_traceparent_goes_with_tracing_disabled_and_an_unsampled_one_alone() {
        let mut headers = HeaderMap::new();
        insert(&mut headers, SAMPLED);
        assert_eq!(headers.get(TRACEPARENT).map(|v| v.as_str()), Some(SAMPLED));
        assert_eq!(
            headers.get(NATS_TRACE_DEST).map(|v| v.as_str()),
            Some(TRACE_DISABLED)
        );
        let mut headers = HeaderMap::new();
        insert(&mut headers, UNSAMPLED.to_owned());
        assert_eq!(
            headers.get(TRACEPARENT).map(|v| v.as_str()),
            Some(UNSAMPLED)
        );
        assert!(headers.get(NATS_TRACE_DEST).is_none());
    }

    #[test]
    fn sampled_is_the_fourth_fields_low_bit() {
        assert!(sampled(SAMPLED));
        assert!(sampled(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03"
        ));
        for not in [
            UNSAMPLED,
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
            "",
        ] {
            assert!(!sampled(not), "{not:?}");
        }
    }
}
