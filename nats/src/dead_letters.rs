//! The `DEAD_LETTERS` stream: writing a dead letter (for the consumer runner), and listing,
//! retrying and dropping them (for `aurora dead-letters`). A dead letter's id is its sequence in
//! that stream.

use std::time::Duration;

use async_nats::jetstream::{self, consumer, message::PublishMessage};
use async_nats::HeaderMap;
use futures::StreamExt;

use crate::dead_letter::{DeadLetter, NotADeadLetter};
use crate::subjects::{self, DEAD_LETTERS_STREAM, EVENTS_STREAM};

/// How long listing waits for the next dead letter before deciding there is none.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error("no dead letter {0}")]
    NotFound(u64),
    /// Events are the system of record: appending one again would change history, and a
    /// projector only ever moves forward. The remedy is a fix and a replay of the projector.
    #[error(
        "dead letter {id} is event {stream_sequence} of EVENTS (consumer {consumer}); events are \
         never republished: fix the projector, run `aurora replay` for it, then drop this dead letter"
    )]
    EventNotRetried {
        id: u64,
        consumer: String,
        stream_sequence: u64,
    },
    #[error(transparent)]
    Malformed(#[from] NotADeadLetter),
    #[error("JetStream: {context}")]
    Unavailable {
        context: String,
        #[source]
        source: async_nats::Error,
    },
}

fn unavailable(context: impl Into<String>) -> impl FnOnce(async_nats::Error) -> DeadLetterError {
    let context = context.into();
    move |source| DeadLetterError::Unavailable { context, source }
}

/// A dead letter as listed: its id and what it holds.
#[derive(Debug, Clone)]
pub struct Listed {
    pub id: u64,
    pub letter: DeadLetter,
}

/// Stores `letter` under `dead.<tenant>.<consumer>`; returns when JetStream holds it.
pub async fn write(js: &jetstream::Context, letter: &DeadLetter) -> Result<u64, DeadLetterError> {
    let subject = subjects::dead_letter(&letter.origin.subject, &letter.origin.consumer);
    let message = PublishMessage::build()
        .headers(letter.headers())
        .payload(letter.payload.clone());
    let context = || format!("storing a dead letter on {subject}");
    let ack = js
        .send_publish(subject.clone(), message)
        .await
        .map_err(|e| unavailable(context())(e.into()))?
        .await
        .map_err(|e| unavailable(context())(e.into()))?;
    Ok(ack.sequence)
}

async fn stream(js: &jetstream::Context) -> Result<jetstream::stream::Stream, DeadLetterError> {
    js.get_stream(DEAD_LETTERS_STREAM)
        .await
        .map_err(|e| unavailable("opening the DEAD_LETTERS stream")(e.into()))
}

/// Every dead letter, oldest first; only `consumer`'s when given.
pub async fn list(
    js: &jetstream::Context,
    consumer: Option<&str>,
) -> Result<Vec<Listed>, DeadLetterError> {
    let mut stream = stream(js).await?;
    let info = stream
        .info()
        .await
        .map_err(|e| unavailable("reading DEAD_LETTERS")(e.into()))?;
    // An ordered consumer on an empty stream would wait for a first message that never comes.
    if info.state.messages == 0 {
        return Ok(Vec::new());
    }
    let filter = subjects::dead_letters_of(consumer);
    let reader = stream
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subject: filter.clone(),
            ..Default::default()
        })
        .await
        .map_err(|e| unavailable("reading DEAD_LETTERS")(e.into()))?;
    // With a filter, nothing may match; the consumer knows how many do before it delivers.
    let mut reader = reader;
    let matching = reader
        .info()
        .await
        .map_err(|e| unavailable("reading DEAD_LETTERS")(e.into()))?
        .num_pending;
    let mut letters = Vec::new();
    if matching == 0 {
        return Ok(letters);
    }
    let mut messages = reader
        .messages()
        .await
        .map_err(|e| unavailable("reading DEAD_LETTERS")(e.into()))?;
    loop {
        let message = tokio::time::timeout(READ_TIMEOUT, messages.next())
            .await
            .map_err(|e| unavailable("reading DEAD_LETTERS")(e.into()))?;
        let Some(message) = message else { break };
        let message = message.map_err(|e| unavailable("reading DEAD_LETTERS")(e.into()))?;
        let info = message
            .info()
            .map_err(|e| unavailable("reading DEAD_LETTERS")(e))?;
        let (id, pending) = (info.stream_sequence, info.pending);
        let headers = message.headers.clone().unwrap_or_else(HeaderMap::new);
        letters.push(Listed {
            id,
            letter: DeadLetter::read(id, &headers, message.payload.clone())?,
        });
        if pending == 0 {
            break;
        }
    }
    Ok(letters)
}

/// The dead letter `id`.
pub async fn get(js: &jetstream::Context, id: u64) -> Result<DeadLetter, DeadLetterError> {
    let stream = stream(js).await?;
    let message = match stream.get_raw_message(id).await {
        Ok(message) => message,
        Err(e)
            if matches!(
                e.kind(),
                jetstream::stream::RawMessageErrorKind::NoMessageFound
            ) =>
        {
            return Err(DeadLetterError::NotFound(id))
        }
        Err(e) => return Err(unavailable(format!("reading dead letter {id}"))(e.into())),
    };
    Ok(DeadLetter::read(id, &message.headers, message.payload)?)
}

/// Republishes dead letter `id` to its original subject, so the consumer it came from gets it
/// again as a new message, then removes it. Returns the new message's stream sequence.
pub async fn retry(js: &jetstream::Context, id: u64) -> Result<u64, DeadLetterError> {
    let letter = get(js, id).await?;
    if letter.origin.stream == EVENTS_STREAM {
        return Err(DeadLetterError::EventNotRetried {
            id,
            consumer: letter.origin.consumer,
            stream_sequence: letter.origin.stream_sequence,
        });
    }
    // Without the original's `Nats-Msg-Id`: inside the stream's duplicate window JetStream would
    // take the republished message for the one already stored and drop it.
    let mut headers = HeaderMap::new();
    for (name, values) in letter.headers.iter() {
        let name: &str = name.as_ref();
        if name != "Nats-Msg-Id" {
            for value in values {
                headers.append(name, value.as_str());
            }
        }
    }
    let subject = letter.origin.subject.clone();
    let context = || format!("republishing dead letter {id} to {subject}");
    let ack = js
        .send_publish(
            subject.clone(),
            PublishMessage::build()
                .headers(headers)
                .payload(letter.payload),
        )
        .await
        .map_err(|e| unavailable(context())(e.into()))?
        .await
        .map_err(|e| unavailable(context())(e.into()))?;
    drop_letter(js, id).await?;
    Ok(ack.sequence)
}

/// Removes dead letter `id`.
pub async fn drop_letter(js: &jetstream::Context, id: u64) -> Result<(), DeadLetterError> {
    // Read first: deleting past the stream's end is a server error, not "not found", and an id
    // must name a dead letter, not any message that happens to sit there.
    get(js, id).await?;
    let stream = stream(js).await?;
    match stream.delete_message(id).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(DeadLetterError::NotFound(id)),
        Err(e)
            if matches!(e.kind(), jetstream::stream::DeleteMessageErrorKind::JetStream(inner)
                if inner.error_code() == jetstream::ErrorCode::SEQUENCE_NOT_FOUND) =>
        {
            Err(DeadLetterError::NotFound(id))
        }
        Err(e) => Err(unavailable(format!("removing dead letter {id}"))(e.into())),
    }
}
