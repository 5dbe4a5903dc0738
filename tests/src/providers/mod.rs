//! Fake providers: one real HTTP server per test answering, in each provider's documented
//! shapes (and error shapes), what Aurora asks of clouds and observability tools. Two ways:
//!
//! - built-in routes ([`routes`]) for what connecting checks — Datadog, New Relic, Splunk,
//!   Sentry, Grafana, Elasticsearch, Tailscale, Scaleway, Azure's token endpoint, Google's token
//!   endpoint (its JWT-bearer, authorization-code with PKCE and refresh grants: [`google_oauth`])
//!   and Resource Manager, AWS STS AssumeRole (XML), OVHcloud — and a credential
//!   containing `bad` is refused the way the provider refuses it, quoting the credential back
//!   (as careless APIs do), so tests can prove Aurora never repeats it;
//! - scripted answers ([`FakeProviders::answer`], with the [`fixtures`] of the query tools'
//!   documented answers), which come before the built-in routes; a request neither scripted nor
//!   built in is answered 404 with a body naming it.
//!
//! Every base URL of a [`ConnectorConfig`] can point at it ([`FakeProviders::config`]), so
//! Aurora's real clients run against it. [`FakeProviders::plant`] adds a text to every built-in
//! answer (the secret-leak test plants secrets there). Every request is recorded (method, path,
//! query, headers, body), so tests check the authentication, the query and the range sent.

pub mod fixtures;
mod google_oauth;
mod routes;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use aurora_domain::connector::ConnectorKind;
use aurora_handlers::connectors::{AwsIdentity, ConnectorConfig, GcpOauthClient};
use serde_json::{json, Value};

pub use google_oauth::{GCP_OAUTH_CLIENT_ID, GCP_OAUTH_CLIENT_SECRET};

/// A service-account key whose public half the fake token endpoint knows.
pub const GCP_KEY_PEM: &str = include_str!("gcp_test_key.pem");
/// A well-formed key the fake token endpoint does not know (Google answers invalid_grant).
pub const GCP_UNKNOWN_KEY_PEM: &str = include_str!("gcp_other_key.pem");

/// Aurora's own AWS identity in tests: the fake STS accepts only this access key.
pub const AURORA_AWS_KEY_ID: &str = "AKIAAURORAOWNKEY0001";
pub const AURORA_AWS_SECRET: &str = "aurora-own-aws-secret-never-in-a-cli";

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
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON request body")
    }

    /// The body as an HTML form's pairs.
    pub fn form(&self) -> BTreeMap<String, String> {
        pairs(&self.body)
    }
}

/// `a=1&b=x%20y` (or `+` for spaces) as pairs.
fn pairs(text: &str) -> BTreeMap<String, String> {
    form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect()
}

#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) requests: Vec<Recorded>,
    /// Scripted answers: `(method, path)` → `(status, content type, body)`.
    pub(crate) fixtures: BTreeMap<(String, String), (u16, &'static str, String)>,
    /// Added to every answer's JSON (`"note"`) or XML, when set.
    pub(crate) planted: Option<String>,
    /// Access tokens the fake Google issued.
    pub(crate) gcp_tokens: Vec<String>,
    /// Sessions the fake STS issued: (access key id, secret, token).
    pub(crate) sts_sessions: Vec<(String, String, String)>,
    /// How long the sessions STS issues last (STS's default, an hour, when unset).
    pub(crate) sts_lifetime: Option<chrono::TimeDelta>,
    /// Authorization codes the consent screen gave out, by code.
    pub(crate) google_codes: BTreeMap<String, google_oauth::Grant>,
    /// Refresh tokens the fake Google issued.
    pub(crate) google_refresh_tokens: Vec<String>,
    /// GCP projects Resource Manager lists.
    pub(crate) gcp_projects: Vec<String>,
    /// The external id each role ARN demands.
    pub(crate) external_ids: Vec<(String, String)>,
}

#[derive(Clone)]
pub struct FakeProviders {
    pub base_url: String,
    pub(crate) shared: Arc<Mutex<Shared>>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl Drop for FakeProviders {
    fn drop(&mut self) {
        if Arc::strong_count(&self.task) == 1 {
            self.task.abort();
        }
    }
}

impl FakeProviders {
    pub async fn start() -> Self {
        let shared = Arc::new(Mutex::new(Shared {
            gcp_projects: vec![
                "shop-prod".into(),
                "shop-staging".into(),
                "shop-data".into(),
            ],
            ..Shared::default()
        }));
        let app = routes::router(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake providers");
        let addr: SocketAddr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base_url: format!("http://{addr}"),
            shared,
            task: Arc::new(task),
        }
    }

