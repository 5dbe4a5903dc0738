//! Small, short-lived key-value buckets (NATS KV): WebSocket tickets, the chat query window,
//! agent run leases. They live in memory, keep one value per key, and forget a key `max_age`
//! after its last write. Every process creates them the same way, so creating one that exists
//! is a no-op. A single-use value (a ticket, an OAuth state) is taken with [`take_once`].

use std::time::Duration;

use async_nats::jetstream::{self, kv};

/// A bucket JetStream could not create or open.
#[derive(Debug, thiserror::Error)]
#[error("the {name} bucket is unavailable: {source}")]
pub struct BucketError {
    pub name: String,
    #[source]
    pub source: jetstream::context::CreateKeyValueError,
}

/// The bucket `name`, created if missing.
pub async fn memory_bucket(
    js: &jetstream::Context,
    name: &str,
    description: &str,
    max_age: Duration,
) -> Result<kv::Store, BucketError> {
    js.create_key_value(kv::Config {
        bucket: name.into(),
        description: description.into(),
        max_age,
        history: 1,
        storage: jetstream::stream::StorageType::Memory,
        ..Default::default()
    })
    .await
    .map_err(|source| BucketError {
        name: name.into(),
        source,
    })
}

/// Takes `key`'s value once: it is read, then deleted at the revision read, so of two takers
/// racing (in any process) only one gets it. `None`: absent, deleted, or taken by another.
pub async fn take_once(store: &kv::Store, key: &str) -> Result<Option<Vec<u8>>, kv::EntryError> {
    let Some(entry) = store
        .entry(key)
        .await?
        .filter(|e| e.operation == kv::Operation::Put)
    else {
        return Ok(None);
    };
    match store
        .delete_expect_revision(key, Some(entry.revision))
        .await
    {
        Ok(()) => Ok(Some(entry.value.to_vec())),
        Err(_) => Ok(None),
    }
}
