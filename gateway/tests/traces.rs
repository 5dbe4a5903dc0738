//! Traces as an operator's collector receives them: the `aurora` processes (one per role, as in
//! production) export spans over OTLP/HTTP to a receiver this test serves. One webhook is one
//! trace from the HTTP request to the projector's transaction; so is a chat query (through the
//! agent's model and tool calls) and an investigation asked of an incident. Without
//! `OTEL_EXPORTER_OTLP_ENDPOINT` nothing is exported and events keep fresh, unsampled trace ids.
//! `OTEL_TRACES_SAMPLER(_ARG)` decide what is sampled, and spans still buffered when a process
//! stops on SIGINT are exported before it exits.
//!
//! The tracer provider is process-global, so Aurora runs as child processes here.

mod common;
#[path = "traces/spans.rs"]
mod spans;

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aurora_nats::server::NatsServer;
use axum::response::sse::{Event, Sse};
use axum::routing::post;
use axum::Json;
use futures::Stream;
use serde_json::{json, Value};

use common::{chunk, curl, drop_database, fresh_database, model, Killed};
use spans::{receiver, trace_of, trace_with, whole_trace, Hop, Received, CALLER_SPAN};

type Events = std::pin::Pin<Box<dyn Stream<Item = Result<Event, std::convert::Infallible>> + Send>>;

/// The local secret store's key, shared by the processes.
const SECRET_KEY: &str = "5f0c2b7e9a4d1c3e8b6a7f9d0e2c4b6a8d0f1e3c5b7a9d2e4f6a8c0b2d4e6f80";

/// The trace a test webhook arrives in (as a caller that traces would send it).
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
/// The trace a test chat query arrives in.
const CHAT_TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
/// The trace a test request for an investigation arrives in.
const RCA_TRACE_ID: &str = "5b8aa5a2d2c872e8321cf37308d69df2";
/// The trace of a request answered just before the process stops.
const LAST_TRACE_ID: &str = "7d3efb1b173fecfa8b8e1e5e3c5d5f10";

/// What a test runs Aurora on: a nats-server, a database, a data directory and a port of its
/// own.
struct Site {
    nats: NatsServer,
    db: String,
    data: tempfile::TempDir,
    port: u16,
}

impl Site {
    async fn new(database: &str) -> Self {
        Self {
            nats: NatsServer::start_temporary().await.expect("nats-server"),
            db: fresh_database(database).await,
            data: tempfile::tempdir().expect("data dir"),
            port: aurora_nats::server::free_port().expect("port"),
        }
    }

