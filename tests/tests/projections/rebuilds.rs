//! Replay into a shadow schema, audit of the live tables against the log, and rebuilds.

use aurora_domain::Incident;
use aurora_nats::subjects::EVENTS_STREAM;
use aurora_nats::{AggregateStore, Context};
use aurora_projections::{audit, replay, runner, Projector};
use aurora_tests::{wait_for_projection, TestApp, TestDb, TestNats};
use chrono::Utc;
use futures::stream::{self, StreamExt};
use serde_json::Value;
use tokio::sync::watch;

use crate::fixtures::{comment, tenant};

use super::{dump, write_some_history};
use aurora_domain::chat::NewSession;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_rebuilds_identical_tables_while_the_api_keeps_answering() {
    let app = TestApp::spawn().await;
    let account = app.register("ops@acme.io", "Acme").await;
    // What registering wrote (the organisation's creation and its default policy) comes first.
    let organization_events = app
        .nats
        .jetstream()
        .get_stream(EVENTS_STREAM)
        .await
        .expect("EVENTS")
        .info()
        .await
        .expect("info")
        .state
        .last_sequence;
    let store = AggregateStore::<Incident>::new(app.nats.log.clone());
    let ids = write_some_history(&store, &account.tenant, 30).await;
    // Enough history that the rebuild takes a while: 3000 more comments on ten other incidents.
    const EXTRA: u64 = 3000;
    // The stream sequence of the last incident event written: other consumers (the service graph's)
    // append events of their own in between, so counting incident events would stop short.
    let last_written = std::sync::atomic::AtomicU64::new(0);
    stream::iter(0..EXTRA)
        .for_each_concurrent(64, |n| {
            let (store, tenant, id, last_written) = (
                store.clone(),
                account.tenant.clone(),
                ids[10 + n as usize % 10],
                &last_written,
            );
            async move {
                let executed = store
                    .execute(
                        &tenant,
                        id.0,
                        comment("ops", &format!("note {n}")),
                        Context::new_root(),
                    )
                    .await
                    .expect("ok")
                    .expect("ok");
                last_written.fetch_max(
                    executed.stream_sequence,
                    std::sync::atomic::Ordering::Relaxed,
                );
            }
        })
        .await;
    let last_written = last_written.into_inner();
    // The 120 + EXTRA incident events follow the organisation's.
    assert!(last_written >= organization_events + 120 + EXTRA);
    wait_for_projection(&app.db.pool, Projector::Incidents, last_written).await;
    let tables = Projector::Incidents.tables();
    let before: Vec<Vec<Value>> =
        futures::future::join_all(tables.iter().map(|t| dump(&app.db.pool, t))).await;

    // Readers hammer the API during the rebuild; every answer must be complete.
    let (done_tx, done) = watch::channel(false);
    let http = app.http.clone();
    let token = account.token.clone();
    let url = app.url(&format!("/api/incidents/{}", ids[3].0));
    let list_url = app.url("/api/incidents?limit=200");
    let readers = tokio::spawn(async move {
        // When each complete answer (detail and list) was asked and when it came.
        let mut answers = Vec::new();
        while !*done.borrow() {
            let asked = std::time::Instant::now();
            let one = http
                .get(&url)
                .bearer_auth(&token)
                .send()
                .await
                .expect("answer");
            assert_eq!(one.status(), 200);
            let body: Value = one.json().await.expect("json");
            assert_eq!(body["timeline"].as_array().map(Vec::len), Some(4));
            let list: Value = http
                .get(&list_url)
                .bearer_auth(&token)
                .send()
                .await
                .expect("answer")
                .json()
                .await
                .expect("json");
            assert_eq!(list["items"].as_array().map(Vec::len), Some(30));
            answers.push((asked, std::time::Instant::now()));
        }
        answers
    });
    // The readers are under way before the rebuild starts.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let js = app.nats.jetstream();
    let started = std::time::Instant::now();
    let replayed = replay::replay(&app.db.pool, &js, Projector::Incidents, false)
        .await
        .expect("replay");
    let finished = std::time::Instant::now();
    let _ = done_tx.send(true);
    let answers = readers.await.expect("readers");
    let during = answers
        .iter()
        .filter(|(asked, answered)| *asked >= started && *answered <= finished)
        .count();
    assert!(
        during >= 3,
        "complete answers asked and given while the rebuild ran ({:?}): {during} of {}",
        finished - started,
        answers.len()
    );
    assert_eq!(
        replayed.events,
        120 + EXTRA,
        "the incident events, not the organisation's"
    );
    assert_eq!(
        replayed.checkpoint,
        runner::checkpoint(&app.db.pool, Projector::Incidents)
            .await
            .expect("checkpoint")
    );

    let after: Vec<Vec<Value>> =
        futures::future::join_all(tables.iter().map(|t| dump(&app.db.pool, t))).await;
    assert_eq!(
        before, after,
        "a rebuild from sequence 0 gives the same tables"
    );
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'incidents' ORDER BY 1",
    )
    .fetch_all(&app.db.pool)
    .await
    .expect("indexes");
    assert_eq!(
        indexes,
        [
            "incidents_by_service",
            "incidents_by_source",
            "incidents_by_start",
            "incidents_by_status",
            "incidents_pkey",
            "incidents_summary_trgm",
            "incidents_title_trgm"
        ]
    );
    let options: Vec<String> = sqlx::query_scalar(
        "SELECT unnest(reloptions) FROM pg_class WHERE oid = 'public.incidents'::regclass",
    )
    .fetch_all(&app.db.pool)
    .await
    .expect("reloptions");
    assert_eq!(
        options,
        ["fillfactor=70", "toast_tuple_target=8160"],
        "storage parameters survive the swap"
    );
    let protected: Vec<(String, bool, i64)> = sqlx::query_as(
        "SELECT c.relname::text, c.relrowsecurity, (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)
         FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relname = ANY($1) ORDER BY 1",
    )
    .bind(tables)
    .fetch_all(&app.db.pool)
    .await
    .expect("policies");
    assert_eq!(protected.len(), tables.len());
    assert!(
        protected
            .iter()
            .all(|(_, rls, policies)| *rls && *policies == 1),
        "the swapped-in tables keep row-level security: {protected:?}"
    );

    // The live projector goes on after the swap.
    let commented = store
        .execute(
            &account.tenant,
            ids[0].0,
            comment("ops", "after the replay"),
            Context::new_root(),
        )
        .await
        .expect("ok")
        .expect("ok");
    wait_for_projection(
        &app.db.pool,
        Projector::Incidents,
        commented.stream_sequence,
    )
    .await;
    let body: Value = app
        .http
        .get(app.url(&format!("/api/incidents/{}", ids[0].0)))
        .bearer_auth(&account.token)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(body["timeline"].as_array().map(Vec::len), Some(5));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_finds_nothing_on_honest_tables_and_every_row_that_was_tampered_with() {
    let app = TestApp::spawn().await;
    let store = AggregateStore::<Incident>::new(app.nats.log.clone());
    let ids = write_some_history(&store, &tenant("acme"), 3).await;
    wait_for_projection(&app.db.pool, Projector::Incidents, 12).await;
    let js = app.nats.jetstream();
    assert_eq!(
        audit::verify(&app.db.pool, &js).await.expect("audit"),
        vec![],
        "honest tables match a replay"
    );

    sqlx::query("UPDATE incidents SET title = 'tampered' WHERE id = $1")
        .bind(ids[1].0)
        .execute(&app.db.pool)
        .await
        .expect("tamper");
    sqlx::query("DELETE FROM incident_timeline WHERE incident_id = $1 AND event_type = 'incident.comment_added'")
        .bind(ids[2].0)
        .execute(&app.db.pool)
        .await
        .expect("tamper");
    let differences = audit::verify(&app.db.pool, &js).await.expect("audit");
    let summary: Vec<(&str, &str)> = differences.iter().map(|d| (d.table, d.side)).collect();
    assert_eq!(summary.len(), 3, "{differences:#?}");
    assert!(
        summary.contains(&("incidents", "live")) && summary.contains(&("incidents", "rebuilt"))
    );
    assert!(summary.contains(&("incident_timeline", "rebuilt")));
    let live = differences
        .iter()
        .find(|d| d.table == "incidents" && d.side == "live")
        .expect("live row");
    assert_eq!(live.row["title"], "tampered");
    assert!(live.to_string().contains("only in the live table"));
    let leftover: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'audit_%'")
            .fetch_one(&app.db.pool)
            .await
            .expect("count");
    assert_eq!(leftover, 0, "the scratch schema is dropped");
    app.stop().await;
}

