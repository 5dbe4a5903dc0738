//! Writers on one aggregate: concurrent appends, turns inside a process, conflicts.

use std::collections::HashSet;

use async_nats::HeaderMap;
use aurora_domain::{Incident, IncidentId, Severity};
use aurora_nats::envelope::Context;
use aurora_nats::log::Append;
use aurora_nats::{subjects, AggregateStore, StoreError};
use aurora_tests::TestNats;
use bytes::Bytes;
use chrono::Utc;

use crate::fixtures::{comment, open, tenant};

use super::opened;

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
