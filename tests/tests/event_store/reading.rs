//! What is stored and how it is read back: headers, old versions through the upcaster, cold
//! and warm loads.

use aurora_domain::{Incident, IncidentEvent, IncidentId, Severity};
use aurora_nats::envelope::Context;
use aurora_nats::{subjects, AggregateStore};
use aurora_tests::TestNats;
use chrono::Utc;
use futures::StreamExt;
use uuid::Uuid;

use crate::fixtures::{comment, open, tenant};

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
