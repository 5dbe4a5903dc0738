//! The one skeleton of a projector that keeps aggregate states: decode a batch, take the touched
//! aggregates' states (from the [`StateCache`], else their rows), fold every event in order with
//! the aggregate's own `apply_event`, and hand each event and each resulting state to the
//! projector's [`Tables`], which write their rows ([`crate::rows`]). A new projector writes its `Tables` and one
//! line in the registry ([`crate::projector`]).

use std::collections::HashMap;

use aurora_domain::DomainEvent;
use aurora_nats::subjects::EventSubject;
use aurora_nats::RawEvent;
use esrs::Aggregate;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::{Postgres, Transaction};

use crate::error::{upcast, upcast_owned, ProjectionError};
use crate::state_cache::{Key, StateCache, Touched};

/// The transaction a batch is applied in.
pub type Tx<'c> = Transaction<'c, Postgres>;

/// A batch of events as a projector receives it: past its checkpoint, in stream order.
pub type Batch = Vec<(EventSubject, RawEvent)>;

/// The state a projector's tables fold.
pub type StateOf<T> = <<T as Tables>::Aggregate as Aggregate>::State;

/// What a folded state must be to be kept: cached between batches and in its row as JSON.
pub trait Kept: Default + Serialize + DeserializeOwned + Send + 'static {}

impl<S: Default + Serialize + DeserializeOwned + Send + 'static> Kept for S {}

/// An event as a projector's tables see it: before it is folded into `before`.
pub struct Seen<'a, A: Aggregate> {
    pub key: &'a Key,
    pub raw: &'a RawEvent,
    pub event: &'a A::Event,
    pub before: &'a A::State,
}

/// An aggregate's state after the batch, its last event at `last_sequence`.
pub struct Folded<'a, A: Aggregate> {
    pub key: &'a Key,
    pub state: &'a A::State,
    pub last_sequence: u64,
}

/// What a projector writes, given the events of a batch and the states they fold into.
pub trait Tables: Default + Send {
    /// The aggregate whose events these are, folded with its own `apply_event` (its states
    /// must also be [`Kept`] and its events [`DomainEvent`]s, which [`fold`] requires).
    type Aggregate: Aggregate;
    /// The table with one row per aggregate, holding its folded `state` and `last_sequence`.
    const STATE_TABLE: &'static str;
    /// Whether [`Tables::event`] reads `raw.data`; if not, decoding takes it instead of copying.
    const READS_DATA: bool;

    /// Notes the rows an event adds (none unless the projector keeps a history).
    fn event(&mut self, _seen: Seen<'_, Self::Aggregate>) -> Result<(), ProjectionError> {
        Ok(())
    }

    /// Notes the rows of an aggregate's state after the batch.
    fn state(&mut self, folded: Folded<'_, Self::Aggregate>) -> Result<(), ProjectionError>;

    /// Writes what was noted.
    fn write(
        self,
        tx: &mut Tx<'_>,
        schema: &str,
    ) -> impl std::future::Future<Output = Result<(), ProjectionError>> + Send;
}

/// Applies `events` (stream order, past the checkpoint) with `T` inside `tx`. The folded states
/// are staged in `cache`, to be kept once the transaction commits.
pub async fn fold<T: Tables>(
    tx: &mut Tx<'_>,
    schema: &str,
    events: Batch,
    cache: &mut StateCache<StateOf<T>>,
) -> Result<(), ProjectionError>
where
    StateOf<T>: Kept,
    <T::Aggregate as Aggregate>::Event: DomainEvent,
{
    let schema = checked_schema(schema);
    if events.is_empty() {
        return Ok(());
    }
    // Aggregates whose first event in this batch is their very first start empty: nothing to read.
    let mut touched = Touched::default();
    let mut decoded = Vec::with_capacity(events.len());
    for (subject, mut raw) in events {
        let event: <T::Aggregate as Aggregate>::Event = if T::READS_DATA {
            upcast(&raw)?
        } else {
            let data = std::mem::take(&mut raw.data);
            upcast_owned(&raw, data)?
        };
        let key = Key {
            tenant: subject.tenant.to_string(),
            id: subject.id,
        };
        touched.note(&key, raw.aggregate_sequence);
        decoded.push((key, raw, event));
    }
    let mut states = cache
        .take(tx, schema, T::STATE_TABLE, &touched.order, &touched.new)
        .await?;
    let mut tables = T::default();
    let mut last_sequence: HashMap<Key, u64> = HashMap::with_capacity(touched.order.len());
    for (key, raw, event) in decoded {
        let state = states.remove(&key).unwrap_or_default();
        tables.event(Seen {
            key: &key,
            raw: &raw,
            event: &event,
            before: &state,
        })?;
        states.insert(key.clone(), T::Aggregate::apply_event(state, event));
        last_sequence.insert(key, raw.stream_sequence);
    }
    let mut staged = Vec::with_capacity(touched.order.len());
    for key in touched.order {
        let (Some(state), Some(&at)) = (states.remove(&key), last_sequence.get(&key)) else {
            continue;
        };
        tables.state(Folded {
            key: &key,
            state: &state,
            last_sequence: at,
        })?;
        staged.push((key, at, state));
    }
    tables.write(tx, schema).await?;
    cache.stage(staged);
    Ok(())
}

/// A state table's row: the projector's `columns` (a JSON object) with the four every state row
/// has: `tenant_id`, `id`, `last_sequence` and the folded `state` ([`state_json`]).
pub fn state_row<A>(folded: &Folded<'_, A>, columns: Value) -> Result<Value, ProjectionError>
where
    A: Aggregate,
    A::State: Serialize,
{
    let mut row = json!({
        "tenant_id": folded.key.tenant,
        "id": folded.key.id,
        "last_sequence": folded.last_sequence,
        "state": state_json(A::NAME, folded.key, folded.state)?,
    });
    if let (Value::Object(row), Value::Object(columns)) = (&mut row, columns) {
        row.extend(columns);
    }
    Ok(row)
}

/// A folded state as the JSON text its row keeps (only Aurora reads it back, so Postgres need
/// not parse it).
pub fn state_json<S: Serialize>(
    kind: &str,
    key: &Key,
    state: &S,
) -> Result<String, ProjectionError> {
    serde_json::to_string(state).map_err(|e| ProjectionError::BadEvent {
        subject: format!("{kind} {}/{}", key.tenant, key.id),
        stream_sequence: 0,
        reason: format!("state does not serialise: {e}"),
    })
}

/// A schema name we generated or validated (SQL identifiers cannot be bound as parameters).
pub fn checked_schema(schema: &str) -> &str {
    assert!(
        !schema.is_empty()
            && schema
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
        "schema names are generated by Aurora and must be [a-z0-9_]+, got {schema:?}"
    );
    schema
}
