//! `aurora up` as a user runs it: the real binary, its own nats-server and PostgreSQL cluster
//! under a fresh data dir; ready, then Ctrl-C stops everything it started.

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
    let dir = data.path().join("data");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_aurora"))
        .args(["up", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(&dir)
        .env_remove("DATABASE_URL")
        .env_remove("NATS_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
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
        if started.elapsed() > Duration::from_secs(90) {
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
    assert!(ready, "aurora up became ready");
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
