//! `EventLog`: the low-level reads and writes of the `EVENTS` stream. The aggregate store
//! ([`crate::store`]) is built on it, and so are the raw-history and audit paths.
//!
//! Writing: all events of one command are appended atomically, and only if the aggregate's
//! subject is still at the stream sequence the command was decided on
//! (`Nats-Expected-Last-Subject-Sequence`). One event (the common case) is one publish; several events
//! are one JetStream atomic batch (ADR-50). Every event carries `Nats-Msg-Id`, so a retry whose
//! first attempt was stored (its ack lost) is recognised: JetStream acks a single duplicate as
//! such, and refuses a batch holding an id it already has with error 10201, which is the same
//! news for a batch, since a batch is stored whole or not at all. nats-server 2.12.0 refused
//! `Nats-Msg-Id` inside a batch; 2.12.1 and later accept it (checked against 2.12.0, 2.12.1–4,
//! 2.12.8, 2.14.0 and 2.15.1), hence the launcher's minimum of 2.12.1.
//!
//! Reading one subject is one batched direct get (ADR-31): one request, the server streams every
//! message of that subject from a start sequence and ends with an end-of-batch status. It never
//! scans other subjects' messages on the client side.

use std::time::Duration;

use async_nats::jetstream::{self, context::PublishErrorKind};
use async_nats::HeaderMap;
use aurora_telemetry::Metrics;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde_json::json;
use uuid::Uuid;

use crate::envelope::{DecodeError, RawEvent, AGGREGATE_SEQUENCE};
use crate::subjects::EVENTS_STREAM;

