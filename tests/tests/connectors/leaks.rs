//! The secret-leak test (issue 16): every kind connected with distinctive secrets, every
//! connected secret planted in the fake CLIs' output (one of them failing) and in the fake
//! providers' answers (Sentry's and Prometheus's errors), a chat whose scripted model calls every
//! CLI (`aws`, `gcloud`, `kubectl`, `az` after its login, `scw`) and query tool (Prometheus and
//! Loki through Grafana among them) — and no secret in any message of any stream, any row of any
//! table, the app's logs, or any HTTP answer the test received.

use aurora_tests::chat::ChatSocket;
use aurora_tests::llm::{Script, Step};
use aurora_tests::logs::LogCapture;
use aurora_tests::providers::{fixtures, FakeProviders};
use aurora_tests::providers::{GCP_KEY_PEM, KUBE_TOKEN};
use aurora_tests::TestApp;
use futures::TryStreamExt;
use serde_json::{json, Value};

use super::cli::output;
use crate::chat::helpers::{chat_with, query, session_of, settled};

const DD_API: &str = "leakdd-api-51c7e0a9";
const DD_APP: &str = "leakdd-app-8e2b44f1";
const SPLUNK: &str = "leaksplunk-tok-93ad17";
const SENTRY: &str = "leaksentry-tok-1f0c62";
const ES: &str = "leakes-key-77b2e4";
const GRAFANA: &str = "leakgrafana-tok-4d9e03";
const NEWRELIC: &str = "leaknr-key-6a1b58";
const TAILSCALE: &str = "leakts-key-0c3d91";
const SCALEWAY: &str = "leakscw-secret-2e7f40";
const AZURE: &str = "leakazure-secret-5b8a26";
const OVH: &str = "leakovh-secret-9d4c73";
/// The GCP key's id (the test key file's).
const GCP_KEY_ID: &str = "0123456789abcdef0123456789abcdef01234567";

/// Every secret the organisation connects (the GCP key's private key apart: see [`pem_lines`]).
fn secrets() -> Vec<&'static str> {
    vec![
        DD_API, DD_APP, SPLUNK, SENTRY, ES, GRAFANA, NEWRELIC, TAILSCALE, SCALEWAY, AZURE, OVH,
        KUBE_TOKEN, GCP_KEY_ID,
    ]
}

/// The base64 lines of the GCP private key: any of them found is a leak (a JSON text holds
/// the PEM with its line breaks escaped).
fn pem_lines() -> Vec<&'static str> {
    GCP_KEY_PEM
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 20)
        .collect()
}

/// What every fake CLI and provider repeats: every secret, and the private key.
fn planted() -> String {
    format!("{}\n{GCP_KEY_PEM}", secrets().join("\n"))
}

/// The query tools' answers, scripted on the fake (connecting is checked by its built-in
/// routes): each repeats the secrets, Sentry's as an error.
fn scripted(fake: &FakeProviders) {
    let plant = planted();
    fake.answer(
        "POST",
        "/api/v2/logs/events/search",
        200,
        fixtures::datadog_logs(&plant),
    )
    .answer_as(
        "POST",
        "/services/search/jobs/export",
        200,
        "application/json",
        fixtures::splunk_export(&plant),
    )
    .answer(
        "GET",
        "/api/0/organizations/acme/issues/",
        403,
        fixtures::sentry_error(&plant),
    )
    .answer(
        "POST",
        "/logs-*/_search",
        200,
        fixtures::elasticsearch_hits(&plant),
    )
    .answer(
        "GET",
        "/api/datasources",
        200,
        fixtures::grafana_datasources(),
    )
    .answer("GET", PROMETHEUS, 400, fixtures::prometheus_error(&plant))
    .answer("GET", LOKI, 200, fixtures::loki_streams(&plant));
}

/// Grafana's datasource proxy to its Prometheus and its Loki.
const PROMETHEUS: &str = "/api/datasources/proxy/uid/prom-main/api/v1/query_range";
const LOKI: &str = "/api/datasources/proxy/uid/loki-main/loki/api/v1/query_range";

