//! The query tools in a chat, end to end: a Datadog account connected through the API (its
//! credential checked with the fake provider), the scripted model calling `datadog_logs`, the
//! real client querying the fake, the parsed, capped result reaching the model, a provider's
//! error reaching it as a tool error, and the account's secrets never reaching an event, a read
//! model or the model.

use aurora_domain::connector::ConnectorKind;
use aurora_nats::{subjects, EventLog};
use aurora_tests::chat::{of_type, streamed_text, ChatSocket};
use aurora_tests::llm::{Script, Step};
use aurora_tests::providers::{fixtures, FakeProviders};
use aurora_tests::{Account, TestApp};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::chat::helpers::{chat_launched, query, session_of, settled, Chat};

pub(crate) const API_KEY: &str = "dd-api-key-0c1f9a77e2";
pub(crate) const APP_KEY: &str = "dd-app-key-5b8d0e4411";
pub(crate) const LOGS: &str = "/api/v2/logs/events/search";

/// A chat app whose Datadog is the fake.
pub(crate) struct Looking {
    pub(crate) chat: Chat,
    pub(crate) fake: FakeProviders,
}

pub(crate) async fn looking(scripts: Vec<Script>) -> Looking {
    let fake = FakeProviders::start().await;
    // Datadog's documented key check, which connecting asks first.
    fake.answer("GET", "/api/v1/validate", 200, json!({"valid": true}));
    let base_url = fake.base_url.clone();
    let chat = chat_launched(
        scripts,
        |_| {},
        |launch| launch.connector_base_url(ConnectorKind::Datadog, base_url),
    )
    .await;
    Looking { chat, fake }
}

impl Looking {
    /// Connects the admin's organisation's Datadog; its id.
    pub(crate) async fn connect_datadog(&self) -> String {
        self.connect_datadog_at(&self.chat.app.base_url, API_KEY)
            .await
    }

    /// Connects the admin's organisation's Datadog with `api_key` through the gateway at
    /// `gateway`; its id.
    pub(crate) async fn connect_datadog_at(&self, gateway: &str, api_key: &str) -> String {
        let answer = reqwest::Client::new()
            .post(format!("{gateway}/api/connectors/datadog"))
            .bearer_auth(&self.chat.admin.token)
            .json(&json!({"settings": {"site": "US1"}, "credentials": {"api_key": api_key, "application_key": APP_KEY}}))
            .send()
            .await
            .expect("an answer");
        assert_eq!(answer.status(), 201);
        let view: Value = answer.json().await.expect("JSON");
        view["id"].as_str().expect("an id").to_owned()
    }

    /// Disconnects `connector` through the gateway at `gateway`.
    pub(crate) async fn disconnect_at(&self, gateway: &str, connector: &str) {
        let answer = reqwest::Client::new()
            .delete(format!("{gateway}/api/connectors/{connector}"))
            .bearer_auth(&self.chat.admin.token)
            .send()
            .await
            .expect("an answer");
        assert_eq!(answer.status(), 204);
    }

    /// Asks `question` as `who` and returns the frames of the run.
    pub(crate) async fn ask(&self, who: &Account, question: &str) -> Vec<Value> {
        let mut socket = ChatSocket::open(&self.chat.app, who, None).await;
        socket.send(query(question, "ask")).await;
        socket.until_end().await
    }

    /// The names of the tools the model was offered in its `n`th call.
    pub(crate) fn offered(&self, n: usize) -> Vec<String> {
        self.chat.llm.requests()[n]["tools"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|t| t["function"]["name"].as_str().map(str::to_owned))
            .collect()
    }

    /// What the model was told of its tool call, in its `n`th call.
    pub(crate) fn told(&self, n: usize) -> String {
        self.chat.llm.requests()[n]["messages"]
            .as_array()
            .and_then(|m| m.iter().find(|m| m["role"] == "tool"))
            .and_then(|m| m["content"].as_str())
            .expect("a tool message")
            .to_owned()
    }
}

