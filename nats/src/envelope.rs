//! The event envelope: how one domain event becomes one NATS message and back.
//!
//! The body is the event as JSON. Everything else is a header, so an external consumer needs
//! nothing of ours to read it: CloudEvents 1.0 attributes in binary mode (`ce-*`), `Nats-Msg-Id`
//! (= `ce-id`, for JetStream's dedup), W3C `traceparent`, causation and correlation ids as
//! CloudEvents extensions, and two of ours: the position of the event in its aggregate and the
//! schema version of its body (for upcasting).

use async_nats::header::HeaderName;
use async_nats::HeaderMap;
use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use serde::Serialize;
use uuid::Uuid;

pub const CE_SPECVERSION: &str = "ce-specversion";
pub const CE_ID: &str = "ce-id";
pub const CE_SOURCE: &str = "ce-source";
pub const CE_TYPE: &str = "ce-type";
pub const CE_SUBJECT: &str = "ce-subject";
pub const CE_TIME: &str = "ce-time";
pub const CE_DATACONTENTTYPE: &str = "ce-datacontenttype";
pub const CE_CAUSATION: &str = "ce-causationid";
pub const CE_CORRELATION: &str = "ce-correlationid";
pub use crate::traceparent::TRACEPARENT;
pub const MSG_ID: &str = "Nats-Msg-Id";
/// 1-based position of the event in its aggregate's history (esrs' sequence number).
pub const AGGREGATE_SEQUENCE: &str = "Aurora-Aggregate-Sequence";
/// Schema version of the body, read by the upcaster.
pub const EVENT_VERSION: &str = "Aurora-Event-Version";

/// Where a command came from, carried onto every event it produces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Context {
    /// The id of the message that caused this command (a delivery, a command, an event).
    pub causation_id: Option<String>,
    /// One id shared by everything that follows from the same original input.
    pub correlation_id: String,
    /// W3C trace context, so one trace runs from the webhook to the read model.
    pub traceparent: String,
    /// Set when the input that caused this command can be delivered again (a `CMD` message):
    /// event ids are then derived from it, so a re-run of the same input publishes the same
    /// `Nats-Msg-Id`s and JetStream drops the copy.
    pub idempotency_key: Option<String>,
}

impl Context {
    /// A context for work that starts here (no cause): a fresh correlation id, and the current
    /// span's trace when spans are exported (the events then belong to the trace of the work
    /// that made them), else a fresh trace.
    pub fn new_root() -> Self {
        Self {
            causation_id: None,
            correlation_id: uuid_string(Uuid::now_v7()),
            traceparent: aurora_telemetry::trace::current_traceparent()
                .unwrap_or_else(new_traceparent),
            idempotency_key: None,
        }
    }

    /// This context, with event ids derived from `key` (see [`Context::idempotency_key`]).
    pub fn with_idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// The id of the `index`-th event a command in this context appends to `subject`.
    pub fn event_id(&self, subject: &str, index: usize) -> Uuid {
        match &self.idempotency_key {
            Some(key) => Uuid::new_v5(
                &Uuid::NAMESPACE_URL,
                format!("aurora:{key}:{subject}:{index}").as_bytes(),
            ),
            None => Uuid::now_v7(),
        }
    }

    /// The context of work caused by `cause` within this context.
    pub fn caused_by(&self, cause: impl Into<String>) -> Self {
        Self {
            causation_id: Some(cause.into()),
            ..self.clone()
        }
    }
}

impl Default for Context {
    fn default() -> Self {
        Self::new_root()
    }
}

/// `id` in its hyphenated lowercase form, without going through `fmt` (every command makes one).
pub fn uuid_string(id: Uuid) -> String {
    let mut buffer = Uuid::encode_buffer();
    id.hyphenated().encode_lower(&mut buffer).to_owned()
}

/// A fresh W3C `traceparent` (version 00), not marked sampled: for work outside any exported
/// span (spans are exported only with `OTEL_EXPORTER_OTLP_ENDPOINT`; see
/// [`aurora_telemetry::trace`]).
///
/// The sampled flag tells everything downstream that this trace is being recorded; nothing
/// records a trace made here, so the flag stays off. Setting it anyway is also costly:
/// nats-server checks every message with a sampled `traceparent` for message tracing and copies
/// all of its headers into a map first.
pub fn new_traceparent() -> String {
    // Written without `fmt`: every command without a cause makes one.
    let mut trace = Uuid::encode_buffer();
    let mut span = Uuid::encode_buffer();
    let trace = Uuid::new_v4().simple().encode_lower(&mut trace);
    let span = Uuid::new_v4().simple().encode_lower(&mut span);
    let mut traceparent = String::with_capacity(55);
    traceparent.push_str("00-");
    traceparent.push_str(trace);
    traceparent.push('-');
    traceparent.push_str(&span[..16]);
    traceparent.push_str("-00");
    traceparent
}

