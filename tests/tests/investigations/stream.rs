//! `GET /api/incidents/{id}/rca/stream`: the run's events as Server-Sent Events, live, resumable
//! with `Last-Event-ID`, ending with the run.

use std::time::Duration;

use aurora_domain::investigation::{Conclusion, InvestigationCommand};
use aurora_tests::{Account, Answer, TestApp};
use chrono::Utc;
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{spawn, Run};
use crate::incident_commands::{send, Org};

/// How long a test waits for the next message (a heartbeat comes every 15 s).
const PATIENCE: Duration = Duration::from_secs(20);

/// One message of an event stream.
#[derive(Debug, Default)]
struct Message {
    id: Option<u64>,
    event: Option<String>,
    data: Option<Value>,
    comment: Option<String>,
}

/// An open event stream.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    async fn open(app: &TestApp, who: &Account, incident: Uuid, last: Option<&str>) -> Self {
        let mut request = app.request(
            Method::GET,
            &format!("/api/incidents/{incident}/rca/stream"),
            Some(who),
        );
        if let Some(last) = last {
            request = request.header("Last-Event-ID", last);
        }
        let response = request.send().await.expect("the request reaches the app");
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().ok(),
            Some("text/event-stream")
        );
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next message, comments included; `None` once the stream ended.
    async fn next(&mut self) -> Option<Message> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                return Some(parse(&block));
            }
            let chunk = tokio::time::timeout(PATIENCE, self.response.chunk())
                .await
                .expect("a message or the end within 20 s")
                .expect("the stream reads");
            self.buffer
                .push_str(&String::from_utf8_lossy(chunk.as_ref()?));
        }
    }

    /// The next event (skipping heartbeats); `None` once the stream ended.
    async fn next_event(&mut self) -> Option<Message> {
        loop {
            let message = self.next().await?;
            if message.event.is_some() {
                return Some(message);
            }
        }
    }

    /// The events until the stream ends: (id, type).
    async fn rest(mut self) -> Vec<(u64, String)> {
        let mut events = Vec::new();
        while let Some(m) = self.next_event().await {
            events.push((m.id.expect("an id"), m.event.expect("a type")));
        }
        events
    }
}

fn parse(block: &str) -> Message {
    let mut message = Message::default();
    for line in block.lines() {
        if let Some(comment) = line.strip_prefix(':') {
            message.comment = Some(comment.trim().to_owned());
        } else if let Some((field, value)) = line.split_once(':') {
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "id" => message.id = value.parse().ok(),
                "event" => message.event = Some(value.to_owned()),
                "data" => message.data = serde_json::from_str(value).ok(),
                _ => {}
            }
        }
    }
    message
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
    let mut live = Events::open(&app, &org.viewer, incident, None).await;
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
    let resumed = Events::open(&app, &org.viewer, incident, Some(&thought.to_string())).await;
    assert_eq!(
        resumed.rest().await,
        vec![
            (step, "aurora.investigation.tool_step_started".to_owned()),
            (completed, "aurora.investigation.completed".to_owned()),
        ]
    );
    // One that saw the end gets nothing more, and is not kept waiting.
    let done = Events::open(&app, &org.viewer, incident, Some(&completed.to_string())).await;
    assert_eq!(done.rest().await, vec![]);
    // From the start, the whole run.
    let whole = Events::open(&app, &org.viewer, incident, None).await;
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
    let mut live = Events::open(&app, &org.viewer, incident, None).await;
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
