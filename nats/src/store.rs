//! The JetStream event store behind `esrs`: [`AggregateStore`] is shared by the whole process (one
//! per aggregate type); [`JetStreamStore`] is that store scoped to one tenant and one command's
//! context, and implements [`esrs::store::EventStore`], so commands run through
//! [`esrs::manager::AggregateManager`].
//!
//! Loading is fast when `EVENTS` is huge: a cold load reads only the aggregate's own subject
//! (one batched direct get). A warm aggregate is kept in a bounded in-process cache of its events
//! with the stream sequence of the last one: `load` catches up from there (one round trip, usually
//! returning nothing), and the command path does not even do that — it decides on the cached
//! state and lets `Nats-Expected-Last-Subject-Sequence` catch a stale cache, which then costs a
//! reload and a retry ([`AggregateStore::execute`]). Other processes writing the same aggregate
//! are therefore safe, only slower.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aurora_domain::{DomainEvent, TenantId};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use esrs::event::Upcaster;
use esrs::manager::AggregateManager;
use esrs::store::{EventStore, EventStoreLockGuard, StoreEvent, UnlockOnDrop};
use esrs::{Aggregate, AggregateState};
use uuid::Uuid;

use crate::envelope::{Context, Outgoing, RawEvent};
use crate::log::{Append, EventLog, StoreError};
use crate::subjects;

/// How many aggregates the cache keeps; beyond it, entries are evicted (any one: the cache is an
/// accelerator, and a miss only costs a cold load).
const CACHE_CAPACITY: usize = 20_000;
/// How often a command is retried after losing a race with a concurrent writer.
pub const MAX_ATTEMPTS: u32 = 32;

struct Entry<E> {
    id: Uuid,
    occurred_on: DateTime<Utc>,
    aggregate_sequence: i32,
    version: Option<i32>,
    payload: E,
}

struct Cached<E> {
    events: Vec<Entry<E>>,
    last_stream_sequence: u64,
}

struct Shared<E> {
    log: EventLog,
    cache: Mutex<HashMap<String, Cached<E>>>,
    /// Commands that lost a race and were retried (observability, and the concurrency test).
    conflicts: AtomicU64,
}

/// The event store of one aggregate type, for every tenant. Cheap to clone.
pub struct AggregateStore<A: Aggregate> {
    shared: Arc<Shared<A::Event>>,
    _aggregate: PhantomData<fn() -> A>,
}

impl<A: Aggregate> Clone for AggregateStore<A> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
            _aggregate: PhantomData,
        }
    }
}

impl<A> AggregateStore<A>
where
    A: Aggregate + Send + Sync + 'static,
    A::Event: DomainEvent,
    A::State: Send + Sync,
    A::Command: Clone + Send,
    A::Error: Send,
{
    pub fn new(log: EventLog) -> Self {
        Self {
            shared: Arc::new(Shared {
                log,
                cache: Mutex::new(HashMap::new()),
                conflicts: AtomicU64::new(0),
            }),
            _aggregate: PhantomData,
        }
    }

    /// This store scoped to a tenant, writing `context` onto the events it persists.
    pub fn scoped(&self, tenant: &TenantId, context: Context) -> JetStreamStore<A> {
        JetStreamStore {
            shared: self.shared.clone(),
            tenant: tenant.clone(),
            context,
            _aggregate: PhantomData,
        }
    }

    /// Runs `command` on aggregate `id` of `tenant` through esrs' `AggregateManager`, retrying
    /// on conflicts with concurrent writers. `Ok(Err(_))` is the aggregate's refusal.
    pub async fn execute(
        &self,
        tenant: &TenantId,
        id: Uuid,
        command: A::Command,
        context: Context,
    ) -> Result<Result<A::State, A::Error>, StoreError> {
        let subject = subjects::aggregate(tenant, A::NAME, id);
        for attempt in 0..MAX_ATTEMPTS {
            let store = self.scoped(tenant, context.clone());
            let state = store.load_for_command(id).await?;
            let manager = AggregateManager::new(store);
            match manager.handle_command(state, command.clone()).await {
                Err(StoreError::Conflict { .. }) => {
                    self.shared.conflicts.fetch_add(1, Ordering::Relaxed);
                    // Someone else wrote first; the cache entry was dropped, so the next attempt
                    // reloads and decides again on the new state. Jittered exponential backoff
                    // keeps a crowd of writers on one aggregate from starving any of them.
                    tokio::time::sleep(backoff(attempt)).await;
                }
                other => return other,
            }
        }
        Err(StoreError::TooManyConflicts {
            subject,
            attempts: MAX_ATTEMPTS,
        })
    }

    /// The aggregate's state now (`None` if it has no events), verified against the log.
    pub async fn load(
        &self,
        tenant: &TenantId,
        id: Uuid,
    ) -> Result<Option<AggregateState<A::State>>, StoreError> {
        AggregateManager::new(self.scoped(tenant, Context::default()))
            .load(id)
            .await
    }

    /// How many command attempts lost a race with a concurrent writer so far.
    pub fn conflicts(&self) -> u64 {
        self.shared.conflicts.load(Ordering::Relaxed)
    }

    pub fn log(&self) -> &EventLog {
        &self.shared.log
    }

    /// Forgets every cached aggregate (benchmarks use it to measure cold loads).
    pub fn clear_cache(&self) {
        self.shared.lock().clear();
    }
}

