//! The chat harness: an app with a scripted model and fake CLIs, queries, and the session's events.

use aurora_domain::ChatEvent;
use aurora_handlers::agent::{AgentConfig, LlmConfig, PriceTable};
use aurora_nats::{subjects, EventLog};
use aurora_projections::Projector;
use aurora_tests::chat::{ChatSocket, FakeClis};
use aurora_tests::llm::{Script, ScriptedLlm, Step};
use aurora_tests::providers::{connect_clouds, FakeProviders};
use aurora_tests::{wait_for_projection, Account, Launch, TestApp};
use serde_json::{json, Value};
use uuid::Uuid;

pub(crate) const MODEL: &str = "scripted-model";

pub(crate) const INSTANCES: &str = r#"[{"name":"checkout-1","status":"RUNNING","zone":"europe-west1-b"},{"name":"checkout-2","status":"RUNNING","zone":"europe-west1-c"}]"#;

pub(crate) const PODS: &str =
    r#"{"items":[{"metadata":{"name":"checkout-7"},"status":{"phase":"CrashLoopBackOff"}}]}"#;

pub(crate) struct Chat {
    pub(crate) app: TestApp,
    pub(crate) llm: ScriptedLlm,
    pub(crate) clis: FakeClis,
    pub(crate) admin: Account,
    /// The providers the organisation's accounts are connected at.
    pub(crate) providers: FakeProviders,
    _work: tempfile::TempDir,
}

pub(crate) fn agent_config(
    llm: Option<&ScriptedLlm>,
    clis: &FakeClis,
    work: &std::path::Path,
) -> AgentConfig {
    let mut config = AgentConfig::without_model(work.to_path_buf()).with_tool_path(clis.path());
    config.prices = PriceTable::default()
        .with(&format!("{MODEL}=2/8"))
        .expect("a valid price");
    match llm {
        Some(llm) => config.with_llm(LlmConfig {
            base_url: llm.base_url(),
            api_key: "test-key".into(),
            model: MODEL.into(),
        }),
        None => config,
    }
}

pub(crate) async fn chat(scripts: Vec<Script>) -> Chat {
    chat_with(scripts, |_| {}).await
}

pub(crate) fn query(text: &str, mode: &str) -> Value {
    json!({"type": "query", "query": text, "mode": mode})
}

pub(crate) fn session_of(frames: &[Value]) -> Uuid {
    let id = frames
        .iter()
        .find_map(|f| f["session_id"].as_str())
        .expect("a frame naming the session");
    Uuid::parse_str(id).expect("a session UUID")
}

/// Waits until the sessions read model holds every event of the session.
pub(crate) async fn settled(app: &TestApp, account: &Account, session: Uuid) {
    let subject = subjects::aggregate(&account.tenant, "session", session);
    let (last, _) = EventLog::new(app.nats.client.clone())
        .last_of(&subject)
        .await
        .expect("the log answers")
        .expect("the session has events");
    wait_for_projection(&app.db.pool, Projector::Sessions, last).await;
}

pub(crate) async fn session_events(
    app: &TestApp,
    account: &Account,
    session: Uuid,
) -> Vec<ChatEvent> {
    let subject = subjects::aggregate(&account.tenant, "session", session);
    EventLog::new(app.nats.client.clone())
        .read_subject(&subject, 1)
        .await
        .expect("the log answers")
        .into_iter()
        .map(|raw| serde_json::from_value(raw.data).expect("a chat event"))
        .collect()
}

/// Agent mode: the destructive command waits for the user; returns the socket's frames up to the
/// confirmation.
pub(crate) async fn ask_to_delete(socket: &mut ChatSocket) -> Vec<Value> {
    socket.send(query("delete the crashing pod", "agent")).await;
    socket
        .until(|f| f["type"] == "execution_confirmation")
        .await
}

pub(crate) fn delete_script() -> Script {
    Script::new(
        "delete the crashing pod",
        vec![
            Step::tool(
                "call_1",
                "kubectl",
                json!({"command": "kubectl -n shop delete pod checkout-7"}),
            ),
            Step::text(&["Done."]),
        ],
    )
}

pub(crate) async fn chat_with(scripts: Vec<Script>, tune: impl FnOnce(&mut AgentConfig)) -> Chat {
    chat_launched(scripts, tune, |launch| launch).await
}

/// A chat app launched as `launch` makes it (e.g. with connectors reaching fake providers).
pub(crate) async fn chat_launched(
    scripts: Vec<Script>,
    tune: impl FnOnce(&mut AgentConfig),
    launch: impl FnOnce(Launch) -> Launch,
) -> Chat {
    let llm = ScriptedLlm::start(scripts).await;
    let clis = FakeClis::install(&[("gcloud", INSTANCES), ("kubectl", PODS), ("aws", "{}")]);
    let work = tempfile::tempdir().expect("a work dir");
    let mut config = agent_config(Some(&llm), &clis, work.path());
    tune(&mut config);
    let providers = FakeProviders::start().await;
    let app = launch(
        TestApp::launch()
            .agent(config)
            .connectors(providers.config()),
    )
    .spawn()
    .await;
    let admin = app
        .register(&format!("ana-{}@acme.io", Uuid::new_v4().simple()), "Acme")
        .await;
    connect_clouds(&app, &admin, &providers).await;
    Chat {
        app,
        llm,
        clis,
        admin,
        providers,
        _work: work,
    }
}
