//! The consumer runner: pulls from a durable consumer in batches, hands each batch to a handler,
//! and acks only after the handler says its effect is durable. It is the only code that acks,
//! naks, backs off or dead-letters.
//!
//! A message the handler cannot handle however often it comes back (it says which, with
//! [`HandlerError::Poison`]) is retried like any failure until it has failed as many deliveries as
//! its consumer's `max_deliver` (`streams.yaml`; -1 = never give up); then it is written to the
//! `DEAD_LETTERS` stream with its error and origin, acked, and the rest of its batch goes on
//! without it.
//!
//! Batches form naturally: the runner waits for one message, then takes what arrives within a
//! millisecond (up to `max_batch`). Under load batches are large (one Postgres transaction for
//! hundreds of events); when idle a single event is handled almost at once.
//!
//! When spans are exported, each handling of a batch is a `consume` span that continues the
//! trace of the batch's first message and links the others' traces: one span per unit of work
//! (a projector's transaction is one), found from every message's trace.

use std::collections::HashMap;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::PullConsumer, AckKind};
use async_nats::HeaderMap;
use aurora_telemetry::metrics::ConsumerMetrics;
use aurora_telemetry::trace;
use aurora_telemetry::Metrics;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::{FutureExt, StreamExt};
use tokio::sync::watch;
use tracing::Instrument;

use crate::dead_letter::{DeadLetter, Origin};

/// How long a batch waits for more messages after its first.
const GATHER: Duration = Duration::from_millis(1);
/// How often a running consumer's lag is read from JetStream: a scrape sees it at most this old,
/// for one JetStream API request per consumer per period.
const LAG_EVERY: Duration = Duration::from_secs(1);

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

impl Delivery {
    /// The W3C trace context the message carries, if any.
    pub fn traceparent(&self) -> Option<&str> {
        Some(self.headers.as_ref()?.get(trace::TRACEPARENT)?.as_str())
    }
}

/// What a handler says about a batch it could not apply.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Retry the whole batch later (database down, conflict…).
    #[error("transient: {0}")]
    Transient(String),
    /// The message at `stream_sequence` cannot be handled, and would fail the same way again
    /// (an event that does not load, a body no code reads): it counts towards its dead-lettering.
    #[error("message {stream_sequence} cannot be handled: {reason}")]
    Poison {
        stream_sequence: u64,
        reason: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error("cannot read consumer {consumer}")]
    Stream {
        consumer: String,
        #[source]
        source: async_nats::Error,
    },
}

/// Runs until `shutdown` turns true. A batch the handler fails is retried, unchanged and in
/// order, with exponential backoff until it succeeds (or shutdown naks it for redelivery); the
/// runner itself only stops on shutdown or if the consumer cannot be read at all.
///
/// The consumer's lag (read from JetStream every [`LAG_EVERY`] while it runs), redeliveries and
/// dead letters are counted into `metrics`.
pub async fn run<H, Fut>(
    consumer: PullConsumer,
    max_batch: usize,
    metrics: Metrics,
    shutdown: watch::Receiver<bool>,
    handler: H,
) -> Result<(), RunnerError>
where
    H: FnMut(Vec<Delivery>) -> Fut,
    Fut: std::future::Future<Output = Result<(), HandlerError>>,
{
    run_gathering(consumer, max_batch, GATHER, metrics, shutdown, handler).await
}

