//! The consumer runner (`aurora_nats::consumer`) against a real nats-server: a handling that
//! takes longer than the consumer's `ack_wait` keeps its batch (in-progress acknowledgements),
//! so no second process is handed the same work meanwhile.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy};
use aurora_nats::consumer;
use aurora_nats::subjects::{self, INBOX_STREAM};
use aurora_tests::TestNats;
use bytes::Bytes;
use tokio::sync::watch;

use crate::fixtures::tenant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handling_longer_than_ack_wait_is_not_redelivered_to_another_runner() {
    let nats = TestNats::start().await;
    let js = nats.jetstream();
    let stream = js.get_stream(INBOX_STREAM).await.expect("INBOX");
    let consumer = || async {
        stream
            .create_consumer(pull::Config {
                durable_name: Some("slow-test".into()),
                filter_subject: "inbox.>".into(),
                ack_policy: AckPolicy::Explicit,
                ack_wait: Duration::from_secs(1),
                max_deliver: 10,
                ..Default::default()
            })
            .await
            .expect("consumer")
    };
    // Two runners on one durable consumer, as two processes would be; each handling takes 3 s,
    // three times the consumer's ack_wait.
    let handlings = Arc::new(AtomicUsize::new(0));
    let (stop_tx, stop) = watch::channel(false);
    let mut runners = Vec::new();
    for _ in 0..2 {
        let handlings = handlings.clone();
        runners.push(tokio::spawn(consumer::run(
            consumer().await,
            10,
            aurora_telemetry::Metrics::default(),
            stop.clone(),
            move |deliveries| {
                let handlings = handlings.clone();
                async move {
                    handlings.fetch_add(deliveries.len(), Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    Ok(())
                }
            },
        )));
    }
    js.publish(
        subjects::inbox(&tenant("acme"), "grafana"),
        Bytes::from_static(b"slow"),
    )
    .await
    .expect("publish")
    .await
    .expect("ack");

    // Long enough for a redelivery after each missed ack_wait, and for the handling to end.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        handlings.load(Ordering::SeqCst),
        1,
        "the message was handled once, by one runner"
    );
    let mut after = consumer().await;
    let info = after.info().await.expect("info").clone();
    assert_eq!(info.num_ack_pending, 0, "acknowledged once it was done");
    assert_eq!(info.num_redelivered, 0, "never redelivered");
    let _ = stop_tx.send(true);
    for runner in runners {
        runner.await.expect("joins").expect("runner");
    }
}
