//! What the tests of `aurora` processes share: a child process killed when dropped, a fresh
//! database, and `curl` against a gateway process.

// Each test binary includes this module and uses what it needs of it.
#![allow(dead_code)]

use std::process::Child;

use sqlx::Connection;

/// A child process, killed (SIGKILL) and reaped when dropped.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn server() -> String {
    std::env::var("AURORA_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

async fn admin() -> sqlx::PgConnection {
    sqlx::PgConnection::connect(&format!("{}/postgres", server()))
        .await
        .expect("postgres")
}

/// A new, empty database named `<prefix>_<uuid>` on the test PostgreSQL; its URL.
pub async fn fresh_database(prefix: &str) -> String {
    let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin().await)
        .await
        .expect("create db");
    format!("{}/{name}", server())
}

/// Drops the database of `url` (made by [`fresh_database`]), whoever is still connected.
pub async fn drop_database(url: &str) {
    let name = url.rsplit('/').next().unwrap_or_default();
    let _ = sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut admin().await)
        .await;
}

/// `curl` with `args` against the gateway on `port`: status and body.
pub async fn curl(port: u16, path: &str, args: &[&str]) -> Option<(u16, String)> {
    let out = tokio::process::Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}"])
        .args(args)
        .arg(format!("http://127.0.0.1:{port}{path}"))
        .output()
        .await
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n')?;
    Some((code.parse().ok()?, body.to_owned()))
}

/// Registers ops@acme.io ("Acme") through the gateway on `port`, retrying until a projections
/// process has made registration possible (at most 60 s); the answer's JSON body.
pub async fn register_until_usable(port: u16) -> serde_json::Value {
    let register = r#"{"email":"ops@acme.io","password":"correct horse","organization":"Acme"}"#;
    let started = std::time::Instant::now();
    loop {
        let answer = curl(
            port,
            "/api/auth/register",
            &["-H", "content-type: application/json", "-d", register],
        )
        .await;
        if let Some((201, body)) = &answer {
            return serde_json::from_str(body).expect("registration answers JSON");
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "registration never succeeded: {answer:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// A Grafana integration made through the gateway on `port` by the caller of `bearer` (an
/// `authorization: Bearer …` header), retrying until a projections process has made the account
/// usable (at most 60 s): its webhook path and its `authorization` header.
pub async fn grafana_integration(port: u16, bearer: &str) -> (String, String) {
    let started = std::time::Instant::now();
    let created = loop {
        let answer = curl(
            port,
            "/api/integrations",
            &[
                "-H",
                bearer,
                "-H",
                "content-type: application/json",
                "-d",
                r#"{"source":"grafana","name":"Prod Grafana"}"#,
            ],
        )
        .await;
        if let Some((201, body)) = answer {
            break body;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "integration never created: {answer:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let created: serde_json::Value = serde_json::from_str(&created).expect("json");
    let webhook = created["webhook_url"].as_str().expect("webhook_url");
    let path = webhook
        .split_once("/webhooks/")
        .map(|(_, rest)| format!("/webhooks/{rest}"))
        .expect("a /webhooks/ URL");
    let secret = format!(
        "authorization: Bearer {}",
        created["secret"].as_str().expect("secret")
    );
    (path, secret)
}

/// A Grafana delivery with one firing alert titled `title`.
pub fn firing(title: &str) -> String {
    serde_json::json!({
        "receiver": "aurora", "status": "firing", "version": "1",
        "alerts": [{
            "status": "firing", "fingerprint": "fp-db",
            "labels": { "alertname": title, "service": "db", "severity": "critical" },
            "annotations": { "summary": title },
            "startsAt": chrono::Utc::now(), "endsAt": "0001-01-01T00:00:00Z",
        }],
    })
    .to_string()
}

/// The first incident whose title is `title`, once the gateway on `port` serves it to `bearer`
/// (at most 60 s): its id and its page's JSON text.
pub async fn incident_served(port: u16, bearer: &str, title: &str) -> (String, String) {
    let started = std::time::Instant::now();
    loop {
        let answer = curl(port, "/api/incidents", &["-H", bearer]).await;
        if let Some((200, text)) = &answer {
            if text.contains(title) {
                let list: serde_json::Value = serde_json::from_str(text).expect("json");
                let id = list["items"][0]["id"].as_str().expect("incident id");
                let one = curl(port, &format!("/api/incidents/{id}"), &["-H", bearer]).await;
                if let Some((200, text)) = one {
                    return (id.to_owned(), text);
                }
            }
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "incident never served: {answer:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Serves `router` (an OpenAI-compatible `/v1/chat/completions`) on a free port; its base URL.
pub async fn model(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}/v1")
}

/// One streamed chat completion chunk carrying `delta`.
pub fn chunk(delta: serde_json::Value, finish: Option<&str>) -> axum::response::sse::Event {
    let chunk = serde_json::json!({
        "id": "chatcmpl-test", "object": "chat.completion.chunk",
        "created": 1_700_000_000, "model": "test-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    });
    axum::response::sse::Event::default().data(chunk.to_string())
}
