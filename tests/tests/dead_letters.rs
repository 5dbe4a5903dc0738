//! Dead letters: a message a consumer cannot handle is retried up to its consumer's max_deliver,
//! then moved to DEAD_LETTERS with its error and origin while the consumer goes on; `aurora
//! dead-letters list|retry|drop` handles it. Real nats-server, real PostgreSQL, the real runner.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{pull, AckPolicy};
use async_nats::HeaderMap;
use aurora_domain::{Incident, IncidentId};
use aurora_gateway::cli::{dead_letters::run as run_cli, Cli, Command};
use aurora_nats::consumer::{self, HandlerError};
use aurora_nats::dead_letters::{self, DeadLetterError, Listed};
use aurora_nats::envelope::Outgoing;
use aurora_nats::subjects::{self, INBOX_STREAM};
use aurora_nats::{AggregateStore, Context};
use aurora_projections::{runner, Projector};
use aurora_tests::{wait_for_projection, TestDb, TestNats};
use bytes::Bytes;
use chrono::Utc;
use clap::Parser;
use tokio::sync::watch;
use uuid::Uuid;

use crate::fixtures::{open, tenant};

/// Runs `aurora dead-letters <args…>` against `nats`, returning what it printed.
async fn aurora(nats: &TestNats, args: &[&str]) -> anyhow::Result<String> {
    let url = nats.url();
    let mut argv = vec!["aurora", "dead-letters"];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["--nats-url", &url]);
    let Command::DeadLetters { command } = Cli::try_parse_from(argv)?.command else {
        panic!("parsed as another command");
    };
    let mut out = Vec::new();
    let code = run_cli(command, &mut out).await?;
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    Ok(String::from_utf8(out).expect("utf-8"))
}

