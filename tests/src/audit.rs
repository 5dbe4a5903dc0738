//! The audit every end-to-end test can end with: the read models against a replay of the log,
//! the knowledge base's chunks against their files.

use std::time::{Duration, Instant};

use crate::TestApp;

/// The knowledge base's consumer of `EVENTS` (`streams.yaml`).
const KNOWLEDGE_CONSUMER: &str = "knowledge";

/// Waits until the knowledge base's consumer, then every projector, has taken every event,
/// then rebuilds all read models from the log into a scratch schema: nothing may differ from
/// the live tables. The knowledge base's chunks, derived from files rather than events, are
/// derived again and must equal the stored ones.
pub async fn audit_is_clean(app: &TestApp) {
    let js = app.nats.jetstream();
    let stream = js.get_stream("EVENTS").await.expect("EVENTS");
    let started = Instant::now();
    // Its completions are events the projectors then take.
    until_drained(
        &stream,
        KNOWLEDGE_CONSUMER,
        started,
        Duration::from_secs(30),
    )
    .await;
    for projector in aurora_projections::Projector::ALL {
        until_drained(
            &stream,
            projector.consumer(),
            started,
            Duration::from_secs(30),
        )
        .await;
    }
    let differences = aurora_projections::audit::verify(&app.db.pool, &js)
        .await
        .expect("the audit runs");
    assert_eq!(
        differences,
        vec![],
        "the read models equal a replay of the log"
    );
    let chunks = app
        .knowledge
        .verify_chunks(&app.db.pool)
        .await
        .expect("the chunks' audit runs");
    assert_eq!(
        chunks,
        vec![],
        "the knowledge base's chunks equal their files'"
    );
}

/// Waits until durable `consumer` of `stream` has taken and acknowledged every message (fails
/// once `limit` has passed since `started`).
pub(crate) async fn until_drained(
    stream: &async_nats::jetstream::stream::Stream,
    consumer: &str,
    started: Instant,
    limit: Duration,
) {
    loop {
        let mut durable: async_nats::jetstream::consumer::PullConsumer = stream
            .get_consumer(consumer)
            .await
            .expect("the consumer exists");
        let info = durable.info().await.expect("its info");
        if info.num_pending == 0 && info.num_ack_pending == 0 {
            return;
        }
        assert!(started.elapsed() < limit, "{info:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
