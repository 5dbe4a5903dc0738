//! The JetStream event store behind `esrs`: [`AggregateStore`] is shared by the whole process (one
//! per aggregate type); [`JetStreamStore`] is that store scoped to one tenant and one command's
//! context, and implements [`esrs::store::EventStore`], so commands run through
//! [`esrs::manager::AggregateManager`].
//!
//! Loading is fast when `EVENTS` is huge. A cold load reads only the aggregate's own subject (one
//! batched direct get). Warm aggregates live in a bounded in-process cache as their folded state
//! plus the aggregate and stream sequence it is at: [`AggregateStore::load`] catches up from there
//! (one round trip that usually returns nothing) instead of re-reading from the start.
//!
//! The command path ([`AggregateStore::execute`]) is optimistic: it decides on the cached state
//! without asking the server (an aggregate it has never seen is assumed empty), and the append's
//! `Nats-Expected-Last-Subject-Sequence` is what catches a stale guess — then the cache entry is
//! dropped and the command reloads and decides again. A *refusal* or a *no-op* decided on an
//! unverified state is checked against the log before it is returned. So a warm command costs
//! one round trip (the
//! publish), and writers in other processes are safe, only slower.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aurora_domain::{DomainEvent, TenantId};
use aurora_telemetry::metrics::AggregateMetrics;
use bytes::Bytes;
use chrono::Utc;
use esrs::event::Upcaster;
use esrs::manager::AggregateManager;
use esrs::store::{EventStore, EventStoreLockGuard, StoreEvent, UnlockOnDrop};
use esrs::{Aggregate, AggregateState};
use rustc_hash::FxBuildHasher;
use uuid::Uuid;

use crate::envelope::{Context, Outgoing, RawEvent};
use crate::log::{Append, EventLog, StoreError};
use crate::subjects;

/// How many aggregates the cache keeps; beyond it, it starts over (the cache is an accelerator,
/// and a miss only costs a cold load).
const CACHE_CAPACITY: usize = 50_000;
/// How often a command is retried after losing a race with a concurrent writer.
pub const MAX_ATTEMPTS: u32 = 32;

/// One warm aggregate. `state` is `None` while a command has taken it out to decide on it. It is
/// boxed so that the map's slots stay small: the map is sized once for [`CACHE_CAPACITY`] and
/// never rehashes or moves states around.
struct Cached<S> {
    state: Option<Box<S>>,
    aggregate_sequence: i32,
    last_stream_sequence: u64,
}

/// In-process, per-aggregate mutual exclusion: the commands this process runs on one aggregate
/// run one after another, each deciding on the state the previous one left in the cache. Without
/// it they would all decide on the same state and all but one conflict, and a crowd of them (a
/// burst of alerts for one incident) could starve a command of its retries. Writers in other
/// processes are still caught by optimistic concurrency on the subject.
#[derive(Default)]
struct AggregateLocks {
    held: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>, FxBuildHasher>>,
}

