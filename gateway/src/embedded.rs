//! The private PostgreSQL cluster `aurora up` runs when `DATABASE_URL` is unset: `initdb` once
//! under `<data dir>/postgres`, then `postgres` on a free loopback port, stopped with Aurora.
//!
//! `initdb` and `postgres` refuse to run as root; when Aurora runs as root, both run as the
//! `postgres` system user (uid/gid set on the child), and the cluster directory belongs to it.
//! That user must be able to reach the directory, which it cannot when a parent is private to
//! root (a clone in `/root/aurora`, a `mktemp -d` data dir). Then each of them runs in a private
//! mount namespace where the cluster directory is bind-mounted at a path that user can reach:
//! nothing of the caller's file system is opened up, and nothing is left behind.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
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

/// How the server programs are started, and where they see the cluster directory.
#[derive(Debug, Clone, PartialEq)]
enum RunAs {
    /// Not root: as the invoking user, at the directory's own path.
    Invoker,
    /// Root, and user `postgres` can reach the directory: as that user, at its own path.
    Postgres(Account),
    /// Root, and some parent of the directory is closed to user `postgres`: as that user, in a
    /// private mount namespace (util-linux `unshare`) where a fresh tmpfs over `mount_root` holds
    /// the directory bind-mounted at `mount_root` + its own path.
    PostgresInPrivateMount {
        account: Account,
        mount_root: PathBuf,
        /// The first parent the account cannot search, for messages.
        closed: PathBuf,
    },
}

/// A system account's uid and gid.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Account {
    uid: u32,
    gid: u32,
}

