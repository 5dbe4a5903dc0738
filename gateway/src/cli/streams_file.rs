//! `--streams-file <path>` (`AURORA_STREAMS_FILE`): the streams and durable consumers a command
//! provisions when it starts. Every command that provisions takes it the same way — `up`,
//! `serve`, `replay`, `audit verify`, `dead-letters`, `consumer-credentials` and `streams apply`
//! (where `--file` is its older name) — because each of them applies its file over what the
//! server has: an operator's setting (a consumer's `max_deliver`, the number of failed deliveries
//! before a message is dead-lettered) given to one command and not to the next is reverted by
//! the next.

use std::path::PathBuf;

use anyhow::Context as _;
use aurora_nats::streams::StreamsFile;
use clap::Args;

/// The clap id of `--streams-file`, for `streams apply` to give it its alias `--file`.
pub const ARG_ID: &str = "streams_file";

#[derive(Debug, Clone, Default, Args)]
pub struct StreamsFileArgs {
    /// The streams file to provision at start; by default the streams.yaml built into the binary.
    ///
    /// It declares every stream and durable consumer, e.g. a consumer's max_deliver: how many
    /// failed deliveries send a message to DEAD_LETTERS. Every command that provisions applies the
    /// file it is given, so give them all the same one (the environment variable does).
    #[arg(
        id = ARG_ID,
        long = "streams-file",
        env = "AURORA_STREAMS_FILE",
        value_name = "PATH"
    )]
    pub path: Option<PathBuf>,
}

impl StreamsFileArgs {
    /// The file given, or the built-in `streams.yaml`. A file that cannot be read or is invalid
    /// is an error naming its path (and, if invalid, the line and the reason).
    pub fn load(&self) -> anyhow::Result<StreamsFile> {
        match &self.path {
            Some(path) => StreamsFile::load(path).with_context(|| {
                format!(
                    "Failed to load the streams file {} (--streams-file, AURORA_STREAMS_FILE)",
                    path.display()
                )
            }),
            None => Ok(StreamsFile::shipped().clone()),
        }
    }
}
