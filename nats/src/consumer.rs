//! The consumer runner: pulls from a durable consumer in batches, hands each batch to a handler,
//! and acks only after the handler says its effect is durable. It is the only code that acks,
//! naks or backs off.
//!
//! Batches form naturally: the runner waits for one message, then takes every message that is
//! already buffered (up to `max_batch`). Under load batches are large (one Postgres transaction
//! for hundreds of events); when idle a single event is handled at once.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::PullConsumer, AckKind};
use async_nats::HeaderMap;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::{FutureExt, StreamExt};
use tokio::sync::watch;

/// One delivered message, as a handler sees it.
pub struct Delivery {
    pub subject: String,
    pub stream_sequence: u64,
    /// How many times it has been delivered (1 the first time).
    pub delivered: i64,
    pub headers: Option<HeaderMap>,
    pub payload: Bytes,
    pub published: DateTime<Utc>,
}

/// What a handler says about a batch it could not apply.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Retry the whole batch later (database down, conflict…).
    #[error("transient: {0}")]
    Transient(String),
}

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error("consumer stream failed: {0}")]
    Stream(String),
}

/// Runs until `shutdown` turns true. Errors from the handler are retried with exponential
/// backoff (messages are nak'ed with that delay); the runner itself only stops on shutdown or if
/// the consumer cannot be read at all.
pub async fn run<H, Fut>(
    consumer: PullConsumer,
    max_batch: usize,
    mut shutdown: watch::Receiver<bool>,
    mut handler: H,
) -> Result<(), RunnerError>
where
    H: FnMut(Vec<Delivery>) -> Fut,
    Fut: std::future::Future<Output = Result<(), HandlerError>>,
{
    let mut messages = consumer
        .stream()
        .max_messages_per_batch(max_batch.max(1))
        .heartbeat(Duration::from_secs(5))
        .expires(Duration::from_secs(30))
        .messages()
        .await
        .map_err(|e| RunnerError::Stream(e.to_string()))?;
    let mut backoff = Duration::from_millis(50);
    loop {
        let first = tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
            next = messages.next() => next,
        };
        let Some(first) = first else { return Ok(()) };
        let mut batch = Vec::with_capacity(max_batch);
        match first {
            Ok(m) => batch.push(m),
            Err(e) => {
                tracing::warn!(error = %e, "consumer read failed; retrying");
                tokio::time::sleep(backoff).await;
                continue;
            }
        }
        while batch.len() < max_batch {
            match messages.next().now_or_never() {
                Some(Some(Ok(m))) => batch.push(m),
                _ => break,
            }
        }
        let deliveries: Vec<Delivery> = batch.iter().filter_map(to_delivery).collect();
        match handler(deliveries).await {
            Ok(()) => {
                backoff = Duration::from_millis(50);
                for m in &batch {
                    if let Err(e) = m.ack().await {
                        // The effect is durable and idempotent: a lost ack only means a
                        // redelivery that the handler will recognise.
                        tracing::warn!(error = %e, "ack failed");
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, delay_ms = backoff.as_millis() as u64, "handler failed; will redeliver");
                for m in &batch {
                    let _ = m.ack_with(AckKind::Nak(Some(backoff))).await;
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}

fn to_delivery(m: &jetstream::Message) -> Option<Delivery> {
    let info = m.info().ok()?;
    Some(Delivery {
        subject: m.subject.to_string(),
        stream_sequence: info.stream_sequence,
        delivered: info.delivered,
        headers: m.headers.clone(),
        payload: m.payload.clone(),
        published: info.published,
    })
}
