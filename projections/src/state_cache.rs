//! The projector's memory of the states it folded, so a batch does not read (and decode) every
//! touched row's `state` back from Postgres.
//!
//! An entry is used only if the row's `last_sequence` still equals the sequence it was cached at
//! (another projector instance or a replay may have written since); otherwise the state is read
//! from the row. Entries are taken out while a batch runs and given back only after its
//! transaction commits ([`StateCache::stage`], then [`StateCache::commit`]), so a rolled-back
//! batch leaves nothing stale behind.

use std::collections::{HashMap, HashSet};

use serde::de::DeserializeOwned;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, Row, Transaction};
use uuid::Uuid;

use crate::error::ProjectionError;

/// One aggregate instance of one tenant: what a read-model row with a folded state is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub tenant: String,
    pub id: Uuid,
}

/// The aggregates a batch touches, in the order first seen, and which of them it opens (their
/// first event in the batch is their very first: there is no row to read). A set beside the
/// list keeps noting an event constant-time however many aggregates a batch spans.
#[derive(Default)]
pub struct Touched {
    pub order: Vec<Key>,
    pub new: HashSet<Key>,
    seen: HashSet<Key>,
}

impl Touched {
    /// Notes an event of `key` at `aggregate_sequence`.
    pub fn note(&mut self, key: &Key, aggregate_sequence: i32) {
        if self.seen.insert(key.clone()) {
            if aggregate_sequence == 1 {
                self.new.insert(key.clone());
            }
            self.order.push(key.clone());
        }
    }
}

/// Beyond this many entries the cache starts over (a miss only costs reading the row).
const CAPACITY: usize = 100_000;

/// `tenant_id`, `id` and `column` of the rows of `table` with the given keys.
async fn rows_of<'k>(
    tx: &mut Transaction<'_, Postgres>,
    schema: &str,
    table: &str,
    column: &str,
    keys: impl Iterator<Item = &'k Key>,
) -> Result<Vec<PgRow>, sqlx::Error> {
    let (tenants, ids): (Vec<&str>, Vec<Uuid>) = keys.map(|k| (k.tenant.as_str(), k.id)).unzip();
    sqlx::query(&format!(
        "SELECT t.tenant_id, t.id, t.{column} FROM {schema}.{table} t
         JOIN UNNEST($1::text[], $2::uuid[]) AS k(tenant_id, id) ON t.tenant_id = k.tenant_id AND t.id = k.id"
    ))
    .bind(&tenants)
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await
}

pub struct StateCache<S> {
    entries: HashMap<Key, (u64, S)>,
    /// States written by the running batch, each at the sequence its row will hold.
    staged: Vec<(Key, u64, S)>,
}

impl<S> Default for StateCache<S> {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
            staged: Vec::new(),
        }
    }
}

impl<S: DeserializeOwned> StateCache<S> {
    /// The current states of `keys` (those in `new` start empty and are not looked up).
    pub async fn take(
        &mut self,
        tx: &mut Transaction<'_, Postgres>,
        schema: &str,
        table: &str,
        keys: &[Key],
        new: &HashSet<Key>,
    ) -> Result<HashMap<Key, S>, ProjectionError> {
        // What a batch that did not commit staged is not what the rows hold.
        self.staged.clear();
        let wanted: Vec<&Key> = keys.iter().filter(|k| !new.contains(*k)).collect();
        let mut states = HashMap::with_capacity(wanted.len());
        if wanted.is_empty() {
            return Ok(states);
        }
        let rows = rows_of(tx, schema, table, "last_sequence", wanted.into_iter()).await?;
        let mut misses: Vec<Key> = Vec::new();
        for row in rows {
            let key = Key {
                tenant: row.try_get("tenant_id")?,
                id: row.try_get("id")?,
            };
            let at: i64 = row.try_get("last_sequence")?;
            match self.entries.remove(&key) {
                Some((cached_at, state)) if cached_at == at as u64 => {
                    states.insert(key, state);
                }
                _ => misses.push(key),
            }
        }
        if misses.is_empty() {
            return Ok(states);
        }
        let rows = rows_of(tx, schema, table, "state", misses.iter()).await?;
        for row in rows {
            let key = Key {
                tenant: row.try_get("tenant_id")?,
                id: row.try_get("id")?,
            };
            let state: String = row.try_get("state")?;
            let state = serde_json::from_str(&state).map_err(|e| ProjectionError::BadEvent {
                subject: format!("{table} row {}/{}", key.tenant, key.id),
                stream_sequence: 0,
                reason: format!("stored state does not load: {e}"),
            })?;
            states.insert(key, state);
        }
        Ok(states)
    }
}

impl<S> StateCache<S> {
    pub fn clear(&mut self) {
        self.entries.clear();
        self.staged.clear();
    }

    /// Holds the states a batch wrote until its transaction commits.
    pub fn stage(&mut self, states: Vec<(Key, u64, S)>) {
        self.staged = states;
    }

    /// Keeps the staged states: their batch committed, so each row now holds that state at that
    /// sequence.
    pub fn commit(&mut self) {
        if self.entries.len() > CAPACITY {
            self.entries.clear();
        }
        for (key, at, state) in self.staged.drain(..) {
            self.entries.insert(key, (at, state));
        }
    }
}
