//! The registry of projectors: each one's name, durable consumer, subjects and tables, and which
//! table code applies its events. Adding a projector means its table code (a [`Tables`] in its
//! own file, folded by [`crate::fold`]) and one entry here.

use std::any::Any;

use aurora_domain::DomainEvent;
use esrs::Aggregate;

use sqlx::{Postgres, Transaction};

use crate::error::ProjectionError;
use crate::fold::{fold, Batch, Kept, StateOf, Tables};
use crate::state_cache::StateCache;
use crate::{
    changes, connectors, deliveries, incidents, integrations, investigations, knowledge,
    organizations, postmortems, services, sessions,
};

/// One projector: a durable consumer of `EVENTS` and the tables it owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projector {
    Incidents,
    Sessions,
    Organizations,
    Integrations,
    Changes,
    Investigations,
    Postmortems,
    Services,
    Connectors,
    Knowledge,
    Deliveries,
}

/// What `streams.yaml` and the migrations know a projector by.
struct Spec {
    name: &'static str,
    /// The durable consumer in `streams.yaml`.
    consumer: &'static str,
    /// The aggregate type whose events it reads.
    aggregate: &'static str,
    /// The tables it writes, in the order readers that join them take their locks.
    tables: &'static [&'static str],
}

/// `spec!(name, aggregate, tables)`: the [`Spec`] of the projector `name` of `aggregate`'s
/// events, whose durable consumer is `proj-<name>` and whose filter is `evt.*.<aggregate>.*`.
macro_rules! spec {
    ($name:literal, $aggregate:literal, $tables:expr) => {
        Spec {
            name: $name,
            consumer: concat!("proj-", $name),
            aggregate: $aggregate,
            tables: $tables,
        }
    };
}

impl Projector {
    pub const ALL: [Projector; 11] = [
        Projector::Incidents,
        Projector::Sessions,
        Projector::Organizations,
        Projector::Integrations,
        Projector::Changes,
        Projector::Investigations,
        Projector::Postmortems,
        Projector::Services,
        Projector::Connectors,
        Projector::Knowledge,
        Projector::Deliveries,
    ];

    fn spec(self) -> Spec {
        match self {
            Self::Incidents => spec!(
                "incidents",
                "incident",
                &["incidents", "incident_alerts", "incident_timeline"]
            ),
            Self::Sessions => spec!(
                "sessions",
                "session",
                &["chat_sessions", "chat_messages", "llm_usage"]
            ),
            // In the order readers lock them (a token's owner is found through api_tokens,
            // then org_members, then organizations): a replay swap locks them in this order
            // too.
            Self::Organizations => spec!(
                "organizations",
                "organization",
                &[
                    "api_tokens",
                    "org_invitations",
                    "org_members",
                    "organizations",
                    "audit_log"
                ]
            ),
            Self::Integrations => spec!("integrations", "integration", &["integrations"]),
            Self::Changes => spec!("changes", "change", &["changes"]),
            // Readers take a run, then its items.
            Self::Investigations => spec!(
                "investigations",
                "investigation",
                &["investigations", "investigation_items"]
            ),
            Self::Postmortems => spec!("postmortems", "postmortem", &["postmortem_versions"]),
            // Readers take nodes, then the edges between them.
            Self::Services => spec!("services", "service", &["service_nodes", "service_edges"]),
            Self::Connectors => spec!(
                "connectors",
                "connector",
                &["connectors", "connector_audit"]
            ),
            Self::Knowledge => spec!("knowledge", "knowledge", &["knowledge_documents"]),
            Self::Deliveries => spec!("deliveries", "correlator", &["alert_deliveries"]),
        }
    }

