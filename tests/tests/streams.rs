//! Provisioning `streams.yaml` against a real server.

use aurora_nats::streams::{apply, Outcome, StreamsFile, DEFAULT_STREAMS_YAML};
use aurora_tests::TestNats;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_is_idempotent_updates_what_it_can_and_reports_what_it_cannot() {
    let nats = TestNats::start().await; // provisions once
    let js = nats.jetstream();
    let file = StreamsFile::parse(DEFAULT_STREAMS_YAML).expect("valid");

    let again = apply(&js, &file).await.expect("apply");
    assert!(
        again.iter().all(|r| r.outcome == Outcome::Unchanged),
        "{again:?}"
    );
    assert_eq!(again.len(), 4 + 19, "four streams and nineteen consumers");
    // EVENTS takes more consumers than nats-server's default of 1000 (one per open event stream).
    let events = js
        .get_stream("EVENTS")
        .await
        .expect("EVENTS")
        .get_info()
        .await
        .expect("info");
    assert_eq!(events.config.max_consumers, 20_000);

    let changed = DEFAULT_STREAMS_YAML
        .replace("max_age: 30d", "max_age: 10d")
        .replace("ack_wait: 60s", "ack_wait: 90s");
    let reports = apply(&js, &StreamsFile::parse(&changed).expect("valid"))
        .await
        .expect("apply");
    let outcome = |target: &str| {
        reports
            .iter()
            .find(|r| r.target == target)
            .map(|r| r.outcome.clone())
            .expect(target)
    };
    assert_eq!(
        outcome("INBOX"),
        Outcome::Updated {
            fields: vec!["max_age".into()]
        }
    );
    assert_eq!(
        outcome("EVENTS/proj-incidents"),
        Outcome::Updated {
            fields: vec!["ack_wait".into()]
        }
    );
    let info = js
        .get_stream("INBOX")
        .await
        .expect("INBOX")
        .get_info()
        .await
        .expect("info");
    assert_eq!(
        info.config.max_age,
        std::time::Duration::from_secs(10 * 86_400)
    );

    let impossible = DEFAULT_STREAMS_YAML.replacen("storage: file", "storage: memory", 1);
    let reports = apply(&js, &StreamsFile::parse(&impossible).expect("valid"))
        .await
        .expect("apply");
    match &reports[0].outcome {
        Outcome::Refused { reason } => {
            assert!(reason.contains("storage cannot change"), "{reason}")
        }
        other => panic!("changing storage must be refused, got {other:?}"),
    }
    assert!(reports[0].to_string().contains("NOT updated"));
}
