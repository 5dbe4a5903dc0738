//! The consumer runner: pulls from a durable consumer in batches, hands each batch to a handler,
//! and acks only after the handler says its effect is durable. It is the only code that acks,
//! naks or backs off.
//!
//! Batches form naturally: the runner waits for one message, then takes what arrives within a
//! millisecond (up to `max_batch`). Under load batches are large (one Postgres transaction for
//! hundreds of events); when idle a single event is handled almost at once.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::PullConsumer, AckKind};
use async_nats::HeaderMap;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::{FutureExt, StreamExt};
use tokio::sync::watch;

/// How long a batch waits for more messages after its first.
const GATHER: Duration = Duration::from_millis(1);

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

/// Runs until `shutdown` turns true. A batch the handler fails is retried, unchanged and in
/// order, with exponential backoff until it succeeds (or shutdown naks it for redelivery); the
/// runner itself only stops on shutdown or if the consumer cannot be read at all.
pub async fn run<H, Fut>(
    consumer: PullConsumer,
    max_batch: usize,
    shutdown: watch::Receiver<bool>,
    handler: H,
) -> Result<(), RunnerError>
where
    H: FnMut(Vec<Delivery>) -> Fut,
    Fut: std::future::Future<Output = Result<(), HandlerError>>,
{
    run_gathering(consumer, max_batch, GATHER, shutdown, handler).await
}

/// [`run`], waiting `gather` after a batch's first message for more. With `Duration::ZERO` a
/// batch is what had already arrived: no added latency, for consumers where a person waits on
/// every message.
pub async fn run_gathering<H, Fut>(
    consumer: PullConsumer,
    max_batch: usize,
    gather: Duration,
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
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        }
        // Gather what arrives within `gather`: under load that makes batches (and thus
        // transactions) large; when idle it costs at most that long. With no gather, take only
        // what is already here, without a timer: tokio's timers round up to the next
        // millisecond, so even a zero timeout would hold the batch back by up to 1 ms.
        let gather_until = tokio::time::Instant::now() + gather;
        while batch.len() < max_batch {
            let next = if gather.is_zero() {
                messages.next().now_or_never().flatten()
            } else {
                tokio::time::timeout_at(gather_until, messages.next())
                    .await
                    .ok()
                    .flatten()
            };
            match next {
                Some(Ok(m)) => batch.push(m),
                _ => break,
            }
        }
        // A failed batch is retried in place, never skipped: moving on to later messages would
        // let a projector's checkpoint pass events that then get dropped on redelivery. While
        // retrying, `Progress` keeps JetStream from redelivering the batch elsewhere.
        let mut backoff = Duration::from_millis(50);
        loop {
            let deliveries: Vec<Delivery> = batch.iter().filter_map(to_delivery).collect();
            match handler(deliveries).await {
                Ok(()) => {
                    for m in &batch {
                        if let Err(e) = m.ack().await {
                            // The effect is durable and idempotent: a lost ack only means a
                            // redelivery that the handler will recognise.
                            tracing::warn!(error = %e, "ack failed");
                        }
                    }
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "handler failed; retrying the same batch");
                    for m in &batch {
                        let _ = m.ack_with(AckKind::Progress).await;
                    }
                    let stopping = tokio::select! {
                        _ = shutdown.wait_for(|stop| *stop) => true,
                        _ = tokio::time::sleep(backoff) => false,
                    };
                    if stopping {
                        for m in &batch {
                            let _ = m.ack_with(AckKind::Nak(None)).await;
                        }
                        return Ok(());
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
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