/// [`run`], waiting `gather` after a batch's first message for more. With `Duration::ZERO` a
/// batch is what had already arrived: no added latency, for consumers where a person waits on
/// every message.
#[tracing::instrument(skip_all, fields(consumer = %consumer.cached_info().name), err)]
pub async fn run_gathering<H, Fut>(
    consumer: PullConsumer,
    max_batch: usize,
    gather: Duration,
    metrics: Metrics,
    mut shutdown: watch::Receiver<bool>,
    mut handler: H,
) -> Result<(), RunnerError>
where
    H: FnMut(Vec<Delivery>) -> Fut,
    Fut: std::future::Future<Output = Result<(), HandlerError>>,
{
    let info = consumer.cached_info();
    let series = metrics.consumer(&info.name);
    let giving_up = GivingUp {
        stream: info.stream_name.clone(),
        consumer: info.name.clone(),
        max_deliver: info.config.max_deliver,
        series: series.clone(),
    };
    // The lag is read on a clock of its own, not per batch: a batch stuck in its handler (a
    // projector waiting on a lock) must still show what piles up behind it. Dropping the set
    // when the runner returns stops the reading.
    let keep_alive = keep_alive_every(info.config.ack_wait);
    let mut lag = tokio::task::JoinSet::new();
    lag.spawn(follow_lag(consumer.clone(), series.clone()));
    let mut messages = consumer
        .stream()
        .max_messages_per_batch(max_batch.max(1))
        .heartbeat(Duration::from_secs(5))
        .expires(Duration::from_secs(30))
        .messages()
        .await
        .map_err(|e| RunnerError::Stream {
            consumer: giving_up.consumer.clone(),
            source: e.into(),
        })?;
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
        count_redelivered(&series, &batch);
        // A failed batch is retried in place, never skipped: moving on to later messages would
        // let a projector's checkpoint pass events that then get dropped on redelivery. While
        // retrying, `Progress` keeps JetStream from redelivering the batch elsewhere.
        let mut backoff = Duration::from_millis(50);
        // Failed handlings per stream sequence in this in-place retry loop; JetStream's own
        // delivery count only grows on redelivery.
        let mut failures: HashMap<u64, i64> = HashMap::new();
        loop {
            if batch.is_empty() {
                break;
            }
            let deliveries: Vec<Delivery> = batch.iter().filter_map(to_delivery).collect();
            let handling = async {
                if trace::exporting() {
                    let span = batch_span(&giving_up.consumer, &deliveries);
                    span.in_scope(|| handler(deliveries)).instrument(span).await
                } else {
                    handler(deliveries).await
                }
            };
            let handled = still_working(handling, &batch, keep_alive).await;
            match handled {
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
                    if let HandlerError::Poison {
                        stream_sequence,
                        reason,
                    } = &e
                    {
                        let failed = failures.entry(*stream_sequence).or_insert(0);
                        *failed += 1;
                        if giving_up
                            .dead_letter(&mut batch, *stream_sequence, *failed, reason)
                            .await
                        {
                            // The rest of the batch goes on at once, without it.
                            continue;
                        }
                    }
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

/// When and where a consumer gives up on a message.
struct GivingUp {
    stream: String,
    consumer: String,
    /// Deliveries a message may fail before it is dead-lettered; ≤ 0 means never.
    max_deliver: i64,
    /// Where it counts what it dead-letters.
    series: ConsumerMetrics,
}

impl GivingUp {
    /// Dead-letters the message at `stream_sequence` if it has now failed `max_deliver`
    /// deliveries (`failed` of them in this run, the rest before a redelivery), acks it and takes
    /// it out of `batch`. Returns whether it did.
    async fn dead_letter(
        &self,
        batch: &mut Vec<jetstream::Message>,
        stream_sequence: u64,
        failed: i64,
        reason: &str,
    ) -> bool {
        let Some(index) = batch
            .iter()
            .position(|m| m.info().is_ok_and(|i| i.stream_sequence == stream_sequence))
        else {
            return false;
        };
        let m = &batch[index];
        let Ok(info) = m.info() else { return false };
        // `delivered` counts the current delivery, which is the first of the `failed` ones.
        let deliveries = info.delivered - 1 + failed;
        if self.max_deliver <= 0 || deliveries < self.max_deliver {
            return false;
        }
        let letter = DeadLetter {
            error: reason.to_owned(),
            origin: Origin {
                stream: self.stream.clone(),
                consumer: self.consumer.clone(),
                stream_sequence,
                subject: m.subject.to_string(),
                deliveries,
                failed_at: Utc::now(),
            },
            headers: m.headers.clone().unwrap_or_default(),
            payload: m.payload.clone(),
        };
        match crate::dead_letters::write(&m.context, &letter).await {
            Ok(id) => {
                self.series.dead_lettered.inc();
                tracing::error!(consumer = %self.consumer, subject = %letter.origin.subject, stream_sequence, deliveries, dead_letter = id, %reason, "gave up on a message: dead-lettered");
                if let Err(e) = m.ack().await {
                    // The dead letter is stored under an id naming this delivery: a redelivery
                    // that fails again is stored once.
                    tracing::warn!(error = %e, "ack of a dead-lettered message failed");
                }
                batch.remove(index);
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, stream_sequence, "cannot dead-letter; retrying instead");
                false
            }
        }
    }
}

/// The batch's redeliveries.
fn count_redelivered(series: &ConsumerMetrics, batch: &[jetstream::Message]) {
    for m in batch {
        if m.info().is_ok_and(|i| i.delivered > 1) {
            series.redeliveries.inc();
        }
    }
}

/// How often a batch still in its handler tells JetStream it is being worked on: twice per
/// `ack_wait`, so a handling that takes longer (a large document being embedded) is not
/// redelivered to another process meanwhile, which would do the same work again.
fn keep_alive_every(ack_wait: Duration) -> Duration {
    (ack_wait / 2).max(Duration::from_millis(500))
}

/// Awaits `handling`, acknowledging the batch's messages as in progress every `every` while it
/// runs. A quick handling (nearly all) never reaches the first tick.
async fn still_working<T>(
    handling: impl std::future::Future<Output = T>,
    batch: &[jetstream::Message],
    every: Duration,
) -> T {
    tokio::pin!(handling);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tokio::select! {
            done = &mut handling => return done,
            _ = tick.tick() => {
                for m in batch {
                    let _ = m.ack_with(AckKind::Progress).await;
                }
            }
        }
    }
}

/// Sets `series.pending` to what `consumer` has still to handle — not yet delivered, or
/// delivered and not yet acknowledged — every [`LAG_EVERY`], until the task is dropped.
async fn follow_lag(consumer: PullConsumer, series: ConsumerMetrics) {
    let mut every = tokio::time::interval(LAG_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match consumer.get_info().await {
            Ok(info) => {
                let lag = info.num_pending.saturating_add(info.num_ack_pending as u64);
                series.pending.set(i64::try_from(lag).unwrap_or(i64::MAX));
            }
            // The last figure stands until JetStream answers again.
            Err(e) => tracing::debug!(error = %e, "consumer info unavailable; lag not read"),
        }
    }
}

/// The span of one handling of a batch (only made when spans are exported): a root of its own,
/// not a child of the consumer's endless run, continuing the first message's trace and linking
/// the others' (see [`trace::continue_batch`]).
fn batch_span(consumer: &str, deliveries: &[Delivery]) -> tracing::Span {
    let span = tracing::info_span!(parent: None, "consume", consumer, messages = deliveries.len());
    trace::continue_batch(&span, deliveries.iter().filter_map(Delivery::traceparent));
    span
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
