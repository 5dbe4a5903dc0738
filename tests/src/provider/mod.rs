//! A fake third-party HTTP API (Datadog, New Relic, Splunk, Sentry, Grafana, Elasticsearch,
//! Tailscale, OVHcloud, …): a real HTTP server on a free port that answers each
//! `(method, path)` with the fixture it was given — the provider's documented answer or error
//! shape — and records every request (method, path, query, headers, body), so tests check the
//! authentication, the query and the time range our real client sent. A request without a
//! fixture is answered 404 with a body naming it.

pub mod fixtures;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// The query string's pairs, decoded.
    pub query: BTreeMap<String, String>,
    /// Header names in lower case.
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    /// The body as JSON (panics when it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a JSON request body")
    }

    /// The body as an HTML form's pairs.
    pub fn form(&self) -> BTreeMap<String, String> {
        pairs(&self.body)
    }
}

#[derive(Default)]
struct Shared {
    /// `(method, path)` → `(status, content type, body)`.
    fixtures: BTreeMap<(String, String), (u16, &'static str, String)>,
    requests: Vec<Recorded>,
}

/// The running fake; it stops when dropped.
pub struct FakeProvider {
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeProvider {
    pub async fn start() -> Self {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let app = Router::new().fallback(answer).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake provider");
        let addr = listener.local_addr().expect("its address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, shared, task }
    }

    /// `http://127.0.0.1:<port>`: what a test sets as the provider's base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers `method path` with `status` and the JSON `body` (replacing an earlier fixture).
    pub fn answer(&self, method: &str, path: &str, status: u16, body: impl ToString) -> &Self {
        self.fixture(method, path, status, "application/json", body.to_string())
    }

    /// The same with another content type (Splunk's export stream, HTML error pages).
    pub fn answer_as(
        &self,
        method: &str,
        path: &str,
        status: u16,
        content_type: &'static str,
        body: impl ToString,
    ) -> &Self {
        self.fixture(method, path, status, content_type, body.to_string())
    }

    fn fixture(
        &self,
        method: &str,
        path: &str,
        status: u16,
        content_type: &'static str,
        body: String,
    ) -> &Self {
        if let Ok(mut shared) = self.shared.lock() {
            shared.fixtures.insert(
                (method.to_ascii_uppercase(), path.to_owned()),
                (status, content_type, body),
            );
        }
        self
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared
            .lock()
            .map(|s| s.requests.clone())
            .unwrap_or_default()
    }

    /// The requests to `path`.
    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    State(shared): State<Arc<Mutex<Shared>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let recorded = Recorded {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: pairs(uri.query().unwrap_or_default()),
        headers: headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    value.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let Ok(mut shared) = shared.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let key = (recorded.method.clone(), recorded.path.clone());
    let found = shared.fixtures.get(&key).cloned();
    shared.requests.push(recorded);
    match found {
        Some((status, content_type, body)) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            [("content-type", content_type)],
            body,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [("content-type", "application/json")],
            format!(
                r#"{{"message":"the fake has no fixture for {} {}"}}"#,
                key.0, key.1
            ),
        )
            .into_response(),
    }
}

/// `a=1&b=x%20y` (or `+` for spaces) as pairs.
fn pairs(text: &str) -> BTreeMap<String, String> {
    form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect()
}
