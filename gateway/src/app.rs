//! Running Aurora's roles in one process. `aurora up` runs all three; `aurora serve --role R`
//! runs one against external NATS and Postgres.

use std::time::Duration;

use anyhow::Context as _;
use std::sync::Arc;

use aurora_domain::{ChatSession, Incident, Integration, Organization};
use aurora_handlers::agent::AgentConfig;
use aurora_handlers::secrets::SecretStore;
use aurora_nats::{AggregateStore, EventLog};
use aurora_projections::Projector;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api;

/// The connections every role shares.
#[derive(Clone)]
pub struct Services {
    pub nats: async_nats::Client,
    /// Connections as the connecting (owner) role: projectors, handlers, migrations.
    pub pool: PgPool,
    /// The same database with every connection switched to `aurora_app` (`SET ROLE`), neither
    /// superuser nor owner: everything the HTTP API runs is bound by row-level security
    /// (`migrations/0003_app_role.sql`).
    pub gateway_pool: PgPool,
    pub log: EventLog,
    pub incidents: AggregateStore<Incident>,
    pub sessions: AggregateStore<ChatSession>,
    pub organizations: AggregateStore<Organization>,
    pub integrations: AggregateStore<Integration>,
    /// Where integration secrets live.
    pub secrets: Arc<dyn SecretStore>,
    /// Settings of the HTTP API (used by the gateway role).
    pub api: Arc<api::ApiConfig>,
    /// The chat agent: its model, prices and tools (handlers run it; the gateway reads whether a
    /// model is configured).
    pub agent: Arc<AgentConfig>,
}

impl Services {
    pub fn new(nats: async_nats::Client, pool: PgPool, secrets: Arc<dyn SecretStore>) -> Self {
        let log = EventLog::new(nats.clone());
        let gateway_pool = PgPoolOptions::new()
            .max_connections(pool.options().get_max_connections())
            .after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::query("SET ROLE aurora_app").execute(conn).await?;
                    Ok(())
                })
            })
            .connect_lazy_with(pool.connect_options().as_ref().clone());
        Self {
            gateway_pool,
            incidents: AggregateStore::new(log.clone()),
            sessions: AggregateStore::new(log.clone()),
            organizations: AggregateStore::new(log.clone()),
            integrations: AggregateStore::new(log.clone()),
            secrets,
            api: Arc::new(api::ApiConfig::default()),
            agent: Arc::new(AgentConfig::without_model(
                std::env::temp_dir().join("aurora-agent"),
            )),
            log,
            nats,
            pool,
        }
    }

    pub fn with_api_config(mut self, config: api::ApiConfig) -> Self {
        self.api = Arc::new(config);
        self
    }

    pub fn with_agent(mut self, config: AgentConfig) -> Self {
        self.agent = Arc::new(config);
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// HTTP API and webhook intake.
    Gateway,
    /// Consumers of `INBOX` and `CMD` that run commands on aggregates.
    Handlers,
    /// Projectors from `EVENTS` into Postgres read models.
    Projections,
}

impl Role {
    pub fn all() -> Vec<Role> {
        vec![Role::Gateway, Role::Handlers, Role::Projections]
    }
}

/// Runs `roles` until `shutdown` turns true, then stops them: the HTTP server finishes in-flight
/// requests, consumers finish (and ack) the batch in hand.
pub async fn run(
    services: Services,
    roles: Vec<Role>,
    listener: Option<TcpListener>,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let mut tasks = tokio::task::JoinSet::new();
    if roles.contains(&Role::Projections) {
        let js = async_nats::jetstream::new(services.nats.clone());
        for projector in Projector::ALL {
            let (pool, js, stop) = (services.pool.clone(), js.clone(), shutdown.clone());
            tasks.spawn(async move {
                supervise(projector.name(), stop.clone(), || {
                    aurora_projections::runner::run(
                        pool.clone(),
                        js.clone(),
                        projector,
                        stop.clone(),
                    )
                })
                .await
            });
        }
    }
    if roles.contains(&Role::Handlers) {
        let ingest = aurora_handlers::ingest::Ingest::new(
            services.log.clone(),
            services.incidents.clone(),
            services.integrations.clone(),
            services.pool.clone(),
        )
        .with_sns(services.api.sns_verify_context());
        let stop = shutdown.clone();
        tasks.spawn(async move {
            supervise("ingest", stop.clone(), || ingest.clone().run(stop.clone())).await
        });
        let agent = aurora_handlers::agent::runner::Agent::new(
            services.sessions.clone(),
            services.organizations.clone(),
            services.pool.clone(),
            services.agent.clone(),
        );
        let stop = shutdown.clone();
        tasks.spawn(async move {
            supervise("chat", stop.clone(), || agent.clone().run(stop.clone())).await
        });
    }
    if roles.contains(&Role::Gateway) {
        let listener = listener.context("the gateway role needs a listener")?;
        let config = services.api.as_ref().clone();
        let state = api::AppState::new(services.clone(), config);
        let router = api::router(state.clone())?;
        let stop = shutdown.clone();
        tasks.spawn(async move {
            supervise("integration-cache", stop.clone(), || {
                api::intake::watch(state.clone(), stop.clone())
            })
            .await
        });
        let mut stop = shutdown.clone();
        // Without TCP_NODELAY a frame written right after another (a chat chunk after `START`)
        // waits for the client's delayed ACK: ~40 ms per token stream.
        let listener = axum::serve::ListenerExt::tap_io(listener, |stream| {
            if let Err(e) = stream.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY not set on a connection");
            }
        });
        tasks.spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
            .context("HTTP server failed")
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.context("a role panicked")??;
    }
    Ok(())
}

/// Restarts a background loop that fails (NATS or Postgres briefly away) until shutdown.
async fn supervise<F, Fut, E>(
    name: &str,
    mut stop: watch::Receiver<bool>,
    mut start: F,
) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let mut delay = Duration::from_millis(100);
    loop {
        match start().await {
            Ok(()) => return Ok(()),
            Err(e) => {
                tracing::error!(task = name, error = %e, "background task failed; restarting")
            }
        }
        if *stop.borrow() {
            return Ok(());
        }
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return Ok(()),
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}