    /// Applies `events` (already past the checkpoint, in stream order) inside `tx`, writing to the
    /// tables of `schema`; the states it folds wait in `cache` for the commit.
    pub async fn apply(
        self,
        tx: &mut Transaction<'_, Postgres>,
        schema: &str,
        events: Batch,
        cache: &mut ProjectionCache,
    ) -> Result<(), ProjectionError> {
        match self {
            Self::Incidents => with::<incidents::IncidentTables>(tx, schema, events, cache).await,
            Self::Sessions => with::<sessions::SessionTables>(tx, schema, events, cache).await,
            Self::Organizations => {
                with::<organizations::OrganizationTables>(tx, schema, events, cache).await
            }
            Self::Integrations => {
                with::<integrations::IntegrationTables>(tx, schema, events, cache).await
            }
            // A change is written once and never updated: no state to fold.
            Self::Changes => changes::apply(tx, schema, events).await,
            Self::Investigations => {
                with::<investigations::InvestigationTables>(tx, schema, events, cache).await
            }
            // Each event is one version, written once: no state either.
            Self::Postmortems => postmortems::apply(tx, schema, events).await,
            Self::Services => with::<services::ServiceTables>(tx, schema, events, cache).await,
            Self::Connectors => {
                with::<connectors::ConnectorTables>(tx, schema, events, cache).await
            }
            Self::Knowledge => with::<knowledge::KnowledgeTables>(tx, schema, events, cache).await,
            // A decision is written once and never updated: no state to fold.
            Self::Deliveries => deliveries::apply(tx, schema, events).await,
        }
    }

    /// Whether a commit is announced to the tenants' readers (`subjects::projected`): those
    /// that cache the read model — the connectors (the credential lookup of every tool call,
    /// `aurora_handlers::connectors`) and the knowledge base (its search's chunk vectors); the
    /// others are read fresh each time.
    pub fn announces(self) -> bool {
        matches!(self, Self::Connectors | Self::Knowledge)
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    pub fn parse(name: &str) -> Result<Self, ProjectionError> {
        Self::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| ProjectionError::Unknown(name.to_owned()))
    }

    /// The durable consumer in `streams.yaml`.
    pub fn consumer(self) -> &'static str {
        self.spec().consumer
    }

    /// The subjects it reads: its aggregate's events, of every tenant.
    pub fn filter(self) -> String {
        aurora_nats::subjects::aggregate_type_all_tenants(self.spec().aggregate)
    }

    /// The tables it writes, in the order readers that join them take their locks.
    pub fn tables(self) -> &'static [&'static str] {
        self.spec().tables
    }
}

async fn with<T: Tables>(
    tx: &mut Transaction<'_, Postgres>,
    schema: &str,
    events: Batch,
    cache: &mut ProjectionCache,
) -> Result<(), ProjectionError>
where
    StateOf<T>: Kept,
    <T::Aggregate as Aggregate>::Event: DomainEvent,
{
    fold::<T>(tx, schema, events, cache.states()).await
}

/// The states a projector folded, kept between batches (see [`crate::state_cache`]). One per
/// running projector or replay: it holds the states of the tables that one writes.
#[derive(Default)]
pub struct ProjectionCache {
    states: Option<Box<dyn CachedStates>>,
    /// The checkpoint row's generation these states belong to (a replay swap bumps it).
    generation: i64,
}

/// A [`StateCache`] of whichever state type its projector folds.
trait CachedStates: Send {
    fn clear(&mut self);
    fn commit(&mut self);
    fn as_any(&mut self) -> &mut dyn Any;
}

impl<S: Send + 'static> CachedStates for StateCache<S> {
    fn clear(&mut self) {
        StateCache::clear(self);
    }

    fn commit(&mut self) {
        StateCache::commit(self);
    }

    fn as_any(&mut self) -> &mut dyn Any {
        self
    }
}

impl ProjectionCache {
    /// Forgets every state if the tables were swapped by a replay since they were cached: the
    /// rebuilt rows may differ (that is often why one replays) at the same sequence numbers.
    pub fn sync_generation(&mut self, generation: i64) {
        if generation != self.generation {
            if let Some(states) = &mut self.states {
                states.clear();
            }
            self.generation = generation;
        }
    }

    /// Keeps the states of the batch whose transaction just committed.
    pub fn commit(&mut self) {
        if let Some(states) = &mut self.states {
            states.commit();
        }
    }

    /// The cache of `S` states (a new one if this cache held another projector's).
    fn states<S: Send + 'static>(&mut self) -> &mut StateCache<S> {
        let fits = self
            .states
            .as_mut()
            .is_some_and(|s| s.as_any().is::<StateCache<S>>());
        if !fits {
            self.states = Some(Box::new(StateCache::<S>::default()));
        }
        match self
            .states
            .as_mut()
            .and_then(|s| s.as_any().downcast_mut::<StateCache<S>>())
        {
            Some(states) => states,
            // Just made sure it holds a StateCache<S>.
            None => unreachable!("the projection cache holds a StateCache of the wanted type"),
        }
    }
}
