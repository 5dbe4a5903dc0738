//! Following one subject of `EVENTS` as it grows, for readers that show events live (the
//! gateway's Server-Sent Events of an investigation).
//!
//! An ordered consumer: ephemeral, unacknowledged, and recreated by the client from the last
//! sequence it delivered if it misses a message, so events arrive once and in stream order. The
//! server removes it once nobody pulls from it (the follower was dropped).

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use futures::{Stream, StreamExt};

use crate::envelope::RawEvent;
use crate::log::{EventLog, StoreError};
use crate::subjects::EVENTS_STREAM;

/// The events of `subject` after stream sequence `after` (0: all of them), then each new one as
/// it is stored; the stream does not end by itself.
pub async fn follow(
    log: &EventLog,
    subject: &str,
    after: u64,
) -> Result<impl Stream<Item = Result<RawEvent, StoreError>> + Send + 'static, StoreError> {
    let stream = log
        .jetstream()
        .get_stream_no_info(EVENTS_STREAM)
        .await
        .map_err(StoreError::unavailable)?;
    let deliver_policy = match after {
        0 => DeliverPolicy::All,
        _ => DeliverPolicy::ByStartSequence {
            start_sequence: after + 1,
        },
    };
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            filter_subject: subject.to_owned(),
            deliver_policy,
            ..Default::default()
        })
        .await
        .map_err(StoreError::unavailable)?;
    let messages = consumer.messages().await.map_err(StoreError::unavailable)?;
    Ok(messages.map(move |message| {
        let message = message.map_err(StoreError::unavailable)?;
        let info = message.info().map_err(StoreError::unavailable)?;
        Ok(RawEvent::decode(
            message.subject.as_str(),
            info.stream_sequence,
            message.headers.as_ref(),
            &message.payload,
            info.published,
        )?)
    }))
}
