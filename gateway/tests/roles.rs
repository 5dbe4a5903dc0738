//! The `aurora` binary as operators run it in production: one process per role against shared
//! NATS and PostgreSQL, then `aurora audit verify` and `aurora replay` from the command line.

mod common;

use std::process::{Command, Stdio};

use aurora_nats::server::NatsServer;

use common::{curl, drop_database, fresh_database, Killed};
use sqlx::Connection;

fn aurora(args: &[&str], nats: &str, db: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_aurora"));
    c.args(args)
        .env("NATS_URL", nats)
        .env("DATABASE_URL", db)
        .env("RUST_LOG", "warn")
        // The replay below counts the incident's events: an automatic investigation would add its own.
        .env("AURORA_RCA_AUTOMATIC", "0")
        .stdin(Stdio::null());
    c
}

async fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    curl(port, path, &[]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_runs_as_its_own_process_and_the_cli_audits_and_replays() {
    let nats = NatsServer::start_temporary().await.expect("nats-server");
    let db = fresh_database("aurora_roles").await;
    let url = nats.url();
    let port = aurora_nats::server::free_port().expect("port");

    let roles: Vec<Killed> = ["gateway", "handlers", "projections"]
        .iter()
        .map(|role| {
            Killed(
                aurora(
                    &[
                        "serve",
                        "--role",
                        role,
                        "--listen",
                        &format!("127.0.0.1:{port}"),
                    ],
                    &url,
                    &db,
                )
                .stdout(Stdio::null())
                .spawn()
                .expect("serve"),
            )
        })
        .collect();

    // Register through the gateway process; the projections process makes the account usable.
    let registered = common::register_until_usable(port).await;
    let bearer = format!(
        "authorization: Bearer {}",
        registered["token"].as_str().expect("token")
    );

    // A webhook taken by the gateway process, opened as an incident by the handlers process,
    // projected by the projections process, served by the gateway process.
    let (webhook_path, secret) = common::grafana_integration(port, &bearer).await;
    let firing = common::firing("Disk full on db-1");
    let accepted = curl(
        port,
        &webhook_path,
        &[
            "-H",
            &secret,
            "-H",
            "content-type: application/json",
            "-d",
            &firing,
        ],
    )
    .await;
    assert!(
        matches!(accepted, Some((202, _))),
        "delivery accepted: {accepted:?}"
    );
    let (_, body) = common::incident_served(port, &bearer, "Disk full on db-1").await;
    assert!(body.contains("Disk full on db-1"), "{body}");
    let (status, _) = http_get(port, "/ready").await.expect("ready");
    assert_eq!(status, 200);

    let verify = aurora(&["audit", "verify"], &url, &db)
        .output()
        .expect("audit");
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );

    let mut conn = sqlx::PgConnection::connect(&db).await.expect("db");
    sqlx::query("UPDATE incidents SET title = 'tampered'")
        .execute(&mut conn)
        .await
        .expect("tamper");
    let verify = aurora(&["audit", "verify"], &url, &db)
        .output()
        .expect("audit");
    assert_eq!(verify.status.code(), Some(1), "a difference exits 1");
    let printed = String::from_utf8_lossy(&verify.stdout);
    assert!(
        printed.contains("tampered") && printed.contains("Disk full on db-1"),
        "{printed}"
    );

    let replay = aurora(&["replay", "incidents"], &url, &db)
        .output()
        .expect("replay");
    assert!(
        replay.status.success(),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    assert!(String::from_utf8_lossy(&replay.stdout).contains("replayed 1 events"));
    let verify = aurora(&["audit", "verify"], &url, &db)
        .output()
        .expect("audit");
    assert!(
        verify.status.success(),
        "replay repaired the tables: {}",
        String::from_utf8_lossy(&verify.stdout)
    );

    let bad = aurora(
        &["streams", "apply", "--file", "/nonexistent/streams.yaml"],
        &url,
        &db,
    )
    .output()
    .expect("apply");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("cannot read /nonexistent/streams.yaml"));

    // An invalid file is refused as a whole, naming the line and the reason.
    let dir = tempfile::tempdir().expect("tempdir");
    let apply = |yaml: &str, file: &str| {
        let path = dir.path().join(file);
        std::fs::write(&path, yaml).expect("write streams file");
        let path = path.to_str().expect("utf-8 path").to_owned();
        aurora(&["streams", "apply", "--file", &path], &url, &db)
            .output()
            .expect("apply")
    };
    let invalid = apply(
        "streams:\n  - name: INBOX\n    subjects: [\"inbox.>\"]\n    retention: limits\n    max_age: 3 weeks\n",
        "bad-duration.yaml",
    );
    let stderr = String::from_utf8_lossy(&invalid.stderr);
    assert!(!invalid.status.success(), "{stderr}");
    assert!(
        stderr.contains("line 5") && stderr.contains("invalid duration \"3 weeks\""),
        "{stderr}"
    );
    let duplicate = apply(
        "streams:\n  - name: INBOX\n    subjects: [\"inbox.>\"]\n    retention: limits\n  - name: INBOX\n    subjects: [\"inbox2.>\"]\n    retention: limits\n",
        "duplicate.yaml",
    );
    let stderr = String::from_utf8_lossy(&duplicate.stderr);
    assert!(!duplicate.status.success(), "{stderr}");
    assert!(
        stderr.contains("line 5")
            && stderr.contains("stream INBOX is declared twice (first at line 2)"),
        "{stderr}"
    );

    // A change JetStream cannot make in place (EVENTS on file → memory) is reported, fails the
    // command, and leaves the stream as it was; the rest of the file is still applied.
    let shipped = aurora_nats::streams::DEFAULT_STREAMS_YAML;
    let events_on_file = "    storage: file\n    replicas: 1\n    max_age: 0\n";
    assert_eq!(
        shipped.matches(events_on_file).count(),
        1,
        "EVENTS storage line"
    );
    let refused = apply(
        &shipped.replace(
            events_on_file,
            "    storage: memory\n    replicas: 1\n    max_age: 0\n",
        ),
        "events-in-memory.yaml",
    );
    let stdout = String::from_utf8_lossy(&refused.stdout);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("EVENTS: NOT updated: storage cannot change from File to Memory"),
        "{stdout}"
    );
    assert!(stdout.contains("INBOX: unchanged"), "{stdout}");
    assert!(stderr.contains("not applied: EVENTS"), "{stderr}");
    let client = aurora_nats::connect(&url).await.expect("connect");
    let js = async_nats::jetstream::new(client);
    let storage = js
        .get_stream("EVENTS")
        .await
        .expect("EVENTS")
        .info()
        .await
        .expect("info")
        .config
        .storage;
    assert_eq!(storage, async_nats::jetstream::stream::StorageType::File);

    drop(roles);
    drop(conn);
    drop_database(&db).await;
}
