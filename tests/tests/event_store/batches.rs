//! A command's events as one batch: stored together, once, or not at all.

use std::collections::HashSet;

use aurora_domain::chat::{ChatCommand, NewSession};
use aurora_domain::{ChatMode, ChatSession, Incident, IncidentId, SessionId};
use aurora_nats::envelope::{self, Context};
use aurora_nats::log::Append;
use aurora_nats::{subjects, AggregateStore, StoreError};
use aurora_tests::TestNats;
use bytes::Bytes;
use chrono::Utc;
use uuid::Uuid;

use crate::fixtures::{comment, open, tenant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_events_of_one_command_are_stored_together() {
    let nats = TestNats::start().await;
    let acme = tenant("acme");
    let id = SessionId::new();
    let store = AggregateStore::<ChatSession>::new(nats.log.clone());
    let run = |command| store.execute(&acme, id.0, command, Context::new_root());
    run(ChatCommand::Start(NewSession {
        id,
        owner: "u1".into(),
        title: "Why is checkout slow?".into(),
        mode: ChatMode::Agent,
        at: Utc::now(),
    }))
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