impl<E> Shared<E> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cached<E>>> {
        // A panic while holding this lock cannot leave the map inconsistent (every critical
        // section is a single insert/remove/clone), so a poisoned lock is still usable.
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// [`AggregateStore`] scoped to one tenant and one command's context.
pub struct JetStreamStore<A: Aggregate> {
    shared: Arc<Shared<A::Event>>,
    tenant: TenantId,
    context: Context,
    _aggregate: PhantomData<fn() -> A>,
}

impl<A> JetStreamStore<A>
where
    A: Aggregate,
    A::Event: DomainEvent,
{
    fn subject(&self, id: Uuid) -> String {
        subjects::aggregate(&self.tenant, A::NAME, id)
    }

    fn source(&self) -> String {
        format!("/aurora/{}/{}", self.tenant, A::NAME)
    }

    /// The state to decide a command on: the cached events if warm (unverified — the append's
    /// expected sequence catches staleness), else a cold load.
    async fn load_for_command(&self, id: Uuid) -> Result<AggregateState<A::State>, StoreError> {
        let subject = self.subject(id);
        let warm = {
            let cache = self.shared.lock();
            cache.get(&subject).map(|c| to_store_events(id, &c.events))
        };
        let events = match warm {
            Some(events) => events,
            None => self.read_through(id).await?,
        };
        Ok(AggregateState::with_id(id).apply_store_events(events, A::apply_event))
    }

    /// Reads the subject (from the cached position when warm) and refreshes the cache.
    async fn read_through(&self, id: Uuid) -> Result<Vec<StoreEvent<A::Event>>, StoreError> {
        let subject = self.subject(id);
        let from = self
            .shared
            .lock()
            .get(&subject)
            .map_or(1, |c| c.last_stream_sequence + 1);
        let raw = self.shared.log.read_subject(&subject, from).await?;
        let mut fresh = Vec::with_capacity(raw.len());
        for event in raw {
            fresh.push((event.stream_sequence, decode::<A::Event>(event)?));
        }
        let caught_up = {
            let mut cache = self.shared.lock();
            if from == 1 {
                let last = fresh.last().map_or(0, |(seq, _)| *seq);
                let events: Vec<Entry<A::Event>> =
                    fresh.into_iter().map(|(_, entry)| entry).collect();
                if events.is_empty() {
                    cache.remove(&subject);
                    return Ok(Vec::new());
                }
                evict_if_full(&mut cache);
                let out = to_store_events(id, &events);
                cache.insert(
                    subject,
                    Cached {
                        events,
                        last_stream_sequence: last,
                    },
                );
                Some(out)
            } else if let Some(cached) = cache.get_mut(&subject) {
                if cached.last_stream_sequence + 1 == from {
                    for (seq, entry) in fresh {
                        cached.last_stream_sequence = seq;
                        cached.events.push(entry);
                    }
                }
                Some(to_store_events(id, &cached.events))
            } else {
                None
            }
        };
        match caught_up {
            Some(events) => Ok(events),
            // Evicted while we read: the catch-up alone is not the whole history.
            None => Box::pin(self.read_through(id)).await,
        }
    }

    /// The stream sequence the subject must still be at for a command decided on a state at
    /// `aggregate_sequence`.
    async fn expected_stream_sequence(
        &self,
        subject: &str,
        aggregate_sequence: i32,
    ) -> Result<u64, StoreError> {
        if aggregate_sequence == 0 {
            return Ok(0);
        }
        let cached = self.shared.lock().get(subject).and_then(|c| {
            let last = c.events.last()?.aggregate_sequence;
            (last == aggregate_sequence).then_some(c.last_stream_sequence)
        });
        if let Some(seq) = cached {
            return Ok(seq);
        }
        match self.shared.log.last_of(subject).await? {
            Some((stream_seq, seq)) if seq == aggregate_sequence => Ok(stream_seq),
            _ => Err(StoreError::Conflict {
                subject: subject.to_owned(),
                expected: 0,
            }),
        }
    }
}

/// A random delay in `[0, 100 µs · 2^attempt)`, at most ~50 ms.
fn backoff(attempt: u32) -> std::time::Duration {
    let ceiling_us = 100u64 << attempt.min(9);
    let random = Uuid::new_v4().as_u64_pair().0;
    std::time::Duration::from_micros(random % ceiling_us)
}

fn evict_if_full<E>(cache: &mut HashMap<String, Cached<E>>) {
    if cache.len() >= CACHE_CAPACITY {
        if let Some(key) = cache.keys().next().cloned() {
            cache.remove(&key);
        }
    }
}

fn decode<E: DomainEvent>(raw: RawEvent) -> Result<Entry<E>, StoreError> {
    let payload = E::upcast(raw.data, raw.version).map_err(|source| StoreError::Upcast {
        subject: raw.subject.clone(),
        stream_sequence: raw.stream_sequence,
        source,
    })?;
    Ok(Entry {
        id: raw.id,
        occurred_on: raw.time,
        aggregate_sequence: raw.aggregate_sequence,
        version: raw.version,
        payload,
    })
}

fn to_store_events<E: Clone>(aggregate_id: Uuid, entries: &[Entry<E>]) -> Vec<StoreEvent<E>> {
    entries
        .iter()
        .map(|e| StoreEvent {
            id: e.id,
            aggregate_id,
            payload: e.payload.clone(),
            occurred_on: e.occurred_on,
            sequence_number: e.aggregate_sequence,
            version: e.version,
        })
        .collect()
}

/// esrs' lock is advisory and in-process; we rely on optimistic concurrency on the subject
/// instead (it also holds across processes), so the guard holds nothing.
struct NoLock;
impl UnlockOnDrop for NoLock {}

#[async_trait]
impl<A> EventStore for JetStreamStore<A>
where
    A: Aggregate + Send + Sync,
    A::Event: DomainEvent,
    A::State: Send + Sync,
{
    type Aggregate = A;
    type Error = StoreError;

    async fn lock(&self, _aggregate_id: Uuid) -> Result<EventStoreLockGuard, StoreError> {
        Ok(EventStoreLockGuard::new(NoLock))
    }

    async fn by_aggregate_id(
        &self,
        aggregate_id: Uuid,
    ) -> Result<Vec<StoreEvent<A::Event>>, StoreError> {
        self.read_through(aggregate_id).await
    }

    async fn persist(
        &self,
        aggregate_state: &mut AggregateState<A::State>,
        events: Vec<A::Event>,
    ) -> Result<Vec<StoreEvent<A::Event>>, StoreError> {
        let id = *aggregate_state.id();
        let subject = self.subject(id);
        let decided_at = *aggregate_state.sequence_number();
        let expected = match self.expected_stream_sequence(&subject, decided_at).await {
            Ok(seq) => seq,
            Err(e) => {
                self.shared.lock().remove(&subject);
                return Err(e);
            }
        };
        let source = self.source();
        let single = events.len() == 1;
        let mut appends = Vec::with_capacity(events.len());
        let mut entries = Vec::with_capacity(events.len());
        for event in events {
            let entry = Entry {
                id: Uuid::now_v7(),
                occurred_on: Utc::now(),
                aggregate_sequence: aggregate_state.next_sequence_number(),
                version: A::Event::current_version(),
                payload: event,
            };
            let body = serde_json::to_vec(&entry.payload).map_err(StoreError::Encode)?;
            let headers = Outgoing {
                id: entry.id,
                source: &source,
                event_type: entry.payload.event_type(),
                subject_id: id,
                time: entry.occurred_on,
                aggregate_sequence: entry.aggregate_sequence,
                version: entry.version,
                context: &self.context,
            }
            .headers(single);
            appends.push(Append {
                headers,
                msg_id: single.then(|| entry.id.to_string()),
                body: Bytes::from(body),
            });
            entries.push(entry);
        }
        let sequences = match self.shared.log.append(&subject, expected, appends).await {
            Ok(seqs) => seqs,
            Err(e) => {
                self.shared.lock().remove(&subject);
                return Err(e);
            }
        };
        let out = to_store_events(id, &entries);
        let mut cache = self.shared.lock();
        let last = sequences.last().copied().unwrap_or(expected);
        match cache.get_mut(&subject) {
            Some(c) if c.last_stream_sequence == expected => {
                c.events.extend(entries);
                c.last_stream_sequence = last;
            }
            None if decided_at == 0 => {
                evict_if_full(&mut cache);
                cache.insert(
                    subject,
                    Cached {
                        events: entries,
                        last_stream_sequence: last,
                    },
                );
            }
            _ => {
                cache.remove(&subject);
            }
        }
        Ok(out)
    }

    async fn publish(&self, _store_events: &[StoreEvent<A::Event>]) {
        // Nothing to do: projections and external consumers read `EVENTS` itself.
    }

    async fn delete(&self, aggregate_id: Uuid) -> Result<(), StoreError> {
        let subject = self.subject(aggregate_id);
        self.shared.lock().remove(&subject);
        self.shared.log.purge_subject(&subject).await
    }
}
