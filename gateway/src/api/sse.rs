//! How every Server-Sent Events answer of the API is delivered (an investigation's run, the
//! organisation's event stream): `id:` is the event's `EVENTS` stream sequence, so a client
//! resumes with `Last-Event-ID`; a comment line keeps an idle connection open; the server
//! stopping ends the stream; and a client that stops reading is dropped.
//!
//! Events go from their source ([`aurora_nats::follow`]) through a bounded
//! channel to the response. A client that does not read fills the socket, then the channel; a
//! send that stays blocked for the configured time ends the stream, which drops the consumer.
//! The server's memory per client is therefore at most the channel, never the client's backlog,
//! and the client loses nothing: it reconnects with the last `id:` it read.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use aurora_nats::{RawEvent, StoreError};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, KeepAliveStream, Sse};
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use tokio::sync::mpsc;

use super::{ApiError, AppState};

const LAST_EVENT_ID: &str = "last-event-id";

/// The answer of an event-stream route.
pub type EventStream = Sse<KeepAliveStream<BoxStream<'static, Result<Event, Infallible>>>>;

/// The `Last-Event-ID` a reconnecting client sends (`None` when it sends none).
pub fn last_event_id(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get(LAST_EVENT_ID) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_last_event_id",
                format!(
                    "Last-Event-ID {value:?} is not an event id of this stream (a stream sequence)"
                ),
            )
        })
}

/// Delivers `events` (each turned into a message by `message`) to the client: through a channel
/// of `sse_buffer` messages, with heartbeats, ending when `events` ends or fails (the client
/// resumes after the last id it read), when the server stops, or when the client has not taken a
/// message for `sse_slow_client_secs`.
pub fn deliver<S, F>(state: &AppState, events: S, message: F) -> EventStream
where
    S: Stream<Item = Result<Arc<RawEvent>, StoreError>> + Send + 'static,
    F: Fn(&RawEvent) -> Event + Send + 'static,
{
    let config = &state.config;
    let (sender, receiver) = mpsc::channel(config.sse_buffer.max(1));
    let patience = Duration::from_secs(config.sse_slow_client_secs);
    tokio::spawn(pump(events.boxed(), message, sender, patience));
    let mut stop = state.shutdown.clone();
    // The server stopping ends the stream (the client reconnects to another gateway).
    // The stream counts as open until the response body drops it (the client gone, or ended).
    let open = state.services.metrics.sse_stream_opened();
    let messages = futures::stream::unfold((receiver, open), |(mut receiver, open)| async move {
        let message = receiver.recv().await?;
        Some((Ok(message), (receiver, open)))
    })
    .take_until(async move {
        let _ = stop.wait_for(|stopped| *stopped).await;
    })
    .boxed();
    Sse::new(messages).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(config.sse_heartbeat_secs.max(1)))
            .text("keep-alive"),
    )
}

/// Moves events from the log to the client's channel until one side ends.
async fn pump<F>(
    mut events: BoxStream<'static, Result<Arc<RawEvent>, StoreError>>,
    message: F,
    sender: mpsc::Sender<Event>,
    patience: Duration,
) where
    F: Fn(&RawEvent) -> Event,
{
    loop {
        let next = tokio::select! {
            next = events.next() => next,
            // The client went away while nothing happened: release the consumer now rather
            // than at the next event, which may never come.
            () = sender.closed() => return,
        };
        let raw = match next {
            Some(Ok(raw)) => raw,
            Some(Err(e)) => {
                // The client reconnects with Last-Event-ID and misses nothing.
                tracing::warn!(error = %e, "an event stream stopped");
                return;
            }
            None => return,
        };
        match tokio::time::timeout(patience, sender.send(message(&raw))).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return,
            Err(_) => {
                tracing::info!(
                    sequence = raw.stream_sequence,
                    "an event stream's client stopped reading; it is dropped"
                );
                return;
            }
        }
    }
}