/// Connect bodies of the kinds not connected by the chat harness (GCP, AWS, Kubernetes are).
fn bodies() -> Vec<(&'static str, Value)> {
    vec![
        (
            "datadog",
            json!({"settings": {"site": "US1"}, "credentials": {"api_key": DD_API, "application_key": DD_APP}}),
        ),
        (
            "splunk",
            json!({"settings": {"url": "https://splunk.acme.io:8089"}, "credentials": {"token": SPLUNK}}),
        ),
        (
            "sentry",
            json!({"settings": {"organization": "acme"}, "credentials": {"token": SENTRY}}),
        ),
        (
            "elasticsearch",
            json!({"settings": {"url": "https://es.acme.io:9200"}, "credentials": {"api_key": ES}}),
        ),
        (
            "grafana",
            json!({"settings": {"url": "https://grafana.acme.io"}, "credentials": {"token": GRAFANA}}),
        ),
        (
            "newrelic",
            json!({"settings": {"account_id": 4242, "region": "US"}, "credentials": {"api_key": NEWRELIC}}),
        ),
        (
            "tailscale",
            json!({"settings": {"tailnet": "acme.com"}, "credentials": {"api_key": TAILSCALE}}),
        ),
        (
            "scaleway",
            json!({"settings": {"access_key": "SCWABCDEFGHIJKLMNOPQ", "project_id": "11111111-2222-3333-4444-555555555555", "region": "fr-par"}, "credentials": {"secret_key": SCALEWAY}}),
        ),
        (
            "azure",
            json!({"settings": {"tenant_id": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "client_id": "11111111-2222-3333-4444-555555555555"}, "credentials": {"client_secret": AZURE}}),
        ),
        (
            "ovh",
            json!({"settings": {"region": "eu"}, "credentials": {"client_id": "ovh-client-1", "client_secret": OVH}}),
        ),
    ]
}

