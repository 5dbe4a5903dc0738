//! Correlation's view of the graph: each tenant's `DEPENDS_ON` edges (by node key) from the read
//! model, kept for [`REFRESH_AFTER`]. Deciding never waits for Postgres once a tenant's graph is
//! known: an older one is used while a fresh one loads in the background. The dry run reads the
//! graph's past instead ([`history`]): the read model keeps only the present.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aurora_domain::correlation::ServiceGraph;
use aurora_domain::service::{GraphHistory, ServiceEvent, StoredServiceEvent};
use aurora_domain::TenantId;
use aurora_nats::log::EventLog;
use aurora_nats::{subjects, StoreError};
use aurora_projections::queries;
use chrono::{DateTime, Utc};
use esrs::event::Upcaster;
use sqlx::PgPool;
use tokio::sync::Mutex;

/// How long a tenant's graph is used before it is read again.
pub const REFRESH_AFTER: Duration = Duration::from_secs(5);

/// The tenants' graphs as last read. Cheap to clone.
#[derive(Clone)]
pub struct Topology {
    pool: PgPool,
    graphs: Arc<Mutex<HashMap<TenantId, Known>>>,
}

struct Known {
    graph: Arc<ServiceGraph>,
    read_at: Instant,
    refreshing: bool,
}

impl Topology {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            graphs: Arc::default(),
        }
    }

    /// The tenant's graph: as last read (refreshed in the background once older than
    /// [`REFRESH_AFTER`]), or read now the first time. A read that fails gives an empty graph
    /// (correlation then compares service names) and is tried again next time.
    pub async fn of(&self, tenant: &TenantId) -> Arc<ServiceGraph> {
        {
            let mut graphs = self.graphs.lock().await;
            if let Some(known) = graphs.get_mut(tenant) {
                if known.read_at.elapsed() >= REFRESH_AFTER && !known.refreshing {
                    known.refreshing = true;
                    let (this, tenant) = (self.clone(), tenant.clone());
                    tokio::spawn(async move { this.refresh(&tenant).await });
                }
                return known.graph.clone();
            }
        }
        self.refresh(tenant).await
    }

    async fn refresh(&self, tenant: &TenantId) -> Arc<ServiceGraph> {
        match read(&self.pool, tenant).await {
            Ok(graph) => {
                let graph = Arc::new(graph);
                self.graphs.lock().await.insert(
                    tenant.clone(),
                    Known {
                        graph: graph.clone(),
                        read_at: Instant::now(),
                        refreshing: false,
                    },
                );
                graph
            }
            Err(e) => {
                tracing::warn!(%tenant, error = %e, "the service graph could not be read; correlating without it");
                if let Some(known) = self.graphs.lock().await.get_mut(tenant) {
                    known.refreshing = false;
                    return known.graph.clone();
                }
                Arc::new(ServiceGraph::new())
            }
        }
    }
}

async fn read(pool: &PgPool, tenant: &TenantId) -> Result<ServiceGraph, sqlx::Error> {
    let mut tx = queries::scoped(pool, tenant.as_str()).await?;
    let edges = queries::dependency_keys(&mut tx, tenant.as_str()).await?;
    tx.commit().await?;
    Ok(edges.into_iter().collect())
}

/// The tenant's graph through time: its service events stored up to `until`, in stored order. An
/// event that does not load is left out with a warning (the live graph's projector would have
/// stopped on it).
pub async fn history(
    log: &EventLog,
    tenant: &TenantId,
    until: DateTime<Utc>,
) -> Result<GraphHistory, StoreError> {
    let mut events = Vec::new();
    for raw in log
        .read_subject(&subjects::aggregate_type(tenant, "service"), 1)
        .await?
    {
        let Some(node) = subjects::parse_event_subject(&raw.subject).map(|s| s.id) else {
            continue;
        };
        if raw.time > until {
            continue;
        }
        match ServiceEvent::upcast(raw.data, raw.version) {
            Ok(event) => events.push(StoredServiceEvent {
                at: raw.time,
                node,
                event,
            }),
            Err(e) => tracing::warn!(%tenant, sequence = raw.stream_sequence, error = %e,
                "a service event does not load; the dry run's graph goes without it"),
        }
    }
    Ok(GraphHistory::new(events))
}
