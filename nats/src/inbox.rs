//! The `INBOX` delivery format: one raw webhook delivery as the gateway stores it and the ingest,
//! the dry run and the agent read it back. [`InboxDelivery::to_message`] is the only writer and
//! [`InboxDelivery::from_message`] the only reader, so the two sides cannot drift apart.
//!
//! - subject `inbox.<tenant>.<source>` ([`subjects::inbox`]);
//! - headers: `Nats-Msg-Id` (`<integration id>:<delivery id>`, so a source's retry is stored
//!   once, and the one place both ids are written), [`RECEIVED_AT_HEADER`] (RFC 3339),
//!   `traceparent` when spans are exported (the publishing span's, with
//!   [`traceparent::insert`]'s companion), and the request headers the source's parser needs,
//!   under their own names. Nothing repeats the subject's source or the message id's parts:
//!   nats-server finds each header it reads by scanning the whole block, for every message;
//! - body: the request body, byte for byte.
//!
//! Events caused by a delivery name it by an [`InboxReference`] (`inbox:<sequence>[:<index>]`).

use async_nats::header::HeaderName;
use async_nats::HeaderMap;
use aurora_domain::TenantId;
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

use crate::subjects;
use crate::traceparent::{self, NATS_TRACE_DEST, TRACEPARENT};

pub const RECEIVED_AT_HEADER: &str = "Aurora-Received-At";
const MSG_ID_HEADER: &str = "Nats-Msg-Id";
/// Headers that deliveries stored by earlier versions carry, repeating the subject and the
/// message id: read past, never taken for request headers.
const EARLIER_HEADERS: [&str; 3] = [
    "Aurora-Integration-Id",
    "Aurora-Source",
    "Aurora-Delivery-Id",
];

/// One webhook delivery as `INBOX` holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxDelivery {
    pub tenant: TenantId,
    /// The source's name (`grafana`, `pagerduty`…), also the subject's last token.
    pub source: String,
    pub integration_id: Uuid,
    /// The source's own id of the delivery, or a hash of the body: what deduplicates retries.
    pub delivery_id: String,
    /// When the gateway received it.
    pub received_at: DateTime<Utc>,
    /// The request headers the source's parser needs (its `kept_headers`), as received.
    pub request_headers: Vec<(String, String)>,
    pub body: Bytes,
    /// The W3C trace context of the span that published it (only when spans are exported).
    pub traceparent: Option<String>,
}

/// What is published: subject, headers, payload.
#[derive(Debug)]
pub struct InboxMessage {
    pub subject: String,
    pub headers: HeaderMap,
    pub payload: Bytes,
}

