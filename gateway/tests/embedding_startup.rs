//! What the `aurora` binary says about embeddings as it starts: with neither a model directory
//! nor an embeddings endpoint configured, one line saying that search is keyword only and that
//! correlation compares words — said once, at start-up.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aurora_nats::server::NatsServer;

use common::{curl, drop_database, fresh_database, Killed};

const NO_MODEL: &str = "No embedding model (set AURORA_EMBEDDING_MODEL_DIR, or EMBEDDING_BASE_URL \
     and EMBEDDING_MODEL): knowledge-base search is keyword only and correlation compares titles \
     by word overlap.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_embedding_model_the_start_up_says_so_once() {
    // Arrange
    let nats = NatsServer::start_temporary().await.expect("nats-server");
    let db = fresh_database("aurora_startup").await;
    let data = tempfile::tempdir().expect("a data dir");
    let port = aurora_nats::server::free_port().expect("a port");

    // Act: a gateway process started with no embedding settings, up until it is ready.
    let mut child = Command::new(env!("CARGO_BIN_EXE_aurora"))
        .args(["serve", "--role", "gateway", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(data.path())
        .env("NATS_URL", nats.url())
        .env("DATABASE_URL", &db)
        .env("RUST_LOG", "warn")
        .env_remove("AURORA_EMBEDDING_MODEL_DIR")
        .env_remove("EMBEDDING_BASE_URL")
        .env_remove("EMBEDDING_MODEL")
        .env_remove("EMBEDDING_API_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("aurora serve starts");
    let mut stdout = child.stdout.take().expect("its stdout");
    let process = Killed(child);
    let started = Instant::now();
    loop {
        if matches!(curl(port, "/ready", &[]).await, Some((200, _))) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the gateway never became ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Ready means started: what it printed so far is all it says at start-up.
    drop(process);
    let mut printed = String::new();
    stdout.read_to_string(&mut printed).expect("its output");

    // Assert
    let said: Vec<&str> = printed
        .lines()
        .filter(|line| line.contains("embedding") || line.starts_with("Embeddings:"))
        .collect();
    assert_eq!(said, vec![NO_MODEL], "all it printed: {printed:?}");
    drop_database(&db).await;
}