    fn listen(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `aurora <args>` on the site, with `env` added.
    fn aurora(&self, args: &[&str], env: &[(&str, &str)]) -> Killed {
        let mut c = Command::new(env!("CARGO_BIN_EXE_aurora"));
        c.args(args)
            .env("NATS_URL", self.nats.url())
            .env("DATABASE_URL", &self.db)
            .env("AURORA_DATA_DIR", self.data.path())
            // One key for every process: processes starting together on a data dir without a
            // key would each generate one (and race writing it).
            .env("AURORA_SECRET_KEY", SECRET_KEY)
            .env("RUST_LOG", "warn")
            .env("AURORA_RCA_AUTOMATIC", "0")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        for (name, value) in env {
            c.env(name, value);
        }
        Killed(c.spawn().expect("aurora"))
    }

    /// `aurora serve --role <role>` on the site's port, with `env`.
    fn serve(&self, role: &str, env: &[(&str, &str)]) -> Killed {
        self.aurora(&["serve", "--role", role, "--listen", &self.listen()], env)
    }

    /// The three roles, each its own process, with `env`.
    fn roles(&self, env: &[(&str, &str)]) -> Vec<Killed> {
        ["gateway", "handlers", "projections"]
            .iter()
            .map(|role| self.serve(role, env))
            .collect()
    }

    async fn close(self) {
        drop_database(&self.db).await;
    }
}

/// Registers an account once the processes can, as a header with its bearer token.
async fn account(port: u16) -> String {
    let registered = common::register_until_usable(port).await;
    format!(
        "authorization: Bearer {}",
        registered["token"].as_str().expect("token")
    )
}

/// Sends a firing alert titled `title` carrying the caller's sampled `traceparent`, once an
/// account and an integration exist; the caller's bearer header.
async fn webhook(port: u16, title: &str) -> String {
    let bearer = account(port).await;
    let (path, secret) = common::grafana_integration(port, &bearer).await;
    fire(port, &path, &secret, &common::firing(title), TRACE_ID).await;
    bearer
}

/// Sends the Grafana delivery `body` to the integration at `path` as a caller tracing in
/// `trace_id` would.
async fn fire(port: u16, path: &str, secret: &str, body: &str, trace_id: &str) {
    let traceparent = format!("traceparent: 00-{trace_id}-{CALLER_SPAN}-01");
    let accepted = curl(
        port,
        path,
        &[
            "-H",
            secret,
            "-H",
            &traceparent,
            "-H",
            "content-type: application/json",
            "-d",
            body,
        ],
    )
    .await;
    assert!(matches!(accepted, Some((202, _))), "{accepted:?}");
}

/// The stored `traceparent` of the incident's first event.
async fn first_event_traceparent(port: u16, bearer: &str, id: &str) -> String {
    let (status, body) = curl(
        port,
        &format!("/api/incidents/{id}/events"),
        &["-H", bearer],
    )
    .await
    .expect("events");
    assert_eq!(status, 200, "{body}");
    let events: serde_json::Value = serde_json::from_str(&body).expect("json");
    let events = events["events"].as_array().expect("events");
    events[0]["cloudevents"]["traceparent"]
        .as_str()
        .expect("traceparent")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_and_the_investigation_of_its_incident_are_each_one_trace() {
    let (spans, endpoint) = receiver("127.0.0.1:0").await;
    let model = concluding_model().await;
    let site = Site::new("aurora_traces").await;
    let port = site.port;
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("LLM_BASE_URL", model.as_str()),
        ("LLM_MODEL", "test-model"),
    ];
    let processes = site.roles(&env);

    let bearer = webhook(port, "Disk full on db-1").await;
    let (id, _) = common::incident_served(port, &bearer, "Disk full on db-1").await;

    let hops = [
        Hop("request", "gateway", None),
        Hop("consume", "handlers", Some(("consumer", "ingest"))),
        Hop("handle", "handlers", None),
        Hop("decide", "handlers", None),
        Hop("apply", "handlers", None),
        Hop("execute", "handlers", None),
        Hop(
            "consume",
            "projections",
            Some(("consumer", "proj-incidents")),
        ),
        Hop(
            "apply_batch",
            "projections",
            Some(("projector", "incidents")),
        ),
    ];
    let trace = whole_trace(&spans, TRACE_ID, &hops, "/webhooks/grafana/").await;
    let by_id: HashMap<&str, &Received> = trace.iter().map(|s| (s.span_id.as_str(), s)).collect();

    // The stored event names the span that appended it (the alert's `apply`), in this trace.
    let traceparent = first_event_traceparent(port, &bearer, &id).await;
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts[1], TRACE_ID, "{traceparent}");
    assert_eq!(parts[3], "01", "sampled: {traceparent}");
    let appender = by_id.get(parts[2]).expect("the event's span was exported");
    assert_eq!(appender.name, "apply", "{appender:?}");

    // An investigation asked of the incident (with a traceparent of its own): the RCA consumer,
    // the run and its calls, and the projection of its events are that request's trace.
    let traceparent = format!("traceparent: 00-{RCA_TRACE_ID}-{CALLER_SPAN}-01");
    let (status, body) = curl(
        port,
        &format!("/api/incidents/{id}/rca"),
        &["-X", "POST", "-H", &bearer, "-H", &traceparent],
    )
    .await
    .expect("rca");
    assert_eq!(status, 202, "{body}");

    let hops = [
        Hop("request", "gateway", None),
        Hop("consume", "handlers", Some(("consumer", "rca"))),
        Hop("incident_event", "handlers", None),
        Hop("react", "handlers", None),
        Hop("go", "handlers", None),
        Hop("call_model", "handlers", None),
        Hop("tool", "handlers", Some(("tool", "conclude"))),
        Hop("execute", "handlers", None),
        Hop(
            "consume",
            "projections",
            Some(("consumer", "proj-investigations")),
        ),
        Hop(
            "apply_batch",
            "projections",
            Some(("projector", "investigations")),
        ),
    ];
    whole_trace(&spans, RCA_TRACE_ID, &hops, "/api/incidents/").await;
    drop(processes);
    site.close().await;
}

