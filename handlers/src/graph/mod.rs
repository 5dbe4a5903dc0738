//! The service graph's writers and readers in the handlers (SPEC §8):
//!
//! - [`sightings`]: the `graph-incidents` and `graph-changes` consumers of `EVENTS`: every
//!   service an alert or a change names becomes a node, or is seen again, so a tenant without a
//!   cloud connector still has a graph of what alerts and deploys name;
//! - [`topology`]: the tenants' `DEPENDS_ON` edges from the read model, cached for correlation.
//!
//! Every write is a command on the node's `Service` aggregate, so a replay rebuilds the graph.

pub mod sightings;
pub mod topology;

use std::sync::Arc;

use aurora_domain::service::Service;
use aurora_nats::AggregateStore;
use tokio::sync::watch;

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
}

/// What the graph's background work needs. Cheap to clone.
#[derive(Clone)]
pub struct Graph {
    inner: Arc<Inner>,
}

struct Inner {
    services: AggregateStore<Service>,
}

impl Graph {
    pub fn new(services: AggregateStore<Service>) -> Self {
        Self {
            inner: Arc::new(Inner { services }),
        }
    }

    /// Runs the sightings consumers until `shutdown`.
    pub async fn run(self, shutdown: watch::Receiver<bool>) -> Result<(), GraphError> {
        let incidents = self
            .clone()
            .follow(sightings::Followed::Incidents, shutdown.clone());
        let changes = self.clone().follow(sightings::Followed::Changes, shutdown);
        let (a, b) = tokio::join!(incidents, changes);
        a.and(b)
    }
}
