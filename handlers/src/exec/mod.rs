//! Running one CLI command: for the AI agent's tools, and for a connector's log-in and graph
//! discovery, which run the same CLIs the same way.
//!
//! SPEC: "Execution: argv without a shell, allow-listed environment, the tenant's
//! credentials injected from the secret store, per-session working directory,
//! timeout, output capped at 1 MiB, secrets redacted."
//!
//! [`run`] takes an [`ExecSpec`] and:
//!
//! * spawns `argv[0]` with `argv[1..]` directly (`execvp`-style lookup on the child's
//!   `PATH`); nothing is ever passed through a shell, so arguments are never re-parsed;
//! * clears the environment and passes through only the [`PASSED_ENV`] variables present
//!   in the parent, then `HOME` (the session's working directory), then the injected
//!   [`ExecSpec::env`] (which may override both);
//! * creates the per-session working directory if it is missing and runs the command in it;
//! * gives the command a null stdin, so an interactive prompt gets EOF instead of hanging;
//! * reads stdout and stderr concurrently, keeping at most [`ExecSpec::output_cap`] bytes
//!   between them ([`OUTPUT_CAP`] for the agent's tools); past the cap it keeps draining (and
//!   discarding) so the child never blocks on a full pipe, and kills the child once it has
//!   produced more than four times the cap ([`DRAIN_LIMIT`] for the agent's tools)
//!   (for commands such as `yes` or `kubectl logs -f` that would otherwise never end);
//! * kills the child when the timeout expires and reports [`ExecError::TimedOut`] with
//!   the partial output;
//! * stops reading [`PIPE_GRACE`] after the child has exited (or been killed), so a
//!   grandchild that inherited the pipes cannot keep the call open;
//! * redacts secrets ([`crate::redact`]) from both streams: the literal values in
//!   [`ExecSpec::secrets`], the values of injected variables whose names look secret
//!   ([`is_secret_env_name`]), and the common secret formats (cloud keys, vendor tokens,
//!   JWTs, private keys, connection-string passwords, secret-named assignments), each
//!   placeholder naming its rule.
//!
//! Limitations: without `unsafe` (no `setsid`/`killpg`) only the direct child is killed;
//! descendants that outlive it are orphaned and merely stop being read.
//!
//! Here: the spec, the spawn and the result, and [`capped`]: a read or query tool's output held
//! to a command's cap; the environment in `env`, reading, waiting and killing in `supervise`,
//! the capped, redacted output in `capture`.

mod capture;
mod env;
mod supervise;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

use std::io;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;
use tokio::time::Instant;

use self::supervise::supervise;
use crate::redact::Redactor;

pub use self::capture::{char_floor, OUTPUT_CAP};
pub use self::env::{is_secret_env_name, PASSED_ENV};
pub use self::supervise::{DRAIN_LIMIT, PIPE_GRACE};

/// Line appended by [`ExecOutput::combined`] when the output was cut.
pub const TRUNCATION_NOTICE: &str = "[output truncated at 1 MiB]";

/// One command to run.
#[derive(Debug, Clone)]
pub struct ExecSpec {
    /// Binary first, then its arguments; never run through a shell.
    pub argv: Vec<String>,
    /// Injected credentials/config (e.g. `AWS_ACCESS_KEY_ID`), added after the
    /// allow-listed variables and `HOME`. Values of variables whose names look secret
    /// ([`is_secret_env_name`]) are redacted from the output automatically.
    pub env: Vec<(String, String)>,
    /// Per-session working directory; created (`create_dir_all`) if missing; also `HOME`.
    pub cwd: PathBuf,
    /// Wall-clock limit, after which the command is killed.
    pub timeout: Duration,
    /// Literal values to redact from the output (in addition to the injected secrets).
    pub secrets: Vec<String>,
    /// Output bytes kept, both streams together: [`OUTPUT_CAP`] for what the model reads; more
    /// for output Aurora parses itself (a cluster's inventory).
    pub output_cap: usize,
}

/// What a finished command produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// The exit code; `None` when the command was ended by a signal (including our
    /// kill after [`DRAIN_LIMIT`]) or its status could not be collected.
    pub exit_code: Option<i32>,
    /// Lossy UTF-8, redacted, capped.
    pub stdout: String,
    /// Lossy UTF-8, redacted, capped.
    pub stderr: String,
    /// True when the combined output exceeded [`OUTPUT_CAP`] and was cut.
    pub truncated: bool,
    /// Time from spawn until the output was collected.
    pub duration: Duration,
}

