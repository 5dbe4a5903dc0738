//! The dead-letter wire format: a message a consumer gave up on, stored on the `DEAD_LETTERS`
//! stream under `dead.<tenant>.<consumer>`.
//!
//! A dead letter is the original message, headers and body untouched, plus `Aurora-Dead-*`
//! headers saying where it came from and why it failed. Keeping the original as it was means a
//! retry republishes exactly what the producer sent, and any NATS client can read a dead letter
//! without knowing more than these headers. [`DeadLetter::headers`] writes it,
//! [`DeadLetter::read`] reads it back.

use async_nats::HeaderMap;
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};

/// The error that made the consumer give up.
pub const ERROR: &str = "Aurora-Dead-Error";
/// Stream, consumer, stream sequence and subject of the original message.
pub const STREAM: &str = "Aurora-Dead-Stream";
pub const CONSUMER: &str = "Aurora-Dead-Consumer";
pub const SEQUENCE: &str = "Aurora-Dead-Sequence";
pub const SUBJECT: &str = "Aurora-Dead-Subject";
/// How many times it was delivered, the last one included.
pub const DELIVERIES: &str = "Aurora-Dead-Deliveries";
/// When the consumer gave up (RFC 3339).
pub const AT: &str = "Aurora-Dead-At";
/// The original's `Nats-Msg-Id`, set aside: kept as is it would make the dead-letter stream
/// deduplicate on it, and a retry that restored it inside the duplicate window would be dropped.
pub const ORIGINAL_MSG_ID: &str = "Aurora-Dead-Msg-Id";
const NATS_MSG_ID: &str = "Nats-Msg-Id";

/// Where a dead letter came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub stream: String,
    pub consumer: String,
    pub stream_sequence: u64,
    pub subject: String,
    pub deliveries: i64,
    pub failed_at: DateTime<Utc>,
}

/// One dead letter.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub error: String,
    pub origin: Origin,
    /// The original headers, `Nats-Msg-Id` included, as the producer sent them.
    pub headers: HeaderMap,
    pub payload: Bytes,
}

#[derive(Debug, thiserror::Error)]
#[error("message {stream_sequence} of the dead-letter stream is not a dead letter: {reason}")]
pub struct NotADeadLetter {
    pub stream_sequence: u64,
    pub reason: String,
}

impl DeadLetter {
    /// The headers of the dead-letter message: the original's, with `Nats-Msg-Id` set aside, and
    /// the origin. Its own `Nats-Msg-Id` names the original delivery, so a dead letter written
    /// twice (a crash before the original's ack) is stored once.
    pub fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, values) in self.headers.iter() {
            let name: &str = name.as_ref();
            for value in values {
                if name == NATS_MSG_ID {
                    headers.append(ORIGINAL_MSG_ID, value.as_str());
                } else {
                    headers.append(name, value.as_str());
                }
            }
        }
        let o = &self.origin;
        headers.insert(ERROR, one_line(&self.error));
        headers.insert(STREAM, o.stream.as_str());
        headers.insert(CONSUMER, o.consumer.as_str());
        headers.insert(SEQUENCE, o.stream_sequence.to_string());
        headers.insert(SUBJECT, o.subject.as_str());
        headers.insert(DELIVERIES, o.deliveries.to_string());
        headers.insert(AT, o.failed_at.to_rfc3339_opts(SecondsFormat::Millis, true));
        headers.insert(
            NATS_MSG_ID,
            format!("dead:{}:{}:{}", o.stream, o.consumer, o.stream_sequence),
        );
        headers
    }

    /// Reads a message of the dead-letter stream back.
    pub fn read(
        stream_sequence: u64,
        headers: &HeaderMap,
        payload: Bytes,
    ) -> Result<Self, NotADeadLetter> {
        let fail = |reason: String| NotADeadLetter {
            stream_sequence,
            reason,
        };
        let get = |name: &str| {
            headers
                .get(name)
                .map(|v| v.as_str().to_owned())
                .ok_or_else(|| fail(format!("no {name} header")))
        };
        let number = |name: &str| -> Result<i64, NotADeadLetter> {
            get(name)?
                .parse()
                .map_err(|e| fail(format!("{name} is not a number: {e}")))
        };
        let failed_at = DateTime::parse_from_rfc3339(&get(AT)?)
            .map_err(|e| fail(format!("{AT} is not RFC 3339: {e}")))?
            .with_timezone(&Utc);
        let origin = Origin {
            stream: get(STREAM)?,
            consumer: get(CONSUMER)?,
            stream_sequence: u64::try_from(number(SEQUENCE)?)
                .map_err(|e| fail(format!("{SEQUENCE}: {e}")))?,
            subject: get(SUBJECT)?,
            deliveries: number(DELIVERIES)?,
            failed_at,
        };
        let mut original = HeaderMap::new();
        for (name, values) in headers.iter() {
            let name: &str = name.as_ref();
            let name = match name {
                ORIGINAL_MSG_ID => NATS_MSG_ID,
                NATS_MSG_ID | ERROR | STREAM | CONSUMER | SEQUENCE | SUBJECT | DELIVERIES | AT => {
                    continue
                }
                other => other,
            };
            for value in values {
                original.append(name, value.as_str());
            }
        }
        Ok(Self {
            error: get(ERROR)?,
            origin,
            headers: original,
            payload,
        })
    }
}

/// NATS header values cannot hold line breaks; an error's chain of causes often has some.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter() -> DeadLetter {
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", "delivery-7");
        headers.insert("Aurora-Received-At", "2026-01-02T03:04:00Z");
        DeadLetter {
            error: "event 7 does not load:\nunknown variant".into(),
            origin: Origin {
                stream: "INBOX".into(),
                consumer: "ingest".into(),
                stream_sequence: 7,
                subject: "inbox.acme.grafana".into(),
                deliveries: 5,
                failed_at: DateTime::parse_from_rfc3339("2026-01-02T03:04:05.678Z")
                    .expect("time")
                    .with_timezone(&Utc),
            },
            headers,
            payload: Bytes::from_static(b"{\"alerts\":[]}"),
        }
    }

    #[test]
    fn a_dead_letter_reads_back_as_written_with_the_original_headers() {
        let written = letter();
        let headers = written.headers();
        assert_eq!(
            headers.get("Nats-Msg-Id").map(|v| v.as_str()),
            Some("dead:INBOX:ingest:7")
        );
        let read = DeadLetter::read(1, &headers, written.payload.clone()).expect("reads");
        assert_eq!(read.origin, written.origin);
        assert_eq!(read.payload, written.payload);
        assert_eq!(
            read.headers.get("Nats-Msg-Id").map(|v| v.as_str()),
            Some("delivery-7")
        );
        assert_eq!(
            read.headers.get("Aurora-Received-At").map(|v| v.as_str()),
            Some("2026-01-02T03:04:00Z")
        );
        assert!(read.headers.get(ERROR).is_none());
        // Line breaks cannot travel in a header; the words do.
        assert_eq!(read.error, "event 7 does not load: unknown variant");
    }

    #[test]
    fn a_message_without_the_origin_headers_is_refused_naming_what_is_missing() {
        let error = DeadLetter::read(3, &HeaderMap::new(), Bytes::new()).expect_err("refused");
        assert_eq!(error.stream_sequence, 3);
        assert!(error.reason.contains(AT), "{}", error.reason);
    }
}
