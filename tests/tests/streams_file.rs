//! An operator's streams file (`--streams-file`, `AURORA_STREAMS_FILE`): every command that
//! provisions applies it, so its settings — here a consumer's `max_deliver`, the number of failed
//! deliveries before a message goes to DEAD_LETTERS — hold from one command to the next; a file
//! that does not load stops the command before it does anything. The commands run in-process
//! (`Cli::try_parse_from` + `cli::run`) against a real nats-server and PostgreSQL.

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::PullConsumer;
use async_nats::HeaderMap;
use aurora_gateway::cli::{self, Cli, Command};
use aurora_nats::consumer::{self, HandlerError};
use aurora_nats::dead_letters;
use aurora_nats::streams::DEFAULT_STREAMS_YAML;
use aurora_nats::subjects::{self, INBOX_STREAM};
use aurora_tests::{TestDb, TestNats};
use bytes::Bytes;
use clap::Parser;
use tokio::sync::watch;

use crate::fixtures::tenant;

/// ingest's declaration in the built-in streams.yaml, whose max_deliver the operator changes.
const INGEST_GIVES_UP_AFTER_10: &str =
    "filter: \"inbox.>\"\n        ack_wait: 30s\n        max_deliver: 10\n";

/// The built-in streams.yaml with ingest's max_deliver set to `max_deliver`.
fn ingest_giving_up_after(max_deliver: &str) -> String {
    assert_eq!(
        DEFAULT_STREAMS_YAML
            .matches(INGEST_GIVES_UP_AFTER_10)
            .count(),
        1,
        "ingest's declaration in streams.yaml"
    );
    DEFAULT_STREAMS_YAML.replace(
        INGEST_GIVES_UP_AFTER_10,
        &INGEST_GIVES_UP_AFTER_10.replace("10", max_deliver),
    )
}

/// Runs `aurora <args…>` in this process (what `dead-letters` writes kept from the test's output).
async fn aurora(args: &[&str]) -> anyhow::Result<ExitCode> {
    let cli = Cli::try_parse_from(std::iter::once("aurora").chain(args.iter().copied()))?;
    match cli.command {
        Command::DeadLetters { command } => cli::dead_letters::run(command, &mut Vec::new()).await,
        _ => cli::run(cli).await,
    }
}

/// Runs `aurora <args…>`, which must succeed.
async fn aurora_ok(args: &[&str]) {
    match aurora(args).await {
        Ok(code) => assert_eq!(code, ExitCode::SUCCESS, "aurora {}", args.join(" ")),
        Err(e) => panic!("aurora {}: {e:#}", args.join(" ")),
    }
}

/// ingest's max_deliver as JetStream has it.
async fn ingest_max_deliver(nats: &TestNats) -> i64 {
    nats.jetstream()
        .get_stream(INBOX_STREAM)
        .await
        .expect("INBOX")
        .consumer_info("ingest")
        .await
        .expect("ingest's info")
        .config
        .max_deliver
}