impl AggregateLocks {
    fn map(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, Arc<tokio::sync::Mutex<()>>, FxBuildHasher>>
    {
        // Every critical section is a single lookup/insert/remove (see `Shared::lock`).
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits until this process runs nothing else on `subject`'s aggregate.
    async fn acquire(self: &Arc<Self>, subject: &str) -> AggregateLock {
        let mutex = self.map().entry(subject.to_owned()).or_default().clone();
        // Uncontended (the usual case) without polling the semaphore: a polled acquire spends
        // tokio's cooperative budget, and hundreds of commands in flight on one task then take
        // turns being told "not yet" (~14 polls a command in the backbone bench, not one).
        let guard = match mutex.clone().try_lock_owned() {
            Ok(guard) => guard,
            Err(_) => mutex.lock_owned().await,
        };
        AggregateLock {
            guard: Some(guard),
            subject: subject.to_owned(),
            locks: self.clone(),
        }
    }
}

/// Held while a command runs on an aggregate; the entry goes when nobody holds or awaits it.
struct AggregateLock {
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
    subject: String,
    locks: Arc<AggregateLocks>,
}

impl Drop for AggregateLock {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut held = self.locks.map();
        // Clones are only made under this map lock, so the count cannot grow meanwhile.
        if held
            .get(&self.subject)
            .is_some_and(|m| Arc::strong_count(m) == 1)
        {
            held.remove(&self.subject);
        }
    }
}

impl UnlockOnDrop for AggregateLock {}

struct Shared<S> {
    log: EventLog,
    cache: Mutex<HashMap<String, Cached<S>, FxBuildHasher>>,
    locks: Arc<AggregateLocks>,
    /// Commands that lost a race, and those decided again (`/metrics`, and the concurrency
    /// test).
    metrics: AggregateMetrics,
}

impl<S> Shared<S> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cached<S>, FxBuildHasher>> {
        // Every critical section is a single lookup/insert/remove, so a lock poisoned by a panic
        // elsewhere still guards a consistent map.
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Caches `state`, unless the cache already holds a later one.
    fn put(&self, subject: String, state: S, aggregate_sequence: i32, last_stream_sequence: u64) {
        let mut cache = self.lock();
        if cache
            .get(&subject)
            .is_some_and(|c| c.aggregate_sequence > aggregate_sequence)
        {
            return;
        }
        if cache.len() >= CACHE_CAPACITY && !cache.contains_key(&subject) {
            // Start over rather than evict one by one: amortised O(1), and a miss only costs a
            // cold load. (Removing "any one" entry repeatedly makes hash-map iteration crawl.)
            cache.clear();
        }
        cache.insert(
            subject,
            Cached {
                state: Some(Box::new(state)),
                aggregate_sequence,
                last_stream_sequence,
            },
        );
    }
}

impl<S> Shared<S> {
    /// Puts back a state taken out for a command that stored nothing.
    fn restore(&self, subject: &str, state: S, aggregate_sequence: i32) {
        if let Some(c) = self.lock().get_mut(subject) {
            if c.state.is_none() && c.aggregate_sequence == aggregate_sequence {
                c.state = Some(Box::new(state));
            }
        }
    }
}

/// What this store's persist did (read by `execute` after esrs returns).
#[derive(Debug, Clone, Copy)]
enum Persisted {
    Appended {
        aggregate_sequence: i32,
        stream_sequence: u64,
    },
    Duplicate,
}

/// What a command did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Executed {
    /// The aggregate's sequence number after the command.
    pub aggregate_sequence: i32,
    /// How many events it appended (0 for an idempotent repeat).
    pub events: usize,
    /// `EVENTS` stream sequence of the last event it appended (0 when it appended none): a
    /// caller that must read its own write waits until a projector's checkpoint reaches it.
    pub stream_sequence: u64,
}

