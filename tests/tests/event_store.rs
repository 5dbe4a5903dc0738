//! The JetStream event store behind esrs.

use std::collections::HashSet;

use async_nats::HeaderMap;
use aurora_domain::chat::ChatCommand;
use aurora_domain::{
    ChatMode, ChatSession, Incident, IncidentEvent, IncidentId, SessionId, Severity,
};
use aurora_nats::envelope::{self, Context};
use aurora_nats::log::Append;
use aurora_nats::{subjects, AggregateStore, StoreError};
use aurora_tests::TestNats;
use bytes::Bytes;
use chrono::Utc;
use futures::StreamExt;
use uuid::Uuid;

use crate::fixtures::{comment, open, tenant};

/// A store of its own (as a process has) and a new incident `title` of acme opened through it.
async fn opened(nats: &TestNats, title: &str) -> (AggregateStore<Incident>, IncidentId) {
    let id = IncidentId::new();
    let store = AggregateStore::<Incident>::new(nats.log.clone());
    store
        .execute(
            &tenant("acme"),
            id.0,
            open(id, title, "checkout", Utc::now()),
            Context::new_root(),
        )
        .await
        .expect("store")
        .expect("opened");
    (store, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_writers_on_one_incident_lose_nothing_and_duplicate_nothing() {
    let nats = TestNats::start().await;
    let acme = tenant("acme");
    let (first, id) = opened(&nats, "Checkout slow").await;

    // 8 writers with their own stores (as separate processes would be), 25 comments each.
    const WRITERS: usize = 8;
    const EACH: usize = 25;
    let stores: Vec<AggregateStore<Incident>> = (0..WRITERS)
        .map(|_| AggregateStore::new(nats.log.clone()))
        .collect();
    let mut tasks = Vec::new();
    for (w, store) in stores.iter().cloned().enumerate() {
        let acme = acme.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..EACH {
                store
                    .execute(
                        &acme,
                        id.0,
                        comment(&format!("writer-{w}"), &format!("note {n}")),
                        Context::new_root(),
                    )
                    .await
                    .expect("no store error")
                    .expect("comment accepted");
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer finished");
    }

    let events = nats
        .log
        .read_subject(&subjects::aggregate(&acme, "incident", id.0), 1)
        .await
        .expect("read");
    assert_eq!(
        events.len(),
        1 + WRITERS * EACH,
        "every command's event is stored exactly once"
    );
    let sequences: Vec<i32> = events.iter().map(|e| e.aggregate_sequence).collect();
    assert_eq!(
        sequences,
        (1..=(1 + WRITERS * EACH) as i32).collect::<Vec<_>>(),
        "no gaps, no duplicates"
    );
    let texts: HashSet<String> = events
        .iter()
        .filter(|e| e.event_type == "aurora.incident.comment_added")
        .map(|e| format!("{}/{}", e.data["author"], e.data["text"]))
        .collect();
    assert_eq!(texts.len(), WRITERS * EACH, "each comment once");
    let conflicts: u64 = stores.iter().map(|s| s.conflicts()).sum();
    assert!(
        conflicts > 0,
        "concurrent writers must have met conflicts and retried"
    );

    let state = first
        .load(&acme, id.0)
        .await
        .expect("load")
        .expect("exists");
    assert_eq!(state.inner().comments.len(), WRITERS * EACH);
}

/// Inside one process, commands on one aggregate take turns: a crowd of them (200 at once, as a
/// burst of alerts for one incident would be) all succeed without a single conflict, where
/// deciding all on the same state would have made each of them race the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_process_runs_its_commands_on_one_incident_in_turn() {
    let nats = TestNats::start().await;
    let acme = tenant("acme");
    let (store, id) = opened(&nats, "Checkout slow").await;
    const CROWD: usize = 200;
    let tasks: Vec<_> = (0..CROWD)
        .map(|n| {
            let (store, acme) = (store.clone(), acme.clone());
            tokio::spawn(async move {
                store
                    .execute(
                        &acme,
                        id.0,
                        comment("ops", &format!("note {n}")),
                        Context::new_root(),
                    )
                    .await
                    .expect("no store error")
                    .expect("comment accepted")
            })
        })
        .collect();
    let mut sequences = Vec::new();
    for t in tasks {
        sequences.push(t.await.expect("finished").aggregate_sequence);
    }
    sequences.sort_unstable();
    assert_eq!(
        sequences,
        (2..=(1 + CROWD) as i32).collect::<Vec<_>>(),
        "each command its own next sequence"
    );
    assert_eq!(store.conflicts(), 0, "no command raced another");
    let events = nats
        .log
        .read_subject(&subjects::aggregate(&acme, "incident", id.0), 1)
        .await
        .expect("read");
    assert_eq!(events.len(), 1 + CROWD);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_append_is_a_conflict_and_stores_nothing() {
    let nats = TestNats::start().await;
    let acme = tenant("acme");
    let id = IncidentId::new();
    let store = AggregateStore::<Incident>::new(nats.log.clone());
    store
        .execute(
            &acme,
            id.0,
            open(id, "Disk full", "db", Utc::now()),
            Context::new_root(),
        )
        .await
        .expect("ok")
        .expect("ok");
    let subject = subjects::aggregate(&acme, "incident", id.0);

    let body = |text: &str| Append {
        headers: HeaderMap::new(),
        body: Bytes::from(text.to_owned()),
    };
    // Expect the subject to be empty although it holds the Opened event.
    for events in [vec![body("{}")], vec![body("{}"), body("{}")]] {
        let n = events.len();
        match nats.log.append(&subject, 0, events).await {
            Err(StoreError::Conflict { expected: 0, .. }) => {}
            other => panic!("a stale {n}-event append must conflict, got {other:?}"),
        }
    }
    assert_eq!(
        nats.log
            .read_subject(&subject, 1)
            .await
            .expect("read")
            .len(),
        1,
        "nothing of the stale appends stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_events_of_one_command_are_stored_together() {
    let nats = TestNats::start().await;
    let acme = tenant("acme");
    let id = SessionId::new();
    let store = AggregateStore::<ChatSession>::new(nats.log.clone());
    let run = |command| store.execute(&acme, id.0, command, Context::new_root());
    run(ChatCommand::Start {
        id,
        owner: "u1".into(),
        title: "Why is checkout slow?".into(),
        mode: ChatMode::Agent,
        at: Utc::now(),
    })
    .await
    .expect("ok")
    .expect("ok");
    for command in ["kubectl delete pod a", "kubectl delete pod b"] {
        run(ChatCommand::AskConfirmation {
            confirmation_id: Uuid::now_v7(),
            tool_call_id: None,
            command: command.into(),
            reason: "destructive".into(),
            at: Utc::now(),
        })
        .await
        .expect("ok")
        .expect("ok");
    }
    // Cancel answers both pending confirmations beside the cancellation: three events, one batch.
    run(ChatCommand::Cancel {
        by: "u1".into(),
        at: Utc::now(),
    })
    .await
    .expect("ok")
    .expect("ok");

    let events = nats
        .log
        .read_subject(&subjects::aggregate(&acme, "session", id.0), 1)
        .await
        .expect("read");
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types[3..],
        [
            "aurora.session.run_cancelled",
            "aurora.session.confirmation_answered",
            "aurora.session.confirmation_answered"
        ]
    );
    let seqs: Vec<u64> = events[3..].iter().map(|e| e.stream_sequence).collect();
    assert_eq!(
        seqs,
        vec![seqs[0], seqs[0] + 1, seqs[0] + 2],
        "a batch is stored contiguously"
    );
    let correlation: HashSet<_> = events[3..]
        .iter()
        .map(|e| e.correlation_id.clone())
        .collect();
    assert_eq!(correlation.len(), 1, "one command, one correlation id");

    // Every event of the batch is a whole CloudEvent with its own dedup id, read back by a plain
    // JetStream get.
    let stream = nats.jetstream().get_stream("EVENTS").await.expect("EVENTS");
    let mut ids = HashSet::new();
    for seq in seqs {
        let msg = stream.get_raw_message(seq).await.expect("stored message");
        let ce_id = msg.headers.get("ce-id").expect("ce-id").as_str().to_owned();
        let msg_id = msg
            .headers
            .get("Nats-Msg-Id")
            .expect("Nats-Msg-Id in a batch");
        assert_eq!(msg_id.as_str(), ce_id, "dedup id is the event id");
        assert!(
            msg.headers.get("traceparent").is_some() && msg.headers.get("ce-type").is_some(),
            "CloudEvents and trace headers on every event of a batch"
        );
        ids.insert(ce_id);
    }
    assert_eq!(ids.len(), 3, "three distinct event ids");
}

/// A batch whose first attempt was stored but whose ack was lost, sent again with the same event
/// ids, is recognised as already stored: nothing is stored twice, and the caller hears
/// "duplicate" rather than an error or a conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_batch_is_recognised_and_stored_once() {
    let nats = TestNats::start().await;
    let acme = tenant("acme");
    let id = IncidentId::new();
    let subject = subjects::aggregate(&acme, "incident", id.0);
    let context = Context::new_root();
    let batch = || -> Vec<Append> {
        (0..3)
            .map(|i| Append {
                headers: envelope::Outgoing {
                    id: Uuid::from_u128(0xA0 + i),
                    source: "/aurora/acme/incident",
                    event_type: "incident.commented",
                    subject_id: id.0,
                    time: Utc::now(),
                    aggregate_sequence: i as i32 + 1,
                    version: None,
                    context: &context,
                }
                .headers(),
                body: Bytes::from(format!(r#"{{"n":{i}}}"#)),
            })
            .collect()
    };
    let (sequences, duplicate) = nats
        .log
        .append_checked(&subject, 0, batch())
        .await
        .expect("first attempt stored");
    assert_eq!((sequences.len(), duplicate), (3, false));
    let (sequences, duplicate) = nats
        .log
        .append_checked(&subject, 0, batch())
        .await
        .expect("the retry is not an error");
    assert!(duplicate, "the retry is reported as a duplicate");
    assert!(
        sequences.is_empty(),
        "the retry stored nothing: {sequences:?}"
    );
    let stored = nats.log.read_subject(&subject, 1).await.expect("read");
    assert_eq!(stored.len(), 3, "the batch is stored once");

    // A different batch with fresh ids but the same stale expectation is a conflict, as before.
    let fresh: Vec<Append> = batch()
        .into_iter()
        .map(|mut a| {
            a.headers
                .insert("Nats-Msg-Id", Uuid::now_v7().to_string().as_str());
            a
        })
        .collect();
    match nats.log.append_checked(&subject, 0, fresh).await {
        Err(StoreError::Conflict { expected: 0, .. }) => {}
        other => panic!("a stale batch must conflict, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_message_carries_cloudevents_and_trace_headers() {
    let nats = TestNats::start().await;
    let acme = tenant("acme");
    let id = IncidentId::new();
    let mut sub = nats.client.subscribe("evt.>").await.expect("subscribe");
    nats.client.flush().await.expect("flush");
    let context = Context::new_root().caused_by("delivery-42");
    let store = AggregateStore::<Incident>::new(nats.log.clone());
    store
        .execute(
            &acme,
            id.0,
            open(id, "API 500s", "api", Utc::now()),
            context.clone(),
        )
        .await
        .expect("ok")
        .expect("ok");

    let msg = tokio::time::timeout(std::time::Duration::from_secs(5), sub.next())
        .await
        .expect("a message")
        .expect("open");
    assert_eq!(msg.subject.as_str(), format!("evt.acme.incident.{}", id.0));
    let h = msg.headers.expect("headers");
    let get = |name: &str| {
        h.get(name)
            .map(|v| v.as_str().to_owned())
            .unwrap_or_else(|| panic!("header {name} missing"))
    };
    assert_eq!(get("ce-specversion"), "1.0");
    assert_eq!(get("ce-type"), "aurora.incident.opened");
    assert_eq!(get("ce-source"), "/aurora/acme/incident");
    assert_eq!(get("ce-subject"), id.0.to_string());
    assert_eq!(get("ce-datacontenttype"), "application/json");
    let ce_id = get("ce-id");
    assert!(Uuid::parse_str(&ce_id).is_ok());
    assert_eq!(get("Nats-Msg-Id"), ce_id, "dedup id is the event id");
    assert!(chrono::DateTime::parse_from_rfc3339(&get("ce-time")).is_ok());
    assert_eq!(get("ce-causationid"), "delivery-42");
    assert_eq!(get("ce-correlationid"), context.correlation_id);
    let trace = get("traceparent");
    assert_eq!(trace, context.traceparent);
    let parts: Vec<&str> = trace.split('-').collect();
    assert_eq!(
        (parts.len(), parts[0], parts[1].len(), parts[2].len()),
        (4, "00", 32, 16),
        "W3C traceparent"
    );
    assert_eq!(get("Aurora-Aggregate-Sequence"), "1");
    let body: serde_json::Value = serde_json::from_slice(&msg.payload).expect("JSON body");
    assert_eq!(body["type"], "opened");
    assert_eq!(body["title"], "API 500s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v1_event_loads_through_the_upcaster() {
    let nats = TestNats::start().await;
    let acme = tenant("acme");
    let id = IncidentId::new();
    let subject = subjects::aggregate(&acme, "incident", id.0);
    // What version 1 of the code wrote, stored by the store's own append (version header 1,
    // CloudEvents envelope, `Nats-Msg-Id`) as the first event of the incident.
    let now = Utc::now();
    let v1 = v1::IncidentEvent::Opened {
        id,
        title: "Legacy outage".into(),
        service: "billing".into(),
        severity: v1::Priority::P1,
        source: "pagerduty".into(),
        source_alert_id: "PD-1".into(),
        fingerprint: "fp-1".into(),
        alert_fired_at: now,
        at: now,
    };
    let body = serde_json::to_value(&v1).expect("a v1 body");
    assert_eq!(
        (body.get("environment"), &body["severity"]),
        (None, &serde_json::json!("P1")),
        "the v1 shape: no environment, a priority as severity"
    );
    aurora_nats::log::append_event(
        &nats.log,
        &acme,
        "incident",
        id.0,
        0,
        1,
        &v1,
        &Context::new_root(),
    )
    .await
    .expect("append v1");
    let stored = nats.log.read_subject(&subject, 1).await.expect("read");
    assert_eq!(
        (stored[0].version, stored[0].event_type.as_str()),
        (Some(1), "aurora.incident.opened")
    );

    let store = AggregateStore::<Incident>::new(nats.log.clone());
    let state = store
        .load(&acme, id.0)
        .await
        .expect("load")
        .expect("exists");
    assert_eq!(
        state.inner().severity,
        Severity::Critical,
        "P1 upcasts to critical"
    );
    assert_eq!(
        state.inner().environment,
        aurora_domain::incident::DEFAULT_ENVIRONMENT
    );
    // And a command decided on the upcast state is stored as today's version.
    store
        .execute(
            &acme,
            id.0,
            comment("ops", "still broken"),
            Context::new_root(),
        )
        .await
        .expect("ok")
        .expect("ok");
    let events = nats.log.read_subject(&subject, 1).await.expect("read");
    assert_eq!(events[1].version, Some(2));
    let today: IncidentEvent =
        esrs::event::Upcaster::upcast(events[1].data.clone(), events[1].version).expect("loads");
    assert!(matches!(today, IncidentEvent::CommentAdded { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_load_reads_only_its_own_subject_and_a_warm_one_catches_up() {
    let nats = TestNats::start().await;
    let acme = tenant("acme");
    let writer = AggregateStore::<Incident>::new(nats.log.clone());
    let mut ids = Vec::new();
    for n in 0..20 {
        let id = IncidentId::new();
        writer
            .execute(
                &acme,
                id.0,
                open(id, &format!("incident {n}"), "svc", Utc::now()),
                Context::new_root(),
            )
            .await
            .expect("ok")
            .expect("ok");
        ids.push(id);
    }
    let target = ids[7];
    for n in 0..5 {
        writer
            .execute(
                &acme,
                target.0,
                comment("ops", &format!("c{n}")),
                Context::new_root(),
            )
            .await
            .expect("ok")
            .expect("ok");
    }
    // Another process (its own cache) loads cold, then sees a later write by catching up.
    let reader = AggregateStore::<Incident>::new(nats.log.clone());
    let cold = reader
        .load(&acme, target.0)
        .await
        .expect("load")
        .expect("exists");
    assert_eq!(*cold.sequence_number(), 6);
    assert_eq!(cold.inner().title, "incident 7");
    writer
        .execute(
            &acme,
            target.0,
            comment("ops", "later"),
            Context::new_root(),
        )
        .await
        .expect("ok")
        .expect("ok");
    let warm = reader
        .load(&acme, target.0)
        .await
        .expect("load")
        .expect("exists");
    assert_eq!(*warm.sequence_number(), 7);
    assert_eq!(warm.inner().comments.len(), 6);
    // A command decided on a stale cache is caught by the expected sequence and retried.
    let before = reader.conflicts();
    writer
        .execute(
            &acme,
            target.0,
            comment("ops", "behind the reader's back"),
            Context::new_root(),
        )
        .await
        .expect("ok")
        .expect("ok");
    reader
        .execute(
            &acme,
            target.0,
            comment("ops", "from the reader"),
            Context::new_root(),
        )
        .await
        .expect("ok")
        .expect("ok");
    assert_eq!(reader.conflicts(), before + 1);
    let last = reader
        .load(&acme, target.0)
        .await
        .expect("load")
        .expect("exists");
    assert_eq!(last.inner().comments.len(), 8);
    // An unknown incident loads as nothing.
    assert!(reader
        .load(&acme, Uuid::now_v7())
        .await
        .expect("load")
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_command_stores_nothing() {
    let nats = TestNats::start().await;
    let acme = tenant("acme");
    let id = IncidentId::new();
    let store = AggregateStore::<Incident>::new(nats.log.clone());
    let refused = store
        .execute(
            &acme,
            id.0,
            comment("ops", "on nothing"),
            Context::new_root(),
        )
        .await
        .expect("no store error");
    assert_eq!(refused, Err(aurora_domain::IncidentError::NotOpened));
    assert!(nats
        .log
        .read_subject(&subjects::aggregate(&acme, "incident", id.0), 1)
        .await
        .expect("read")
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_input_run_twice_stores_its_event_once() {
    let nats = TestNats::start().await;
    let acme = tenant("acme");
    let id = IncidentId::new();
    let a = AggregateStore::<Incident>::new(nats.log.clone());
    let b = AggregateStore::<Incident>::new(nats.log.clone());
    a.execute(
        &acme,
        id.0,
        open(id, "Flapping", "edge", Utc::now()),
        Context::new_root(),
    )
    .await
    .expect("ok")
    .expect("ok");
    // b holds the incident before the first run, like a handler whose ack got lost.
    b.load(&acme, id.0).await.expect("load");
    let input = Context::new_root()
        .caused_by("cmd:7")
        .with_idempotency_key("cmd:7");
    let resolve = || aurora_domain::IncidentCommand::Resolve {
        by: "ops".into(),
        reason: None,
        at: Utc::now(),
    };
    a.execute(&acme, id.0, resolve(), input.clone())
        .await
        .expect("ok")
        .expect("resolved");
    // The redelivered input, decided on b's stale state, must not store a second Resolved.
    let again = b
        .execute(&acme, id.0, resolve(), input)
        .await
        .expect("no store error");
    assert!(
        matches!(
            again,
            Ok(_) | Err(aurora_domain::IncidentError::AlreadyResolved)
        ),
        "{again:?}"
    );
    let events = nats
        .log
        .read_subject(&subjects::aggregate(&acme, "incident", id.0), 1)
        .await
        .expect("read");
    let resolved = events
        .iter()
        .filter(|e| e.event_type == "aurora.incident.resolved")
        .count();
    assert_eq!(resolved, 1, "{events:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_no_op_decided_on_a_stale_cache_is_checked_against_the_log() {
    let nats = TestNats::start().await;
    let acme = tenant("acme");
    let id = IncidentId::new();
    let a = AggregateStore::<Incident>::new(nats.log.clone());
    let b = AggregateStore::<Incident>::new(nats.log.clone());
    a.execute(
        &acme,
        id.0,
        open(id, "Latency", "api", Utc::now()),
        Context::new_root(),
    )
    .await
    .expect("ok")
    .expect("ok");
    // b lowers the severity behind a's back; a's cache still says "high".
    let severity = |to| aurora_domain::IncidentCommand::ChangeSeverity {
        to,
        by: "ops".into(),
        at: Utc::now(),
    };
    b.execute(&acme, id.0, severity(Severity::Low), Context::new_root())
        .await
        .expect("ok")
        .expect("ok");
    let done = a
        .execute(&acme, id.0, severity(Severity::High), Context::new_root())
        .await
        .expect("ok")
        .expect("ok");
    assert_eq!(done.events, 1, "not a no-op: the incident was low");
    let state = b.load(&acme, id.0).await.expect("load").expect("exists");
    assert_eq!(state.inner().severity, Severity::High);
    // And a true repeat stores nothing.
    let again = a
        .execute(&acme, id.0, severity(Severity::High), Context::new_root())
        .await
        .expect("ok")
        .expect("ok");
    assert_eq!((again.events, again.aggregate_sequence), (0, 3));
}

/// The incident events as version 1 of the code had them (see the schema history on
/// `IncidentEvent`'s upcaster): only what the upcasting test writes.
mod v1 {
    use aurora_domain::IncidentId;
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Serialize};

    /// PagerDuty-style priority, version 1's severity.
    #[derive(Debug, Clone, Copy, Serialize, Deserialize, schemars::JsonSchema)]
    pub enum Priority {
        P1,
        P2,
        P3,
        P4,
        P5,
    }

    // Every event type has a schema (`DomainEvent: JsonSchema`), old ones too.
    #[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum IncidentEvent {
        /// No `environment` yet (and no `why`).
        Opened {
            id: IncidentId,
            title: String,
            service: String,
            severity: Priority,
            source: String,
            source_alert_id: String,
            fingerprint: String,
            alert_fired_at: DateTime<Utc>,
            at: DateTime<Utc>,
        },
    }

    /// Version 1 wrote its events at version 1.
    impl esrs::event::Upcaster for IncidentEvent {
        fn current_version() -> Option<i32> {
            Some(1)
        }
    }

    impl aurora_domain::DomainEvent for IncidentEvent {
        fn event_type(&self) -> &'static str {
            match self {
                Self::Opened { .. } => "incident.opened",
            }
        }

        fn occurred_at(&self) -> DateTime<Utc> {
            match self {
                Self::Opened { at, .. } => *at,
            }
        }
    }
}