/// `time` in RFC 3339 with microseconds, `2026-12-04T17:40:00.123456Z`: what
/// `to_rfc3339_opts(SecondsFormat::Micros, true)` writes, without `fmt` for the years 0 to 9999
/// (every event's `ce-time`; chrono writes the rest, and leap seconds).
pub fn rfc3339_micros(time: DateTime<Utc>) -> String {
    let year = time.year();
    let nanos = time.nanosecond();
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return time.to_rfc3339_opts(SecondsFormat::Micros, true);
    }
    let mut text = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |at: usize, width: usize, mut value: u32| {
        for digit in text[at..at + width].iter_mut().rev() {
            *digit = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, year as u32);
    put(5, 2, time.month());
    put(8, 2, time.day());
    put(11, 2, time.hour());
    put(14, 2, time.minute());
    put(17, 2, time.second());
    put(20, 6, nanos / 1000);
    text.iter().map(|&b| char::from(b)).collect()
}

/// What the store writes beside one event body.
pub struct Outgoing<'a> {
    pub id: Uuid,
    pub source: &'a str,
    pub event_type: &'a str,
    pub subject_id: Uuid,
    pub time: DateTime<Utc>,
    pub aggregate_sequence: i32,
    pub version: Option<i32>,
    pub context: &'a Context,
}

impl Outgoing<'_> {
    /// Headers of the message, `Nats-Msg-Id` (= the event id) among them.
    pub fn headers(&self) -> HeaderMap {
        // This runs once per event on the write path: names are built at compile time and values
        // are encoded without `fmt` where that is easy.
        const NAMES: [HeaderName; 12] = [
            HeaderName::from_static(MSG_ID),
            HeaderName::from_static(CE_SPECVERSION),
            HeaderName::from_static(CE_ID),
            HeaderName::from_static(CE_SOURCE),
            HeaderName::from_static(CE_TYPE),
            HeaderName::from_static(CE_SUBJECT),
            HeaderName::from_static(CE_TIME),
            HeaderName::from_static(CE_DATACONTENTTYPE),
            HeaderName::from_static(CE_CORRELATION),
            HeaderName::from_static(CE_CAUSATION),
            HeaderName::from_static(AGGREGATE_SEQUENCE),
            HeaderName::from_static(EVENT_VERSION),
        ];
        let [msg_id, specversion, ce_id, source, ce_type, subject, time, content_type, correlation, causation, sequence, version] =
            NAMES;
        let mut h = HeaderMap::new();
        let mut buffer = Uuid::encode_buffer();
        let id = self.id.hyphenated().encode_lower(&mut buffer);
        h.insert(msg_id, &*id);
        h.insert(specversion, "1.0");
        h.insert(ce_id, &*id);
        h.insert(source, self.source);
        let mut event_type = String::with_capacity(7 + self.event_type.len());
        event_type.push_str("aurora.");
        event_type.push_str(self.event_type);
        h.insert(ce_type, event_type);
        let mut buffer = Uuid::encode_buffer();
        h.insert(
            subject,
            &*self.subject_id.hyphenated().encode_lower(&mut buffer),
        );
        h.insert(time, rfc3339_micros(self.time));
        h.insert(content_type, "application/json");
        crate::traceparent::insert(&mut h, self.context.traceparent.as_str());
        h.insert(correlation, self.context.correlation_id.as_str());
        if let Some(cause) = &self.context.causation_id {
            h.insert(causation, cause.as_str());
        }
        h.insert(sequence, self.aggregate_sequence.to_string());
        if let Some(v) = self.version {
            h.insert(version, v.to_string());
        }
        h
    }
}

/// One stored event as read back, before its body is decoded into a domain type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RawEvent {
    /// Position in the `EVENTS` stream.
    pub stream_sequence: u64,
    /// Position in its aggregate's history (1-based).
    pub aggregate_sequence: i32,
    pub subject: String,
    pub id: Uuid,
    /// CloudEvents `ce-type`, e.g. `aurora.incident.opened`.
    pub event_type: String,
    pub source: String,
    pub time: DateTime<Utc>,
    pub version: Option<i32>,
    pub causation_id: Option<String>,
    pub correlation_id: Option<String>,
    pub traceparent: Option<String>,
    pub data: serde_json::Value,
    /// The body as stored (the JSON text of `data`), for writers that want it verbatim.
    #[serde(skip)]
    pub body: bytes::Bytes,
}

