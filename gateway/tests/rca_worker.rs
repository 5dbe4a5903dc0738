//! An investigation whose worker dies: the handlers process is killed (SIGKILL) mid-run and
//! another handlers process sweeps. With a model, the run is resumed from what it recorded and
//! completes, no step done twice; without one in the new process, it is failed with the reason —
//! never "running" forever.

mod common;

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aurora_domain::investigation::{
    run_id, Conclusion, Investigation, InvestigationState, InvestigationStatus, StepStatus,
};
use aurora_domain::{
    Incident, IncidentCommand, IncidentId, IncidentStatus, RcaStatus, Severity, TenantId,
};
use aurora_nats::envelope::Context;
use aurora_nats::server::NatsServer;
use aurora_nats::{AggregateStore, EventLog};
use axum::extract::State;
use axum::response::sse::{Event, Sse};
use axum::routing::post;
use axum::Json;
use chrono::Utc;
use futures::Stream;
use serde_json::{json, Value};

use aurora_domain::incident::Opening;
use common::{chunk, fresh_database, model, Killed};

type Events = std::pin::Pin<Box<dyn Stream<Item = Result<Event, std::convert::Infallible>> + Send>>;

/// An OpenAI-compatible endpoint that streams a sentence every 300 ms and never finishes.
async fn endless_model() -> String {
    async fn completions() -> Sse<Events> {
        let chunks = futures::stream::unfold(0u64, |n| async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let delta = json!({"content": format!("Still reading the pods, step {n}. ")});
            Some((Ok(chunk(delta, None)), n + 1))
        });
        Sse::new(Box::pin(chunks))
    }
    model(axum::Router::new().route("/v1/chat/completions", post(completions))).await
}

/// A model that investigates with two kubectl calls (the second one hangs), and, once told the
/// run was interrupted and resumed, records a finding citing the first and concludes. Every
/// request is kept.
async fn scripted_model(requests: Arc<Mutex<Vec<Value>>>) -> String {
    async fn completions(
        State(requests): State<Arc<Mutex<Vec<Value>>>>,
        Json(request): Json<Value>,
    ) -> Sse<Events> {
        let messages = request["messages"].as_array().cloned().unwrap_or_default();
        let last_user = messages.iter().rposition(|m| m["role"] == "user");
        let asked = last_user
            .and_then(|i| messages[i]["content"].as_str())
            .unwrap_or_default()
            .to_owned();
        let step = last_user.map_or(0, |i| {
            messages[i + 1..]
                .iter()
                .filter(|m| m["role"] == "assistant")
                .count()
        });
        if let Ok(mut requests) = requests.lock() {
            requests.push(request.clone());
        }
        let call = |id: &str, name: &str, arguments: Value| {
            vec![
                chunk(
                    json!({"role": "assistant", "tool_calls": [{"index": 0, "id": id, "type": "function",
                        "function": {"name": name, "arguments": arguments.to_string()}}]}),
                    None,
                ),
                chunk(json!({}), Some("tool_calls")),
            ]
        };
        let resumed = asked.contains("was interrupted");
        let events = match (resumed, step) {
            (false, 0) => call(
                "call-pods",
                "kubectl",
                json!({"command": "kubectl -n shop get pods -o json"}),
            ),
            (false, 1) => call(
                "call-logs",
                "kubectl",
                json!({"command": "kubectl -n shop logs deploy/checkout"}),
            ),
            (true, 0) => call(
                "call-finding",
                "record_finding",
                json!({"text": "checkout-7 is in CrashLoopBackOff", "citations": ["call-pods"]}),
            ),
            _ => call(
                "call-conclude",
                "conclude",
                json!({"conclusion": "confirmed", "summary": "The checkout deploy crash-loops its pods."}),
            ),
        };
        let done = Event::default().data("[DONE]");
        let all = events.into_iter().chain([done]).map(Ok);
        Sse::new(Box::pin(futures::stream::iter(all)))
    }
    let router = axum::Router::new()
        .route("/v1/chat/completions", post(completions))
        .with_state(requests);
    model(router).await
}

