//! `aurora-nats`: everything Aurora does with NATS JetStream.
//!
//! - [`streams`]: `streams.yaml` (every stream and durable consumer) and its idempotent provisioning.
//! - [`log`]: the `EVENTS` stream as an append-only log with optimistic concurrency per subject.
//! - [`store`]: the `esrs` event store on top of it, with the warm-aggregate cache.
//! - [`follow`]: one subject's events as they are stored (for live views).
//! - [`envelope`]: how an event becomes a message (CloudEvents headers, trace context) and back.
//! - [`subjects`]: subject names, built and parsed; the tenant is always the second token.
//! - [`traceparent`]: the trace context header of what Aurora publishes.
//! - [`inbox`]: the `INBOX` delivery format, its one writer and one reader.
//! - [`consumer`]: the consumer runner, the only code that acks, naks, backs off or dead-letters.
//! - [`dead_letter`], [`dead_letters`]: the dead-letter format and the `DEAD_LETTERS` stream.
//! - [`server`]: the nats-server launcher for `aurora up` and the tests.
//!
//! Depends on `aurora-domain` and async-nats only. Start reading at [`store`].

pub mod buckets;
pub mod consumer;
pub mod consumer_access;
pub mod dead_letter;
pub mod dead_letters;
pub mod envelope;
pub mod follow;
pub mod inbox;
pub mod log;
pub mod server;
pub mod store;
pub mod streams;
pub mod subjects;
pub mod traceparent;

pub use envelope::{Context, RawEvent};
pub use log::{EventLog, StoreError};
pub use store::{AggregateStore, Executed, JetStreamStore};

/// Connects to NATS as Aurora. A user and password in the URL (`nats://user:pass@host:port`, as
/// [`server::NatsServer::url`] gives) are sent as credentials: async-nats does not read them from
/// the URL itself.
pub async fn connect(url: &str) -> Result<async_nats::Client, ConnectError> {
    let failed = |source| ConnectError::Connect {
        url: without_credentials(url),
        source,
    };
    let mut options = async_nats::ConnectOptions::new().name("aurora");
    if let Ok(addr) = url.parse::<async_nats::ServerAddr>() {
        if let (Some(user), Some(password)) = (addr.username(), addr.password()) {
            options = options.user_and_password(user.to_owned(), password.to_owned());
        }
    }
    options.connect(url).await.map_err(failed)
}

/// `url` with any user and password taken out (for messages and logs).
pub fn without_credentials(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// Connects to NATS and provisions the streams of `file` (the embedded `streams.yaml` if `None`).
pub async fn connect_and_provision(
    url: &str,
    file: Option<&streams::StreamsFile>,
) -> Result<(async_nats::Client, Vec<streams::Report>), ConnectError> {
    let client = connect(url).await?;
    let file = match file {
        Some(file) => file,
        None => streams::StreamsFile::shipped(),
    };
    let js = async_nats::jetstream::new(client.clone());
    let reports = streams::apply(&js, file).await?;
    Ok((client, reports))
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot connect to NATS at {url}")]
    Connect {
        url: String,
        #[source]
        source: async_nats::ConnectError,
    },
    #[error("cannot provision streams")]
    Streams(#[from] streams::ApplyError),
}