impl ExecOutput {
    /// Whether the command exited with status 0.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0)
    }

    /// stdout, then stderr if non-empty, with a [`TRUNCATION_NOTICE`] line when truncated.
    pub fn combined(&self) -> String {
        let mut text = String::with_capacity(
            self.stdout.len() + self.stderr.len() + TRUNCATION_NOTICE.len() + 2,
        );
        text.push_str(&self.stdout);
        if !self.stderr.is_empty() {
            end_line(&mut text);
            text.push_str(&self.stderr);
        }
        if self.truncated {
            end_line(&mut text);
            text.push_str(TRUNCATION_NOTICE);
        }
        text
    }
}

/// Output of a read or query tool, capped like a command's: at most [`OUTPUT_CAP`] bytes (cut on
/// a character boundary), then the [`TRUNCATION_NOTICE`] line.
pub fn capped(output: String) -> String {
    let kept = char_floor(&output, OUTPUT_CAP);
    if kept.len() == output.len() {
        return output;
    }
    format!("{kept}\n{TRUNCATION_NOTICE}")
}

/// Appends a newline unless `text` is empty or already ends with one.
fn end_line(text: &mut String) {
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
}

/// Why a command could not run to completion.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The binary does not exist (spawn failed with `ErrorKind::NotFound`).
    #[error("{program} is not installed on this host (not found on PATH)")]
    NotFound { program: String },
    /// The timeout expired; the child was killed. `partial` is the redacted, capped
    /// output collected until then, formatted like [`ExecOutput::combined`].
    #[error("the command timed out after {after:?} and was killed")]
    TimedOut { after: Duration, partial: String },
    /// The command could not be started (permissions, bad working directory, ...).
    #[error("cannot run {program}: {reason}")]
    Spawn { program: String, reason: String },
    /// `argv` was empty (or its program was the empty string).
    #[error("an empty command cannot run")]
    Empty,
}

/// Runs one command as described in the module documentation.
pub async fn run(spec: ExecSpec) -> Result<ExecOutput, ExecError> {
    let ExecSpec {
        argv,
        env,
        cwd,
        timeout,
        mut secrets,
        output_cap,
    } = spec;
    let Some((program, args)) = argv.split_first() else {
        return Err(ExecError::Empty);
    };
    if program.is_empty() {
        return Err(ExecError::Empty);
    }
    let program = program.clone();

    // HOME must be absolute to be useful; a relative cwd is taken against ours.
    let cwd = std::path::absolute(&cwd).unwrap_or(cwd);
    std::fs::create_dir_all(&cwd).map_err(|err| ExecError::Spawn {
        program: program.clone(),
        reason: format!(
            "cannot create the working directory {}: {err}",
            cwd.display()
        ),
    })?;

    secrets.extend(
        env.iter()
            .filter(|(name, _)| is_secret_env_name(name))
            .map(|(_, value)| value.clone()),
    );
    let redactor = Redactor::new(&secrets);

    let mut command = Command::new(&program);
    command.args(args).env_clear();
    for name in PASSED_ENV {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command
        .env("HOME", &cwd)
        .envs(env.iter().map(|(name, value)| (name, value)))
        .current_dir(&cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);

    let started = Instant::now();
    let mut child = command.spawn().map_err(|err| match err.kind() {
        io::ErrorKind::NotFound => ExecError::NotFound {
            program: program.clone(),
        },
        _ => ExecError::Spawn {
            program: program.clone(),
            reason: err.to_string(),
        },
    })?;

    let supervised = supervise(&mut child, started, timeout, output_cap).await;
    let duration = started.elapsed();
    let (stdout, stderr, truncated) = supervised.capture.finish(&redactor);
    let output = ExecOutput {
        exit_code: supervised.status.and_then(|status| status.code()),
        stdout,
        stderr,
        truncated,
        duration,
    };

    if supervised.timed_out {
        tracing::warn!(
            program = %program,
            timeout_ms = timeout.as_millis() as u64,
            "command timed out and was killed"
        );
        return Err(ExecError::TimedOut {
            after: timeout,
            partial: output.combined(),
        });
    }
    tracing::debug!(
        program = %program,
        exit_code = ?output.exit_code,
        status = ?supervised.status,
        truncated = output.truncated,
        flooded = supervised.flooded,
        duration_ms = duration.as_millis() as u64,
        "command finished"
    );
    Ok(output)
}
