//! Watching the child: reading both pipes, waiting for it, killing it on the timeout or past
//! the drain limit, and abandoning pipes a descendant keeps open.

use std::future::pending;
use std::io;
use std::pin::Pin;
use std::process::ExitStatus;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Child;
use tokio::time::{sleep, sleep_until, Instant, Sleep};

use super::capture::{Capture, Stream, OUTPUT_CAP};

/// Total output (kept or discarded) after which the child is killed: 4 × the cap
/// ([`OUTPUT_CAP`] for the agent's tools, so 4 MiB).
///
/// Draining a little past the cap lets a command that is merely chatty (a 3 MB dump)
/// finish and report its real exit code; a command that produces four times what we
/// can show is either endless (`yes`, `--follow`) or useless to the agent anyway, so it
/// is killed rather than left to burn CPU until the timeout.
pub const DRAIN_LIMIT: u64 = drain_limit(OUTPUT_CAP);

/// The drain limit of a command whose kept output is capped at `cap` bytes.
pub(super) const fn drain_limit(cap: usize) -> u64 {
    4 * cap as u64
}

/// How long the pipes are still read after the child exited or was killed. Output
/// buffered in the pipes is read well within this; after it, pipes kept open by
/// orphaned grandchildren are abandoned.
pub const PIPE_GRACE: Duration = Duration::from_millis(500);

/// Bytes requested per read from each pipe.
const READ_CHUNK: usize = 64 * 1024;

/// Result of watching the child until it is done (or abandoned).
pub(super) struct Supervised {
    pub(super) capture: Capture,
    pub(super) status: Option<ExitStatus>,
    pub(super) timed_out: bool,
    pub(super) flooded: bool,
}

/// Reads both pipes, waits for the child, enforces the timeout and the drain limit.
pub(super) async fn supervise(
    child: &mut Child,
    started: Instant,
    timeout: Duration,
    cap: usize,
) -> Supervised {
    let mut stdout_pipe = child.stdout.take();
    let mut stderr_pipe = child.stderr.take();
    let mut stdout_chunk = vec![0u8; READ_CHUNK];
    let mut stderr_chunk = vec![0u8; READ_CHUNK];
    let mut capture = Capture::new(cap);

    // A timeout too large to represent means "no timeout".
    let mut deadline: Option<Pin<Box<Sleep>>> = started
        .checked_add(timeout)
        .map(|at| Box::pin(sleep_until(at)));
    let mut grace: Option<Pin<Box<Sleep>>> = None;
    let mut exited = false;
    let mut status = None;
    let mut timed_out = false;
    let mut flooded = false;

    while !exited || stdout_pipe.is_some() || stderr_pipe.is_some() {
        tokio::select! {
            read = read_some(&mut stdout_pipe, &mut stdout_chunk) => {
                on_read(read, &stdout_chunk, &mut stdout_pipe, &mut capture, Stream::Stdout);
            }
            read = read_some(&mut stderr_pipe, &mut stderr_chunk) => {
                on_read(read, &stderr_chunk, &mut stderr_pipe, &mut capture, Stream::Stderr);
            }
            waited = child.wait(), if !exited => {
                exited = true;
                match waited {
                    Ok(exit) => status = Some(exit),
                    Err(err) => tracing::warn!(error = %err, "cannot collect the command's exit status"),
                }
                start_grace(&mut grace);
            }
            () = sleep_opt(&mut deadline), if !exited => {
                deadline = None;
                timed_out = true;
                kill(child, "timeout");
                start_grace(&mut grace);
            }
            () = sleep_opt(&mut grace) => {
                if stdout_pipe.is_some() || stderr_pipe.is_some() {
                    tracing::debug!("output pipes still held open by a descendant; no longer reading them");
                }
                break;
            }
        }
        if !flooded && capture.produced > drain_limit(cap) {
            flooded = true;
            kill(child, "output drain limit");
            start_grace(&mut grace);
        }
    }

    if status.is_none() {
        status = child.try_wait().ok().flatten();
    }
    Supervised {
        capture,
        status,
        timed_out,
        flooded,
    }
}

/// Reads from the pipe if it is still open; otherwise never completes.
async fn read_some<R: AsyncRead + Unpin>(
    pipe: &mut Option<R>,
    chunk: &mut [u8],
) -> io::Result<usize> {
    match pipe {
        Some(pipe) => pipe.read(chunk).await,
        None => pending().await,
    }
}

/// Completes when the timer (if any) fires; without a timer, never.
async fn sleep_opt(timer: &mut Option<Pin<Box<Sleep>>>) {
    match timer {
        Some(timer) => timer.as_mut().await,
        None => pending().await,
    }
}

fn start_grace(grace: &mut Option<Pin<Box<Sleep>>>) {
    grace.get_or_insert_with(|| Box::pin(sleep(PIPE_GRACE)));
}

fn kill(child: &mut Child, why: &str) {
    if let Err(err) = child.start_kill() {
        // Typically: the child has already exited and been reaped.
        tracing::debug!(error = %err, why, "cannot kill the command");
    }
}

fn on_read<R>(
    read: io::Result<usize>,
    chunk: &[u8],
    pipe: &mut Option<R>,
    capture: &mut Capture,
    stream: Stream,
) {
    match read {
        Ok(0) => *pipe = None,
        Ok(n) => capture.push(stream, &chunk[..n.min(chunk.len())]),
        Err(err) => {
            tracing::debug!(error = %err, ?stream, "reading the command's output failed");
            *pipe = None;
        }
    }
}
