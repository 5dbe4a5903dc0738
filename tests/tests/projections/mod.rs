//! Projectors, replay and audit against real JetStream and PostgreSQL.

mod rebuilds;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_nats::jetstream::consumer::{pull, AckPolicy};
use aurora_domain::{Incident, IncidentCommand, IncidentId, IncidentStatus};
use aurora_nats::consumer::{self, HandlerError};
use aurora_nats::subjects::EVENTS_STREAM;
use aurora_nats::{subjects, AggregateStore, Context, RawEvent};
use aurora_projections::{replay, runner, ProjectionCache, Projector};
use aurora_tests::{TestDb, TestNats};
use chrono::Utc;
use futures::stream::StreamExt;
use serde_json::Value;
use tokio::sync::watch;

use crate::fixtures::{attach, comment, open, tenant};

pub(super) async fn dump(pool: &sqlx::PgPool, table: &str) -> Vec<Value> {
    sqlx::query_scalar(&format!(
        "SELECT to_jsonb(t) FROM {table} t ORDER BY to_jsonb(t)::text"
    ))
    .fetch_all(pool)
    .await
    .expect("dump")
}

pub(super) async fn write_some_history(
    store: &AggregateStore<Incident>,
    acme: &aurora_domain::TenantId,
    n: usize,
) -> Vec<IncidentId> {
    let mut ids = Vec::new();
    for i in 0..n {
        let id = IncidentId::new();
        let run = |c| store.execute(acme, id.0, c, Context::new_root());
        run(open(id, &format!("incident {i}"), "checkout", Utc::now()))
            .await
            .expect("ok")
            .expect("ok");
        run(attach(&format!("a-{i}"), "payments", 0.74))
            .await
            .expect("ok")
            .expect("ok");
        run(comment("ops", "looking"))
            .await
            .expect("ok")
            .expect("ok");
        run(IncidentCommand::ChangeStatus {
            to: IncidentStatus::Analyzed,
            by: "ops".into(),
            at: Utc::now(),
        })
        .await
        .expect("ok")
        .expect("ok");
        ids.push(id);
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_redelivered_after_its_commit_changes_nothing() {
    let nats = TestNats::start().await;
    let db = TestDb::create().await;
    let store = AggregateStore::<Incident>::new(nats.log.clone());
    let ids = write_some_history(&store, &tenant("acme"), 5).await;

    // A consumer of our own, so the test controls acks. First pass: every batch is applied and
    // committed, then the "process crashes" before acking; JetStream redelivers after ack_wait.
    let js = nats.jetstream();
    let stream = js.get_stream(EVENTS_STREAM).await.expect("EVENTS");
    let consumer: async_nats::jetstream::consumer::PullConsumer = stream
        .create_consumer(pull::Config {
            durable_name: Some("redelivery-test".into()),
            filter_subject: Projector::Incidents.filter(),
            ack_policy: AckPolicy::Explicit,
            ack_wait: std::time::Duration::from_secs(1),
            ..Default::default()
        })
        .await
        .expect("consumer");
    let mut redelivered = 0;
    for pass in 0..2 {
        let mut seen = 0;
        while seen < 20 {
            let mut batch = consumer
                .fetch()
                .max_messages(7)
                .expires(std::time::Duration::from_secs(3))
                .messages()
                .await
                .expect("fetch");
            let mut messages = Vec::new();
            while let Some(m) = batch.next().await {
                messages.push(m.expect("message"));
            }
            let deliveries: Vec<RawEvent> = messages
                .iter()
                .map(|m| {
                    let info = m.info().expect("info");
                    if info.delivered > 1 {
                        redelivered += 1;
                    }
                    RawEvent::decode(
                        m.subject.as_str(),
                        info.stream_sequence,
                        m.headers.as_ref(),
                        &m.payload,
                        info.published,
                    )
                    .expect("event")
                })
                .collect();
            seen += deliveries.len();
            runner::apply_batch(
                &db.pool,
                Projector::Incidents,
                "public",
                deliveries,
                &mut ProjectionCache::default(),
            )
            .await
            .expect("apply");
            if pass == 1 {
                for m in &messages {
                    m.ack().await.expect("ack");
                }
            }
        }
    }
    assert_eq!(redelivered, 20, "every message came back once");

    // The consumer runner retries a failed batch in place: a handler that commits and then fails
    // sees the same batch again, and applying it twice changes nothing either.
    let attempts = Arc::new(AtomicUsize::new(0));
    let consumer: async_nats::jetstream::consumer::PullConsumer = stream
        .create_consumer(pull::Config {
            durable_name: Some("retry-test".into()),
            filter_subject: Projector::Incidents.filter(),
            ack_policy: AckPolicy::Explicit,
            ..Default::default()
        })
        .await
        .expect("consumer");
    let (stop_tx, stop) = watch::channel(false);
    let pool = db.pool.clone();
    let a = attempts.clone();
    let runner = tokio::spawn(consumer::run(
        consumer,
        1000,
        aurora_telemetry::Metrics::default(),
        stop,
        move |deliveries| {
            let (pool, a, stop_tx) = (pool.clone(), a.clone(), stop_tx.clone());
            async move {
                let attempt = a.fetch_add(1, Ordering::SeqCst);
                let events = runner::decode_all(deliveries);
                let last = events.last().map(|e| e.stream_sequence);
                runner::apply_batch(
                    &pool,
                    Projector::Incidents,
                    "public",
                    events,
                    &mut ProjectionCache::default(),
                )
                .await
                .expect("apply");
                if attempt == 0 {
                    return Err(HandlerError::Transient(
                        "crash after commit, before ack".into(),
                    ));
                }
                if last == Some(20) {
                    let _ = stop_tx.send(true);
                }
                Ok(())
            }
        },
    ));
    tokio::time::timeout(std::time::Duration::from_secs(30), runner)
        .await
        .expect("finishes")
        .expect("joined")
        .expect("ok");
    assert!(
        attempts.load(Ordering::SeqCst) >= 2,
        "the failed batch was retried"
    );

    let incidents = dump(&db.pool, "incidents").await;
    assert_eq!(incidents.len(), 5);
    assert_eq!(
        dump(&db.pool, "incident_timeline").await.len(),
        20,
        "one timeline row per event, none twice"
    );
    assert_eq!(
        dump(&db.pool, "incident_alerts").await.len(),
        10,
        "opening alert + correlated alert, none twice"
    );
    for row in incidents {
        assert_eq!(row["status"], "analyzed");
        assert_eq!(row["correlated_alert_count"], 1);
        assert_eq!(
            row["affected_services"],
            serde_json::json!(["checkout", "payments"])
        );
    }

    // And applying the very same events again by hand changes no row.
    let before: Vec<Vec<Value>> = futures::future::join_all(
        Projector::Incidents
            .tables()
            .iter()
            .map(|t| dump(&db.pool, t)),
    )
    .await;
    let mut all = Vec::new();
    for id in &ids {
        all.extend(
            nats.log
                .read_subject(&subjects::aggregate(&tenant("acme"), "incident", id.0), 1)
                .await
                .expect("read"),
        );
    }
    all.sort_by_key(|e| e.stream_sequence);
    assert_eq!(
        runner::apply_batch(
            &db.pool,
            Projector::Incidents,
            "public",
            all,
            &mut ProjectionCache::default()
        )
        .await
        .expect("apply"),
        20
    );
    let after: Vec<Vec<Value>> = futures::future::join_all(
        Projector::Incidents
            .tables()
            .iter()
            .map(|t| dump(&db.pool, t)),
    )
    .await;
    assert_eq!(before, after);
}

/// A redelivered batch may straddle the checkpoint (its first part committed before a crash, the
/// rest new): the committed part is skipped, the rest applied, and the tables end up as if each
/// event had been applied exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_straddling_the_checkpoint_applies_only_its_new_events() {
    let nats = TestNats::start().await;
    let db = TestDb::create().await;
    let acme = tenant("acme");
    let store = AggregateStore::<Incident>::new(nats.log.clone());
    let ids = write_some_history(&store, &acme, 5).await;
    let mut all = Vec::new();
    for id in &ids {
        all.extend(
            nats.log
                .read_subject(&subjects::aggregate(&acme, "incident", id.0), 1)
                .await
                .expect("read"),
        );
    }
    all.sort_by_key(|e| e.stream_sequence);
    assert_eq!(all.len(), 20);
    let last = all[19].stream_sequence;

    // Once, in one batch, into a schema of its own: the reference.
    replay::create_schema(&db.pool, "once", &[Projector::Incidents])
        .await
        .expect("schema");
    runner::apply_batch(
        &db.pool,
        Projector::Incidents,
        "once",
        all.clone(),
        &mut ProjectionCache::default(),
    )
    .await
    .expect("apply");

    // Live: events 1–10 committed, then a batch of events 6–20 (5 already there), with a fresh
    // cache as after a restart.
    let first = runner::apply_batch(
        &db.pool,
        Projector::Incidents,
        "public",
        all[..10].to_vec(),
        &mut ProjectionCache::default(),
    )
    .await
    .expect("apply");
    assert_eq!(first, all[9].stream_sequence);
    let second = runner::apply_batch(
        &db.pool,
        Projector::Incidents,
        "public",
        all[5..].to_vec(),
        &mut ProjectionCache::default(),
    )
    .await
    .expect("apply");
    assert_eq!(second, last, "checkpoint at the batch's last event");

    for table in Projector::Incidents.tables() {
        assert_eq!(
            dump(&db.pool, &format!("public.{table}")).await,
            dump(&db.pool, &format!("once.{table}")).await,
            "{table}: as if every event had been applied once"
        );
    }
    assert_eq!(dump(&db.pool, "incident_timeline").await.len(), 20);
}
