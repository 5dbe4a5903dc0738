//! Running one CLI command for the AI agent's tools.
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
//! * reads stdout and stderr concurrently, keeping at most [`OUTPUT_CAP`] bytes between
//!   them; past the cap it keeps draining (and discarding) so the child never blocks on a
//!   full pipe, and kills the child once it has produced more than [`DRAIN_LIMIT`] bytes
//!   (for commands such as `yes` or `kubectl logs -f` that would otherwise never end);
//! * kills the child when the timeout expires and reports [`ExecError::TimedOut`] with
//!   the partial output;
//! * stops reading [`PIPE_GRACE`] after the child has exited (or been killed), so a
//!   grandchild that inherited the pipes cannot keep the call open;
//! * redacts secrets ([`super::redact`]) from both streams: the literal values in
//!   [`ExecSpec::secrets`], the values of injected variables whose names look secret
//!   ([`is_secret_env_name`]), and the common secret formats (cloud keys, vendor tokens,
//!   JWTs, private keys, connection-string passwords, secret-named assignments), each
//!   placeholder naming its rule.
//!
//! Limitations: without `unsafe` (no `setsid`/`killpg`) only the direct child is killed;
//! descendants that outlive it are orphaned and merely stop being read.

use std::future::pending;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};

use super::redact::Redactor;
use tokio::process::{Child, Command};
use tokio::time::{sleep, sleep_until, Instant, Sleep};

/// Maximum number of output bytes kept, stdout and stderr together.
pub const OUTPUT_CAP: usize = 1024 * 1024;

/// Total output (kept or discarded) after which the child is killed: 4 × [`OUTPUT_CAP`].
///
/// Draining a little past the cap lets a command that is merely chatty (a 3 MB dump)
/// finish and report its real exit code; a command that produces four times what we
/// can show is either endless (`yes`, `--follow`) or useless to the agent anyway, so it
/// is killed rather than left to burn CPU until the timeout.
pub const DRAIN_LIMIT: u64 = 4 * OUTPUT_CAP as u64;

/// How long the pipes are still read after the child exited or was killed. Output
/// buffered in the pipes is read well within this; after it, pipes kept open by
/// orphaned grandchildren are abandoned.
pub const PIPE_GRACE: Duration = Duration::from_millis(500);

/// Line appended by [`ExecOutput::combined`] when the output was cut.
pub const TRUNCATION_NOTICE: &str = "[output truncated at 1 MiB]";

/// Environment variables passed through from the parent process (everything else is cleared).
///
/// Locale and time zone keep output formatting stable; the CA bundle and proxy
/// variables are host-level network configuration that CLIs need to reach cloud APIs
/// from behind a corporate proxy or TLS-inspecting gateway.
pub const PASSED_ENV: &[&str] = &[
    "PATH",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
];

/// Substrings (of the upper-cased name) marking an injected variable's value as secret.
const SECRET_NAME_MARKERS: &[&str] = &[
    "SECRET",
    "TOKEN",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "KEY",
    "CREDENTIAL",
    "AUTH",
    "PRIVATE",
    "SESSION",
    "COOKIE",
];

/// Bytes requested per read from each pipe.
const READ_CHUNK: usize = 64 * 1024;

/// When a stream is cut, its trailing partial line is dropped (so a secret or key cut
/// in half is not shown half-redacted) unless that line is longer than this.
const MAX_DROPPED_PARTIAL_LINE: usize = 64 * 1024;

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

/// Whether the value of an injected variable with this name is treated as a secret
/// (and therefore redacted from the output): the name contains one of `SECRET`,
/// `TOKEN`, `PASSWORD`, `PASSWD`, `PASSPHRASE`, `KEY`, `CREDENTIAL`, `AUTH`, `PRIVATE`,
/// `SESSION`, `COOKIE` (case-insensitively). Plain configuration such as
/// `AWS_REGION` or `CLOUDSDK_CORE_PROJECT` is not, so it stays readable in the output.
pub fn is_secret_env_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_NAME_MARKERS
        .iter()
        .any(|marker| upper.contains(marker))
}