pub(crate) fn script(trigger: &str) -> Script {
    Script::new(
        trigger,
        vec![
            Step::tool(
                "call_1",
                "datadog_logs",
                json!({"query": "service:checkout status:error", "since_minutes": 30}),
            ),
            Step::text(&["Payments timed out."]),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_queries_the_connected_datadog_and_reads_the_parsed_logs() {
    let l = looking(vec![script("errors in checkout")]).await;
    l.fake.answer("POST", LOGS, 200, fixtures::datadog_logs(""));
    l.connect_datadog().await;
    let frames = l.ask(&l.chat.admin, "any errors in checkout?").await;

    let offered = l.offered(0);
    assert!(offered.contains(&"datadog_logs".to_owned()), "{offered:?}");
    assert!(offered.contains(&"datadog_metrics".to_owned()));
    assert!(
        !offered.contains(&"splunk_search".to_owned()),
        "{offered:?}"
    );
    assert!(!offered.contains(&"prometheus_query".to_owned()));

    let sent = &l.fake.requests_to(LOGS)[0];
    assert_eq!(sent.header("dd-api-key"), Some(API_KEY));
    assert_eq!(sent.header("dd-application-key"), Some(APP_KEY));
    assert_eq!(
        sent.json()["filter"]["query"],
        "service:checkout status:error"
    );

    let result = of_type(&frames, "tool_result")[0];
    assert_eq!(result["tool_name"], "datadog_logs");
    let output: Value =
        serde_json::from_str(result["output"].as_str().expect("an output")).expect("JSON");
    assert_eq!(output["events"][0]["service"], "checkout");
    assert!(output["range"]["from"].is_string());
    assert!(l.told(1).contains("POST /pay timed out"), "{}", l.told(1));
    assert_eq!(streamed_text(&frames), "Payments timed out.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_providers_refusal_reaches_the_model_as_a_tool_error() {
    let l = looking(vec![script("errors in checkout")]).await;
    l.fake
        .answer("POST", LOGS, 403, fixtures::datadog_error("Forbidden"));
    l.connect_datadog().await;
    let frames = l.ask(&l.chat.admin, "any errors in checkout?").await;

    let error = of_type(&frames, "tool_error")[0];
    assert_eq!(error["error"], "Datadog answered HTTP 403: Forbidden");
    assert_eq!(l.told(1), "error: Datadog answered HTTP 403: Forbidden");
    // The run went on to its answer.
    assert_eq!(streamed_text(&frames), "Payments timed out.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_planted_in_a_providers_answer_reaches_no_event_read_model_or_model() {
    let l = looking(vec![script("errors in checkout")]).await;
    let planted = format!("api_key={API_KEY} app={APP_KEY}");
    l.fake
        .answer("POST", LOGS, 200, fixtures::datadog_logs(&planted));
    l.connect_datadog().await;
    let frames = l.ask(&l.chat.admin, "any errors in checkout?").await;
    let session = session_of(&frames);
    settled(&l.chat.app, &l.chat.admin, session).await;

    let output = of_type(&frames, "tool_result")[0]["output"]
        .as_str()
        .expect("an output")
        .to_owned();
    assert!(output.contains("POST /pay timed out"), "{output}");
    assert!(output.contains("[REDACTED"), "{output}");
    let log = EventLog::new(l.chat.app.nats.client.clone());
    let events = log
        .read_subject(
            &subjects::aggregate(&l.chat.admin.tenant, "session", session),
            1,
        )
        .await
        .expect("the log answers");
    assert!(!events.is_empty());
    let llm = serde_json::to_string(&l.chat.llm.requests()).expect("JSON");
    for secret in [API_KEY, APP_KEY] {
        for event in &events {
            assert!(!event.data.to_string().contains(secret), "{}", event.data);
        }
        assert!(!serde_json::to_string(&frames)
            .expect("JSON")
            .contains(secret));
        assert!(!llm.contains(secret), "the model saw {secret}");
        assert_eq!(
            tables_holding(&l.chat.app, secret).await,
            Vec::<String>::new()
        );
    }
}

/// The tables of the read models where any row's text holds `text`.
async fn tables_holding(app: &TestApp, text: &str) -> Vec<String> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .fetch_all(&app.db.pool)
    .await
    .expect("the tables");
    let mut holding = Vec::new();
    for table in tables {
        let found: bool = sqlx::query_scalar(&format!(
            "SELECT EXISTS (SELECT 1 FROM \"{table}\" t WHERE t::text LIKE '%' || $1 || '%')"
        ))
        .bind(text)
        .fetch_one(&app.db.pool)
        .await
        .expect("a scan");
        if found {
            holding.push(table);
        }
    }
    holding
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_organisation_and_a_disconnected_account_get_no_query_tools() {
    let l = looking(vec![script("errors in checkout")]).await;
    l.fake.answer("POST", LOGS, 200, fixtures::datadog_logs(""));
    let connector = l.connect_datadog().await;

    // Another organisation has no Datadog: not offered, and a call anyway is refused.
    let other = l
        .chat
        .app
        .register(
            &format!("bo-{}@globex.io", Uuid::new_v4().simple()),
            "Globex",
        )
        .await;
    let frames = l.ask(&other, "any errors in checkout?").await;
    assert!(!l.offered(0).iter().any(|t| t.starts_with("datadog")));
    assert_eq!(
        of_type(&frames, "tool_error")[0]["error"],
        "Datadog is not connected for this organisation"
    );
    assert!(
        l.fake.requests_to(LOGS).is_empty(),
        "Acme's account was used"
    );

    // Disconnected: refused at once.
    l.disconnect_at(&l.chat.app.base_url, &connector).await;
    let frames = l.ask(&l.chat.admin, "any errors in checkout?").await;
    let last = l.chat.llm.requests().len() - 2;
    assert!(!l.offered(last).iter().any(|t| t.starts_with("datadog")));
    assert_eq!(
        of_type(&frames, "tool_error")[0]["error"],
        "Datadog is not connected for this organisation"
    );
    assert!(l.fake.requests_to(LOGS).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_preference_narrows_the_query_tools_too() {
    let l = looking(vec![script("errors in checkout")]).await;
    l.fake.answer("POST", LOGS, 200, fixtures::datadog_logs(""));
    l.connect_datadog().await;
    // Preferring Google Cloud: its CLI is offered, Datadog's tools are not — and the model
    // calling one anyway is refused, Datadog never asked.
    let frames = ask_preferring(&l, json!(["gcp"])).await;
    let offered = l.offered(0);
    assert!(offered.contains(&"cloud_exec".to_owned()), "{offered:?}");
    assert!(
        !offered.iter().any(|t| t.starts_with("datadog")),
        "{offered:?}"
    );
    let refused =
        "datadog_logs for Datadog was not offered to this run: the question asked for gcp";
    assert_eq!(of_type(&frames, "tool_error")[0]["error"], refused);
    assert_eq!(l.told(1), format!("error: {refused}"));
    assert!(of_type(&frames, "tool_result").is_empty());
    assert!(l.fake.requests_to(LOGS).is_empty(), "Datadog was asked");

    // Preferring Datadog: its tools are offered.
    let next = l.chat.llm.requests().len();
    ask_preferring(&l, json!(["datadog"])).await;
    let offered = l.offered(next);
    assert!(offered.contains(&"datadog_logs".to_owned()), "{offered:?}");
    assert!(offered.contains(&"datadog_metrics".to_owned()));
    assert_eq!(l.fake.requests_to(LOGS).len(), 1, "offered, it ran");
}

/// Asks as the admin with `preference` as the query's `provider_preference`.
pub(crate) async fn ask_preferring(l: &Looking, preference: Value) -> Vec<Value> {
    let mut asked = query("any errors in checkout?", "ask");
    asked["provider_preference"] = preference;
    let mut socket = ChatSocket::open(&l.chat.app, &l.chat.admin, None).await;
    socket.send(asked).await;
    socket.until_end().await
}