fn script() -> Script {
    let calls = [
        (
            "cloud_exec",
            json!({"provider": "aws", "command": "aws ec2 describe-instances"}),
        ),
        (
            "cloud_exec",
            json!({"provider": "gcloud", "command": "gcloud compute instances list"}),
        ),
        ("kubectl", json!({"command": "kubectl get pods"})),
        (
            "cloud_exec",
            json!({"provider": "az", "command": "az vm list -o json"}),
        ),
        (
            "cloud_exec",
            json!({"provider": "scw", "command": "scw instance server list"}),
        ),
        (
            "datadog_logs",
            json!({"query": "service:checkout", "since_minutes": 30}),
        ),
        (
            "splunk_search",
            json!({"search": "index=web", "since_minutes": 30}),
        ),
        (
            "sentry_issues",
            json!({"query": "is:unresolved", "since_minutes": 30}),
        ),
        (
            "elasticsearch_search",
            json!({"index": "logs-*", "query": "level:error", "since_minutes": 30}),
        ),
        (
            "newrelic_nrql",
            json!({"nrql": "SELECT count(*) FROM Transaction", "since_minutes": 30}),
        ),
        ("tailscale_devices", json!({})),
        ("ovh_api_get", json!({"path": "/me"})),
        (
            "prometheus_query",
            json!({"query": "sum(rate(http_requests_total[5m]))", "since_minutes": 30}),
        ),
        (
            "loki_query",
            json!({"query": "{app=\"checkout\"}", "since_minutes": 30}),
        ),
    ];
    let mut steps: Vec<Step> = calls
        .into_iter()
        .enumerate()
        .map(|(n, (tool, args))| Step::tool(&format!("call_{n}"), tool, args))
        .collect();
    steps.push(Step::text(&["Looked everywhere."]));
    Script::new("look everywhere", steps)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_connected_secret_reaches_an_event_a_table_a_log_or_an_answer() {
    let logs = LogCapture::start();
    // One model call per tool call, and the answer: more than the default ten steps.
    let c = chat_with(vec![script()], |agent| agent.max_steps = 16).await;
    // Every built-in answer quotes the secrets from now on (GCP, AWS and Kubernetes were
    // connected by the harness before), and so do the scripted ones.
    c.providers.plant(&planted());
    scripted(&c.providers);
    let shell_plant = format!("cat <<'PLANTED'\n{}\nPLANTED", planted());
    c.clis.script("aws", &shell_plant);
    c.clis.script("gcloud", &shell_plant);
    c.clis.script("scw", &shell_plant);
    // az must log in with the connected secret (read from its file) before it answers.
    c.clis.az(AZURE, &shell_plant);
    // kubectl fails, its output in the error.
    c.clis.script("kubectl", &format!("{shell_plant}\nexit 1"));

    let mut answers: Vec<String> = Vec::new();
    for (kind, body) in bodies() {
        let answer = c
            .app
            .post_json(&format!("/api/connectors/{kind}"), Some(&c.admin), &body)
            .await;
        assert_eq!(answer.status, 201, "{kind}: {}", answer.body);
        answers.push(answer.body.to_string());
    }
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket.send(query("look everywhere", "ask")).await;
    let frames = socket.until_end().await;
    let session = session_of(&frames);
    settled(&c.app, &c.admin, session).await;
    let frames_text = serde_json::to_string(&frames).expect("JSON");
    answers.push(frames_text.clone());

    // The run really met the planted secrets: each CLI and query tool was called.
    let calls = c.clis.calls();
    let called: Vec<&str> = calls
        .iter()
        .map(|call| call.split(' ').take(2).collect::<Vec<_>>().join(" "))
        .map(|call| match call.as_str() {
            "aws ec2" => "aws",
            "gcloud compute" => "gcloud",
            "kubectl get" => "kubectl",
            "az login" => "az login",
            "az vm" => "az",
            "scw instance" => "scw",
            _ => "something else",
        })
        .collect();
    assert_eq!(
        called,
        ["aws", "gcloud", "kubectl", "az login", "az", "scw"],
        "{calls:?}"
    );
    for path in [
        "/api/v2/logs/events/search",
        "/services/search/jobs/export",
        "/api/0/organizations/acme/issues/",
        "/logs-*/_search",
        PROMETHEUS,
        LOKI,
    ] {
        assert_eq!(c.providers.requests_to(path).len(), 1, "{path} was queried");
    }
    let results = frames
        .iter()
        .filter(|f| f["type"] == "tool_result" || f["type"] == "tool_error")
        .count();
    assert_eq!(results, 14, "{frames:?}");
    // az, scw, Prometheus (an error) and Loki each met the planted secrets and redacted them.
    for (n, what) in [
        (3, "az"),
        (4, "scw"),
        (12, "prometheus_query"),
        (13, "loki_query"),
    ] {
        let said = output(&frames, &format!("call_{n}"));
        assert!(said.contains("[REDACTED"), "{what}: {said}");
    }

    let list = c.app.get_json("/api/connectors", Some(&c.admin)).await;
    answers.push(list.body.to_string());
    for item in list.body["items"].as_array().expect("items") {
        let id = item["id"].as_str().expect("an id");
        let one = c
            .app
            .get_json(&format!("/api/connectors/{id}"), Some(&c.admin))
            .await;
        answers.push(one.body.to_string());
    }

    // The AWS CLI saw a temporary session: its secrets are connected secrets too.
    let mut never: Vec<String> = secrets().into_iter().map(str::to_owned).collect();
    never.extend(pem_lines().into_iter().map(str::to_owned));
    for (_, secret, token) in c.providers.sts_sessions() {
        never.extend([secret, token]);
    }
    let places = [
        ("the streams", streams_text(&c.app).await),
        ("the tables", tables_text(&c.app).await),
        ("the HTTP answers", answers.join("\n")),
        (
            "the model's requests",
            serde_json::to_string(&c.llm.requests()).expect("JSON"),
        ),
        ("the logs", logs.text()),
    ];
    let mut leaks = Vec::new();
    for (place, text) in &places {
        assert!(!text.is_empty(), "{place} were read");
        for secret in &never {
            if let Some(at) = text.find(secret.as_str()) {
                let around = &text[text.floor_char_boundary(at.saturating_sub(200))..at];
                leaks.push(format!("{secret} in {place}, after …{around}"));
            }
        }
    }
    assert!(leaks.is_empty(), "{}", leaks.join("\n\n"));
    // The planted secrets were met and redacted, not absent.
    assert!(frames_text.contains("[REDACTED"), "{frames_text}");
    c.app.stop().await;
}

/// Every message of every JetStream stream (events, commands, key-value buckets…), headers and
/// payload, as text.
pub(crate) async fn streams_text(app: &TestApp) -> String {
    let js = app.nats.jetstream();
    let names: Vec<String> = js
        .stream_names()
        .try_collect()
        .await
        .expect("the stream names");
    let mut text = String::new();
    for name in names {
        let mut stream = js.get_stream(&name).await.expect("the stream");
        let state = stream.info().await.expect("its state").state.clone();
        for seq in state.first_sequence..=state.last_sequence {
            // A deleted or purged message is no longer anywhere.
            if let Ok(message) = stream.get_raw_message(seq).await {
                text.push_str(&format!("{:?}\n", message.headers));
                text.push_str(&String::from_utf8_lossy(&message.payload));
                text.push('\n');
            }
        }
    }
    text
}

/// Every row of every table of every schema, as text.
pub(crate) async fn tables_text(app: &TestApp) -> String {
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_schema::text, table_name::text FROM information_schema.tables
         WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')",
    )
    .fetch_all(&app.db.pool)
    .await
    .expect("the tables");
    let mut text = String::new();
    for (schema, table) in tables {
        let rows: Vec<String> =
            sqlx::query_scalar(&format!("SELECT t::text FROM \"{schema}\".\"{table}\" t"))
                .fetch_all(&app.db.pool)
                .await
                .expect("the rows");
        for row in rows {
            text.push_str(&row);
            text.push('\n');
        }
    }
    text
}