fn path_of(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_max_deliver_set_in_the_streams_file_is_provisioned_kept_by_the_next_command_and_obeyed()
{
    // Arrange: a server provisioned from the built-in file (ingest gives up after 10), and an
    // operator's file identical to it but for ingest giving up after 2.
    let nats = TestNats::start().await;
    let db = TestDb::create().await;
    let url = nats.url();
    assert_eq!(ingest_max_deliver(&nats).await, 10);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("streams.yaml");
    std::fs::write(&file, ingest_giving_up_after("2")).expect("write the streams file");
    let file = path_of(&file);

    // Act: one provisioning command given the file.
    aurora_ok(&[
        "dead-letters",
        "list",
        "--streams-file",
        file,
        "--nats-url",
        &url,
    ])
    .await;

    // Assert: JetStream has the operator's max_deliver.
    assert_eq!(ingest_max_deliver(&nats).await, 2);

    // A later command given the same file keeps it — `replay`, which provisions as `up`,
    // `serve` and `audit verify` do.
    aurora_ok(&[
        "replay",
        "incidents",
        "--streams-file",
        file,
        "--nats-url",
        &url,
        "--database-url",
        &db.url,
    ])
    .await;
    assert_eq!(ingest_max_deliver(&nats).await, 2, "replay reverted it");

    // (The check means something: a command without the file applies the built-in one, and
    // `streams apply --file`, the older spelling, the operator's again.)
    aurora_ok(&["streams", "apply", "--nats-url", &url]).await;
    assert_eq!(ingest_max_deliver(&nats).await, 10);
    aurora_ok(&["streams", "apply", "--file", file, "--nats-url", &url]).await;
    assert_eq!(ingest_max_deliver(&nats).await, 2);

    // And the runner obeys it: a delivery ingest can never handle is dead-lettered after 2.
    let ingest: PullConsumer = nats
        .jetstream()
        .get_stream(INBOX_STREAM)
        .await
        .expect("INBOX")
        .get_consumer("ingest")
        .await
        .expect("ingest");
    let attempts = Arc::new(AtomicUsize::new(0));
    let (stop_tx, stop) = watch::channel(false);
    let counted = attempts.clone();
    let runner = tokio::spawn(consumer::run(
        ingest,
        100,
        aurora_telemetry::Metrics::default(),
        stop,
        move |deliveries: Vec<consumer::Delivery>| {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                Err(HandlerError::Poison {
                    stream_sequence: deliveries[0].stream_sequence,
                    reason: "no parser reads this".into(),
                })
            }
        },
    ));
    let mut headers = HeaderMap::new();
    headers.insert("Nats-Msg-Id", uuid::Uuid::new_v4().to_string().as_str());
    nats.jetstream()
        .publish_with_headers(
            subjects::inbox(&tenant("acme"), "grafana"),
            headers,
            Bytes::from_static(b"poison"),
        )
        .await
        .expect("publish")
        .await
        .expect("ack");
    let started = Instant::now();
    let letters = loop {
        let letters = dead_letters::list(&nats.jetstream(), Some("ingest"))
            .await
            .expect("list");
        if !letters.is_empty() {
            break letters;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not dead-lettered after {} attempt(s)",
            attempts.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0].letter.origin.deliveries, 2);
    assert_eq!(attempts.load(Ordering::SeqCst), 2);

    let _ = stop_tx.send(true);
    runner.await.expect("joined").expect("runner");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streams_file_that_does_not_load_is_refused_at_start_naming_it() {
    let nats = TestNats::start().await;
    let url = nats.url();
    let dir = tempfile::tempdir().expect("tempdir");

    // A missing file stops every command that provisions before it does anything: before it
    // connects (the URLs lead nowhere) or starts a server of its own (`up` is given both).
    let missing = dir.path().join("no-such-streams.yaml");
    let missing = path_of(&missing);
    let nowhere_nats = "nats://127.0.0.1:9";
    let nowhere_db = "postgres://127.0.0.1:9/none";
    let data_dir = dir.path().join("data");
    let data_dir = path_of(&data_dir);
    let tenant = uuid::Uuid::new_v4().to_string();
    let commands: [&[&str]; 9] = [
        &[
            "up",
            "--nats-url",
            nowhere_nats,
            "--database-url",
            nowhere_db,
            "--data-dir",
            data_dir,
        ],
        &[
            "serve",
            "--role",
            "handlers",
            "--nats-url",
            nowhere_nats,
            "--database-url",
            nowhere_db,
        ],
        &[
            "replay",
            "incidents",
            "--nats-url",
            nowhere_nats,
            "--database-url",
            nowhere_db,
        ],
        &[
            "audit",
            "verify",
            "--nats-url",
            nowhere_nats,
            "--database-url",
            nowhere_db,
        ],
        &["dead-letters", "list", "--nats-url", nowhere_nats],
        &["dead-letters", "retry", "1", "--nats-url", nowhere_nats],
        &["dead-letters", "drop", "1", "--nats-url", nowhere_nats],
        &[
            "consumer-credentials",
            "--tenant",
            &tenant,
            "--nats-url",
            nowhere_nats,
        ],
        &["streams", "apply", "--nats-url", nowhere_nats],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.extend(["--streams-file", missing]);
        let error = aurora(&args)
            .await
            .expect_err("a missing streams file is refused");
        let message = format!("{error:#}");
        assert!(
            message.contains(&format!("Failed to load the streams file {missing}"))
                && message.contains("cannot read")
                && message.matches("No such file").count() == 1,
            "aurora {}: {message}",
            command.join(" ")
        );
    }
    assert!(
        !Path::new(data_dir).exists(),
        "up stopped before making its data dir"
    );

    // An invalid one is refused with its path, line and reason, and changes nothing on the
    // server.
    let invalid = dir.path().join("invalid-streams.yaml");
    std::fs::write(&invalid, ingest_giving_up_after("often")).expect("write");
    let invalid = path_of(&invalid);
    let error = aurora(&[
        "dead-letters",
        "list",
        "--streams-file",
        invalid,
        "--nats-url",
        &url,
    ])
    .await
    .expect_err("an invalid streams file is refused");
    let message = format!("{error:#}");
    // The declaration's third line is its max_deliver.
    let declaration = DEFAULT_STREAMS_YAML
        .find(INGEST_GIVES_UP_AFTER_10)
        .expect("ingest's declaration");
    let line = DEFAULT_STREAMS_YAML[..declaration].matches('\n').count() + 3;
    assert!(
        message.contains(&format!("Failed to load the streams file {invalid}"))
            && message.contains(&format!("line {line}"))
            && message.contains("often"),
        "{message}"
    );
    assert_eq!(ingest_max_deliver(&nats).await, 10);
}
