//! `GET /api/incidents/{id}/rca/stream`: the run's events as Server-Sent Events, live, resumable
//! with `Last-Event-ID`, ending with the run.

use aurora_domain::investigation::{Conclusion, InvestigationCommand};
use aurora_tests::sse::{Events, PATIENCE};
use aurora_tests::{Account, Answer, TestApp};
use chrono::Utc;
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use super::{spawn, Run};
use crate::incident_commands::{send, Org};

/// The run's event stream, resumed after `last` when given.
async fn open(app: &TestApp, who: &Account, incident: Uuid, last: Option<&str>) -> Events {
    Events::open(
        app,
        who,
        &format!("/api/incidents/{incident}/rca/stream"),
        last,
    )
    .await
}

async fn requested_run(app: &TestApp, org: &Org, incident: Uuid) -> Run {
    send(
        app,
        Method::POST,
        &format!("/api/incidents/{incident}/rca"),
        &org.editor,
        json!({}),
    )
    .await
    .expect_status(202);
    Run::of(app, org, incident, 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_sends_each_event_as_it_happens_ends_with_the_run_and_resumes() {
    let app = spawn().await;
    let org = Org::new(&app, "acme.io").await;
    let incident = org.incident("db", "db-alert").await;
    let r = requested_run(&app, &org, incident).await;
    let mut sequences = Vec::new();
    for command in r.begin(&org.editor.email) {
        sequences.push(r.step(command).await);
    }

    // What was stored before the client came, from the start.
    let mut live = open(&app, &org.viewer, incident, None).await;
    let first = live.next_event().await.expect("the request");
    assert_eq!(first.id, Some(sequences[0]));
    assert_eq!(
        first.event.as_deref(),
        Some("aurora.investigation.requested")
    );
    let data = first.data.expect("JSON data");
    assert_eq!(data["type"], "requested");
    assert_eq!(data["incident"], json!(incident));
    let second = live.next_event().await.expect("the start");
    assert_eq!(second.id, Some(sequences[1]));
    assert_eq!(
        second.event.as_deref(),
        Some("aurora.investigation.started")
    );

    // Then each event as it is stored.
    let thought = r
        .step(InvestigationCommand::Think {
            text: "Looking at the database first.".to_owned(),
            at: Utc::now(),
        })
        .await;
    let message = live.next_event().await.expect("the thought");
    assert_eq!(message.id, Some(thought));
    assert_eq!(
        message.event.as_deref(),
        Some("aurora.investigation.thought")
    );
    assert_eq!(
        message.data.expect("JSON data")["text"],
        "Looking at the database first."
    );
    let step = r
        .step(InvestigationCommand::StartToolStep {
            step_id: "s1".to_owned(),
            tool: "aws".to_owned(),
            input: json!({ "command": "aws rds describe-db-instances" }),
            at: Utc::now(),
        })
        .await;
    let completed = r.step(r.complete(Conclusion::Inconclusive)).await;
    // The stream ends after the run's last event.
    assert_eq!(
        live.rest().await,
        vec![
            (step, "aurora.investigation.tool_step_started".to_owned()),
            (completed, "aurora.investigation.completed".to_owned()),
        ]
    );

    // A client that reconnects gets what followed the last event it saw, and the end.
    let resumed = open(&app, &org.viewer, incident, Some(&thought.to_string())).await;
    assert_eq!(
        resumed.rest().await,
        vec![
            (step, "aurora.investigation.tool_step_started".to_owned()),
            (completed, "aurora.investigation.completed".to_owned()),
        ]
    );
    // One that saw the end gets nothing more, and is not kept waiting.
    let done = open(&app, &org.viewer, incident, Some(&completed.to_string())).await;
    assert_eq!(done.rest().await, vec![]);
    // From the start, the whole run.
    let whole = open(&app, &org.viewer, incident, None).await;
    assert_eq!(whole.rest().await.len(), 5);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_stream_gets_a_heartbeat_and_ends_when_the_server_stops() {
    let app = spawn().await;
    let org = Org::new(&app, "acme.io").await;
    let incident = org.incident("db", "db-alert").await;
    let r = requested_run(&app, &org, incident).await;
    for command in r.begin(&org.editor.email) {
        r.step(command).await;
    }
    let mut live = open(&app, &org.viewer, incident, None).await;
    assert!(live.next_event().await.is_some());
    assert!(live.next_event().await.is_some());
    // Nothing happens for a while: a comment line keeps the connection open.
    let heartbeat = live.next().await.expect("the stream stays open");
    assert_eq!(
        heartbeat.comment.as_deref(),
        Some("keep-alive"),
        "{heartbeat:?}"
    );
    assert!(heartbeat.event.is_none());
    // Stopping the server ends the stream rather than waiting for the run forever.
    let rest = tokio::spawn(live.rest());
    tokio::time::timeout(PATIENCE, app.stop())
        .await
        .expect("the app stops with a stream open");
    assert_eq!(rest.await.expect("the reader"), vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_is_refused_for_other_tenants_bad_ids_and_incidents_never_investigated() {
    let app = spawn().await;
    let org = Org::new(&app, "acme.io").await;
    let other = Org::new(&app, "globex.io").await;
    let incident = org.incident("db", "db-alert").await;
    let get = |who: Option<&Account>, incident: String, last: Option<&str>| {
        let mut request = app.request(
            Method::GET,
            &format!("/api/incidents/{incident}/rca/stream"),
            who,
        );
        if let Some(last) = last {
            request = request.header("Last-Event-ID", last);
        }
        async move { Answer::of(request.send().await).await }
    };

    get(Some(&org.viewer), incident.to_string(), None)
        .await
        .expect_error(404, "not_found");
    requested_run(&app, &org, incident).await;
    get(Some(&other.admin), incident.to_string(), None)
        .await
        .expect_error(404, "not_found");
    get(Some(&org.viewer), Uuid::new_v4().to_string(), None)
        .await
        .expect_error(404, "not_found");
    get(Some(&org.viewer), "nope".to_owned(), None)
        .await
        .expect_error(400, "invalid_id");
    get(Some(&org.viewer), incident.to_string(), Some("yesterday"))
        .await
        .expect_error(400, "invalid_last_event_id");
    get(Some(&org.viewer), incident.to_string(), Some("-1"))
        .await
        .expect_error(400, "invalid_last_event_id");
    let anonymous = get(None, incident.to_string(), None).await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    app.stop().await;
}
