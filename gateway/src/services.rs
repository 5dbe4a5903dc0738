//! The connections every role shares: NATS, the event stores on it, Postgres (as owner and as the
//! restricted API role) and the secret store. What the roles do with them is configured apart
//! ([`crate::app::Config`]).

use std::sync::Arc;

use aurora_domain::connector::Connector;
use aurora_domain::investigation::Investigation;
use aurora_domain::postmortem::Postmortem;
use aurora_domain::service::Service;
use aurora_domain::{ChatSession, Incident, Integration, Organization};
use aurora_handlers::connectors::{ConnectorConfig, Connectors};
use aurora_handlers::secrets::SecretStore;
use aurora_nats::{AggregateStore, EventLog};
use aurora_telemetry::Metrics;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

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
    pub investigations: AggregateStore<Investigation>,
    pub postmortems: AggregateStore<Postmortem>,
    /// The nodes of the service graph.
    pub services: AggregateStore<Service>,
    pub connector_store: AggregateStore<Connector>,
    /// Where integration secrets and connector credentials live.
    pub secrets: Arc<dyn SecretStore>,
    /// The tenants' connected accounts, as tools look them up (credentials resolved then).
    pub connectors: Connectors,
    /// What every role counts for `/metrics` (the log and the stores count into it too).
    pub metrics: Metrics,
}

impl Services {
    pub fn new(
        nats: async_nats::Client,
        pool: PgPool,
        secrets: Arc<dyn SecretStore>,
        connectors: ConnectorConfig,
        metrics: Metrics,
    ) -> Self {
        let log = EventLog::with_metrics(nats.clone(), metrics.clone());
        let gateway_pool = PgPoolOptions::new()
            .max_connections(pool.options().get_max_connections())
            .test_before_acquire(pool.options().get_test_before_acquire())
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
            investigations: AggregateStore::new(log.clone()),
            postmortems: AggregateStore::new(log.clone()),
            services: AggregateStore::new(log.clone()),
            connector_store: AggregateStore::new(log.clone()),
            connectors: Connectors::new(
                pool.clone(),
                secrets.clone(),
                connectors,
                Some(nats.clone()),
            ),
            secrets,
            log,
            nats,
            pool,
            metrics,
        }
    }
}
