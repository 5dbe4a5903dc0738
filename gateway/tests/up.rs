//! `aurora up` as a user runs it: the real binary, its own nats-server and PostgreSQL cluster
//! under a fresh data dir; ready, then Ctrl-C stops everything it started.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn processes_using(dir: &str) -> Vec<String> {
    let out = Command::new("pgrep")
        .args(["-af", dir])
        .output()
        .expect("pgrep");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| {
            !l.contains("aurora up") && (l.contains("nats-server") || l.contains("postgres"))
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn aurora_up_runs_everything_and_ctrl_c_stops_it_cleanly() {
    let data = tempfile::tempdir().expect("temp dir");
    up_until_ready_then_ctrl_c(&data.path().join("data"));
}

/// A clone in `/root/aurora` or `AURORA_DATA_DIR=$(mktemp -d)`: a parent only its owner may
/// enter. As root (CI), the cluster's `postgres` user cannot reach the data dir by its path.
#[test]
fn aurora_up_works_with_a_data_dir_under_a_private_parent() {
    let home = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o700))
        .expect("chmod 0700");
    up_until_ready_then_ctrl_c(&home.path().join("aurora/data"));
}

fn up_until_ready_then_ctrl_c(dir: &Path) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    // A file, not a pipe: nobody reads while it runs, and a full pipe would stall it.
    let log_path = dir.with_extension("stderr.log");
    std::fs::create_dir_all(dir.parent().expect("parent")).expect("parent dir");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_aurora"))
        .args(["up", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir)
        .env_remove("DATABASE_URL")
        .env_remove("NATS_URL")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("aurora up starts");

    let started = Instant::now();
    let ready = loop {
        let answer = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
            .arg(format!("http://127.0.0.1:{port}/ready"))
            .output();
        if answer.is_ok_and(|o| o.stdout == b"200") {
            break true;
        }
        if started.elapsed() > Duration::from_secs(90)
            || child.try_wait().is_ok_and(|s| s.is_some())
        {
            break false;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let dir_text = dir.display().to_string();
    let running = processes_using(&dir_text);
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    let status = child.wait().expect("exits");
    let stderr = std::fs::read_to_string(&log_path).unwrap_or_default();
    let last_lines: Vec<&str> = stderr.lines().rev().take(5).collect();
    assert!(
        ready,
        "aurora up became ready; its stderr ends with {last_lines:?}"
    );
    assert_eq!(
        running.len(),
        2,
        "its own nats-server and postgres ran: {running:?}"
    );
    assert!(status.success(), "clean exit on Ctrl-C: {status}");
    assert!(
        dir.join("nats/jetstream").is_dir() && dir.join("postgres/PG_VERSION").is_file(),
        "state lives in the data dir"
    );
    assert_eq!(
        processes_using(&dir_text),
        Vec::<String>::new(),
        "nothing it started is left running"
    );
}
