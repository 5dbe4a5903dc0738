//! Following the log as it grows, for readers that show events live (the gateway's Server-Sent
//! Events: the organisation's stream, an investigation's run).
//!
//! One ordered consumer per process follows every event ([`Follower`]), and each reader gets the
//! events of its tenant that match its subject filter through an in-memory broadcast: a thousand
//! open streams cost the server one consumer, not a thousand. A reader that starts behind the
//! live position (a reconnect's `Last-Event-ID`, a replay) first reads what it missed with an
//! ordered consumer of its own, then goes on live without a gap or a repeat.
//!
//! Events arrive once and in stream order. A reader that falls more than [`BACKLOG`] events
//! behind its tenant's live events is ended: it resumes after the last event it got, as a client
//! of an event stream does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use futures::stream::BoxStream;
use futures::StreamExt;
use tokio::sync::{broadcast, OnceCell};

use aurora_domain::TenantId;

use crate::envelope::RawEvent;
use crate::log::{EventLog, StoreError};
use crate::subjects::{self, covers, EVENTS_STREAM};

/// Live events a reader may fall behind by before it is ended.
pub const BACKLOG: usize = 4096;

/// How long the process's consumer waits before following again after it failed.
const RESTART_AFTER: Duration = Duration::from_millis(500);

/// Every event of the log as it is stored, for any number of readers. Cheap to clone; the
/// consumer starts with the first reader and stops when the last clone is dropped.
#[derive(Clone)]
pub struct Follower {
    inner: Arc<Inner>,
}

struct Inner {
    log: EventLog,
    hub: Mutex<Hub>,
    started: OnceCell<tokio::task::AbortHandle>,
}

struct Hub {
    /// The stream sequence of the last event handed out, or where following started.
    position: u64,
    /// A sender per tenant with readers.
    tenants: HashMap<String, broadcast::Sender<Arc<RawEvent>>>,
}

/// Where a reader starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// With what is stored next.
    Now,
    /// After this stream sequence (0: every event).
    After(u64),
}

impl Follower {
    pub fn new(log: EventLog) -> Self {
        Self {
            inner: Arc::new(Inner {
                log,
                hub: Mutex::new(Hub {
                    position: 0,
                    tenants: HashMap::new(),
                }),
                started: OnceCell::new(),
            }),
        }
    }