/// The event store of one aggregate type, for every tenant. Cheap to clone.
pub struct AggregateStore<A: Aggregate> {
    shared: Arc<Shared<A::State>>,
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
    A::State: Clone + Send + Sync,
    A::Command: Clone + Send,
    A::Error: Send,
{
    pub fn new(log: EventLog) -> Self {
        Self {
            shared: Arc::new(Shared {
                cache: Mutex::new(HashMap::with_capacity_and_hasher(
                    CACHE_CAPACITY,
                    FxBuildHasher,
                )),
                locks: Arc::default(),
                metrics: log.metrics().aggregate(A::NAME),
                log,
            }),
            _aggregate: PhantomData,
        }
    }

    /// This store scoped to a tenant, writing `context` onto the events it persists.
    pub fn scoped(&self, tenant: &TenantId, context: Context) -> JetStreamStore<A> {
        self.scoped_shared(tenant, Arc::new(context))
    }

    fn scoped_shared(&self, tenant: &TenantId, context: Arc<Context>) -> JetStreamStore<A> {
        JetStreamStore {
            shared: self.shared.clone(),
            tenant: tenant.clone(),
            context,
            persisted: Mutex::new(None),
            _aggregate: PhantomData,
        }
    }

    /// Runs `command` on aggregate `id` of `tenant` through esrs' `AggregateManager`, retrying
    /// on conflicts with concurrent writers. `Ok(Err(_))` is the aggregate's refusal.
    // The command's span is at DEBUG: entered at every poll, an enabled span costs ~12k
    // instructions a command (15 % of it). What the store has to say at INFO and above is its
    // failure, and that line names the subject itself (`logged`).
    #[tracing::instrument(level = "debug", skip_all, fields(subject = %subjects::aggregate(tenant, A::NAME, id)))]
    pub async fn execute(
        &self,
        tenant: &TenantId,
        id: Uuid,
        command: A::Command,
        context: Context,
    ) -> Result<Result<Executed, A::Error>, StoreError> {
        Ok(
            logged(self.run(tenant, id, command, context, false).await, || {
                subjects::aggregate(tenant, A::NAME, id)
            })?
            .map(|(executed, _)| executed),
        )
    }

    /// [`execute`](Self::execute), also returning the aggregate's state after the command (for a
    /// caller that goes on from it without a second read).
    // The span's macro spells the return type out again, inside the body, where clippy counts it.
    #[allow(clippy::type_complexity)]
    #[tracing::instrument(level = "debug", skip_all, fields(subject = %subjects::aggregate(tenant, A::NAME, id)))]
    pub async fn execute_with_state(
        &self,
        tenant: &TenantId,
        id: Uuid,
        command: A::Command,
        context: Context,
    ) -> Result<Result<(Executed, A::State), A::Error>, StoreError> {
        Ok(
            logged(self.run(tenant, id, command, context, true).await, || {
                subjects::aggregate(tenant, A::NAME, id)
            })?
            .map(|(executed, state)| (executed, state.unwrap_or_default())),
        )
    }

    async fn run(
        &self,
        tenant: &TenantId,
        id: Uuid,
        command: A::Command,
        context: Context,
        want_state: bool,
    ) -> Result<Result<(Executed, Option<A::State>), A::Error>, StoreError> {
        // Shared by every attempt without copying its strings.
        let context = Arc::new(context);
        let subject = subjects::aggregate(tenant, A::NAME, id);
        let _running = self.shared.locks.acquire(&subject).await;
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                self.shared.metrics.retries.inc();
            }
            let store = self.scoped_shared(tenant, context.clone());
            let state = store.state_for_command(&subject, id);
            let decided_at = *state.sequence_number();
            let manager = AggregateManager::new(&store);
            match manager.handle_command(state, command.clone()).await {
                Ok(Ok(state)) => match store.persisted() {
                    Some(Persisted::Appended {
                        aggregate_sequence,
                        stream_sequence,
                    }) => {
                        // The new state goes back into the cache (copied only when asked for).
                        let returned = want_state.then(|| state.clone());
                        self.shared
                            .put(subject, state, aggregate_sequence, stream_sequence);
                        return Ok(Ok((
                            Executed {
                                aggregate_sequence,
                                events: (aggregate_sequence - decided_at) as usize,
                                stream_sequence,
                            },
                            returned,
                        )));
                    }
                    // JetStream already held this input's event (an earlier run whose ack was
                    // lost): it took effect once; report where the aggregate now is. (The loads
                    // off the append path are boxed: inline, their futures would enlarge every
                    // command's, which is copied as it is set up.)
                    Some(Persisted::Duplicate) => {
                        let now = Box::pin(self.load(tenant, id)).await?;
                        return Ok(Ok((
                            Executed {
                                aggregate_sequence: now
                                    .as_ref()
                                    .map_or(0, |s| *s.sequence_number()),
                                events: 0,
                                stream_sequence: 0,
                            },
                            now.map(|s| s.into_inner()),
                        )));
                    }
                    // Nothing to store (an idempotent repeat) — decided on an unverified state,
                    // so, as for a refusal, it stands only if the aggregate had not moved.
                    None => {
                        self.shared.restore(&subject, state, decided_at);
                        let now = Box::pin(self.load(tenant, id)).await?;
                        if now.as_ref().map_or(0, |s| *s.sequence_number()) == decided_at {
                            return Ok(Ok((
                                Executed {
                                    aggregate_sequence: decided_at,
                                    events: 0,
                                    stream_sequence: 0,
                                },
                                now.map(|s| s.into_inner()),
                            )));
                        }
                    }
                },
                Ok(Err(refusal)) => {
                    // The state was decided on unverified (and is gone into the refusal): load
                    // it, which also puts it back in the cache, and refuse only if it had not
                    // moved meanwhile.
                    let now = Box::pin(self.load(tenant, id)).await?;
                    if now.map_or(0, |s| *s.sequence_number()) == decided_at {
                        return Ok(Err(refusal));
                    }
                }
                Err(StoreError::Conflict { .. }) => {
                    self.shared.metrics.conflicts.inc();
                    // Someone else wrote first; the cache entry was dropped, so the next attempt
                    // reloads and decides again on the new state. Jittered exponential backoff
                    // keeps a crowd of writers on one aggregate from starving any of them.
                    tokio::time::sleep(backoff(attempt)).await;
                    Box::pin(self.load(tenant, id)).await?;
                }
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::TooManyConflicts {
            subject,
            attempts: MAX_ATTEMPTS,
        })
    }

