//! The HTTP API, end to end: the app in-process on port 0 with real NATS and PostgreSQL.

use aurora_domain::{Incident, IncidentCommand, IncidentId, IncidentStatus, Severity};
use aurora_nats::{AggregateStore, Context};
use aurora_projections::Projector;
use aurora_tests::{wait_for_projection, Account, TestApp};
use chrono::{Duration, Utc};
use serde_json::Value;

use crate::fixtures::{attach, comment, open};

async fn get(app: &TestApp, account: Option<&Account>, path: &str) -> (u16, Value) {
    let answer = app.get_json(path, account).await;
    (answer.status, answer.body)
}

fn assert_error(body: &Value, code: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness_answer() {
    let app = TestApp::spawn().await;
    let (status, body) = get(&app, None, "/health").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    // Ready once the projectors have (re)started their consumers at their checkpoints.
    let started = std::time::Instant::now();
    let body = loop {
        let (status, body) = get(&app, None, "/ready").await;
        if status == 200 {
            break body;
        }
        assert_eq!(status, 503, "{body}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "never ready: {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"]["postgres"]["ok"], true);
    assert_eq!(body["checks"]["projections"]["incidents"]["ok"], true);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_ready_while_projections_lag_then_ready_once_caught_up() {
    use aurora_gateway::app::Role;
    let app = TestApp::spawn_with_roles(vec![Role::Gateway]).await;
    let store = AggregateStore::<Incident>::new(app.nats.log.clone());
    // No projector runs, so no one can register: write to a tenant directly.
    let acme = aurora_domain::TenantId::parse("acme").expect("tenant");
    let ids: Vec<IncidentId> = (0..1100).map(|_| IncidentId::new()).collect();
    futures::future::join_all(ids.iter().map(|id| {
        store.execute(
            &acme,
            id.0,
            open(*id, "backlog", "queue", Utc::now()),
            Context::new_root(),
        )
    }))
    .await
    .into_iter()
    .for_each(|r| {
        r.expect("store").expect("opened");
    });
    let (status, body) = get(&app, None, "/ready").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["checks"]["projections"]["incidents"]["ok"], false);
    assert_eq!(body["checks"]["projections"]["incidents"]["behind"], 1100);

    app.start_roles(vec![Role::Projections]);
    wait_for_projection(&app.db.pool, Projector::Incidents, 1100).await;
    let started = std::time::Instant::now();
    loop {
        let (status, body) = get(&app, None, "/ready").await;
        if status == 200 {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_shows_with_its_alerts_timeline_and_raw_events() {
    let app = TestApp::spawn().await;
    let store = AggregateStore::<Incident>::new(app.nats.log.clone());
    let account = app.register("ops@acme.io", "Acme").await;
    let acme = account.tenant.clone();
    let id = IncidentId::new();
    let run = |c| store.execute(&acme, id.0, c, Context::new_root());
    let opened_at = Utc::now() - Duration::minutes(10);
    run(open(id, "Checkout latency", "checkout", opened_at))
        .await
        .expect("ok")
        .expect("ok");
    run(attach("dd-1", "payments", 0.74))
        .await
        .expect("ok")
        .expect("ok");
    run(IncidentCommand::ChangeSeverity {
        to: Severity::Critical,
        by: "alice".into(),
        at: Utc::now(),
    })
    .await
    .expect("ok")
    .expect("ok");
    // Waits for the last write itself: other aggregates' events (the graph's sightings of the
    // services) interleave in the stream, so a count of events would not say it was projected.
    let last = run(comment("alice", "rolling back"))
        .await
        .expect("ok")
        .expect("ok");
    wait_for_projection(&app.db.pool, Projector::Incidents, last.stream_sequence).await;

    let (status, body) = get(&app, Some(&account), &format!("/api/incidents/{}", id.0)).await;
    assert_eq!(status, 200, "{body}");
    let incident = &body["incident"];
    assert_eq!(incident["title"], "Checkout latency");
    assert_eq!(incident["severity"], "critical");
    assert_eq!(incident["status"], "investigating");
    assert_eq!(
        incident["affected_services"],
        serde_json::json!(["checkout", "payments"])
    );
    assert_eq!(incident["correlated_alert_count"], 1);
    assert_eq!(incident["comments"][0]["text"], "rolling back");
    let alerts = body["alerts"].as_array().expect("alerts");
    assert_eq!(alerts.len(), 2);
    assert_eq!(alerts[1]["correlation"]["score"], 0.74);
    let timeline: Vec<&str> = body["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|t| t["description"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(timeline.len(), 4);
    assert!(
        timeline[1]
            .contains("correlated with score 0.74: topology 1.00, time 0.42, similarity 0.35"),
        "{timeline:?}"
    );
    assert!(
        timeline[2].contains("Severity changed from high to critical by alice"),
        "{timeline:?}"
    );

    let (status, body) = get(
        &app,
        Some(&account),
        &format!("/api/incidents/{}/events", id.0),
    )
    .await;
    assert_eq!(status, 200);
    let events = body["events"].as_array().expect("events");
    assert_eq!(events.len(), 4);
    assert_eq!(events[0]["type"], "aurora.incident.opened");
    assert_eq!(events[0]["aggregate_sequence"], 1);
    assert_eq!(events[0]["cloudevents"]["specversion"], "1.0");
    assert_eq!(
        events[0]["cloudevents"]["source"],
        format!("/aurora/{}/incident", account.tenant)
    );
    assert!(events[0]["cloudevents"]["traceparent"]
        .as_str()
        .is_some_and(|t| t.starts_with("00-")));
    assert!(events[1]["sequence"].as_u64() > events[0]["sequence"].as_u64());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_as_it_was_at_a_time_is_folded_from_its_events() {
    let app = TestApp::spawn().await;
    let store = AggregateStore::<Incident>::new(app.nats.log.clone());
    let account = app.register("ops@acme.io", "Acme").await;
    let acme = account.tenant.clone();
    let id = IncidentId::new();
    let t0 = Utc::now() - Duration::hours(2);
    let run = |c| store.execute(&acme, id.0, c, Context::new_root());
    // "As it was then" is as Aurora knew it: the instants between the commands below.
    let before = Utc::now();
    run(open(id, "Queue backlog", "worker", t0))
        .await
        .expect("ok")
        .expect("ok");
    let opened = Utc::now();
    run(IncidentCommand::ChangeStatus {
        to: IncidentStatus::Analyzed,
        by: "bob".into(),
        at: t0 + Duration::minutes(30),
    })
    .await
    .expect("ok")
    .expect("ok");
    let analyzed = Utc::now();
    let last = run(IncidentCommand::Resolve {
        by: "bob".into(),
        reason: Some("scaled workers".into()),
        at: t0 + Duration::minutes(60),
    })
    .await
    .expect("ok")
    .expect("ok");
    let resolved = Utc::now();
    wait_for_projection(&app.db.pool, Projector::Incidents, last.stream_sequence).await;

    let at = |t: chrono::DateTime<Utc>| {
        format!(
            "/api/incidents/{}?at={}",
            id.0,
            t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        )
    };
    let (status, body) = get(&app, Some(&account), &at(opened)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["incident"]["status"], "investigating");
    assert_eq!(body["timeline"].as_array().map(Vec::len), Some(1));
    let (_, body) = get(&app, Some(&account), &at(analyzed)).await;
    assert_eq!(body["incident"]["status"], "analyzed");
    assert_eq!(body["timeline"].as_array().map(Vec::len), Some(2));
    // An offset other than Z, sent unencoded: the `+` arrives as a space and is still understood.
    let plus_two =
        resolved.with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).expect("offset"));
    let (status, body) = get(
        &app,
        Some(&account),
        &format!(
            "/api/incidents/{}?at={}",
            id.0,
            plus_two.to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["incident"]["status"], "resolved");
    let (_, now) = get(&app, Some(&account), &format!("/api/incidents/{}", id.0)).await;
    assert_eq!(
        body["incident"], now["incident"],
        "the latest fold equals the read model"
    );

    let (status, body) = get(&app, Some(&account), &at(before)).await;
    assert_eq!(status, 404);
    assert_error(&body, "not_found");
    let (status, body) = get(
        &app,
        Some(&account),
        &format!("/api/incidents/{}?at=yesterday", id.0),
    )
    .await;
    assert_eq!(status, 400);
    assert_error(&body, "invalid_time");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_filters_and_pages_with_a_cursor() {
    let app = TestApp::spawn().await;
    let store = AggregateStore::<Incident>::new(app.nats.log.clone());
    let account = app.register("ops@acme.io", "Acme").await;
    let acme = account.tenant.clone();
    let base = Utc::now() - Duration::hours(1);
    let mut last = 0;
    for i in 0..7 {
        let id = IncidentId::new();
        let service = if i % 2 == 0 { "checkout" } else { "search" };
        let opened = store
            .execute(
                &acme,
                id.0,
                open(
                    id,
                    &format!("incident {i}"),
                    service,
                    base + Duration::minutes(i),
                ),
                Context::new_root(),
            )
            .await
            .expect("ok")
            .expect("ok");
        last = opened.stream_sequence;
        if i == 3 {
            store
                .execute(
                    &acme,
                    id.0,
                    IncidentCommand::Resolve {
                        by: "ops".into(),
                        reason: None,
                        at: Utc::now(),
                    },
                    Context::new_root(),
                )
                .await
                .expect("ok")
                .expect("ok");
        }
    }
    // The last incident opened after the resolve: its event is the last of these.
    wait_for_projection(&app.db.pool, Projector::Incidents, last).await;

    let mut titles = Vec::new();
    let mut path = "/api/incidents?limit=3".to_owned();
    loop {
        let (status, body) = get(&app, Some(&account), &path).await;
        assert_eq!(status, 200, "{body}");
        titles.extend(
            body["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|i| i["title"].as_str().unwrap_or("").to_owned()),
        );
        match body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/incidents?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    let expected: Vec<String> = (0..7).rev().map(|i| format!("incident {i}")).collect();
    assert_eq!(titles, expected, "newest first, every incident once");

    let (_, body) = get(&app, Some(&account), "/api/incidents?service=search").await;
    assert_eq!(body["items"].as_array().map(Vec::len), Some(3));
    let (_, body) = get(&app, Some(&account), "/api/incidents?status=resolved").await;
    assert_eq!(body["items"][0]["title"], "incident 3");
    assert_eq!(body["items"].as_array().map(Vec::len), Some(1));
    let (_, body) = get(
        &app,
        Some(&account),
        "/api/incidents?severity=high&status=investigating",
    )
    .await;
    assert_eq!(body["items"].as_array().map(Vec::len), Some(6));
    let (_, body) = get(&app, Some(&account), "/api/incidents?severity=critical").await;
    assert_eq!(body["items"].as_array().map(Vec::len), Some(0));

    // Another tenant sees none of it.
    let globex = app.register("ops@globex.io", "Globex").await;
    let (status, body) = get(&app, Some(&globex), "/api/incidents").await;
    assert_eq!(
        (status, body["items"].as_array().map(Vec::len)),
        (200, Some(0))
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_a_clear_json_error() {
    let app = TestApp::spawn().await;
    let account = app.register("ops@acme.io", "Acme").await;
    let store = AggregateStore::<Incident>::new(app.nats.log.clone());
    let id = IncidentId::new();
    let opened = store
        .execute(
            &account.tenant,
            id.0,
            open(id, "x", "y", Utc::now()),
            Context::new_root(),
        )
        .await
        .expect("ok")
        .expect("ok");
    wait_for_projection(&app.db.pool, Projector::Incidents, opened.stream_sequence).await;

    let cases = [
        ("/api/incidents?status=sleeping", 400, "invalid_status"),
        ("/api/incidents?severity=P9", 400, "invalid_severity"),
        ("/api/incidents?limit=0", 400, "invalid_limit"),
        ("/api/incidents?limit=many", 400, "invalid_query"),
        ("/api/incidents?colour=red", 400, "invalid_query"),
        ("/api/incidents?cursor=garbage", 400, "invalid_cursor"),
        ("/api/incidents/not-a-uuid", 400, "invalid_id"),
        ("/api/incidents/not-a-uuid/events", 400, "invalid_id"),
        (
            "/api/incidents/0190a0b0-0000-7000-8000-000000000000",
            404,
            "not_found",
        ),
        (
            "/api/incidents/0190a0b0-0000-7000-8000-000000000000/events",
            404,
            "not_found",
        ),
        ("/api/nothing-here", 404, "not_found"),
    ];
    for (path, status, code) in cases {
        let (got, body) = get(&app, Some(&account), path).await;
        assert_eq!(got, status, "{path}: {body}");
        assert_error(&body, code);
    }
    // Another tenant's incident is not found, through every endpoint.
    let globex = app.register("ops@globex.io", "Globex").await;
    for path in [
        format!("/api/incidents/{}", id.0),
        format!("/api/incidents/{}/events", id.0),
        format!("/api/incidents/{}?at={}", id.0, "2999-01-01T00:00:00Z"),
    ] {
        let (status, body) = get(&app, Some(&globex), &path).await;
        assert_eq!(status, 404, "{path}");
        assert_error(&body, "not_found");
    }
    let (status, body) = get(&app, None, "/api/incidents").await;
    assert_eq!(status, 401);
    assert_error(&body, "unauthenticated");
    let response = app
        .http
        .delete(app.url("/api/incidents"))
        .bearer_auth(&account.token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 405);
    assert_error(&response.json().await.expect("json"), "method_not_allowed");
    app.stop().await;
}