/// The traces of two more webhooks, which the projector finds stored together.
const SECOND_TRACE_ID: &str = "1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f";
const THIRD_TRACE_ID: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_projected_in_one_transaction_each_have_the_projector_in_their_trace() {
    let (spans, endpoint) = receiver("127.0.0.1:0").await;
    let site = Site::new("aurora_traces_batch").await;
    let port = site.port;
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ];
    let mut processes = site.roles(&env);
    let bearer = account(port).await;
    let (path, secret) = common::grafana_integration(port, &bearer).await;

    // With the projector stopped, both alerts' events are stored before it reads any of them.
    drop(processes.pop().expect("the projections process"));
    // Alerts of their own (fingerprint and service), so neither is a repeat of the other.
    let alert = |n: u32| {
        json!({
            "receiver": "aurora", "status": "firing", "version": "1",
            "alerts": [{
                "status": "firing", "fingerprint": format!("fp-db-{n}"),
                "labels": { "alertname": format!("Disk full on db-{n}"), "service": format!("db-{n}"), "severity": "critical" },
                "annotations": { "summary": format!("Disk full on db-{n}") },
                "startsAt": chrono::Utc::now(), "endsAt": "0001-01-01T00:00:00Z",
            }],
        })
        .to_string()
    };
    fire(port, &path, &secret, &alert(3), SECOND_TRACE_ID).await;
    fire(port, &path, &secret, &alert(4), THIRD_TRACE_ID).await;
    let stored = [Hop("execute", "handlers", None)];
    trace_with(&spans, SECOND_TRACE_ID, &stored).await;
    trace_with(&spans, THIRD_TRACE_ID, &stored).await;
    let _projections = site.serve("projections", &env);

    // One trace holds the transaction's own span; the other a `projected` span of the same
    // projector, descending from its own request.
    let incidents = Some(("projector", "incidents"));
    let projected_in = |trace_id: &str| {
        let trace = trace_of(&spans, trace_id);
        ["apply_batch", "projected"].into_iter().find(|name| {
            trace
                .iter()
                .any(|s| Hop(name, "projections", incidents).matches(s))
        })
    };
    let started = Instant::now();
    let (second, third) = loop {
        if let (Some(second), Some(third)) =
            (projected_in(SECOND_TRACE_ID), projected_in(THIRD_TRACE_ID))
        {
            break (second, third);
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the incidents projector never showed in both traces"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut names = [second, third];
    names.sort_unstable();
    assert_eq!(
        names,
        ["apply_batch", "projected"],
        "one transaction for both"
    );
    for (trace_id, name) in [(SECOND_TRACE_ID, second), (THIRD_TRACE_ID, third)] {
        let hops = [
            Hop("request", "gateway", None),
            Hop("execute", "handlers", None),
            Hop(name, "projections", incidents),
        ];
        whole_trace(&spans, trace_id, &hops, "/webhooks/grafana/").await;
    }
    drop(processes);
    site.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_endpoint_nothing_is_exported_and_events_keep_fresh_trace_ids() {
    // Where an exporter with no endpoint configured would send (OTLP/HTTP's default).
    let (spans, _) = receiver("127.0.0.1:4318").await;
    let site = Site::new("aurora_traces_off").await;
    let port = site.port;
    // One process for all roles: nothing crosses processes when nothing is exported.
    let process = site.aurora(
        &["up", "--listen", &site.listen()],
        &[("OTEL_BSP_SCHEDULE_DELAY", "100")],
    );

    let bearer = webhook(port, "Disk full on db-2").await;
    let (id, _) = common::incident_served(port, &bearer, "Disk full on db-2").await;
    let traceparent = first_event_traceparent(port, &bearer, &id).await;
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_ne!(parts[1], TRACE_ID, "{traceparent}");
    assert_eq!(parts[3], "00", "not sampled: {traceparent}");

    // Longer than any export would have taken.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        spans.lock().expect("spans").is_empty(),
        "spans were exported"
    );
    drop(process);
    site.close().await;
}

/// A model that looks incidents up once, then answers.
async fn looking_model() -> String {
    async fn completions(Json(request): Json<Value>) -> Sse<Events> {
        let told = request["messages"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["role"] == "tool"));
        let events = if told {
            vec![
                chunk(
                    json!({"role": "assistant", "content": "No incident is open."}),
                    None,
                ),
                chunk(json!({}), Some("stop")),
            ]
        } else {
            vec![
                chunk(
                    json!({"role": "assistant", "tool_calls": [{"index": 0, "id": "call-1", "type": "function",
                        "function": {"name": "incident_lookup", "arguments": "{\"status\":\"investigating\"}"}}]}),
                    None,
                ),
                chunk(json!({}), Some("tool_calls")),
            ]
        };
        let done = Event::default().data("[DONE]");
        Sse::new(Box::pin(futures::stream::iter(
            events.into_iter().chain([done]).map(Ok),
        )))
    }
    model(axum::Router::new().route("/v1/chat/completions", post(completions))).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_query_is_one_trace_from_the_request_through_the_agent_to_the_projector() {
    let (spans, endpoint) = receiver("127.0.0.1:0").await;
    let model = looking_model().await;
    let site = Site::new("aurora_traces_chat").await;
    let port = site.port;
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("LLM_BASE_URL", model.as_str()),
        ("LLM_MODEL", "test-model"),
    ];
    let processes = site.roles(&env);
    let bearer = account(port).await;
    let json = "content-type: application/json";
    let (status, created) = curl(
        port,
        "/chat_api/sessions",
        &["-H", &bearer, "-H", json, "-d", "{}"],
    )
    .await
    .expect("session");
    assert_eq!(status, 201, "{created}");
    let created: Value = serde_json::from_str(&created).expect("json");
    let session = created["id"].as_str().expect("session id");
    let traceparent = format!("traceparent: 00-{CHAT_TRACE_ID}-{CALLER_SPAN}-01");
    let (status, posted) = curl(
        port,
        &format!("/chat_api/sessions/{session}/messages"),
        &[
            "-H",
            &bearer,
            "-H",
            json,
            "-H",
            &traceparent,
            "-d",
            r#"{"message":"Which incidents are open?"}"#,
        ],
    )
    .await
    .expect("message");
    assert_eq!(status, 202, "{posted}");

    let hops = [
        Hop("request", "gateway", None),
        Hop("cmd.publish", "gateway", None),
        Hop("consume", "handlers", Some(("consumer", "chat"))),
        Hop("session_command", "handlers", None),
        Hop("go", "handlers", None),
        Hop("call_model", "handlers", None),
        Hop("tool", "handlers", Some(("tool", "incident_lookup"))),
        Hop("execute", "handlers", None),
        Hop(
            "consume",
            "projections",
            Some(("consumer", "proj-sessions")),
        ),
        Hop(
            "apply_batch",
            "projections",
            Some(("projector", "sessions")),
        ),
    ];
    let trace = whole_trace(&spans, CHAT_TRACE_ID, &hops, "/chat_api/sessions/").await;
    // Both model calls: the one that asked for the tool and the one that answered.
    assert_eq!(
        trace.iter().filter(|s| s.name == "call_model").count(),
        2,
        "{trace:#?}"
    );
    drop(processes);
    site.close().await;
}