/// A projector restarts its durable consumer at its checkpoint, but keeps the settings the
/// operator provisioned with `aurora streams apply --file` rather than the built-in ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projector_keeps_the_consumer_settings_an_operator_applied() {
    let nats = TestNats::start().await;
    let db = TestDb::create().await;
    let js = nats.jetstream();
    let acme = tenant("acme");
    let store = AggregateStore::<Incident>::new(nats.log.clone());
    write_some_history(&store, &acme, 2).await;

    let tuned = aurora_nats::streams::DEFAULT_STREAMS_YAML.replacen(
        "        ack_wait: 60s\n        max_deliver: 5\n        max_ack_pending: 10000\n",
        "        ack_wait: 45s\n        max_deliver: 5\n        max_ack_pending: 777\n",
        1,
    );
    assert_ne!(tuned, aurora_nats::streams::DEFAULT_STREAMS_YAML);
    let file = aurora_nats::streams::StreamsFile::parse(&tuned).expect("valid");
    aurora_nats::streams::apply(&js, &file)
        .await
        .expect("apply");

    let (stop, shutdown) = watch::channel(false);
    let running = tokio::spawn(runner::run(
        db.pool.clone(),
        js.clone(),
        Projector::Incidents,
        aurora_telemetry::Metrics::default(),
        shutdown,
    ));
    let last = js
        .get_stream(EVENTS_STREAM)
        .await
        .expect("EVENTS")
        .get_info()
        .await
        .expect("info")
        .state
        .last_sequence;
    wait_for_projection(&db.pool, Projector::Incidents, last).await;
    let info = js
        .get_stream(EVENTS_STREAM)
        .await
        .expect("EVENTS")
        .consumer_info(Projector::Incidents.consumer())
        .await
        .expect("consumer");
    assert_eq!(info.config.max_ack_pending, 777, "the applied setting kept");
    assert_eq!(info.config.ack_wait, std::time::Duration::from_secs(45));
    assert_eq!(
        info.config.deliver_policy,
        async_nats::jetstream::consumer::DeliverPolicy::ByStartSequence { start_sequence: 1 },
        "started after the (empty) checkpoint"
    );
    let _ = stop.send(true);
    running.await.expect("joined").expect("clean stop");
}