/// Polls `check` until it holds (at most 30 s).
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn letters_of(nats: &TestNats, consumer: &str) -> Vec<Listed> {
    dead_letters::list(&nats.jetstream(), Some(consumer))
        .await
        .expect("list")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_that_always_fails_is_dead_lettered_and_can_be_listed_retried_and_dropped() {
    // Arrange: a consumer of INBOX giving up after 3 deliveries, whose handler cannot handle
    // "poison" until it is "fixed".
    let nats = TestNats::start().await;
    let js = nats.jetstream();
    let stream = js.get_stream(INBOX_STREAM).await.expect("INBOX");
    let consumer: async_nats::jetstream::consumer::PullConsumer = stream
        .create_consumer(pull::Config {
            durable_name: Some("dlq-test".into()),
            filter_subject: "inbox.>".into(),
            ack_policy: AckPolicy::Explicit,
            max_deliver: 3,
            ..Default::default()
        })
        .await
        .expect("consumer");
    let fixed = Arc::new(AtomicBool::new(false));
    let handled: Arc<Mutex<Vec<String>>> = Arc::default();
    let (stop_tx, stop) = watch::channel(false);
    let (f, h) = (fixed.clone(), handled.clone());
    let metrics = aurora_telemetry::Metrics::default();
    let runner = tokio::spawn(consumer::run(
        consumer,
        100,
        metrics.clone(),
        stop,
        move |deliveries| {
            let (fixed, handled) = (f.clone(), h.clone());
            async move {
                for d in &deliveries {
                    if &d.payload[..] == b"poison" && !fixed.load(Ordering::SeqCst) {
                        return Err(HandlerError::Poison {
                            stream_sequence: d.stream_sequence,
                            reason: "no parser reads \"poison\"".into(),
                        });
                    }
                }
                let mut handled = handled.lock().expect("lock");
                for d in deliveries {
                    handled.push(String::from_utf8_lossy(&d.payload).into_owned());
                }
                Ok(())
            }
        },
    ));
    let subject = subjects::inbox(&tenant("acme"), "grafana");
    let publish = |body: &'static str| {
        let (js, subject) = (js.clone(), subject.clone());
        async move {
            let mut headers = HeaderMap::new();
            headers.insert("Aurora-Test", "kept");
            headers.insert("Nats-Msg-Id", format!("{body}-{}", Uuid::new_v4()).as_str());
            js.publish_with_headers(subject, headers, Bytes::from_static(body.as_bytes()))
                .await
                .expect("publish")
                .await
                .expect("ack")
                .sequence
        }
    };

    // Act: a good delivery, a poison one, a later good one.
    publish("first").await;
    let poison_sequence = publish("poison").await;
    publish("later").await;

    // Assert: the later delivery is handled, the poison one is dead-lettered with its error and
    // origin after 3 deliveries.
    let has = |body: &'static str| {
        let handled = handled.clone();
        move || {
            let handled = handled.clone();
            async move { handled.lock().expect("lock").iter().any(|b| b == body) }
        }
    };
    eventually("the later delivery is handled", has("later")).await;
    assert!(has("first")().await);
    assert!(!has("poison")().await);
    let letters = letters_of(&nats, "dlq-test").await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    // Counted for /metrics: one dead letter, after two redeliveries of the poison.
    let exposition = metrics.encode();
    assert!(
        exposition
            .lines()
            .any(|l| l == r#"aurora_dead_lettered_messages_total{consumer="dlq-test"} 1"#),
        "{exposition}"
    );
    let letter = &letters[0].letter;
    assert_eq!(letter.origin.stream, "INBOX");
    assert_eq!(letter.origin.consumer, "dlq-test");
    assert_eq!(letter.origin.stream_sequence, poison_sequence);
    assert_eq!(letter.origin.subject, subject);
    assert_eq!(letter.origin.deliveries, 3);
    assert!(letter.error.contains("no parser reads"), "{}", letter.error);
    assert_eq!(&letter.payload[..], b"poison");
    assert_eq!(
        letter.headers.get("Aurora-Test").map(|v| v.as_str()),
        Some("kept")
    );
    let id = letters[0].id;

    // `list` shows it.
    let listed = aurora(&nats, &["list", "--consumer", "dlq-test"])
        .await
        .expect("list");
    assert!(
        listed.starts_with(&format!(
            "{id}\tdlq-test\tINBOX/{poison_sequence}\t{subject}\tdeliveries 3\t"
        )),
        "{listed}"
    );
    assert!(listed.contains("no parser reads"), "{listed}");
    assert!(listed.ends_with("1 dead letter(s)\n"), "{listed}");

    // `retry` re-delivers it to the consumer (now able to handle it) and removes it.
    fixed.store(true, Ordering::SeqCst);
    let retried = aurora(&nats, &["retry", &id.to_string()])
        .await
        .expect("retry");
    assert!(retried.contains("republished"), "{retried}");
    eventually("the retried delivery is handled", has("poison")).await;
    assert!(letters_of(&nats, "dlq-test").await.is_empty());

    // `drop` removes another one for good.
    fixed.store(false, Ordering::SeqCst);
    publish("poison").await;
    eventually("a second poison delivery is dead-lettered", || async {
        letters_of(&nats, "dlq-test").await.len() == 1
    })
    .await;
    let id = letters_of(&nats, "dlq-test").await[0].id;
    let dropped = aurora(&nats, &["drop", &id.to_string()])
        .await
        .expect("drop");
    assert_eq!(dropped, format!("dead letter {id} removed\n"));
    assert!(letters_of(&nats, "dlq-test").await.is_empty());
    assert_eq!(
        handled
            .lock()
            .expect("lock")
            .iter()
            .filter(|b| *b == "poison")
            .count(),
        1,
        "the dropped one was never handled"
    );

    // Bad arguments: an unknown id is a clear error (the binary exits non-zero), a non-number
    // does not parse.
    for verb in ["retry", "drop"] {
        let error = aurora(&nats, &[verb, "999999"])
            .await
            .expect_err("unknown id");
        let message = format!("{error:#}");
        assert!(message.contains("no dead letter 999999"), "{message}");
        assert!(matches!(
            error.downcast_ref::<DeadLetterError>(),
            Some(DeadLetterError::NotFound(999999))
        ));
    }
    let error = aurora(&nats, &["retry", "seven"])
        .await
        .expect_err("not a number");
    assert!(
        format!("{error}").contains("invalid value 'seven'"),
        "{error}"
    );

    let _ = stop_tx.send(true);
    runner.await.expect("joined").expect("runner");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_that_does_not_load_is_dead_lettered_and_the_projector_goes_on() {
    // Arrange: the incidents projector running, and an event on an incident's subject whose
    // body no version of IncidentEvent reads.
    let nats = TestNats::start().await;
    let db = TestDb::create().await;
    let js = nats.jetstream();
    let (stop_tx, stop) = watch::channel(false);
    let projector = tokio::spawn(runner::run(
        db.pool.clone(),
        js.clone(),
        Projector::Incidents,
        aurora_telemetry::Metrics::default(),
        stop,
    ));
    let acme = tenant("acme");
    let broken = Uuid::new_v4();
    let context = Context::new_root();
    let headers = Outgoing {
        id: Uuid::new_v4(),
        source: "/aurora/acme/incident",
        event_type: "aurora.incident.teleported",
        subject_id: broken,
        time: Utc::now(),
        aggregate_sequence: 1,
        version: None,
        context: &context,
    }
    .headers();
    let bad_sequence = js
        .publish_with_headers(
            subjects::aggregate(&acme, "incident", broken),
            headers,
            Bytes::from_static(br#"{"type":"teleported","to":"mars"}"#),
        )
        .await
        .expect("publish")
        .await
        .expect("ack")
        .sequence;

    // Act: a good incident after it.
    let store = AggregateStore::<Incident>::new(nats.log.clone());
    let id = IncidentId::new();
    store
        .execute(
            &acme,
            id.0,
            open(id, "after the bad event", "checkout", Utc::now()),
            Context::new_root(),
        )
        .await
        .expect("store")
        .expect("opened");
    let good_sequence = bad_sequence + 1;

    // Assert: the projector passes the bad event and projects the good one; the bad event is a
    // dead letter of proj-incidents after 5 deliveries (streams.yaml), naming the event.
    wait_for_projection(&db.pool, Projector::Incidents, good_sequence).await;
    let title: String = sqlx::query_scalar("SELECT title FROM incidents WHERE id = $1")
        .bind(id.0)
        .fetch_one(&db.pool)
        .await
        .expect("projected");
    assert_eq!(title, "after the bad event");
    let letters = letters_of(&nats, "proj-incidents").await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    let letter = &letters[0].letter;
    assert_eq!(letter.origin.stream, "EVENTS");
    assert_eq!(letter.origin.stream_sequence, bad_sequence);
    assert_eq!(letter.origin.deliveries, 5);
    assert!(letter.error.contains("teleported"), "{}", letter.error);

    // Events are never republished: `retry` says what to do instead and keeps the dead letter.
    let id = letters[0].id;
    let error = aurora(&nats, &["retry", &id.to_string()])
        .await
        .expect_err("refused");
    assert!(format!("{error:#}").contains("aurora replay"), "{error:#}");
    assert_eq!(letters_of(&nats, "proj-incidents").await.len(), 1);
    aurora(&nats, &["drop", &id.to_string()])
        .await
        .expect("drop");
    assert!(letters_of(&nats, "proj-incidents").await.is_empty());

    let _ = stop_tx.send(true);
    projector.await.expect("joined").expect("projector");
}