    /// Every provider at this server, Aurora's own AWS identity set and its OAuth client at
    /// Google, OVH on.
    pub fn config(&self) -> ConnectorConfig {
        let mut config = ConnectorConfig {
            aws: Some(AwsIdentity {
                access_key_id: AURORA_AWS_KEY_ID.into(),
                secret_access_key: AURORA_AWS_SECRET.into(),
                session_token: None,
            }),
            ovh_enabled: true,
            gcp_oauth: Some(GcpOauthClient::new(
                GCP_OAUTH_CLIENT_ID,
                GCP_OAUTH_CLIENT_SECRET,
            )),
            ..ConnectorConfig::default()
        };
        for kind in ConnectorKind::ALL {
            config = config.with_base_url(kind, self.base_url.clone());
        }
        config
    }

    /// The role `arn` may be assumed only with `external_id`.
    pub fn expect_external_id(&self, arn: &str, external_id: &str) {
        self.lock()
            .external_ids
            .push((arn.to_owned(), external_id.to_owned()));
    }

    /// Answers `method path` with `status` and the JSON `body` (replacing an earlier fixture),
    /// before any built-in route.
    pub fn answer(&self, method: &str, path: &str, status: u16, body: impl ToString) -> &Self {
        self.answer_as(method, path, status, "application/json", body)
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
        self.lock().fixtures.insert(
            (method.to_ascii_uppercase(), path.to_owned()),
            (status, content_type, body.to_string()),
        );
        self
    }

    /// The requests to `path`, in order.
    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// Adds `text` to every built-in answer from now on.
    pub fn plant(&self, text: &str) {
        self.lock().planted = Some(text.to_owned());
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// How many requests went to `path`.
    pub fn calls_to(&self, path: &str) -> usize {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.path == path)
            .count()
    }

    /// The sessions STS issues from now on expire `lifetime` after they are issued.
    pub fn sts_session_lifetime(&self, lifetime: chrono::TimeDelta) {
        self.lock().sts_lifetime = Some(lifetime);
    }

    /// The temporary AWS sessions STS issued, in order: (access key id, secret, token).
    pub fn sts_sessions(&self) -> Vec<(String, String, String)> {
        self.lock().sts_sessions.clone()
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().expect("the fake's state")
    }
}

/// A service-account key file for `project` with `pem` as its private key.
pub fn gcp_key(project: &str, pem: &str) -> Value {
    json!({
        "type": "service_account",
        "project_id": project,
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": pem,
        "client_email": format!("aurora@{project}.iam.gserviceaccount.com"),
        "client_id": "104857600000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    })
}

/// A kubeconfig with two contexts whose user holds `token`.
pub fn kubeconfig(token: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
current-context: staging
clusters:
- name: prod-cluster
  cluster:
    server: https://prod.k8s.example:6443
- name: staging-cluster
  cluster:
    server: https://staging.k8s.example
contexts:
- name: prod
  context:
    cluster: prod-cluster
    user: aurora
- name: staging
  context:
    cluster: staging-cluster
    user: aurora
users:
- name: aurora
  user:
    token: {token}
"
    )
}

/// The role the chat tests' AWS account assumes, and its external id.
pub const AWS_ROLE: &str = "arn:aws:iam::123456789012:role/AuroraReadOnly";
pub const AWS_EXTERNAL_ID: &str = "aurora-external-42";
/// The token of the Kubernetes user [`connect_kubernetes`] connects.
pub const KUBE_TOKEN: &str = "kube-token-for-tests-0001";

/// Connects a Kubernetes cluster (checked by parsing: no provider to reach) for `admin`'s
/// organisation, context `prod`.
pub async fn connect_kubernetes(app: &crate::TestApp, admin: &crate::Account) {
    app.post_json(
        "/api/connectors/kubernetes",
        Some(admin),
        &json!({"settings": {"context": "prod"}, "credentials": {"kubeconfig": kubeconfig(KUBE_TOKEN)}}),
    )
    .await
    .expect_status(201);
}

/// Connects what fake CLIs stand for: GCP (the test key, project `shop-prod`), AWS
/// ([`AWS_ROLE`] with [`AWS_EXTERNAL_ID`]) and a Kubernetes cluster, at `fake`.
pub async fn connect_clouds(app: &crate::TestApp, admin: &crate::Account, fake: &FakeProviders) {
    fake.expect_external_id(AWS_ROLE, AWS_EXTERNAL_ID);
    for (kind, body) in [
        (
            "gcp",
            json!({"credentials": {"service_account_key": gcp_key("shop-prod", GCP_KEY_PEM)}}),
        ),
        (
            "aws",
            json!({"settings": {"role_arn": AWS_ROLE, "external_id": AWS_EXTERNAL_ID, "region": "eu-west-3"}}),
        ),
    ] {
        app.post_json(&format!("/api/connectors/{kind}"), Some(admin), &body)
            .await
            .expect_status(201);
    }
    connect_kubernetes(app, admin).await;
}