    /// The aggregate's state now (`None` if it has no events), verified against the log: a warm
    /// aggregate is caught up from its cached position, a cold one read from its subject.
    #[tracing::instrument(level = "debug", skip_all, fields(subject = %subjects::aggregate(tenant, A::NAME, id)), err(level = "debug"))]
    pub async fn load(
        &self,
        tenant: &TenantId,
        id: Uuid,
    ) -> Result<Option<AggregateState<A::State>>, StoreError> {
        let subject = subjects::aggregate(tenant, A::NAME, id);
        let cached = {
            let cache = self.shared.lock();
            cache.get(&subject).and_then(|c| {
                Some((
                    A::State::clone(c.state.as_deref()?),
                    c.aggregate_sequence,
                    c.last_stream_sequence,
                ))
            })
        };
        let (mut state, mut aggregate_sequence, mut last) = cached.unwrap_or_default();
        let fresh = self.shared.log.read_subject(&subject, last + 1).await?;
        for raw in fresh {
            last = raw.stream_sequence;
            aggregate_sequence = raw.aggregate_sequence;
            state = A::apply_event(state, decode::<A::Event>(&raw)?);
        }
        if aggregate_sequence == 0 {
            self.shared.lock().remove(&subject);
            return Ok(None);
        }
        self.shared
            .put(subject, state.clone(), aggregate_sequence, last);
        Ok(Some(aggregate_state(id, state, aggregate_sequence)))
    }

    /// How many command attempts on this aggregate type lost a race with a concurrent writer so
    /// far (counted in the log's metrics).
    pub fn conflicts(&self) -> u64 {
        self.shared.metrics.conflicts.get()
    }

    pub fn log(&self) -> &EventLog {
        &self.shared.log
    }

    /// Forgets every cached aggregate (benchmarks use it to measure cold loads).
    pub fn clear_cache(&self) {
        self.shared.lock().clear();
    }
}

/// An `AggregateState` holding `state` at `sequence`. esrs only builds states by folding store
/// events, so this folds one synthetic event whose payload *is* the state.
fn aggregate_state<S: Default>(id: Uuid, state: S, sequence: i32) -> AggregateState<S> {
    let carrier = StoreEvent {
        id,
        aggregate_id: id,
        payload: state,
        occurred_on: Utc::now(),
        sequence_number: sequence,
        version: None,
    };
    AggregateState::with_id(id).apply_store_events(vec![carrier], |_, state| state)
}

/// `result`, its failure logged at ERROR with the aggregate's subject (made only then).
fn logged<T>(
    result: Result<T, StoreError>,
    subject: impl FnOnce() -> String,
) -> Result<T, StoreError> {
    if let Err(error) = &result {
        tracing::error!(subject = %subject(), %error, "command not stored");
    }
    result
}

/// A random delay in `[0, 100 µs · 2^attempt)`, at most ~50 ms.
fn backoff(attempt: u32) -> std::time::Duration {
    let ceiling_us = 100u64 << attempt.min(9);
    std::time::Duration::from_micros(Uuid::new_v4().as_u64_pair().0 % ceiling_us)
}

fn decode<E: DomainEvent>(raw: &RawEvent) -> Result<E, StoreError> {
    E::upcast(raw.data.clone(), raw.version).map_err(|source| StoreError::Upcast {
        subject: raw.subject.clone(),
        stream_sequence: raw.stream_sequence,
        source,
    })
}