/// A model that concludes every investigation at once.
async fn concluding_model() -> String {
    async fn completions() -> Sse<Events> {
        let arguments = json!({"conclusion": "confirmed", "summary": "The disk of db-1 is full."});
        let events = [
            chunk(
                json!({"role": "assistant", "tool_calls": [{"index": 0, "id": "call-conclude", "type": "function",
                    "function": {"name": "conclude", "arguments": arguments.to_string()}}]}),
                None,
            ),
            chunk(json!({}), Some("tool_calls")),
            Event::default().data("[DONE]"),
        ];
        Sse::new(Box::pin(futures::stream::iter(events.map(Ok))))
    }
    model(axum::Router::new().route("/v1/chat/completions", post(completions))).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standard_sampler_decides_and_buffered_spans_are_exported_when_aurora_stops() {
    let (spans, endpoint) = receiver("127.0.0.1:0").await;
    let site = Site::new("aurora_traces_stop").await;
    let port = site.port;
    // No trace of its own is sampled, a caller's sampled one is; batches leave only every
    // minute, so what arrives sooner was flushed by the shutdown.
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "0"),
        ("OTEL_BSP_SCHEDULE_DELAY", "60000"),
    ];
    let mut gateway = site.serve("gateway", &env);
    let started = Instant::now();
    while !matches!(curl(port, "/health", &[]).await, Some((200, _))) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the gateway never answered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let traceparent = format!("traceparent: 00-{LAST_TRACE_ID}-{CALLER_SPAN}-01");
    let answer = curl(port, "/health", &["-H", &traceparent]).await;
    assert!(matches!(answer, Some((200, _))), "{answer:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        spans.lock().expect("spans").is_empty(),
        "exported before the stop"
    );

    let pid = gateway.0.id().to_string();
    let interrupted = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill");
    assert!(interrupted.success());
    let started = Instant::now();
    while gateway.0.try_wait().expect("wait").is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the gateway did not stop"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let received = spans.lock().expect("spans").clone();
    assert!(
        received
            .iter()
            .any(|s| s.name == "request" && s.parent == CALLER_SPAN && s.trace_id == LAST_TRACE_ID),
        "the caller's sampled request was not exported at the stop: {received:?}"
    );
    assert!(
        received.iter().all(|s| s.trace_id == LAST_TRACE_ID),
        "a trace of the process's own was sampled at ratio 0: {received:?}"
    );
    site.close().await;
}