/// Runs one command as described in the module documentation.
pub async fn run(spec: ExecSpec) -> Result<ExecOutput, ExecError> {
    let ExecSpec {
        argv,
        env,
        cwd,
        timeout,
        mut secrets,
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

    let supervised = supervise(&mut child, started, timeout).await;
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

/// Result of watching the child until it is done (or abandoned).
struct Supervised {
    capture: Capture,
    status: Option<ExitStatus>,
    timed_out: bool,
    flooded: bool,
}

/// Reads both pipes, waits for the child, enforces the timeout and the drain limit.
async fn supervise(child: &mut Child, started: Instant, timeout: Duration) -> Supervised {
    let mut stdout_pipe = child.stdout.take();
    let mut stderr_pipe = child.stderr.take();
    let mut stdout_chunk = vec![0u8; READ_CHUNK];
    let mut stderr_chunk = vec![0u8; READ_CHUNK];
    let mut capture = Capture::default();

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
        if !flooded && capture.produced > DRAIN_LIMIT {
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

#[derive(Debug, Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

/// Raw bytes kept from one stream, and whether any of its bytes were discarded.
#[derive(Debug, Default)]
struct StreamBuf {
    bytes: Vec<u8>,
    cut: bool,
}

/// Both streams under one shared [`OUTPUT_CAP`] budget, first come first served.
#[derive(Debug, Default)]
struct Capture {
    stdout: StreamBuf,
    stderr: StreamBuf,
    kept: usize,
    /// Everything the child wrote, kept or not.
    produced: u64,
}

impl Capture {
    fn push(&mut self, stream: Stream, data: &[u8]) {
        self.produced = self.produced.saturating_add(data.len() as u64);
        let take = OUTPUT_CAP.saturating_sub(self.kept).min(data.len());
        let buf = match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        };
        buf.bytes.extend_from_slice(&data[..take]);
        if take < data.len() {
            buf.cut = true;
        }
        self.kept += take;
    }

    /// Decoded, redacted stdout and stderr, and whether anything was cut.
    fn finish(self, redactor: &Redactor) -> (String, String, bool) {
        let mut truncated = self.stdout.cut || self.stderr.cut;
        let mut stdout = finish_stream(self.stdout, redactor);
        let mut stderr = finish_stream(self.stderr, redactor);
        // Redaction can lengthen the text (a 4-byte secret becomes `[REDACTED]`);
        // keep the cap a hard limit on what is returned.
        if stdout.len() + stderr.len() > OUTPUT_CAP {
            truncated = true;
            truncate_on_char_boundary(&mut stdout, OUTPUT_CAP);
            truncate_on_char_boundary(&mut stderr, OUTPUT_CAP - stdout.len());
        }
        (stdout, stderr, truncated)
    }
}

/// Decodes one stream; a cut stream first loses its incomplete tail (see [`cut_point`])
/// and any trailing fragment of a literal secret, so nothing is revealed half-redacted.
fn finish_stream(buf: StreamBuf, redactor: &Redactor) -> String {
    let mut bytes = buf.bytes;
    if buf.cut {
        let keep = cut_point(&bytes);
        bytes.truncate(keep);
    }
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if buf.cut {
        redactor.strip_partial_secret_suffix(&mut text);
    }
    redactor.apply(&text)
}

/// Where to end a stream that was cut at the end of `bytes`: after its last newline
/// if the partial line is at most [`MAX_DROPPED_PARTIAL_LINE`] bytes, otherwise
/// before any incomplete UTF-8 sequence at the very end.
fn cut_point(bytes: &[u8]) -> usize {
    let window = bytes.len().saturating_sub(MAX_DROPPED_PARTIAL_LINE);
    match bytes[window..].iter().rposition(|&b| b == b'\n') {
        Some(pos) => window + pos + 1,
        None => bytes.len() - incomplete_utf8_tail(bytes),
    }
}

/// Number of bytes at the end of `bytes` forming the start of a UTF-8 character
/// whose remaining bytes are missing.
fn incomplete_utf8_tail(bytes: &[u8]) -> usize {
    for back in 1..=bytes.len().min(4) {
        let byte = bytes[bytes.len() - back];
        if byte & 0xC0 == 0x80 {
            continue; // continuation byte: keep looking for the lead byte
        }
        let needed = match byte {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        return if needed > back { back } else { 0 };
    }
    0
}

fn truncate_on_char_boundary(text: &mut String, max: usize) {
    let end = char_floor(text, max).len();
    text.truncate(end);
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
pub fn char_floor(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::path::Path;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A unique scratch directory, removed on drop (also when the test fails).
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(tag: &str) -> Self {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            Self(
                std::env::temp_dir()
                    .join(format!("aurora-exec-test-{}-{tag}-{n}", std::process::id())),
            )
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn spec(dir: &Scratch, argv: &[&str]) -> ExecSpec {
        ExecSpec {
            argv: argv.iter().map(|arg| (*arg).to_owned()).collect(),
            env: Vec::new(),
            cwd: dir.0.join("session"),
            timeout: Duration::from_secs(20),
            secrets: Vec::new(),
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| (*item).to_owned()).collect()
    }

    #[tokio::test]
    async fn empty_command_is_rejected() {
        let dir = Scratch::new("empty");
        assert!(matches!(run(spec(&dir, &[])).await, Err(ExecError::Empty)));
        assert!(matches!(
            run(spec(&dir, &[""])).await,
            Err(ExecError::Empty)
        ));
    }

    #[tokio::test]
    async fn missing_binary_is_not_found() {
        let dir = Scratch::new("missing");
        let err = run(spec(&dir, &["aurora-no-such-binary-4f9c", "--version"]))
            .await
            .unwrap_err();
        match &err {
            ExecError::NotFound { program } => assert_eq!(program, "aurora-no-such-binary-4f9c"),
            other => panic!("expected NotFound, got {other:?}"),
        }
        assert_eq!(
            err.to_string(),
            "aurora-no-such-binary-4f9c is not installed on this host (not found on PATH)"
        );
    }

    #[tokio::test]
    async fn successful_command_output() {
        let dir = Scratch::new("ok");
        let out = run(spec(&dir, &["printf", "%s|%s\n", "a b", "$HOME;*"]))
            .await
            .unwrap();
        // Arguments reach the program verbatim: no shell splitting, expansion or globbing.
        assert_eq!(out.stdout, "a b|$HOME;*\n");
        assert_eq!(out.stderr, "");
        assert_eq!(out.exit_code, Some(0));
        assert!(out.success());
        assert!(!out.truncated);
        assert_eq!(out.combined(), "a b|$HOME;*\n");
    }

    #[tokio::test]
    async fn environment_is_cleared_and_allow_listed() {
        let dir = Scratch::new("env");
        let mut spec = spec(&dir, &["env"]);
        spec.env = vec![
            ("AURORA_REGION".to_owned(), "eu-west-1".to_owned()),
            ("AURORA_TEST_TOKEN".to_owned(), "tok-0123456789".to_owned()),
        ];
        let cwd = spec.cwd.clone();
        let out = run(spec).await.unwrap();
        assert!(out.success());

        let mut seen = HashSet::new();
        for line in out.stdout.lines() {
            let Some((name, _)) = line.split_once('=') else {
                continue;
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue; // continuation of a multi-line value
            }
            assert!(
                PASSED_ENV.contains(&name)
                    || ["HOME", "AURORA_REGION", "AURORA_TEST_TOKEN"].contains(&name),
                "unexpected variable {name} in the child's environment"
            );
            seen.insert(name.to_owned());
        }
        // Nothing else from our own environment leaked through (cargo sets plenty).
        for (name, _) in std::env::vars() {
            if !PASSED_ENV.contains(&name.as_str()) && name != "HOME" {
                assert!(!seen.contains(&name), "{name} leaked into the child");
            }
        }
        // Allow-listed variables are passed through with their values.
        if let Ok(path) = std::env::var("PATH") {
            assert!(out
                .stdout
                .lines()
                .any(|line| line == format!("PATH={path}")));
        }
        assert!(out
            .stdout
            .lines()
            .any(|line| line == format!("HOME={}", cwd.display())));
        // Injected config is visible; injected secrets are visible to the child but redacted.
        assert!(out
            .stdout
            .lines()
            .any(|line| line == "AURORA_REGION=eu-west-1"));
        assert!(out
            .stdout
            .lines()
            .any(|line| line == "AURORA_TEST_TOKEN=[REDACTED]"));
        assert!(!out.stdout.contains("tok-0123456789"));
    }

    #[tokio::test]
    async fn injected_env_overrides_and_reaches_the_child() {
        let dir = Scratch::new("inject");
        let mut spec = spec(
            &dir,
            &[
                "sh",
                "-c",
                "printf '%s %s' \"$HOME\" \"$CLOUDSDK_CORE_PROJECT\"",
            ],
        );
        spec.env = vec![
            ("HOME".to_owned(), "/nonexistent-home".to_owned()),
            ("CLOUDSDK_CORE_PROJECT".to_owned(), "acme-prod".to_owned()),
        ];
        let out = run(spec).await.unwrap();
        assert_eq!(out.stdout, "/nonexistent-home acme-prod");
    }

    #[tokio::test]
    async fn working_directory_is_created_and_used() {
        let dir = Scratch::new("cwd");
        let mut spec = spec(&dir, &["pwd"]);
        spec.cwd = dir.0.join("tenant-a").join("session-1");
        assert!(!spec.cwd.exists());
        let cwd = spec.cwd.clone();
        let out = run(spec).await.unwrap();
        assert!(cwd.is_dir());
        let reported = Path::new(out.stdout.trim_end()).canonicalize().unwrap();
        assert_eq!(reported, cwd.canonicalize().unwrap());
    }

    #[tokio::test]
    async fn failing_command_reports_exit_code_and_stderr() {
        let dir = Scratch::new("fail");
        let out = run(spec(&dir, &["sh", "-c", "echo out; echo oops >&2; exit 3"]))
            .await
            .unwrap();
        assert_eq!(out.exit_code, Some(3));
        assert!(!out.success());
        assert_eq!(out.stdout, "out\n");
        assert_eq!(out.stderr, "oops\n");
        assert_eq!(out.combined(), "out\noops\n");
    }

    #[tokio::test]
    async fn timeout_kills_the_command() {
        let dir = Scratch::new("timeout");
        let mut spec = spec(&dir, &["sleep", "5"]);
        spec.timeout = Duration::from_millis(200);
        let started = std::time::Instant::now();
        let err = run(spec).await.unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        match err {
            ExecError::TimedOut { after, partial } => {
                assert_eq!(after, Duration::from_millis(200));
                assert_eq!(partial, "");
            }
            other => panic!("expected TimedOut, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn timeout_returns_even_when_a_grandchild_holds_the_pipes() {
        let dir = Scratch::new("grandchild");
        let mut spec = spec(&dir, &["sh", "-c", "echo started; sleep 30 & sleep 30"]);
        spec.timeout = Duration::from_millis(200);
        let started = std::time::Instant::now();
        let err = run(spec).await.unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        match err {
            ExecError::TimedOut { partial, .. } => assert_eq!(partial, "started\n"),
            other => panic!("expected TimedOut, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn exited_command_returns_despite_a_lingering_grandchild() {
        let dir = Scratch::new("linger");
        let started = std::time::Instant::now();
        let out = run(spec(&dir, &["sh", "-c", "echo done; sleep 30 &"]))
            .await
            .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(out.exit_code, Some(0));
        assert_eq!(out.stdout, "done\n");
    }

    #[tokio::test]
    async fn timed_out_partial_output_is_redacted() {
        let dir = Scratch::new("timeout-redact");
        let mut spec = spec(&dir, &["sh", "-c", "echo key=hunter2-secret; sleep 5"]);
        spec.timeout = Duration::from_millis(300);
        spec.secrets = strings(&["hunter2-secret"]);
        match run(spec).await.unwrap_err() {
            ExecError::TimedOut { partial, .. } => assert_eq!(partial, "key=[REDACTED]\n"),
            other => panic!("expected TimedOut, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn large_output_is_capped_and_drained() {
        let dir = Scratch::new("cap");
        let out = run(spec(&dir, &["head", "-c", "3000000", "/dev/zero"]))
            .await
            .unwrap();
        assert!(out.truncated);
        assert_eq!(out.stdout.len(), OUTPUT_CAP);
        assert!(out.stdout.bytes().all(|b| b == 0));
        // 3 MB is under the drain limit: head was drained to completion, not killed.
        assert_eq!(out.exit_code, Some(0));
        assert!(out.combined().ends_with(&format!("\n{TRUNCATION_NOTICE}")));
    }

    #[tokio::test]
    async fn endless_output_is_killed_after_the_drain_limit() {
        let dir = Scratch::new("yes");
        let started = std::time::Instant::now();
        let out = run(spec(&dir, &["yes"])).await.unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        assert!(out.truncated);
        assert_eq!(out.exit_code, None, "yes must have been killed");
        assert!(!out.success());
        assert_eq!(out.stdout.len(), OUTPUT_CAP);
        assert!(out.stdout.lines().all(|line| line == "y"));
    }

    #[tokio::test]
    async fn cap_is_shared_between_stdout_and_stderr() {
        let dir = Scratch::new("shared");
        let out = run(spec(
            &dir,
            &[
                "sh",
                "-c",
                "head -c 800000 /dev/zero; head -c 800000 /dev/zero >&2",
            ],
        ))
        .await
        .unwrap();
        assert!(out.truncated);
        assert_eq!(out.stdout.len(), 800_000);
        assert_eq!(out.stderr.len(), OUTPUT_CAP - 800_000);
        assert_eq!(out.exit_code, Some(0));
    }

    #[tokio::test]
    async fn cut_does_not_split_a_utf8_character() {
        let dir = Scratch::new("utf8");
        // 1 MiB - 1 bytes of NULs, then "é" (2 bytes): the cap falls inside "é".
        let script = format!(
            "head -c {} /dev/zero; printf '\\303\\251tail'",
            OUTPUT_CAP - 1
        );
        let out = run(spec(&dir, &["sh", "-c", &script])).await.unwrap();
        assert!(out.truncated);
        assert_eq!(out.stdout.len(), OUTPUT_CAP - 1);
        assert!(!out.stdout.contains('\u{FFFD}'));
    }

    #[tokio::test]
    async fn literal_and_injected_secrets_are_redacted() {
        let dir = Scratch::new("secrets");
        let mut spec = spec(
            &dir,
            &[
                "sh",
                "-c",
                "printf '%s %s %s\\n' \"$AURORA_API_TOKEN\" hunter2-password \"$AWS_REGION\"; \
                 printf 'err %s\\n' \"$AURORA_API_TOKEN\" >&2",
            ],
        );
        spec.env = vec![
            ("AURORA_API_TOKEN".to_owned(), "tok-abcdef123456".to_owned()),
            ("AWS_REGION".to_owned(), "us-east-1".to_owned()),
        ];
        spec.secrets = strings(&["hunter2-password"]);
        let out = run(spec).await.unwrap();
        assert_eq!(out.stdout, "[REDACTED] [REDACTED] us-east-1\n");
        assert_eq!(out.stderr, "err [REDACTED]\n");
    }

    #[test]
    fn cut_streams_lose_their_partial_tail() {
        let redactor = Redactor::new(&strings(&["hunter2-secret"]));
        let cut = |bytes: &[u8]| {
            finish_stream(
                StreamBuf {
                    bytes: bytes.to_vec(),
                    cut: true,
                },
                &redactor,
            )
        };
        // The incomplete last line goes (it might hold half a key).
        assert_eq!(cut(b"line 1\nAKIAIOSFOD"), "line 1\n");
        assert_eq!(cut(b"line 1\nline 2\n"), "line 1\nline 2\n");
        // Without a newline: no half character, no fragment of a literal secret.
        assert_eq!(cut("abcé".as_bytes().split_last().unwrap().1), "abc");
        assert_eq!(cut(b"password=hunter2-se"), "password=");
        // Streams that were not cut are kept whole.
        let whole = finish_stream(
            StreamBuf {
                bytes: b"line 1\npartial".to_vec(),
                cut: false,
            },
            &redactor,
        );
        assert_eq!(whole, "line 1\npartial");
    }

    #[test]
    fn incomplete_utf8_tails() {
        assert_eq!(incomplete_utf8_tail(b"abc"), 0);
        assert_eq!(incomplete_utf8_tail("é".as_bytes()), 0);
        assert_eq!(incomplete_utf8_tail(&"€".as_bytes()[..2]), 2);
        assert_eq!(incomplete_utf8_tail(&"😀".as_bytes()[..3]), 3);
        assert_eq!(incomplete_utf8_tail(&"😀".as_bytes()[..1]), 1);
        assert_eq!(incomplete_utf8_tail(b""), 0);
    }

    #[test]
    fn capture_keeps_at_most_the_cap_across_streams() {
        let mut capture = Capture::default();
        capture.push(Stream::Stderr, &vec![b'e'; OUTPUT_CAP - 10]);
        capture.push(Stream::Stdout, &[b'o'; 25]);
        capture.push(Stream::Stderr, &[b'e'; 5]);
        assert_eq!(capture.kept, OUTPUT_CAP);
        assert_eq!(capture.produced, (OUTPUT_CAP + 20) as u64);
        assert_eq!(capture.stdout.bytes, vec![b'o'; 10]);
        assert_eq!(capture.stderr.bytes.len(), OUTPUT_CAP - 10);
        assert!(capture.stdout.cut && capture.stderr.cut);
    }

    #[test]
    fn redaction_growth_still_respects_the_cap() {
        let secret = "abcd".to_owned();
        let redactor = Redactor::new(std::slice::from_ref(&secret));
        let capture = Capture {
            stdout: StreamBuf {
                bytes: secret.repeat(OUTPUT_CAP / 4).into_bytes(),
                cut: false,
            },
            stderr: StreamBuf::default(),
            kept: OUTPUT_CAP,
            produced: OUTPUT_CAP as u64,
        };
        let (stdout, stderr, truncated) = capture.finish(&redactor);
        assert!(truncated);
        assert!(stdout.len() + stderr.len() <= OUTPUT_CAP);
        assert!(stdout.starts_with("[REDACTED][REDACTED]"));
    }

    #[test]
    fn combined_output() {
        let mut out = ExecOutput {
            exit_code: Some(1),
            stdout: "partial".to_owned(),
            stderr: "warning: x\n".to_owned(),
            truncated: false,
            duration: Duration::from_millis(5),
        };
        assert_eq!(out.combined(), "partial\nwarning: x\n");
        out.truncated = true;
        assert_eq!(
            out.combined(),
            format!("partial\nwarning: x\n{TRUNCATION_NOTICE}")
        );
        out.stderr.clear();
        out.stdout.clear();
        assert_eq!(out.combined(), TRUNCATION_NOTICE);
    }

    #[test]
    fn secret_env_names() {
        for name in [
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ACCESS_KEY_ID",
            "AWS_SESSION_TOKEN",
            "GITHUB_TOKEN",
            "PGPASSWORD",
            "AZURE_CLIENT_SECRET",
            "DD_API_KEY",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "vault_token",
        ] {
            assert!(is_secret_env_name(name), "{name}");
        }
        for name in [
            "AWS_REGION",
            "CLOUDSDK_CORE_PROJECT",
            "AZURE_TENANT_ID",
            "KUBECONFIG",
        ] {
            assert!(!is_secret_env_name(name), "{name}");
        }
    }
}
