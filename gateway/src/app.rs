//! Running Aurora's roles in one process. `aurora up` runs all three; `aurora serve --role R`
//! runs one against external NATS and Postgres.

use std::time::Duration;

use anyhow::Context as _;
use std::sync::Arc;

use aurora_handlers::agent::AgentConfig;
use aurora_handlers::embeddings::Embedder;
use aurora_handlers::graph::GraphConfig;
use aurora_handlers::knowledge::{KnowledgeBase, KnowledgeConfig};
use aurora_handlers::rca::{Investigator, RcaConfig};
use aurora_projections::Projector;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::{self, ApiConfig};
use crate::services::Services;

/// How the roles behave, passed in beside the connections (zero-to-production's
/// `Application::build(config)`): the connections say where things are, this says what to do.
#[derive(Clone)]
pub struct Config {
    /// Settings of the HTTP API (the gateway role; the handlers read the SNS trust settings).
    pub api: ApiConfig,
    /// The chat agent: its model, prices and tools (handlers run it; the gateway reads whether a
    /// model is configured).
    pub agent: AgentConfig,
    /// Background investigations: start limits, staleness, time limit (handlers run them).
    pub rca: RcaConfig,
    /// Service discovery: which providers, how often (handlers run it).
    pub graph: GraphConfig,
    /// Embeds titles for correlation and texts for the knowledge base; `None`: word overlap
    /// and keyword search only.
    pub embedder: Option<Embedder>,
    /// Where knowledge-base files are kept, and how search blends its scores.
    pub knowledge: KnowledgeConfig,
}

impl Default for Config {
    /// The production API defaults and an agent without a model.
    fn default() -> Self {
        Self {
            api: ApiConfig::default(),
            agent: AgentConfig::without_model(std::env::temp_dir().join("aurora-agent")),
            rca: RcaConfig::default(),
            graph: GraphConfig::default(),
            embedder: None,
            knowledge: KnowledgeConfig::local(std::env::temp_dir().join("aurora-objects")),
        }
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
    config: Config,
    roles: Vec<Role>,
    listener: Option<TcpListener>,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    // One agent configuration shared by the handlers that run it and the gateway that reads it.
    let agent = Arc::new(config.agent);
    let knowledge = KnowledgeBase::open(
        services.log.clone(),
        config.knowledge.clone(),
        config.embedder.clone(),
    )
    .context("Failed to open the knowledge base")?;
    let mut tasks = tokio::task::JoinSet::new();
    if let Some(addr) = config.api.metrics_listen {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("Failed to bind the metrics listener {addr}"))?;
        tasks.spawn(serve_metrics(
            listener,
            services.metrics.clone(),
            shutdown.clone(),
        ));
    }
    if roles.contains(&Role::Projections) {
        let js = async_nats::jetstream::new(services.nats.clone());
        for projector in Projector::ALL {
            let (pool, js, stop) = (services.pool.clone(), js.clone(), shutdown.clone());
            let metrics = services.metrics.clone();
            tasks.spawn(async move {
                supervise(projector.name(), stop.clone(), || {
                    aurora_projections::runner::run(
                        pool.clone(),
                        js.clone(),
                        projector,
                        metrics.clone(),
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
        )
        .with_sns(config.api.sns_verify_context())
        .with_graph(services.pool.clone())
        .with_embedder(config.embedder.clone());
        let stop = shutdown.clone();
        tasks.spawn(async move {
            supervise("ingest", stop.clone(), || ingest.clone().run(stop.clone())).await
        });
        let graph = aurora_handlers::graph::Graph::new(
            services.services.clone(),
            services.pool.clone(),
            agent.clone(),
            services.connectors.clone(),
            config.graph.clone(),
        );
        let stop = shutdown.clone();
        tasks.spawn(async move {
            supervise("graph", stop.clone(), || graph.clone().run(stop.clone())).await
        });
        let agent = aurora_handlers::agent::run::Agent::new(
            services.sessions.clone(),
            services.organizations.clone(),
            services.pool.clone(),
            agent.clone(),
            services.connectors.clone(),
            Some(knowledge.clone()),
        );
        let investigator = Investigator::new(
            services.incidents.clone(),
            services.investigations.clone(),
            services.postmortems.clone(),
            agent.clone(),
            services.pool.clone(),
            config.rca.clone(),
        );
        let stop = shutdown.clone();
        tasks.spawn(async move {
            supervise("chat", stop.clone(), || agent.clone().run(stop.clone())).await
        });
        let (kb, pool, stop) = (knowledge.clone(), services.pool.clone(), shutdown.clone());
        tasks.spawn(async move {
            supervise("knowledge", stop.clone(), || {
                kb.clone().run(pool.clone(), stop.clone())
            })
            .await
        });
        let stop = shutdown.clone();
        tasks.spawn(async move {
            supervise("rca", stop.clone(), || {
                investigator.clone().run(stop.clone())
            })
            .await
        });
    }
    if roles.contains(&Role::Gateway) {
        let listener = listener.context("the gateway role needs a listener")?;
        let state = api::AppState::new(
            services.clone(),
            config.api,
            agent,
            knowledge.clone(),
            shutdown.clone(),
        );
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

/// Serves `/metrics` alone on `listener` (`AURORA_METRICS_LISTEN`), for whichever roles run here.
async fn serve_metrics(
    listener: TcpListener,
    metrics: aurora_telemetry::Metrics,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let scrape = move || {
        let metrics = metrics.clone();
        async move { api::prometheus::exposition(&metrics) }
    };
    // Outside the API's OpenAPI router on purpose: the same `/metrics` is documented there.
    let router = axum::Router::new().route("/metrics", axum::routing::get(scrape));
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await
        .context("metrics server failed")
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