/// [`AggregateStore`] scoped to one tenant and one command's context.
pub struct JetStreamStore<A: Aggregate> {
    shared: Arc<Shared<A::State>>,
    tenant: TenantId,
    context: Arc<Context>,
    /// Aggregate and stream sequence after this store's last successful persist.
    persisted: Mutex<Option<Persisted>>,
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
        ["/aurora/", self.tenant.as_str(), "/", A::NAME].concat()
    }

    fn persisted(&self) -> Option<Persisted> {
        *self
            .persisted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The state to decide a command on, taken out of the cache (no copy), or an empty one for an
    /// aggregate not in the cache. Neither is verified against the log (see the module docs).
    fn state_for_command(&self, subject: &str, id: Uuid) -> AggregateState<A::State> {
        let mut cache = self.shared.lock();
        match cache
            .get_mut(subject)
            .and_then(|c| Some((*c.state.take()?, c.aggregate_sequence)))
        {
            Some((state, sequence)) => aggregate_state(id, state, sequence),
            None => AggregateState::with_id(id),
        }
    }

    /// The stream sequence the subject must still be at for a command decided at
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
            (c.aggregate_sequence == aggregate_sequence).then_some(c.last_stream_sequence)
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

#[async_trait]
impl<A> EventStore for JetStreamStore<A>
where
    A: Aggregate + Send + Sync,
    A::Event: DomainEvent,
    A::State: Send + Sync,
{
    type Aggregate = A;
    type Error = StoreError;

    /// esrs' lock is in-process: the same per-aggregate lock [`AggregateStore`]'s commands take
    /// (across processes, optimistic concurrency on the subject is what holds).
    async fn lock(&self, aggregate_id: Uuid) -> Result<EventStoreLockGuard, StoreError> {
        let lock = self.shared.locks.acquire(&self.subject(aggregate_id)).await;
        Ok(EventStoreLockGuard::new(lock))
    }

    /// The whole history of the aggregate, read from its own subject.
    async fn by_aggregate_id(
        &self,
        aggregate_id: Uuid,
    ) -> Result<Vec<StoreEvent<A::Event>>, StoreError> {
        let raw = self
            .shared
            .log
            .read_subject(&self.subject(aggregate_id), 1)
            .await?;
        raw.iter()
            .map(|r| {
                Ok(StoreEvent {
                    id: r.id,
                    aggregate_id,
                    payload: decode::<A::Event>(r)?,
                    occurred_on: r.time,
                    sequence_number: r.aggregate_sequence,
                    version: r.version,
                })
            })
            .collect()
    }

    async fn persist(
        &self,
        aggregate_state: &mut AggregateState<A::State>,
        events: Vec<A::Event>,
    ) -> Result<Vec<StoreEvent<A::Event>>, StoreError> {
        if events.is_empty() {
            // Nothing decided: nothing to write, and `persisted` stays empty so `execute` can
            // tell a no-op from an append.
            return Ok(Vec::new());
        }
        let id = *aggregate_state.id();
        let subject = self.subject(id);
        let decided_at = *aggregate_state.sequence_number();
        let forget = |e: StoreError| {
            self.shared.lock().remove(&subject);
            e
        };
        let expected = self
            .expected_stream_sequence(&subject, decided_at)
            .await
            .map_err(forget)?;
        let source = self.source();
        let now = Utc::now();
        let mut appends = Vec::with_capacity(events.len());
        let mut stored = Vec::with_capacity(events.len());
        for (index, payload) in events.into_iter().enumerate() {
            let event = StoreEvent {
                id: self.context.event_id(&subject, index),
                aggregate_id: id,
                payload,
                occurred_on: now,
                sequence_number: aggregate_state.next_sequence_number(),
                version: A::Event::current_version(),
            };
            let mut body = Vec::with_capacity(1024);
            serde_json::to_writer(&mut body, &event.payload).map_err(StoreError::Encode)?;
            let headers = Outgoing {
                id: event.id,
                source: &source,
                event_type: event.payload.event_type(),
                subject_id: id,
                time: now,
                aggregate_sequence: event.sequence_number,
                version: event.version,
                context: &self.context,
            }
            .headers();
            appends.push(Append {
                headers,
                body: Bytes::from(body),
            });
            stored.push(event);
        }
        let (sequences, duplicate) = self
            .shared
            .log
            .append_checked(&subject, expected, appends)
            .await
            .map_err(forget)?;
        let mut persisted = self
            .persisted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if duplicate {
            // An earlier run of the same input already stored these events (its ack was lost)
            // and JetStream kept that copy; what we hold no longer matches the log exactly.
            self.shared.lock().remove(&subject);
            *persisted = Some(Persisted::Duplicate);
            return Ok(stored);
        }
        let aggregate_sequence = stored.last().map_or(decided_at, |e| e.sequence_number);
        let stream_sequence = sequences.last().copied().unwrap_or(expected);
        *persisted = Some(Persisted::Appended {
            aggregate_sequence,
            stream_sequence,
        });
        Ok(stored)
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
