//! The private PostgreSQL cluster `aurora up` runs when `DATABASE_URL` is unset: `initdb` once
//! under `<data dir>/postgres`, then `postgres` on a free loopback port, stopped with Aurora.
//!
//! `initdb` and `postgres` refuse to run as root; when Aurora runs as root, both run as the
//! `postgres` system user (uid/gid set on the child), and the cluster directory belongs to it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use sqlx::Connection;
use tokio::process::{Child, Command};

pub struct EmbeddedPostgres {
    child: Child,
    pub url: String,
}

impl EmbeddedPostgres {
    /// Initialises (first time) and starts the cluster, and makes sure database `aurora` exists.
    pub async fn start(dir: &Path) -> anyhow::Result<Self> {
        let bin = bin_dir().context(
            "PostgreSQL server binaries (initdb, postgres) not found; install postgresql",
        )?;
        let owner = if is_root() {
            Some(postgres_user().context("running as root needs a `postgres` system user")?)
        } else {
            None
        };
        std::fs::create_dir_all(dir)
            .with_context(|| format!("Failed to create {}", dir.display()))?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(dir, Some(uid), Some(gid))
                .context("Failed to give the cluster dir to postgres")?;
        }
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        if !dir.join("PG_VERSION").exists() {
            let status = command(&bin.join("initdb"), owner)
                .arg("-D")
                .arg(dir)
                .args([
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-instructions",
                ])
                .stdout(Stdio::null())
                .status()
                .await
                .context("Failed to run initdb")?;
            if !status.success() {
                bail!("initdb failed for {} ({status})", dir.display());
            }
        }
        let port = aurora_nats::server::free_port()?;
        let log = std::fs::File::create(dir.join("postgres.log"))?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(dir.join("postgres.log"), Some(uid), Some(gid))?;
        }
        let child = command(&bin.join("postgres"), owner)
            .arg("-D")
            .arg(dir)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .arg("-k")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            // Its own process group: Ctrl-C in the terminal reaches Aurora only, which then
            // stops this child in order.
            .process_group(0)
            .spawn()
            .context("Failed to start postgres")?;
        let url = format!("postgres://postgres@127.0.0.1:{port}");
        let mut admin = connect_when_ready(&format!("{url}/postgres"), dir).await?;
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'aurora')",
        )
        .fetch_one(&mut admin)
        .await?;
        if !exists {
            sqlx::query("CREATE DATABASE aurora")
                .execute(&mut admin)
                .await?;
        }
        Ok(Self {
            child,
            url: format!("{url}/aurora"),
        })
    }

    /// Fast shutdown (SIGINT: abort open transactions, checkpoint, exit).
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill")
                .arg("-INT")
                .arg(pid.to_string())
                .status()
                .await;
            if tokio::time::timeout(Duration::from_secs(20), self.child.wait())
                .await
                .is_ok()
            {
                return;
            }
        }
        let _ = self.child.kill().await;
    }
}

async fn connect_when_ready(url: &str, dir: &Path) -> anyhow::Result<sqlx::PgConnection> {
    let started = Instant::now();
    loop {
        match sqlx::PgConnection::connect(url).await {
            Ok(c) => return Ok(c),
            Err(e) if started.elapsed() > Duration::from_secs(30) => {
                let log = std::fs::read_to_string(dir.join("postgres.log")).unwrap_or_default();
                bail!("postgres did not start: {e}\n{log}");
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

fn command(program: &Path, owner: Option<(u32, u32)>) -> Command {
    let mut c = Command::new(program);
    if let Some((uid, gid)) = owner {
        c.uid(uid).gid(gid);
    }
    c
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// uid and gid of the `postgres` user, from `/etc/passwd`.
fn postgres_user() -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let line = passwd.lines().find(|l| l.starts_with("postgres:"))?;
    let mut fields = line.split(':').skip(2);
    Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
}

/// Where `initdb` and `postgres` live: `pg_config --bindir`, else the newest
/// `/usr/lib/postgresql/<version>/bin`.
fn bin_dir() -> Option<PathBuf> {
    if let Ok(out) = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").is_file() {
            return Some(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| bin.join("initdb").is_file())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}
