//! An external consumer of one organisation's events, holding only what
//! `aurora consumer-credentials` printed (saved to a file):
//!
//! ```sh
//! aurora consumer-credentials --tenant <organisation id> --name audit > audit.json
//! cargo run -p aurora-nats --example read-events -- audit.json            # Aurora's consumer
//! cargo run -p aurora-nats --example read-events -- audit.json incidents  # one of its own
//! ```
//!
//! It reads a durable consumer — the one Aurora made when it issued the credentials, or, given a
//! name, one of its own, which it creates the first time (a plain JetStream create: Aurora
//! answers it) — and prints each event's CloudEvents type, subject and body (`docs/events.md`
//! describes them), acknowledging as it goes; stopped and started again, it goes on after the
//! last event it acknowledged. Nothing of Aurora's is used: only async-nats and the JSON above.
//! (`tests/tests/consumers/` runs `read` and `read_own` as they are.)

use std::io::Write;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy, PullConsumer};
use futures::StreamExt as _;

/// Events asked for in one pull.
const BATCH: usize = 100;

#[tokio::main]
async fn main() -> Result<(), async_nats::Error> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: read-events <credentials.json> [<consumer name>]")?;
    let creds: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    match args.next() {
        Some(name) => read_own(&creds, &name, &mut std::io::stdout(), usize::MAX).await,
        None => read(&creds, &mut std::io::stdout(), usize::MAX).await,
    }
}

/// Prints one line per event of the consumer Aurora made, `<ce-type> <ce-subject> <body>`, to
/// `out`: `count` events, or until stopped.
pub async fn read(
    creds: &serde_json::Value,
    out: &mut impl Write,
    count: usize,
) -> Result<(), async_nats::Error> {
    let js = jetstream(creds).await?;
    // Made by Aurora, filtered to the tenant; looked up by name (stream info is not readable).
    let consumer: PullConsumer = js
        .get_consumer_from_stream(field(creds, "consumer")?, field(creds, "stream")?)
        .await?;
    print(consumer, out, count).await
}

/// As [`read`], through a consumer of its own, `<consumer_prefix><name>`: created if it is not
/// there (with the same config it is simply found), filtered to the tenant's events — any
/// narrower filter within `filter_subject` would do, `evt.<tenant>.incident.>` say.
pub async fn read_own(
    creds: &serde_json::Value,
    name: &str,
    out: &mut impl Write,
    count: usize,
) -> Result<(), async_nats::Error> {
    let js = jetstream(creds).await?;
    let consumer: PullConsumer = js
        .create_consumer_on_stream(
            pull::Config {
                durable_name: Some(format!("{}{name}", field(creds, "consumer_prefix")?)),
                filter_subject: field(creds, "filter_subject")?,
                ack_policy: AckPolicy::Explicit,
                ..Default::default()
            },
            field(creds, "stream")?,
        )
        .await?;
    print(consumer, out, count).await
}

fn field(creds: &serde_json::Value, name: &str) -> Result<String, String> {
    creds[name]
        .as_str()
        .map(str::to_owned)
        .ok_or(name.to_owned())
}

/// Connects with the credentials: Aurora's JetStream API as their account sees it.
async fn jetstream(
    creds: &serde_json::Value,
) -> Result<async_nats::jetstream::Context, async_nats::Error> {
    // The seed authenticates; the inbox prefix is the only one the server lets it use.
    let client = async_nats::ConnectOptions::with_nkey(field(creds, "nkey_seed")?)
        .custom_inbox_prefix(field(creds, "inbox_prefix")?)
        .connect(field(creds, "url")?)
        .await?;
    Ok(async_nats::jetstream::with_prefix(
        client,
        &field(creds, "api_prefix")?,
    ))
}

async fn print(
    consumer: PullConsumer,
    out: &mut impl Write,
    count: usize,
) -> Result<(), async_nats::Error> {
    let mut left = count;
    while left > 0 {
        // Pulled in batches of at most what is still wanted, so a reader that stops after
        // `count` leaves no pull request open: one left behind would take the next event to a
        // reader that is gone, and it would come again only after the consumer's ack wait.
        let mut messages = consumer
            .batch()
            .max_messages(left.min(BATCH))
            .expires(Duration::from_secs(30))
            .messages()
            .await?;
        while let Some(message) = messages.next().await {
            let message = message?;
            let header = |name: &str| {
                message
                    .headers
                    .as_ref()
                    .and_then(|h| h.get(name))
                    .map(|v| v.as_str().to_owned())
                    .unwrap_or_default()
            };
            writeln!(
                out,
                "{} {} {}",
                header("ce-type"),
                header("ce-subject"),
                String::from_utf8_lossy(&message.payload)
            )?;
            // Confirmed by the server: stopped right after, it goes on after this event.
            message.double_ack().await?;
            left -= 1;
        }
    }
    Ok(())
}
