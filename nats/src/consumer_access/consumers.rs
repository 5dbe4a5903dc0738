//! The durable consumers on `EVENTS` that belong to a grant: the one Aurora makes when it issues
//! the credential, and those the credential made for itself ([`super::api`]), all removed with
//! the grant.

use async_nats::jetstream;
use async_nats::jetstream::stream::ConsumerErrorKind;
use futures::TryStreamExt as _;

use super::{given_consumer, own_prefix, AccessError, Grant};
use crate::subjects::EVENTS_STREAM;

fn consumer_error(e: impl std::error::Error + Send + Sync + 'static) -> AccessError {
    AccessError::Consumer(Box::new(e))
}

/// Creates the grant's durable pull consumer, filtered to its tenant, after removing every
/// consumer an earlier credential of the same name left (so a new holder starts from the first
/// event and inherits nothing).
pub async fn create_consumer(js: &jetstream::Context, grant: &Grant) -> Result<(), AccessError> {
    delete_consumers(js, &grant.tenant, &grant.name).await?;
    js.create_consumer_on_stream(
        jetstream::consumer::pull::Config {
            durable_name: Some(grant.consumer()),
            description: Some(format!(
                "external consumer {:?} of tenant {}",
                grant.name, grant.tenant
            )),
            filter_subject: grant.filter_subject(),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ..Default::default()
        },
        EVENTS_STREAM,
    )
    .await
    .map_err(consumer_error)?;
    Ok(())
}

/// Deletes the consumers of credential `name` of `tenant`: the one Aurora made and every one
/// named with its [`own_prefix`] — found on the stream, not in the grant, so one a request was
/// creating while the grant was removed goes too, and so do those of a grant already gone.
/// Returns the names deleted.
pub async fn delete_consumers(
    js: &jetstream::Context,
    tenant: &str,
    name: &str,
) -> Result<Vec<String>, AccessError> {
    let stream = js.get_stream(EVENTS_STREAM).await.map_err(consumer_error)?;
    let (given, prefix) = (given_consumer(tenant, name), own_prefix(tenant, name));
    let names: Vec<String> = stream
        .consumer_names()
        .try_filter(|consumer| {
            std::future::ready(*consumer == given || consumer.starts_with(&prefix))
        })
        .try_collect()
        .await
        .map_err(consumer_error)?;
    for name in &names {
        delete_one(js, name).await?;
    }
    Ok(names)
}

/// Deletes one consumer of `EVENTS`; one already gone is no error.
pub(super) async fn delete_one(js: &jetstream::Context, name: &str) -> Result<(), AccessError> {
    match js.delete_consumer_from_stream(name, EVENTS_STREAM).await {
        Ok(_) => Ok(()),
        Err(e) => match e.kind() {
            ConsumerErrorKind::JetStream(api)
                if api.error_code() == jetstream::ErrorCode::CONSUMER_NOT_FOUND =>
            {
                Ok(())
            }
            _ => Err(consumer_error(e)),
        },
    }
}