/// Why a stored message is not a delivery this version can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InboxError {
    #[error("{0:?} is not an inbox.<tenant>.<source> subject")]
    Subject(String),
    #[error("the delivery has no {0} header")]
    MissingHeader(&'static str),
    #[error("the {header} header does not parse: {value:?}")]
    BadHeader { header: &'static str, value: String },
}

impl InboxDelivery {
    /// The message to publish. Header values come from `http`'s checked values and our own
    /// printable ids, so none holds the CR or LF that `HeaderMap::insert` refuses.
    pub fn to_message(self) -> InboxMessage {
        // Once per webhook on the intake path: the names are built at compile time (a name
        // given as `&str` is checked and copied at every insert), and owned values are moved in.
        const MSG_ID: HeaderName = HeaderName::from_static(MSG_ID_HEADER);
        const RECEIVED_AT: HeaderName = HeaderName::from_static(RECEIVED_AT_HEADER);
        let mut headers = HeaderMap::new();
        let mut buffer = Uuid::encode_buffer();
        let integration = self.integration_id.hyphenated().encode_lower(&mut buffer);
        let mut msg_id = String::with_capacity(integration.len() + 1 + self.delivery_id.len());
        msg_id.push_str(integration);
        msg_id.push(':');
        msg_id.push_str(&self.delivery_id);
        headers.insert(MSG_ID, msg_id);
        headers.insert(
            RECEIVED_AT,
            self.received_at
                .to_rfc3339_opts(SecondsFormat::AutoSi, true),
        );
        for (name, value) in self.request_headers {
            headers.insert(name.as_str(), value);
        }
        // After the request's headers: a `traceparent` the source sent is not the one we mean.
        if let Some(traceparent) = self.traceparent {
            traceparent::insert(&mut headers, traceparent);
        }
        InboxMessage {
            subject: subjects::inbox(&self.tenant, &self.source),
            headers,
            payload: self.body,
        }
    }

    /// Reads a stored message back: tenant and source from the subject, integration and delivery
    /// ids from the message id. `published` (when JetStream stored it) stands in for a missing or
    /// unreadable received-at. Everything else is required.
    pub fn from_message(
        subject: &str,
        headers: Option<&HeaderMap>,
        payload: Bytes,
        published: DateTime<Utc>,
    ) -> Result<Self, InboxError> {
        let parsed = subjects::parse_inbox_subject(subject)
            .ok_or_else(|| InboxError::Subject(subject.to_owned()))?;
        let header = |name: &'static str| headers.and_then(|h| h.get(name)).map(|v| v.as_str());
        let msg_id = header(MSG_ID_HEADER).ok_or(InboxError::MissingHeader(MSG_ID_HEADER))?;
        let (integration_id, delivery_id) = msg_id
            .split_once(':')
            .and_then(|(integration, delivery)| {
                Some((Uuid::parse_str(integration).ok()?, delivery))
            })
            .ok_or_else(|| InboxError::BadHeader {
                header: MSG_ID_HEADER,
                value: msg_id.to_owned(),
            })?;
        let received_at = header(RECEIVED_AT_HEADER)
            .and_then(|v| DateTime::parse_from_rfc3339(v).ok())
            .map_or(published, |t| t.with_timezone(&Utc));
        let ours = |name: &str| {
            [
                MSG_ID_HEADER,
                RECEIVED_AT_HEADER,
                TRACEPARENT,
                NATS_TRACE_DEST,
            ]
            .iter()
            .chain(&EARLIER_HEADERS)
            .any(|o| o.eq_ignore_ascii_case(name))
        };
        let request_headers = headers
            .map(|h| {
                h.iter()
                    .map(|(name, values)| (name.to_string(), values))
                    .filter(|(name, _)| !ours(name))
                    .filter_map(|(name, values)| Some((name, values.first()?.as_str().to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            delivery_id: delivery_id.to_owned(),
            tenant: parsed.tenant,
            source: parsed.source,
            integration_id,
            received_at,
            request_headers,
            body: payload,
            traceparent: header(TRACEPARENT).map(str::to_owned),
        })
    }

    /// A request header by name (ASCII case-insensitive, as HTTP's are).
    pub fn request_header(&self, name: &str) -> Option<&str> {
        self.request_headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Which delivery (its `INBOX` stream sequence), and which signal of it, caused an event:
/// written as the event's causation id, `inbox:<sequence>` or `inbox:<sequence>:<index>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxReference {
    pub sequence: u64,
    pub index: Option<u32>,
}

impl InboxReference {
    const PREFIX: &'static str = "inbox:";

    pub fn causation(self) -> String {
        match self.index {
            Some(index) => format!("{}{}:{index}", Self::PREFIX, self.sequence),
            None => format!("{}{}", Self::PREFIX, self.sequence),
        }
    }

    /// `None` for a causation id that is not a delivery's.
    pub fn parse(causation: &str) -> Option<Self> {
        let mut parts = causation.strip_prefix(Self::PREFIX)?.split(':');
        let sequence = parts.next()?.parse().ok()?;
        let index = match parts.next() {
            None => None,
            Some(index) => Some(index.parse().ok()?),
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Self { sequence, index })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery() -> InboxDelivery {
        InboxDelivery {
            tenant: TenantId::parse("acme").expect("valid"),
            source: "github".into(),
            integration_id: Uuid::now_v7(),
            delivery_id: "72d3162e-cc78-11e3-81ab-4c9367dc0958".into(),
            received_at: DateTime::parse_from_rfc3339("2026-11-23T10:00:00.123456Z")
                .expect("time")
                .with_timezone(&Utc),
            request_headers: vec![("x-github-event".into(), "deployment".into())],
            body: Bytes::from_static(br#"{"action":"created"}"#),
            traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
        }
    }

    /// `message` read back as the readers read it, stored at [`published`].
    fn read_back(message: InboxMessage) -> Result<InboxDelivery, InboxError> {
        InboxDelivery::from_message(
            &message.subject,
            Some(&message.headers),
            message.payload,
            published(),
        )
    }

    fn published() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T10:00:01Z")
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn what_the_writer_writes_the_reader_reads() {
        let sent = delivery();
        let message = sent.clone().to_message();
        assert_eq!(message.subject, "inbox.acme.github");
        assert_eq!(
            message.headers.get(MSG_ID_HEADER).map(|v| v.as_str()),
            Some(format!("{}:{}", sent.integration_id, sent.delivery_id).as_str())
        );
        let read = read_back(message).expect("reads");
        assert_eq!(read, sent);
        assert_eq!(read.request_header("X-GitHub-Event"), Some("deployment"));
    }

    #[test]
    fn without_a_received_at_the_stored_time_stands_in() {
        let mut message = delivery().to_message();
        message.headers.insert(RECEIVED_AT_HEADER, "yesterday");
        let read = read_back(message).expect("reads");
        assert_eq!(read.received_at, published());
    }

    #[test]
    fn a_message_that_is_not_a_delivery_is_refused_with_the_reason() {
        let message = delivery().to_message();
        let read = |subject: &str, headers: &HeaderMap| {
            InboxDelivery::from_message(subject, Some(headers), Bytes::new(), published())
        };
        assert_eq!(
            read("evt.acme.github", &message.headers),
            Err(InboxError::Subject("evt.acme.github".into()))
        );
        assert_eq!(
            InboxDelivery::from_message("inbox.acme.github", None, Bytes::new(), published()),
            Err(InboxError::MissingHeader(MSG_ID_HEADER))
        );
        for msg_id in ["not-a-uuid:72d3", "no-delivery-part"] {
            let mut bad = message.headers.clone();
            bad.insert(MSG_ID_HEADER, msg_id);
            assert_eq!(
                read("inbox.acme.github", &bad),
                Err(InboxError::BadHeader {
                    header: MSG_ID_HEADER,
                    value: msg_id.into()
                })
            );
        }
    }

    #[test]
    fn the_headers_do_not_repeat_the_subject_or_the_message_id() {
        let message = delivery().to_message();
        let mut names: Vec<String> = message.headers.iter().map(|(n, _)| n.to_string()).collect();
        names.sort();
        assert_eq!(
            names,
            [
                RECEIVED_AT_HEADER,
                MSG_ID_HEADER,
                NATS_TRACE_DEST,
                TRACEPARENT,
                "x-github-event"
            ]
        );
    }

    #[test]
    fn a_delivery_stored_by_an_earlier_version_reads_the_same() {
        let sent = delivery();
        let mut message = sent.clone().to_message();
        message
            .headers
            .insert("Aurora-Integration-Id", sent.integration_id.to_string());
        message.headers.insert("Aurora-Source", "github");
        message
            .headers
            .insert("Aurora-Delivery-Id", sent.delivery_id.as_str());
        message
            .headers
            .insert(RECEIVED_AT_HEADER, sent.received_at.to_rfc3339().as_str());
        let read = read_back(message).expect("reads");
        assert_eq!(read, sent);
    }

    #[test]
    fn a_reference_round_trips_and_other_causations_are_not_references() {
        for reference in [
            InboxReference {
                sequence: 42,
                index: Some(3),
            },
            InboxReference {
                sequence: 7,
                index: None,
            },
        ] {
            assert_eq!(
                InboxReference::parse(&reference.causation()),
                Some(reference)
            );
        }
        assert_eq!(
            InboxReference {
                sequence: 42,
                index: Some(3)
            }
            .causation(),
            "inbox:42:3"
        );
        for other in [
            "cmd:5",
            "inbox:",
            "inbox:x:1",
            "inbox:1:y",
            "inbox:1:2:3",
            "inbox",
        ] {
            assert_eq!(InboxReference::parse(other), None, "{other}");
        }
    }
}