/// A rebuild reads the stream through the projector's filter when its events are few among
/// others, and reads everything (skipping other aggregates' events itself) when they are most of
/// it; either way it projects exactly the projector's events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_projects_the_same_whether_it_filters_or_reads_everything() {
    use aurora_domain::chat::ChatCommand;
    use aurora_domain::{ChatMode, ChatSession, SessionId};

    let nats = TestNats::start().await;
    let db = TestDb::create().await;
    let js = nats.jetstream();
    let acme = tenant("acme");
    let incidents = AggregateStore::<Incident>::new(nats.log.clone());
    let sessions = AggregateStore::<ChatSession>::new(nats.log.clone());
    let start_sessions = |n: usize| {
        let sessions = sessions.clone();
        let acme = acme.clone();
        async move {
            for i in 0..n {
                let id = SessionId::new();
                sessions
                    .execute(
                        &acme,
                        id.0,
                        ChatCommand::Start(NewSession {
                            id,
                            owner: "u1".into(),
                            title: format!("question {i}"),
                            mode: ChatMode::Ask,
                            at: Utc::now(),
                        }),
                        Context::new_root(),
                    )
                    .await
                    .expect("ok")
                    .expect("ok");
            }
        }
    };
    let timeline_rows = |schema: &'static str| {
        let pool = db.pool.clone();
        let js = js.clone();
        async move {
            replay::create_schema(&pool, schema, &[Projector::Incidents])
                .await
                .expect("schema");
            replay::build(&pool, &js, Projector::Incidents, schema, None, None)
                .await
                .expect("build");
            let rows: Vec<(uuid::Uuid, i64)> = sqlx::query_as(&format!(
                "SELECT incident_id, stream_sequence FROM {schema}.incident_timeline ORDER BY stream_sequence"
            ))
            .fetch_all(&pool)
            .await
            .expect("rows");
            rows
        }
    };

    // 12 incident events among 3 others: most of the stream is wanted.
    start_sessions(3).await;
    let ids = write_some_history(&incidents, &acme, 3).await;
    let mostly = timeline_rows("rebuild_mostly").await;
    assert_eq!(mostly.len(), 12, "every incident event, no session's");

    // The same 12 among 43 others: few are wanted.
    start_sessions(40).await;
    let few = timeline_rows("rebuild_few").await;
    assert_eq!(few, mostly, "the same rows either way");
    let projected: std::collections::HashSet<uuid::Uuid> = few.iter().map(|(id, _)| *id).collect();
    assert_eq!(projected, ids.iter().map(|id| id.0).collect());
}
