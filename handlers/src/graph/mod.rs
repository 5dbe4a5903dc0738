//! The service graph's writers and readers in the handlers (SPEC §8):
//!
//! - [`sightings`]: the `graph-incidents`, `graph-changes` and `graph-alerts` consumers of
//!   `EVENTS`: every service an alert or a change names, and the cluster, namespace and workload
//!   an alert's labels name, becomes a node, or is seen again, so a tenant without a cloud
//!   connector still has a graph of what alerts and deploys name;
//! - [`discovery`]: the providers' inventories through the executor ([`crate::exec`], with the
//!   agent's settings), written as nodes
//!   and edges; [`jobs`]: when it runs (hourly once across all processes, on request) and the
//!   staleness sweep;
//! - [`topology`]: the tenants' `DEPENDS_ON` edges from the read model, cached for correlation.
//!
//! Every write is a command on the node's `Service` aggregate, so a replay rebuilds the graph.
//! The graph around one service, as the agent shows it, is read by the agent itself
//! (`agent::graph_context`), so nothing here is imported back by the agent.

pub mod discovery;
pub mod jobs;
pub mod sightings;
pub mod topology;

use std::sync::Arc;

use aurora_domain::service::Service;
use aurora_nats::AggregateStore;
use sqlx::PgPool;
use tokio::sync::watch;

pub use discovery::{Discovered, DiscoveryProvider, GraphConfig};
pub use jobs::Swept;

use crate::agent::AgentConfig;
use crate::connectors::{Connectors, LookupError};

/// Why the graph's background work stopped.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("cannot open the {consumer} consumer: {reason}")]
    Consumer {
        consumer: &'static str,
        reason: String,
    },
    #[error(transparent)]
    Runner(#[from] aurora_nats::consumer::RunnerError),
    #[error(transparent)]
    Store(#[from] aurora_nats::StoreError),
    #[error("the service graph's read model could not be read: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the periodic job's lease: {0}")]
    Lease(String),
    #[error("the tenant's connected accounts could not be read: {0}")]
    Connectors(#[from] LookupError),
}

/// What the graph's background work needs. Cheap to clone.
#[derive(Clone)]
pub struct Graph {
    inner: Arc<Inner>,
}

struct Inner {
    services: AggregateStore<Service>,
    pool: PgPool,
    /// The executor's settings (`PATH`, working directory, time limit) discovery runs with.
    agent: Arc<AgentConfig>,
    /// Which providers a tenant has connected, and their credentials for each listing.
    connectors: Connectors,
    config: GraphConfig,
    /// Nodes this process touched lately ([`sightings::Recent`]).
    recent: sightings::Recent,
}

impl Graph {
    pub fn new(
        services: AggregateStore<Service>,
        pool: PgPool,
        agent: Arc<AgentConfig>,
        connectors: Connectors,
        config: GraphConfig,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                services,
                pool,
                agent,
                connectors,
                config,
                recent: sightings::Recent::default(),
            }),
        }
    }

    /// Runs the sightings consumers, the discovery requests and the periodic jobs until
    /// `shutdown`.
    pub async fn run(self, shutdown: watch::Receiver<bool>) -> Result<(), GraphError> {
        let incidents = self
            .clone()
            .follow(sightings::Followed::Incidents, shutdown.clone());
        let changes = self
            .clone()
            .follow(sightings::Followed::Changes, shutdown.clone());
        let alerts = self
            .clone()
            .follow(sightings::Followed::Alerts, shutdown.clone());
        let requests = self.clone().requests(shutdown.clone());
        let periodic = self.periodic(shutdown);
        let (a, b, c, d, e) = tokio::join!(incidents, changes, alerts, requests, periodic);
        a.and(b).and(c).and(d).and(e)
    }
}
