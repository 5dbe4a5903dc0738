//! `GET /api/events/stream`: the organisation's events as Server-Sent Events — CloudEvents,
//! only the caller's organisation, filtered, resumable, with heartbeats, and a client that stops
//! reading dropped rather than buffered for.

use std::time::{Duration, Instant};

use aurora_gateway::app::Role;
use aurora_nats::envelope::Outgoing;
use aurora_nats::log::Append;
use aurora_nats::{subjects, Context};
use aurora_tests::scrape::scrape;
use aurora_tests::sse::Events;
use aurora_tests::{test_api_config, Account, Answer, TestApp};
use bytes::Bytes;
use chrono::Utc;
use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use crate::incident_commands::Org;

async fn spawn(heartbeat_secs: u64) -> TestApp {
    let config = aurora_gateway::api::ApiConfig {
        sse_heartbeat_secs: heartbeat_secs,
        ..test_api_config()
    };
    TestApp::spawn_with(vec![Role::Gateway, Role::Projections], config).await
}

async fn open(app: &TestApp, who: &Account, query: &str, last: Option<&str>) -> Events {
    Events::open(app, who, &format!("/api/events/stream{query}"), last).await
}

/// The next `n` events: (id, type, aggregate id).
async fn take(events: &mut Events, n: usize) -> Vec<(u64, String, String)> {
    let mut taken = Vec::new();
    for _ in 0..n {
        let m = events.next_event().await.expect("an event");
        let data = m.data.expect("JSON data");
        taken.push((
            m.id.expect("an id"),
            m.event.expect("a type"),
            data["subject"].as_str().unwrap_or_default().to_owned(),
        ));
    }
    taken
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_sees_each_event_of_its_organisation_as_a_cloudevent_and_nothing_of_others() {
    let app = spawn(15).await;
    let acme = Org::new(&app, "acme.io").await;
    let globex = Org::new(&app, "globex.io").await;
    let mut live = open(&app, &acme.viewer, "", None).await;

    // What happens from now on: globex's incident first, then acme's.
    globex.incident("web", "web-alert").await;
    let incident = acme.incident("db", "db-alert").await;

    let first = live.next_event().await.expect("acme's incident opened");
    assert_eq!(first.event.as_deref(), Some("aurora.incident.opened"));
    let ce = first.data.expect("JSON data");
    assert_eq!(ce["specversion"], "1.0");
    assert_eq!(ce["type"], "aurora.incident.opened");
    assert_eq!(ce["datacontenttype"], "application/json");
    assert_eq!(ce["aggregatetype"], "incident");
    assert_eq!(ce["subject"], incident.to_string());
    assert_eq!(ce["sequence"].as_u64(), first.id, "the id is the sequence");
    assert!(ce["id"]
        .as_str()
        .is_some_and(|id| Uuid::parse_str(id).is_ok()));
    assert!(ce["time"].is_string() && ce["source"].is_string());
    assert_eq!(ce["data"]["type"], "opened");
    assert_eq!(ce["data"]["service"], "db");
    let second = live.next_event().await.expect("the alert attached");
    assert_eq!(
        second.data.expect("JSON data")["subject"],
        incident.to_string()
    );
    assert!(second.id > first.id);

    // globex's viewer sees its own, never acme's.
    let mut theirs = open(&app, &globex.viewer, "", None).await;
    let web = globex.incident("web", "web-alert-2").await;
    for (_, _, subject) in take(&mut theirs, 2).await {
        assert_eq!(subject, web.to_string());
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_filters_by_aggregate_and_id_replays_from_a_sequence_and_resumes() {
    let app = spawn(15).await;
    let org = Org::new(&app, "acme.io").await;
    let a = org.incident("db", "db-alert").await;
    let b = org.incident("web", "web-alert").await;

    // Replay of incident a from its first event: a's two, not b's.
    let mut only_a = open(
        &app,
        &org.viewer,
        &format!("?aggregate=incident&id={a}&from=1"),
        None,
    )
    .await;
    let a_events = take(&mut only_a, 2).await;
    assert!(
        a_events.iter().all(|(_, _, s)| *s == a.to_string()),
        "{a_events:?}"
    );
    // Live: a's next event comes; b's does not.
    send_comment(&app, &org, b, "on b").await;
    send_comment(&app, &org, a, "on a").await;
    let (_, kind, subject) = take(&mut only_a, 1).await.remove(0);
    assert_eq!(
        (kind.as_str(), subject),
        ("aurora.incident.comment_added", a.to_string())
    );

    // Every incident from a sequence on, in order, that sequence included.
    let (from, _, _) = a_events[1];
    let mut replay = open(
        &app,
        &org.viewer,
        &format!("?aggregate=incident&from={from}"),
        None,
    )
    .await;
    let replayed = take(&mut replay, 5).await;
    assert_eq!(replayed[0].0, from);
    assert!(replayed.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(
        replayed
            .iter()
            .filter(|(_, _, s)| *s == b.to_string())
            .count(),
        3,
        "b's opening, alert and comment"
    );
    // A reconnect's Last-Event-ID wins over the URL's from (EventSource sends both).
    let mut resumed = open(
        &app,
        &org.viewer,
        &format!("?aggregate=incident&from={from}"),
        Some(&replayed[3].0.to_string()),
    )
    .await;
    assert_eq!(take(&mut resumed, 1).await[0].0, replayed[4].0);
    // Another aggregate type: nothing of the incidents.
    let mut sessions = open(&app, &org.viewer, "?aggregate=session&from=1", None).await;
    let quiet = tokio::time::timeout(Duration::from_secs(2), sessions.next_event()).await;
    assert!(quiet.is_err(), "no session events exist: {quiet:?}");
    app.stop().await;
}

/// The aggregate types of every event the stream holds until it has been quiet for a second.
async fn types_until_quiet(events: &mut Events) -> Vec<String> {
    let mut types = Vec::new();
    while let Ok(Some(m)) = tokio::time::timeout(Duration::from_secs(1), events.next_event()).await
    {
        let data = m.data.expect("JSON data");
        types.push(
            data["aggregatetype"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    types
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_of_several_aggregate_types_carries_those_and_no_other() {
    let app = spawn(15).await;
    let org = Org::new(&app, "acme.io").await;
    let a = org.incident("db", "db-alert").await;
    org.incident("web", "web-alert").await;
    app.post_json(
        "/chat_api/sessions",
        Some(&org.editor),
        &serde_json::json!({}),
    )
    .await
    .expect_status(201);

    // The organisation's log holds more kinds than the two asked for.
    let mut everything = open(&app, &org.viewer, "?from=1", None).await;
    let all = types_until_quiet(&mut everything).await;
    assert!(all.iter().any(|t| t == "organization"), "{all:?}");
    assert!(
        all.iter().any(|t| t == "session"),
        "a third kind exists to be left out: {all:?}"
    );

    // Replayed: the incidents' four events and the organisation's, in order, nothing else.
    let query = "?aggregate=incident,organization,incident&from=1";
    let mut two = open(&app, &org.viewer, query, None).await;
    let replayed = types_until_quiet(&mut two).await;
    let count = |types: &[String], kind: &str| types.iter().filter(|t| *t == kind).count();
    assert_eq!(count(&replayed, "incident"), 4, "{replayed:?}");
    assert_eq!(
        count(&replayed, "organization"),
        count(&all, "organization"),
        "{replayed:?}"
    );
    assert_eq!(
        replayed.len(),
        count(&replayed, "incident") + count(&replayed, "organization")
    );
    // Live: the next incident event comes on the same stream.
    send_comment(&app, &org, a, "on a").await;
    let next = two.next_event().await.expect("the comment");
    assert_eq!(next.event.as_deref(), Some("aurora.incident.comment_added"));

    let v = Some(&org.viewer);
    for bad in [
        "?aggregate=incident,".to_owned(),
        "?aggregate=incident,Session".to_owned(),
        format!("?aggregate=incident,session&id={a}"),
        format!(
            "?aggregate={}",
            (0..17)
                .map(|i| format!("kind_{}", "x".repeat(i)))
                .collect::<Vec<_>>()
                .join(",")
        ),
    ] {
        Answer::of(
            app.request(Method::GET, &format!("/api/events/stream{bad}"), v)
                .send()
                .await,
        )
        .await
        .expect_error(400, "invalid_aggregate");
    }
    app.stop().await;
}

async fn send_comment(app: &TestApp, org: &Org, incident: Uuid, text: &str) {
    crate::incident_commands::send(
        app,
        Method::POST,
        &format!("/api/incidents/{incident}/comments"),
        &org.editor,
        serde_json::json!({ "text": text }),
    )
    .await
    .expect_status(201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_filters_and_positions_are_400_and_other_organisations_ids_404() {
    let app = spawn(15).await;
    let org = Org::new(&app, "acme.io").await;
    let other = Org::new(&app, "globex.io").await;
    let theirs = other.incident("db", "db-alert").await;
    let get = |query: String, last: Option<&'static str>, who: Option<&Account>| {
        let mut request = app.request(Method::GET, &format!("/api/events/stream{query}"), who);
        if let Some(last) = last {
            request = request.header("Last-Event-ID", last);
        }
        async move { Answer::of(request.send().await).await }
    };
    let v = Some(&org.viewer);
    for from in ["abc", "0", "-3", "1.5"] {
        get(format!("?from={from}"), None, v)
            .await
            .expect_error(400, "invalid_from");
    }
    get("?aggregate=Incident".into(), None, v)
        .await
        .expect_error(400, "invalid_aggregate");
    get("?aggregate=incident.*".into(), None, v)
        .await
        .expect_error(400, "invalid_aggregate");
    get("?aggregate=incident&id=nope".into(), None, v)
        .await
        .expect_error(400, "invalid_id");
    get("?colour=red".into(), None, v)
        .await
        .expect_error(400, "invalid_query");
    get(String::new(), Some("yesterday"), v)
        .await
        .expect_error(400, "invalid_last_event_id");
    get(format!("?aggregate=incident&id={theirs}"), None, v)
        .await
        .expect_error(404, "not_found");
    get(format!("?id={theirs}"), None, v)
        .await
        .expect_error(404, "not_found");
    get(
        format!("?aggregate=incident&id={}", Uuid::new_v4()),
        None,
        v,
    )
    .await
    .expect_error(404, "not_found");
    let anonymous = get(String::new(), None, None).await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_stream_gets_heartbeats() {
    let app = spawn(1).await;
    let org = Org::new(&app, "acme.io").await;
    let mut live = open(&app, &org.viewer, "", None).await;
    let started = Instant::now();
    for _ in 0..2 {
        let heartbeat = live.next().await.expect("the stream stays open");
        assert_eq!(
            heartbeat.comment.as_deref(),
            Some("keep-alive"),
            "{heartbeat:?}"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    // An event still comes after them.
    org.incident("db", "db-alert").await;
    assert!(live.next_event().await.is_some());
    app.stop().await;
}

/// A client that stops reading: once its socket and its buffer are full the server drops it
/// (it no longer reads the log for it) instead of holding its backlog; what it had been sent is
/// a gap-free prefix, so it resumes with Last-Event-ID.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_dropped_and_resumes_where_it_was() {
    let config = aurora_gateway::api::ApiConfig {
        sse_buffer: 4,
        sse_slow_client_secs: 1,
        ..test_api_config()
    };
    let app = TestApp::spawn_with(vec![Role::Gateway, Role::Projections], config).await;
    let org = Org::new(&app, "acme.io").await;
    let metrics = app.url("/metrics");
    let readers = || async {
        scrape(&app.http, &metrics)
            .await
            .value("aurora_live_readers", &[])
    };

    // A socket with a small receive window, whose body the client does not read.
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket.set_recv_buffer_size(4096).expect("a small buffer");
    let mut stream = socket.connect(app.addr).await.expect("connects");
    let request = format!(
        "GET /api/events/stream?aggregate=probe HTTP/1.1\r\nHost: aurora\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        org.viewer.token
    );
    stream.write_all(request.as_bytes()).await.expect("sends");
    wait_until(|| async { readers().await == 1.0 }, "the stream's reader").await;

    // 16 MB of events, far beyond the socket's buffers and the stream's four.
    let tenant = &org.admin.tenant;
    let body = Bytes::from(format!(
        "{{\"type\":\"noted\",\"text\":\"{}\"}}",
        "x".repeat(64 * 1024)
    ));
    let mut last = 0;
    for _ in 0..256 {
        let id = Uuid::new_v4();
        let context = Context::new_root();
        let headers = Outgoing {
            id: Uuid::new_v4(),
            source: "tests",
            event_type: "probe.noted",
            subject_id: id,
            time: Utc::now(),
            aggregate_sequence: 1,
            version: None,
            context: &context,
        }
        .headers();
        let subject = subjects::aggregate(tenant, "probe", id);
        last = app
            .nats
            .log
            .append(
                &subject,
                0,
                vec![Append {
                    headers,
                    body: body.clone(),
                }],
            )
            .await
            .expect("stored")[0];
    }
    // The server gives up on the client: it stops reading the log for it while the client still
    // holds the connection unread.
    wait_until(|| async { readers().await == 0.0 }, "the reader gone").await;

    // Reading now: what was in flight, in order from the first event, then the end.
    let mut received = Vec::new();
    stream
        .read_to_end(&mut received)
        .await
        .expect("reads to the end");
    let text = String::from_utf8_lossy(&received);
    let ids: Vec<u64> = text
        .lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .map(|id| id.trim().parse().expect("a sequence"))
        .collect();
    assert!(!ids.is_empty(), "some events were sent before the drop");
    assert!(
        ids.len() < 256,
        "the client was dropped, not sent all: {}",
        ids.len()
    );
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "no gap");
    assert!(*ids.last().expect("ids") < last);
    // Resuming after the last one it read, it gets the next.
    let mut resumed = open(
        &app,
        &org.viewer,
        "?aggregate=probe",
        Some(&ids[ids.len() - 1].to_string()),
    )
    .await;
    let next = resumed.next_event().await.expect("the next event");
    assert_eq!(next.id, Some(ids[ids.len() - 1] + 1));
    app.stop().await;
}

/// Many open streams cost the server one consumer, not one each: the gateway follows the log
/// once and hands each event to every stream of its organisation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_streams_share_one_consumer_and_each_gets_every_event() {
    let app = spawn(15).await;
    let acme = Org::new(&app, "acme.io").await;
    let globex = Org::new(&app, "globex.io").await;
    let consumers = || async {
        app.nats
            .jetstream()
            .get_stream("EVENTS")
            .await
            .expect("EVENTS")
            .cached_info()
            .state
            .consumer_count
    };
    let before = consumers().await;
    let mut streams = Vec::new();
    for i in 0..30 {
        let query = if i % 2 == 0 {
            ""
        } else {
            "?aggregate=incident"
        };
        streams.push(open(&app, &acme.viewer, query, None).await);
    }
    let mut theirs = open(&app, &globex.viewer, "", None).await;
    assert_eq!(consumers().await, before + 1, "one consumer for 31 streams");
    let readers = scrape(&app.http, &app.url("/metrics"))
        .await
        .value("aurora_live_readers", &[]);
    assert_eq!(readers, 31.0);

    let incident = acme.incident("db", "db-alert").await;
    let web = globex.incident("web", "web-alert").await;
    for stream in &mut streams {
        let (_, kind, subject) = take(stream, 1).await.remove(0);
        assert_eq!(
            (kind.as_str(), subject),
            ("aurora.incident.opened", incident.to_string())
        );
    }
    let (_, _, subject) = take(&mut theirs, 1).await.remove(0);
    assert_eq!(subject, web.to_string(), "globex's own, never acme's");
    app.stop().await;
}

async fn wait_until<F, Fut>(condition: F, what: &str)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    while !condition().await {
        assert!(Instant::now() < deadline, "waited 60 s for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
