//! Small, short-lived key-value buckets (NATS KV): WebSocket tickets, the chat query window,
//! agent run leases. They live in memory, keep one value per key, and forget a key `max_age`
//! after its last write. Every process creates them the same way, so creating one that exists
//! is a no-op.

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