/// A fake `kubectl` in its own directory: logs each call to `calls.log`; `logs` hangs.
fn fake_kubectl() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("a dir for the fake CLI");
    let log = dir.path().join("calls.log");
    let path = dir.path().join("kubectl");
    let script = format!(
        "#!/bin/sh\necho \"kubectl $*\" >> '{}'\ncase \"$*\" in *logs*) sleep 120;; esac\n\
         echo '{{\"items\":[{{\"metadata\":{{\"name\":\"checkout-7\"}},\"status\":{{\"phase\":\"CrashLoopBackOff\"}}}}]}}'\n",
        log.display()
    );
    std::fs::write(&path, script).expect("write the fake CLI");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

fn calls(clis: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(clis.join("calls.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `aurora serve --role handlers`, with `model` as its LLM when given.
fn handlers(nats: &str, db: &str, model: Option<&str>, work: &std::path::Path) -> Killed {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aurora"));
    command
        .args(["serve", "--role", "handlers"])
        .env("NATS_URL", nats)
        .env("DATABASE_URL", db)
        .env("AURORA_DATA_DIR", work)
        .env(
            "AURORA_TOOL_PATH",
            format!("{}:/usr/bin:/bin", work.display()),
        )
        .env("AURORA_RCA_STALE_SECS", "2")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    if let Some(model) = model {
        command
            .env("LLM_BASE_URL", model)
            .env("LLM_MODEL", "worker-test");
    }
    Killed(command.spawn().expect("aurora serve --role handlers"))
}

/// `curl` with `args` against the gateway on `port`: status and body as JSON (null when not).
async fn curl(port: u16, path: &str, args: &[&str]) -> Option<(u16, Value)> {
    let (status, body) = common::curl(port, path, args).await?;
    Some((status, serde_json::from_str(&body).unwrap_or(Value::Null)))
}

/// A kubeconfig whose one context, `prod`, is what the fake kubectl stands for.
const KUBECONFIG: &str = "apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: prod-cluster
  cluster:
    server: https://prod.k8s.example:6443
contexts:
- name: prod
  context:
    cluster: prod-cluster
    user: aurora
users:
- name: aurora
  user:
    token: worker-test-token
";

/// A private NATS, a fresh database, the gateway and projections processes (an organisation
/// registered through them), and the stores a test reads through. Handlers processes come and
/// go per test.
struct World {
    nats: NatsServer,
    db: String,
    incidents: AggregateStore<Incident>,
    investigations: AggregateStore<Investigation>,
    tenant: TenantId,
    port: u16,
    token: String,
    _platform: Vec<Killed>,
}

impl World {
    /// The platform with `work` as its data directory (the handlers processes share it: the
    /// secret store and its key live there).
    async fn new(work: &std::path::Path) -> Self {
        let nats = NatsServer::start_temporary().await.expect("nats-server");
        let db = fresh_database("aurora_rca_worker").await;
        let port = aurora_nats::server::free_port().expect("port");
        let platform = ["gateway", "projections"]
            .iter()
            .map(|role| {
                let mut command = Command::new(env!("CARGO_BIN_EXE_aurora"));
                command
                    .args(["serve", "--role", role])
                    .args(["--listen", &format!("127.0.0.1:{port}")])
                    .env("NATS_URL", nats.url())
                    .env("DATABASE_URL", &db)
                    .env("AURORA_DATA_DIR", work)
                    .env("RUST_LOG", "warn")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null());
                Killed(command.spawn().expect("aurora serve"))
            })
            .collect();
        // The projections process makes the new account usable.
        let registered = common::register_until_usable(port).await;
        let tenant = registered["organization"]["id"]
            .as_str()
            .expect("the organisation's id");
        let client = aurora_nats::connect(&nats.url()).await.expect("nats");
        let log = EventLog::new(client);
        Self {
            db,
            nats,
            incidents: AggregateStore::<Incident>::new(log.clone()),
            investigations: AggregateStore::<Investigation>::new(log),
            tenant: TenantId::parse(tenant).expect("tenant"),
            port,
            token: registered["token"].as_str().expect("token").to_owned(),
            _platform: platform,
        }
    }

    /// Connects the cluster the fake kubectl stands for (the agent is offered only the CLIs of
    /// connected accounts), and waits until the read model has it.
    async fn connect_kubernetes(&self) {
        let bearer = format!("authorization: Bearer {}", self.token);
        let body =
            json!({"settings": {"context": "prod"}, "credentials": {"kubeconfig": KUBECONFIG}})
                .to_string();
        let started = Instant::now();
        loop {
            let answer = curl(
                self.port,
                "/api/connectors/kubernetes",
                &[
                    "-H",
                    "content-type: application/json",
                    "-H",
                    &bearer,
                    "-d",
                    &body,
                ],
            )
            .await;
            match answer {
                Some((201, _)) => break,
                other => assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "the cluster never connected: {other:?}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        loop {
            let listed = curl(self.port, "/api/connectors", &["-H", &bearer]).await;
            let connected = listed.as_ref().is_some_and(|(status, body)| {
                *status == 200 && body.to_string().contains("kubernetes")
            });
            if connected {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the connector never reached the read model: {listed:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn handlers(&self, model: Option<&str>, work: &std::path::Path) -> Killed {
        handlers(&self.nats.url(), &self.db, model, work)
    }

    /// Opens an incident once the handlers process has provisioned the streams.
    async fn open(&self) -> IncidentId {
        let id = IncidentId::new();
        let open = IncidentCommand::Open(Opening {
            id,
            title: "Checkout pods crash-loop".into(),
            service: "checkout".into(),
            environment: "production".into(),
            severity: Severity::High,
            source: "grafana".into(),
            source_alert_id: "alert-1".into(),
            fingerprint: "fp-checkout".into(),
            alert_fired_at: Utc::now(),
            at: Utc::now(),
            why: None,
            integration_id: None,
        });
        let started = Instant::now();
        loop {
            match self
                .incidents
                .execute(&self.tenant, id.0, open.clone(), Context::new_root())
                .await
            {
                Ok(Ok(_)) => return id,
                other => assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "the incident never opened: {other:?}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn investigation(&self, incident: IncidentId) -> Option<InvestigationState> {
        self.investigations
            .load(&self.tenant, run_id(incident, 1))
            .await
            .ok()
            .flatten()
            .map(|s| s.into_inner())
    }

    /// Waits (at most `limit`) until the incident's investigation satisfies `done`.
    async fn until(
        &self,
        incident: IncidentId,
        limit: Duration,
        done: impl Fn(&InvestigationState) -> bool,
    ) -> InvestigationState {
        let started = Instant::now();
        loop {
            let state = self.investigation(incident).await;
            if let Some(state) = state.as_ref().filter(|s| done(s)) {
                return state.clone();
            }
            assert!(started.elapsed() < limit, "never got there: {state:#?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn incident(&self, id: IncidentId) -> aurora_domain::IncidentState {
        let started = Instant::now();
        loop {
            let incident = self
                .incidents
                .load(&self.tenant, id.0)
                .await
                .expect("the store")
                .expect("the incident")
                .into_inner();
            // The run's end reaches the incident a moment after the investigation's.
            if !incident.rca_under_way || started.elapsed() > Duration::from_secs(20) {
                return incident;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

const LONG: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_worker_is_killed_is_resumed_by_another_process_from_its_last_step() {
    let work = fake_kubectl();
    let world = World::new(work.path()).await;
    world.connect_kubernetes().await;
    let requests = Arc::new(Mutex::new(Vec::new()));
    let model = scripted_model(requests.clone()).await;
    let first = world.handlers(Some(&model), work.path());
    let id = world.open().await;
    // The second kubectl call hangs: the worker dies in the middle of it.
    world
        .until(id, Duration::from_secs(60), |s| {
            s.step("call-logs").is_some()
        })
        .await;
    let started = Instant::now();
    while !calls(work.path()).iter().any(|c| c.contains("logs")) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "kubectl logs never ran"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    drop(first); // SIGKILL: nothing of the run is recorded any more, its lease lapses.
    let _second = world.handlers(Some(&model), work.path());
    let state = world.until(id, LONG, |s| s.status.has_ended()).await;

    assert_eq!(state.status, InvestigationStatus::Completed, "{state:#?}");
    assert_eq!(state.conclusion, Some(Conclusion::Confirmed), "{state:#?}");
    assert_eq!(state.resumes, 1, "resumed once, by the second process");
    assert_ne!(state.worker, None);
    assert_eq!(state.resumed.len(), 1);
    assert_eq!(Some(&state.resumed[0].worker), state.worker.as_ref());
    let pods = state.step("call-pods").expect("the first step");
    assert_eq!(pods.status, Some(StepStatus::Succeeded));
    let logs = state.step("call-logs").expect("the interrupted step");
    assert_eq!(logs.status, Some(StepStatus::Failed));
    assert!(
        logs.output
            .as_deref()
            .unwrap_or_default()
            .starts_with("interrupted"),
        "{logs:#?}"
    );
    assert_eq!(state.tool_steps.len(), 2, "no step started twice");
    assert_eq!(state.findings.len(), 1);
    assert_eq!(state.findings[0].citations, vec!["call-pods".to_owned()]);
    // Each command ran once: the finished one was not asked again, the interrupted one not rerun.
    // (The service graph's discovery lists the connected cluster with kubectl too.)
    let investigated: Vec<String> = calls(work.path())
        .into_iter()
        .filter(|c| c.starts_with("kubectl -n shop"))
        .collect();
    assert_eq!(
        investigated,
        vec![
            "kubectl -n shop get pods -o json".to_owned(),
            "kubectl -n shop logs deploy/checkout".to_owned(),
        ]
    );
    // The resumed model call carried the run's history: both calls with their results.
    let requests = requests.lock().expect("the requests").clone();
    assert_eq!(requests.len(), 4, "two calls before the kill, two after");
    let resumed = requests[2]["messages"].to_string();
    assert!(resumed.contains("CrashLoopBackOff"), "{resumed}");
    assert!(resumed.contains("it was not run again"), "{resumed}");
    assert!(resumed.contains("was interrupted"), "{resumed}");

    let incident = world.incident(id).await;
    assert_eq!(incident.rca_status, RcaStatus::Complete);
    assert_eq!(incident.status, IncidentStatus::Analyzed);
    assert_eq!(
        incident.summary.as_deref(),
        Some("The checkout deploy crash-loops its pods.")
    );
    // The incident's page shows the resume, with the worker that took the run over.
    let bearer = format!("authorization: Bearer {}", world.token);
    let path = format!("/api/incidents/{}", id.0);
    let started = Instant::now();
    let rca = loop {
        let answer = curl(world.port, &path, &["-H", &bearer]).await;
        if let Some((200, body)) = &answer {
            if body["rca"]["status"] == "completed" {
                break body["rca"].clone();
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the detail never showed the completed run: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(rca["resume_count"], 1, "{rca}");
    assert_eq!(rca["resumes"][0]["attempt"], 1);
    assert_eq!(rca["resumes"][0]["worker"], json!(state.worker));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_cannot_be_resumed_is_failed_by_another_process_with_the_reason() {
    let work = tempfile::tempdir().expect("a data dir");
    let world = World::new(work.path()).await;
    let model = endless_model().await;
    let first = world.handlers(Some(&model), work.path());
    let id = world.open().await;
    world
        .until(id, Duration::from_secs(60), |s| {
            s.status == InvestigationStatus::Running && !s.thoughts.is_empty()
        })
        .await;

    drop(first); // SIGKILL: nothing of the run is recorded any more.
                 // The process that sweeps has no model to continue the run with.
    let _second = world.handlers(None, work.path());
    let state = world.until(id, LONG, |s| s.status.has_ended()).await;
    assert_eq!(state.status, InvestigationStatus::Failed, "{state:#?}");
    assert_eq!(state.resumes, 0);
    let reason = state.reason.unwrap_or_default();
    assert!(reason.contains("its worker stopped"), "{reason}");
    assert!(
        reason.contains("this process has none configured"),
        "{reason}"
    );
    let incident = world.incident(id).await;
    assert_eq!(incident.rca_status, RcaStatus::Error);
    assert!(!incident.rca_under_way);
}