/// How many messages one direct-get batch asks for.
const READ_BATCH: usize = 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Failures of the event log, as callers need to tell them apart.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The subject moved since the command was decided: someone else wrote first.
    #[error("conflict on {subject}: expected last sequence {expected}")]
    Conflict { subject: String, expected: u64 },
    /// JetStream did not answer or refused for an operational reason; retry later.
    #[error("JetStream unavailable: {0}")]
    Unavailable(#[source] async_nats::Error),
    /// A stored message is not a readable event.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A stored event body does not upcast into today's event type.
    #[error("event {stream_sequence} on {subject} does not load as today's type: {source}")]
    Upcast {
        subject: String,
        stream_sequence: u64,
        source: serde_json::Error,
    },
    /// An event could not be serialised (a bug in its type).
    #[error("failed to serialise an event: {0}")]
    Encode(#[source] serde_json::Error),
    /// Every retry of a command met a concurrent writer.
    #[error("gave up on {subject} after {attempts} conflicting attempts")]
    TooManyConflicts { subject: String, attempts: u32 },
}

impl StoreError {
    /// [`StoreError::Unavailable`] for its cause: an error of the client, or a sentence where
    /// the server's answer itself was the fault (a timeout, an unexpected status).
    pub fn unavailable(cause: impl Into<async_nats::Error>) -> Self {
        Self::Unavailable(cause.into())
    }
}

/// One event ready to be appended.
pub struct Append {
    /// The event's headers, `Nats-Msg-Id` among them (see [`crate::envelope::Outgoing`]).
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// JetStream's answer to an atomic batch holding a `Nats-Msg-Id` it already has.
const BATCH_DUPLICATE_MESSAGE_ID: u64 = 10201;

fn is_batch_duplicate(error: &jetstream::context::PublishError) -> bool {
    std::error::Error::source(error)
        .and_then(|source| source.downcast_ref::<jetstream::Error>())
        .is_some_and(|e| e.error_code().0 == BATCH_DUPLICATE_MESSAGE_ID)
}

/// Handle on the `EVENTS` stream. Cheap to clone.
#[derive(Clone)]
pub struct EventLog {
    client: async_nats::Client,
    js: jetstream::Context,
    /// The process's metrics, which the stores and consumers built on this log count into.
    metrics: Metrics,
}

impl EventLog {
    /// A log counting into metrics of its own (nobody scrapes them: tools and tests).
    pub fn new(client: async_nats::Client) -> Self {
        Self::with_metrics(client, Metrics::default())
    }

    /// A log counting into the process's `metrics`.
    pub fn with_metrics(client: async_nats::Client, metrics: Metrics) -> Self {
        let js = jetstream::new(client.clone());
        Self {
            client,
            js,
            metrics,
        }
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    pub fn jetstream(&self) -> &jetstream::Context {
        &self.js
    }

    /// Appends `events` to `subject` iff the subject's last stream sequence is `expected_last`
    /// (0 = the subject must be empty). Returns the stream sequence of each appended event.
    pub async fn append(
        &self,
        subject: &str,
        expected_last: u64,
        events: Vec<Append>,
    ) -> Result<Vec<u64>, StoreError> {
        Ok(self.append_checked(subject, expected_last, events).await?.0)
    }

    /// [`EventLog::append`], also saying whether JetStream found the (single) event to be a
    /// duplicate of one it already holds (same `Nats-Msg-Id`): then nothing new was stored.
    pub async fn append_checked(
        &self,
        subject: &str,
        expected_last: u64,
        events: Vec<Append>,
    ) -> Result<(Vec<u64>, bool), StoreError> {
        let count = events.len() as u64;
        match count {
            0 => Ok((Vec::new(), false)),
            1 => {
                let Some(event) = events.into_iter().next() else {
                    return Ok((Vec::new(), false));
                };
                let msg = jetstream::message::PublishMessage::build()
                    .payload(event.body)
                    .headers(event.headers)
                    .expected_last_subject_sequence(expected_last);
                let (seq, duplicate) = self.publish(subject, msg, expected_last).await?;
                Ok((vec![seq], duplicate))
            }
            _ => match self.append_batch(subject, expected_last, events).await? {
                (_, true) => Ok((Vec::new(), true)),
                (last, false) => Ok(((last + 1 - count..=last).collect(), false)),
            },
        }
    }

    /// The batch's last stream sequence, or `(_, true)` when JetStream already holds it.
    async fn append_batch(
        &self,
        subject: &str,
        expected_last: u64,
        events: Vec<Append>,
    ) -> Result<(u64, bool), StoreError> {
        let batch_id = Uuid::new_v4().simple().to_string();
        let total = events.len();
        for (index, event) in events.into_iter().enumerate() {
            let mut headers = event.headers;
            headers.insert("Nats-Batch-Id", batch_id.as_str());
            headers.insert("Nats-Batch-Sequence", (index + 1).to_string().as_str());
            if index == 0 {
                headers.insert(
                    "Nats-Expected-Last-Subject-Sequence",
                    expected_last.to_string().as_str(),
                );
            }
            if index + 1 < total {
                // Non-final messages need no reply: the server answers the commit for the whole batch.
                self.client
                    .publish_with_headers(subject.to_owned(), headers, event.body)
                    .await
                    .map_err(StoreError::unavailable)?;
            } else {
                headers.insert("Nats-Batch-Commit", "1");
                let msg = jetstream::message::PublishMessage::build()
                    .payload(event.body)
                    .headers(headers);
                return self.publish(subject, msg, expected_last).await;
            }
        }
        Err(StoreError::unavailable("empty batch"))
    }

    async fn publish(
        &self,
        subject: &str,
        msg: jetstream::message::PublishMessage,
        expected_last: u64,
    ) -> Result<(u64, bool), StoreError> {
        let conflict = || StoreError::Conflict {
            subject: subject.to_owned(),
            expected: expected_last,
        };
        let ack = self
            .js
            .send_publish(subject.to_owned(), msg)
            .await
            .map_err(|e| match e.kind() {
                PublishErrorKind::WrongLastSequence => conflict(),
                _ => StoreError::unavailable(e),
            })?;
        match ack.await {
            Ok(ack) => Ok((ack.sequence, ack.duplicate)),
            Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => Err(conflict()),
            Err(e) if is_batch_duplicate(&e) => Ok((0, true)),
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }

    /// Stream sequence and aggregate sequence of the last message on `subject`, if any.
    pub async fn last_of(&self, subject: &str) -> Result<Option<(u64, i32)>, StoreError> {
        let stream = self.events_stream().await?;
        match stream.direct_get_last_for_subject(subject).await {
            Ok(msg) => {
                let seq = msg
                    .headers
                    .get(AGGREGATE_SEQUENCE)
                    .and_then(|v| v.as_str().parse().ok())
                    .ok_or_else(|| DecodeError {
                        stream_sequence: msg.sequence,
                        subject: subject.to_owned(),
                        reason: format!("no {AGGREGATE_SEQUENCE} header"),
                    })?;
                Ok(Some((msg.sequence, seq)))
            }
            Err(e) if e.kind() == jetstream::stream::DirectGetErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }

    /// Whether any subject of the log matches `filter` (wildcards allowed): one stream-info
    /// request, answered from the server's subject index.
    pub async fn holds_any(&self, filter: &str) -> Result<bool, StoreError> {
        let stream = self.events_stream().await?;
        let mut subjects = stream
            .info_with_subjects(filter)
            .await
            .map_err(StoreError::unavailable)?;
        match subjects.next().await {
            None => Ok(false),
            Some(Ok(_)) => Ok(true),
            Some(Err(e)) => Err(StoreError::unavailable(e)),
        }
    }

    /// The stream sequence of the last event stored (0 when the log is empty): where a reader
    /// that wants only what happens from now on starts.
    pub async fn last_sequence(&self) -> Result<u64, StoreError> {
        // get_stream asks the server for the stream's info: this is its current state.
        let stream = self
            .js
            .get_stream(EVENTS_STREAM)
            .await
            .map_err(StoreError::unavailable)?;
        Ok(stream.cached_info().state.last_sequence)
    }

    async fn events_stream(&self) -> Result<jetstream::stream::Stream<()>, StoreError> {
        self.js
            .get_stream_no_info(EVENTS_STREAM)
            .await
            .map_err(StoreError::unavailable)
    }

    /// Every event on `subject` with stream sequence ≥ `from`, in order.
    pub async fn read_subject(
        &self,
        subject: &str,
        from: u64,
    ) -> Result<Vec<RawEvent>, StoreError> {
        let mut events = Vec::new();
        let mut next = from.max(1);
        loop {
            let more = self.read_batch(subject, next, &mut events).await?;
            if !more {
                return Ok(events);
            }
            next = events.last().map_or(next, |e| e.stream_sequence + 1);
        }
    }

    /// One batched direct get. Returns whether the subject has more messages than this batch
    /// delivered (the server also ends a batch early when it reaches its byte limit).
    async fn read_batch(
        &self,
        subject: &str,
        from: u64,
        out: &mut Vec<RawEvent>,
    ) -> Result<bool, StoreError> {
        let inbox = self.client.new_inbox();
        let mut replies = self
            .client
            .subscribe(inbox.clone())
            .await
            .map_err(StoreError::unavailable)?;
        let request = json!({ "seq": from, "next_by_subj": subject, "batch": READ_BATCH });
        self.client
            .publish_with_reply(
                format!("$JS.API.DIRECT.GET.{EVENTS_STREAM}"),
                inbox,
                Bytes::from(request.to_string()),
            )
            .await
            .map_err(StoreError::unavailable)?;
        let mut got = 0;
        loop {
            let msg = tokio::time::timeout(REQUEST_TIMEOUT, replies.next())
                .await
                .map_err(|_| StoreError::unavailable(format!("direct get on {subject} timed out")))?
                .ok_or_else(|| StoreError::unavailable("connection closed during direct get"))?;
            let headers = msg.headers.as_ref();
            let header = |name: &str| {
                headers
                    .and_then(|h| h.get(name))
                    .map(|v| v.as_str().to_owned())
            };
            match msg.status.map(|s| s.as_u16()) {
                None | Some(200) => {}
                // Nothing (more) on this subject.
                Some(404) => return Ok(false),
                // End of batch: the server says how many matching messages remain.
                Some(204) => {
                    let pending = header("Nats-Num-Pending").and_then(|p| p.parse::<u64>().ok());
                    return Ok(pending.map_or(got == READ_BATCH, |p| p > 0));
                }
                Some(code) => {
                    return Err(StoreError::unavailable(format!(
                        "direct get on {subject} answered {code}: {}",
                        msg.description.clone().unwrap_or_default()
                    )))
                }
            }
            let sequence: u64 = header("Nats-Sequence")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let stored_subject = header("Nats-Subject").unwrap_or_else(|| subject.to_owned());
            let time = header("Nats-Time-Stamp")
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .map_or_else(Utc::now, |t| t.with_timezone(&Utc));
            out.push(RawEvent::decode(
                &stored_subject,
                sequence,
                headers,
                &msg.payload,
                time,
            )?);
            got += 1;
        }
    }

    /// The last event on `subject`, if any (one round trip).
    pub async fn last_event(&self, subject: &str) -> Result<Option<RawEvent>, StoreError> {
        let stream = self.events_stream().await?;
        match stream.direct_get_last_for_subject(subject).await {
            Ok(msg) => {
                let time = msg.time.with_timezone(&Utc);
                Ok(Some(RawEvent::decode(
                    &msg.subject,
                    msg.sequence,
                    Some(&msg.headers),
                    &msg.payload,
                    time,
                )?))
            }
            Err(e) if e.kind() == jetstream::stream::DirectGetErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }

    /// Every event on `subject` stored at or after `since`, in order.
    pub async fn read_subject_since(
        &self,
        subject: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<RawEvent>, StoreError> {
        let request = json!({
            "start_time": since.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            "next_by_subj": subject,
        });
        let reply = self
            .client
            .request(
                format!("$JS.API.DIRECT.GET.{EVENTS_STREAM}"),
                Bytes::from(request.to_string()),
            )
            .await
            .map_err(StoreError::unavailable)?;
        match reply.status.map(|s| s.as_u16()) {
            None | Some(200) => {}
            Some(404) => return Ok(Vec::new()),
            Some(code) => {
                return Err(StoreError::unavailable(format!(
                    "direct get on {subject} since {since} answered {code}"
                )))
            }
        }
        let first = reply
            .headers
            .as_ref()
            .and_then(|h| h.get("Nats-Sequence"))
            .and_then(|v| v.as_str().parse::<u64>().ok())
            .ok_or_else(|| StoreError::unavailable("direct get without Nats-Sequence"))?;
        self.read_subject(subject, first).await
    }

    /// Removes every message of `subject` (esrs' `delete`; Aurora itself never deletes history).
    pub async fn purge_subject(&self, subject: &str) -> Result<(), StoreError> {
        let stream = self.events_stream().await?;
        stream
            .purge()
            .filter(subject)
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }
}

/// Appends one domain event of `aggregate` `id` of `tenant` outside an esrs aggregate (for logs
/// whose state is carried in their last event, like the correlator's): CloudEvents headers as for
/// every event, `Nats-Msg-Id` from `context`, optimistic concurrency on the subject.
/// Returns the event's stream sequence and whether JetStream already held it.
#[allow(clippy::too_many_arguments)]
pub async fn append_event<E: aurora_domain::DomainEvent>(
    log: &EventLog,
    tenant: &aurora_domain::TenantId,
    aggregate: &str,
    id: Uuid,
    expected_last: u64,
    aggregate_sequence: i32,
    event: &E,
    context: &crate::envelope::Context,
) -> Result<(u64, bool), StoreError> {
    let subject = crate::subjects::aggregate(tenant, aggregate, id);
    let body = serde_json::to_vec(event).map_err(StoreError::Encode)?;
    let source = format!("/aurora/{tenant}/{aggregate}");
    let headers = crate::envelope::Outgoing {
        id: context.event_id(&subject, 0),
        source: &source,
        event_type: event.event_type(),
        subject_id: id,
        time: Utc::now(),
        aggregate_sequence,
        version: <E as esrs::event::Upcaster>::current_version(),
        context,
    }
    .headers();
    let (sequences, duplicate) = log
        .append_checked(
            &subject,
            expected_last,
            vec![Append {
                headers,
                body: Bytes::from(body),
            }],
        )
        .await?;
    Ok((sequences.first().copied().unwrap_or(0), duplicate))
}
