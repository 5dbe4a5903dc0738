//! An external consumer of one organisation's events, holding only what
//! `aurora consumer-credentials` printed (saved to a file):
//!
//! ```sh
//! aurora consumer-credentials --tenant <organisation id> --name audit > audit.json
//! cargo run -p aurora-nats --example read-events -- audit.json
//! ```
//!
//! It reads its durable consumer (made by Aurora when it issued the credentials) and prints each
//! event's CloudEvents type, subject and body (`docs/events.md` describes them), acknowledging as
//! it goes; stopped and started again, it goes on after the last event it acknowledged. Nothing
//! of Aurora's is used: only async-nats and the JSON above. (`tests/tests/consumers.rs` runs
//! `read` as it is.)

use std::io::Write;

use async_nats::jetstream::consumer::PullConsumer;
use futures::StreamExt as _;

#[tokio::main]
async fn main() -> Result<(), async_nats::Error> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: read-events <credentials.json>")?;
    let creds: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    read(&creds, &mut std::io::stdout(), usize::MAX).await
}

/// Prints one line per event, `<ce-type> <ce-subject> <body>`, to `out`: `count` events, or
/// until stopped.
pub async fn read(
    creds: &serde_json::Value,
    out: &mut impl Write,
    count: usize,
) -> Result<(), async_nats::Error> {
    let field = |name: &str| {
        creds[name]
            .as_str()
            .map(str::to_owned)
            .ok_or(name.to_owned())
    };

    // The seed authenticates; the inbox prefix is the only one the server lets it use.
    let client = async_nats::ConnectOptions::with_nkey(field("nkey_seed")?)
        .custom_inbox_prefix(field("inbox_prefix")?)
        .connect(field("url")?)
        .await?;
    // Aurora's JetStream API as these credentials' account sees it.
    let js = async_nats::jetstream::with_prefix(client, &field("api_prefix")?);
    // Made by Aurora, filtered to the tenant; looked up by name (stream info is not readable).
    let consumer: PullConsumer = js
        .get_consumer_from_stream(field("consumer")?, field("stream")?)
        .await?;
    let mut messages = consumer.messages().await?.take(count);
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
        message.ack().await?;
    }
    Ok(())
}