impl EmbeddedPostgres {
    /// Initialises (first time) and starts the cluster, and makes sure database `aurora` exists.
    pub async fn start(dir: &Path) -> anyhow::Result<Self> {
        let bin = bin_dir().context(
            "PostgreSQL server binaries (initdb, postgres) not found; install postgresql",
        )?;
        std::fs::create_dir_all(dir)
            .with_context(|| format!("Failed to create {}", dir.display()))?;
        let dir = &dir
            .canonicalize()
            .with_context(|| format!("Failed to resolve {}", dir.display()))?;
        let run_as = RunAs::choose(dir)?;
        if let Some(account) = run_as.account() {
            std::os::unix::fs::chown(dir, Some(account.uid), Some(account.gid))
                .context("Failed to give the cluster dir to postgres")?;
        }
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        let seen = run_as.seen_path(dir);
        if !dir.join("PG_VERSION").exists() {
            let status = run_as
                .command(&bin.join("initdb"), dir)
                .arg("-D")
                .arg(&seen)
                .args([
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-instructions",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .output()
                .await
                .context("Failed to run initdb")?;
            if !status.status.success() {
                bail!(
                    "initdb failed for {} ({}){}: {}",
                    dir.display(),
                    status.status,
                    run_as.explain(),
                    String::from_utf8_lossy(&status.stderr).trim()
                );
            }
        }
        let port = aurora_nats::server::free_port()?;
        let log = std::fs::File::create(dir.join("postgres.log"))?;
        if let Some(account) = run_as.account() {
            std::os::unix::fs::chown(
                dir.join("postgres.log"),
                Some(account.uid),
                Some(account.gid),
            )?;
        }
        let child = run_as
            .command(&bin.join("postgres"), dir)
            .arg("-D")
            .arg(&seen)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .arg("-k")
            .arg(&seen)
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            // Its own process group: Ctrl-C in the terminal reaches Aurora only, which then
            // stops this child in order.
            .process_group(0)
            .spawn()
            .context("Failed to start postgres")?;
        let url = format!("postgres://postgres@127.0.0.1:{port}");
        let mut admin = connect_when_ready(&format!("{url}/postgres"), dir, &run_as).await?;
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

async fn connect_when_ready(
    url: &str,
    dir: &Path,
    run_as: &RunAs,
) -> anyhow::Result<sqlx::PgConnection> {
    let started = Instant::now();
    loop {
        match sqlx::PgConnection::connect(url).await {
            Ok(c) => return Ok(c),
            Err(e) if started.elapsed() > Duration::from_secs(30) => {
                let log = std::fs::read_to_string(dir.join("postgres.log")).unwrap_or_default();
                bail!("postgres did not start{}: {e}\n{log}", run_as.explain());
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Where a private mount namespace may lay its tmpfs: a directory every system has, that holds
/// nothing the server needs, and that is not a parent of the cluster (the tmpfs would hide it).
const MOUNT_ROOTS: [&str; 4] = ["/mnt", "/media", "/srv", "/tmp"];

/// Mounts a tmpfs over `$1`, bind-mounts the cluster dir `$2` at `$1$2`, then runs the rest of
/// the arguments as uid `$3`, gid `$4`. Run by `unshare --mount --propagation private`, so the
/// mounts exist for the server's processes only and vanish with them.
const PRIVATE_MOUNT_SCRIPT: &str = r#"set -e
root="$1"; dir="$2"; uid="$3"; gid="$4"; shift 4
mount -t tmpfs -o mode=0755,size=1m aurora-postgres "$root"
mkdir -p "$root$dir"
mount --bind "$dir" "$root$dir"
exec setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@""#;

impl RunAs {
    fn choose(dir: &Path) -> anyhow::Result<Self> {
        if !is_root() {
            return Ok(Self::Invoker);
        }
        let account = postgres_user().context("running as root needs a `postgres` system user")?;
        let Some(closed) = first_closed_parent(dir, account) else {
            return Ok(Self::Postgres(account));
        };
        let mount_root = MOUNT_ROOTS
            .iter()
            .map(PathBuf::from)
            .find(|root| root.is_dir() && !dir.starts_with(root))
            .with_context(|| {
                format!(
                    "user postgres cannot reach {} ({} is closed to it) and no directory of {MOUNT_ROOTS:?} \
                     is free for a private mount",
                    dir.display(),
                    closed.display()
                )
            })?;
        Ok(Self::PostgresInPrivateMount {
            account,
            mount_root,
            closed,
        })
    }

    fn account(&self) -> Option<Account> {
        match self {
            Self::Invoker => None,
            Self::Postgres(account) | Self::PostgresInPrivateMount { account, .. } => {
                Some(*account)
            }
        }
    }

    /// The cluster directory's path as the server programs see it.
    fn seen_path(&self, dir: &Path) -> PathBuf {
        match self {
            Self::Invoker | Self::Postgres(_) => dir.to_path_buf(),
            Self::PostgresInPrivateMount { mount_root, .. } => {
                let mut seen = mount_root.clone().into_os_string();
                seen.push(dir.as_os_str());
                PathBuf::from(seen)
            }
        }
    }

    fn command(&self, program: &Path, dir: &Path) -> Command {
        match self {
            Self::Invoker => Command::new(program),
            Self::Postgres(account) => {
                let mut c = Command::new(program);
                c.uid(account.uid).gid(account.gid);
                c
            }
            Self::PostgresInPrivateMount {
                account,
                mount_root,
                ..
            } => {
                let mut c = Command::new("unshare");
                c.args(["--mount", "--propagation", "private", "--"])
                    .args(["sh", "-c", PRIVATE_MOUNT_SCRIPT, "sh"])
                    .arg(mount_root)
                    .arg(dir)
                    .arg(account.uid.to_string())
                    .arg(account.gid.to_string())
                    .arg(program);
                c
            }
        }
    }

    /// Said with a failure, so the reader knows how the server was run.
    fn explain(&self) -> String {
        match self {
            Self::Invoker => String::new(),
            Self::Postgres(_) => " (run as user postgres)".to_owned(),
            Self::PostgresInPrivateMount { closed, .. } => format!(
                " (run as user postgres in a private mount namespace, because {} is closed to \
                 that user; this needs util-linux `unshare` and `setpriv` and the right to make \
                 mount namespaces — otherwise choose an AURORA_DATA_DIR user postgres can reach, \
                 or set DATABASE_URL)",
                closed.display()
            ),
        }
    }
}

/// The first parent of `dir` (from the root down) that `account` may not search, judged by the
/// mode bits (an ACL that would let it through only costs an unneeded private mount).
fn first_closed_parent(dir: &Path, account: Account) -> Option<PathBuf> {
    let mut parents: Vec<&Path> = dir.ancestors().skip(1).collect();
    parents.reverse();
    parents.into_iter().find_map(|parent| {
        let meta = std::fs::metadata(parent).ok()?;
        (!may_search(&meta, account)).then(|| parent.to_path_buf())
    })
}

fn may_search(meta: &std::fs::Metadata, account: Account) -> bool {
    let mode = meta.mode();
    if meta.uid() == account.uid {
        mode & 0o100 != 0
    } else if meta.gid() == account.gid {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
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
fn postgres_user() -> Option<Account> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let line = passwd.lines().find(|l| l.starts_with("postgres:"))?;
    let mut fields = line.split(':').skip(2);
    Some(Account {
        uid: fields.next()?.parse().ok()?,
        gid: fields.next()?.parse().ok()?,
    })
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