/// Why a stored message could not be read as an event.
#[derive(Debug, thiserror::Error)]
#[error("message {stream_sequence} on {subject} is not a valid event: {reason}")]
pub struct DecodeError {
    pub stream_sequence: u64,
    pub subject: String,
    pub reason: String,
}

impl RawEvent {
    /// Reads a stored message. `fallback_time` (the server's timestamp) is used when `ce-time`
    /// is missing.
    pub fn decode(
        subject: &str,
        stream_sequence: u64,
        headers: Option<&HeaderMap>,
        payload: &bytes::Bytes,
        fallback_time: DateTime<Utc>,
    ) -> Result<Self, DecodeError> {
        let fail = |reason: String| DecodeError {
            stream_sequence,
            subject: subject.to_owned(),
            reason,
        };
        let empty = HeaderMap::new();
        let h = headers.unwrap_or(&empty);
        let get = |name: &str| h.get(name).map(|v| v.as_str().to_owned());
        let id = get(CE_ID).ok_or_else(|| fail("no ce-id header".into()))?;
        let id = Uuid::parse_str(&id).map_err(|e| fail(format!("ce-id {id:?}: {e}")))?;
        let aggregate_sequence = get(AGGREGATE_SEQUENCE)
            .ok_or_else(|| fail(format!("no {AGGREGATE_SEQUENCE} header")))?
            .parse()
            .map_err(|e| fail(format!("{AGGREGATE_SEQUENCE}: {e}")))?;
        let time = match get(CE_TIME) {
            Some(t) => DateTime::parse_from_rfc3339(&t)
                .map_err(|e| fail(format!("ce-time {t:?}: {e}")))?
                .with_timezone(&Utc),
            None => fallback_time,
        };
        let version = match get(EVENT_VERSION) {
            Some(v) => Some(
                v.parse()
                    .map_err(|e| fail(format!("{EVENT_VERSION}: {e}")))?,
            ),
            None => None,
        };
        let data =
            serde_json::from_slice(payload).map_err(|e| fail(format!("body is not JSON: {e}")))?;
        Ok(Self {
            stream_sequence,
            aggregate_sequence,
            subject: subject.to_owned(),
            id,
            event_type: get(CE_TYPE).unwrap_or_default(),
            source: get(CE_SOURCE).unwrap_or_default(),
            time,
            version,
            causation_id: get(CE_CAUSATION),
            correlation_id: get(CE_CORRELATION),
            traceparent: get(TRACEPARENT),
            data,
            body: payload.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ce_time_is_written_exactly_as_chrono_writes_it() {
        let chrono_text = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Micros, true);
        let at = |y: i32, m: u32, d: u32, (h, min, sec, nanos): (u32, u32, u32, u32)| {
            chrono::NaiveDate::from_ymd_opt(y, m, d)
                .and_then(|date| date.and_hms_nano_opt(h, min, sec, nanos))
                .expect("a valid time")
                .and_utc()
        };
        let mut times = vec![
            DateTime::<Utc>::UNIX_EPOCH,
            at(0, 1, 1, (0, 0, 0, 0)),
            at(9999, 12, 31, (23, 59, 59, 999_999_999)),
            at(10000, 1, 1, (0, 0, 0, 0)),
            at(-1, 12, 31, (23, 59, 59, 0)),
            at(2016, 12, 31, (23, 59, 59, 1_500_000_000)),
            Utc::now(),
        ];
        // Spread over four centuries, with every kind of fraction.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let secs = (x >> 11) as i64 % (400 * 366 * 86_400) + 946_684_800 - 200 * 366 * 86_400;
            let nanos = (x % 1_000_000_000) as u32;
            times.push(DateTime::from_timestamp(secs, nanos).expect("in range"));
        }
        for t in times {
            assert_eq!(rfc3339_micros(t), chrono_text(t), "{t:?}");
        }
    }

    #[test]
    fn a_traceparent_is_w3c_version_00_and_not_sampled() {
        let traceparent = new_traceparent();
        let parts: Vec<&str> = traceparent.split('-').collect();
        assert_eq!(parts.len(), 4, "{traceparent}");
        assert_eq!(parts[0], "00");
        assert_eq!(parts[1].len(), 32);
        assert_eq!(parts[2].len(), 16);
        assert_eq!(parts[3], "00");
        assert!(parts[1..3].iter().all(|p| p
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())));
        assert_ne!(new_traceparent(), traceparent);
    }

    #[test]
    fn uuid_strings_match_the_display_form() {
        let id = Uuid::now_v7();
        assert_eq!(uuid_string(id), id.to_string());
    }
}