    /// The events of `tenant` that one of `filters` matches (subjects of the tenant's own, as
    /// [`subjects::events_of`] makes them; not overlapping), from `start` on; the stream does not
    /// end by itself.
    pub async fn follow(
        &self,
        tenant: &TenantId,
        filters: Vec<String>,
        start: Start,
    ) -> Result<BoxStream<'static, Result<Arc<RawEvent>, StoreError>>, StoreError> {
        let tenant = tenant.as_str();
        self.started().await?;
        // Subscribed before the position is read, under the lock the consumer hands out under:
        // every event after `position` reaches `live`.
        let (live, position) = {
            let mut hub = self.inner.lock();
            let sender = hub
                .tenants
                .entry(tenant.to_owned())
                .or_insert_with(|| broadcast::channel(BACKLOG).0);
            (sender.subscribe(), hub.position)
        };
        let after = match start {
            Start::Now => position,
            Start::After(after) => after,
        };
        let missed = if after < position {
            catch_up(&self.inner.log, &filters, after).await?
        } else {
            None
        };
        let reader = Reader {
            missed,
            live,
            filters,
            last: after,
            _counted: self.inner.log.metrics().live_reader(),
        };
        Ok(futures::stream::unfold(reader, Reader::next).boxed())
    }

    /// Starts the process's consumer, with what is stored next, unless it runs.
    async fn started(&self) -> Result<(), StoreError> {
        self.inner
            .started
            .get_or_try_init(|| async {
                let position = self.inner.log.last_sequence().await?;
                self.inner.lock().position = position;
                let task = tokio::spawn(run(Arc::downgrade(&self.inner)));
                Ok::<_, StoreError>(task.abort_handle())
            })
            .await
            .map(|_| ())
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Hub> {
        self.hub
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Hands `event` (at `sequence`; `None` when it is not an event) to its tenant's readers.
    fn hand_out(&self, sequence: u64, event: Option<RawEvent>) {
        let mut hub = self.lock();
        hub.position = sequence;
        let Some(event) = event else { return };
        let Some(tenant) = subjects::parse_event_subject(&event.subject).map(|s| s.tenant) else {
            return;
        };
        if let Some(sender) = hub.tenants.get(tenant.as_str()) {
            if sender.send(Arc::new(event)).is_err() {
                // Its last reader is gone.
                hub.tenants.remove(tenant.as_str());
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = self.started.get() {
            task.abort();
        }
    }
}

/// The process's consumer: follows every event from the hub's position and hands each out,
/// starting again after the last one handed out when it fails.
async fn run(inner: Weak<Inner>) {
    loop {
        let Some((log, position)) = inner
            .upgrade()
            .map(|inner| (inner.log.clone(), inner.lock().position))
        else {
            return;
        };
        match ordered(&log, &["evt.>".to_owned()], position).await {
            Ok((mut messages, _)) => {
                while let Some(message) = messages.next().await {
                    let Some(inner) = inner.upgrade() else { return };
                    match message {
                        Ok((sequence, event)) => inner.hand_out(sequence, event),
                        Err(e) => {
                            tracing::warn!(error = %e, "live events stopped; following again");
                            break;
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "live events cannot be followed; trying again"),
        }
        tokio::time::sleep(RESTART_AFTER).await;
    }
}

type Messages = BoxStream<'static, Result<(u64, Option<RawEvent>), StoreError>>;

/// An ordered consumer of `filters` from after `after`: each message's stream sequence and the
/// event it holds (`None`, with a warning, for a message that is not an event), and how many
/// messages it had to deliver when it was made.
async fn ordered(
    log: &EventLog,
    filters: &[String],
    after: u64,
) -> Result<(Messages, u64), StoreError> {
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
            filter_subjects: filters.to_vec(),
            deliver_policy,
            ..Default::default()
        })
        .await
        .map_err(StoreError::unavailable)?;
    let pending = consumer.cached_info().num_pending;
    let messages = consumer.messages().await.map_err(StoreError::unavailable)?;
    let messages = messages
        .map(|message| {
            let message = message.map_err(StoreError::unavailable)?;
            let info = message.info().map_err(StoreError::unavailable)?;
            let event = RawEvent::decode(
                message.subject.as_str(),
                info.stream_sequence,
                message.headers.as_ref(),
                &message.payload,
                info.published,
            )
            .inspect_err(|e| tracing::warn!(error = %e, "not an event; skipped"))
            .ok();
            Ok((info.stream_sequence, event))
        })
        .boxed();
    Ok((messages, pending))
}

/// What a reader starting at `after` missed of `filters`: read with a consumer of its own, the
/// messages that matched when it was made; `None` when none did.
async fn catch_up(
    log: &EventLog,
    filters: &[String],
    after: u64,
) -> Result<Option<Messages>, StoreError> {
    let (messages, pending) = ordered(log, filters, after).await?;
    Ok((pending > 0).then(|| messages.take(pending as usize).boxed()))
}

/// One reader: what it missed, then the live events of its tenant that one of its filters
/// matches, each after the last it got.
struct Reader {
    missed: Option<Messages>,
    live: broadcast::Receiver<Arc<RawEvent>>,
    filters: Vec<String>,
    last: u64,
    _counted: aurora_telemetry::Open,
}

impl Reader {
    async fn next(mut self) -> Option<(Result<Arc<RawEvent>, StoreError>, Self)> {
        while let Some(missed) = &mut self.missed {
            match missed.next().await {
                Some(Ok((sequence, event))) => {
                    self.last = sequence;
                    if let Some(event) = event {
                        return Some((Ok(Arc::new(event)), self));
                    }
                }
                // The reader resumes after the last event it got.
                Some(Err(e)) => return Some((Err(e), self.ended())),
                None => self.missed = None,
            }
        }
        loop {
            match self.live.recv().await {
                Ok(event) => {
                    let wanted = self.filters.iter().any(|f| covers(f, &event.subject));
                    if event.stream_sequence > self.last && wanted {
                        self.last = event.stream_sequence;
                        return Some((Ok(event), self));
                    }
                }
                // Too far behind, or the follower is gone: ended, it resumes where it was.
                Err(
                    broadcast::error::RecvError::Lagged(_) | broadcast::error::RecvError::Closed,
                ) => {
                    return None;
                }
            }
        }
    }

    /// A reader that yields nothing more.
    fn ended(mut self) -> Self {
        self.missed = None;
        let (_, closed) = broadcast::channel(1);
        self.live = closed;
        self
    }
}
