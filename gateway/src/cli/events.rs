//! `aurora events catalogue [--json]`: every event type Aurora stores, with the JSON Schema of its
//! body (`aurora_domain::catalogue`). `docs/events.md` is what it prints without `--json`.

use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Print the event catalogue: each event type's CloudEvents type, subject, description and
    /// JSON Schema, as Markdown (docs/events.md), or with --json as one object keyed by ce-type.
    Catalogue {
        #[arg(long)]
        json: bool,
    },
}

pub fn run(command: EventsCommand, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    match command {
        EventsCommand::Catalogue { json: false } => {
            out.write_all(aurora_domain::catalogue::markdown().as_bytes())?
        }
        EventsCommand::Catalogue { json: true } => {
            serde_json::to_writer_pretty(&mut *out, &aurora_domain::catalogue::json())?;
            writeln!(out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
