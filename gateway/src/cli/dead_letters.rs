//! `aurora dead-letters list|retry|drop`: what the consumers gave up on (see
//! `aurora_nats::consumer`), and putting it back or away.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;
use aurora_nats::dead_letters::{self, Listed};
use clap::Subcommand;

use crate::cli::StreamsFileArgs;

#[derive(Debug, Subcommand)]
pub enum DeadLettersCommand {
    /// Every dead letter, oldest first: id, origin, deliveries, error.
    List {
        /// Only the dead letters of this consumer (e.g. ingest, proj-incidents).
        #[arg(long)]
        consumer: Option<String>,
        #[arg(long, env = "NATS_URL")]
        nats_url: String,
        #[command(flatten)]
        streams: StreamsFileArgs,
    },
    /// Republish a dead letter to its original subject (its consumer gets it again), then
    /// remove it.
    Retry {
        /// The id `list` shows.
        id: u64,
        #[arg(long, env = "NATS_URL")]
        nats_url: String,
        #[command(flatten)]
        streams: StreamsFileArgs,
    },
    /// Remove a dead letter.
    Drop {
        /// The id `list` shows.
        id: u64,
        #[arg(long, env = "NATS_URL")]
        nats_url: String,
        #[command(flatten)]
        streams: StreamsFileArgs,
    },
}

/// Runs `command`, writing what it did to `out`. An unknown id, or a dead letter that cannot be
/// retried, is an error (the binary exits non-zero).
pub async fn run(command: DeadLettersCommand, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let (nats_url, streams) = match &command {
        DeadLettersCommand::List {
            nats_url, streams, ..
        }
        | DeadLettersCommand::Retry {
            nats_url, streams, ..
        }
        | DeadLettersCommand::Drop {
            nats_url, streams, ..
        } => (nats_url, streams.load()?),
    };
    // Provisioning makes sure DEAD_LETTERS exists, also on a server older than this file.
    let (client, _) = aurora_nats::connect_and_provision(nats_url, Some(&streams)).await?;
    let js = async_nats::jetstream::new(client);
    match command {
        DeadLettersCommand::List { consumer, .. } => {
            let letters = dead_letters::list(&js, consumer.as_deref()).await?;
            for listed in &letters {
                writeln!(out, "{}", line(listed))?;
            }
            writeln!(out, "{} dead letter(s)", letters.len())?;
        }
        DeadLettersCommand::Retry { id, .. } => {
            let sequence = dead_letters::retry(&js, id)
                .await
                .with_context(|| format!("Failed to retry dead letter {id}"))?;
            writeln!(
                out,
                "dead letter {id} republished (stream sequence {sequence}) and removed"
            )?;
        }
        DeadLettersCommand::Drop { id, .. } => {
            dead_letters::drop_letter(&js, id)
                .await
                .with_context(|| format!("Failed to drop dead letter {id}"))?;
            writeln!(out, "dead letter {id} removed")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One dead letter on one line.
fn line(listed: &Listed) -> String {
    let o = &listed.letter.origin;
    format!(
        "{id}\t{consumer}\t{stream}/{sequence}\t{subject}\tdeliveries {deliveries}\tat {at}\terror: {error}",
        id = listed.id,
        consumer = o.consumer,
        stream = o.stream,
        sequence = o.stream_sequence,
        subject = o.subject,
        deliveries = o.deliveries,
        at = o.failed_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        error = listed.letter.error,
    )
}
