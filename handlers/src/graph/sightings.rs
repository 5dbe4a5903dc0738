//! Alerts and changes name services: the `graph-incidents` consumer touches the node of every
//! service an incident's alerts come from, `graph-changes` that of every change, and
//! `graph-alerts` (on the correlation decision log) the cluster, namespace and workload an
//! alert's labels name ([`inventory::alert`]), each `DEPLOYED_IN` the next. Touching is
//! idempotent (a sighting at or before the node's last one, or within
//! [`aurora_domain::service::SEEN_GRANULARITY`] of it, records nothing), and so is connecting
//! the same edge again, so redeliveries and replays add nothing.

use std::collections::HashMap;
use std::sync::Mutex;

use async_nats::jetstream::{self, consumer::PullConsumer};
use aurora_domain::change::ChangeRecordEvent;
use aurora_domain::correlation::CorrelatorEvent;
use aurora_domain::service::inventory::{self, Inventory};
use aurora_domain::service::{
    service_id, NodeKey, NodeType, ServiceCommand, Sighting, SEEN_GRANULARITY,
};
use aurora_domain::{IncidentEvent, TenantId};
use aurora_nats::consumer::{self, Delivery, HandlerError};
use aurora_nats::envelope::{Context, RawEvent};
use aurora_nats::subjects::{self, EVENTS_STREAM};
use chrono::{DateTime, Utc};
use esrs::event::Upcaster;
use futures::StreamExt as _;
use tokio::sync::watch;

use super::{Graph, GraphError};
use aurora_domain::incident::Opening;

const BATCH: usize = 256;
/// Deliveries of a batch handled at once.
const CONCURRENT_TOUCHES: usize = 32;
/// Nodes [`Recent`] remembers before it starts over.
const RECENT_CAP: usize = 100_000;

/// The nodes this process touched lately, by type, and when. A touch of the same type within
/// [`SEEN_GRANULARITY`] after one records nothing (the node's rule), so it is not sent as a
/// command at all: an alert storm on one service costs one command per period, not one per
/// alert. (A touch of another type may record something: a workload takes the place of a
/// service only an alert named.)
#[derive(Default)]
pub(super) struct Recent(Mutex<HashMap<(TenantId, NodeKey, NodeType), DateTime<Utc>>>);

impl Recent {
    /// Whether a touch of `key` at `at` would record nothing.
    fn covers(
        &self,
        tenant: &TenantId,
        key: &NodeKey,
        node_type: NodeType,
        at: DateTime<Utc>,
    ) -> bool {
        let Ok(touched) = self.0.lock() else {
            return false;
        };
        touched
            .get(&(tenant.clone(), key.clone(), node_type))
            .is_some_and(|last| at - *last < SEEN_GRANULARITY)
    }

    fn note(&self, tenant: &TenantId, key: &NodeKey, node_type: NodeType, at: DateTime<Utc>) {
        if let Ok(mut touched) = self.0.lock() {
            if touched.len() >= RECENT_CAP {
                touched.clear();
            }
            let last = touched
                .entry((tenant.clone(), key.clone(), node_type))
                .or_insert(at);
            *last = (*last).max(at);
        }
    }
}

/// Which aggregate's events a sightings consumer follows.
#[derive(Debug, Clone, Copy)]
pub enum Followed {
    Incidents,
    Changes,
    /// The correlation decision log: each decided alert's Kubernetes labels.
    Alerts,
}

impl Followed {
    /// The durable consumer in `streams.yaml`.
    pub const fn consumer(self) -> &'static str {
        match self {
            Self::Incidents => "graph-incidents",
            Self::Changes => "graph-changes",
            Self::Alerts => "graph-alerts",
        }
    }
}

/// A service named at a time.
struct Named {
    service: String,
    by: Sighting,
    at: DateTime<Utc>,
}

/// The nodes (and the edges between them) an alert's labels name, at the time it came.
struct Labelled {
    inventory: Inventory,
    at: DateTime<Utc>,
}

impl Graph {
    pub(super) async fn follow(
        self,
        followed: Followed,
        shutdown: watch::Receiver<bool>,
    ) -> Result<(), GraphError> {
        let name = followed.consumer();
        let failed = |e: String| GraphError::Consumer {
            consumer: name,
            reason: e,
        };
        let js = jetstream::new(self.inner.services.log().client().clone());
        let stream = js
            .get_stream(EVENTS_STREAM)
            .await
            .map_err(|e| failed(e.to_string()))?;
        let consumer: PullConsumer = stream
            .get_consumer(name)
            .await
            .map_err(|e| failed(e.to_string()))?;
        consumer::run(
            consumer,
            BATCH,
            self.inner.services.log().metrics().clone(),
            shutdown,
            |deliveries| {
                let graph = self.clone();
                async move {
                    // Side by side: each touch is a round trip, and one after another they kept
                    // up with ~500 new services a second, so an alert storm left the graph ever
                    // further behind. Touches of one node still run in turn (the store's lock
                    // per aggregate), and in either order leave it last seen at the later time.
                    let touches = deliveries.into_iter().map(|delivery| {
                        let graph = graph.clone();
                        async move { graph.sighted(followed, &delivery).await }
                    });
                    let handled: Vec<Result<(), HandlerError>> = futures::stream::iter(touches)
                        .buffer_unordered(CONCURRENT_TOUCHES)
                        .collect()
                        .await;
                    handled.into_iter().collect()
                }
            },
        )
        .await?;
        Ok(())
    }

    async fn sighted(&self, followed: Followed, delivery: &Delivery) -> Result<(), HandlerError> {
        let poison = |reason: String| HandlerError::Poison {
            stream_sequence: delivery.stream_sequence,
            reason,
        };
        let subject = subjects::parse_event_subject(&delivery.subject)
            .ok_or_else(|| poison(format!("{} is not an event subject", delivery.subject)))?;
        let tenant = &subject.tenant;
        let transient = |e: GraphError| HandlerError::Transient(e.to_string());
        if let Followed::Alerts = followed {
            // Only the decisions: the snapshot beside them is the bulk of each event.
            let decisions = CorrelatorEvent::decisions_in(&delivery.payload)
                .map_err(|e| poison(format!("not a decision log event: {e}")))?;
            for d in decisions.iter().filter(|d| !d.alert.placement.is_empty()) {
                let labelled = Labelled {
                    inventory: inventory::alert::parse(&d.alert.service, &d.alert.placement),
                    at: d.alert.received_at,
                };
                self.place(tenant, labelled).await.map_err(transient)?;
            }
            return Ok(());
        }
        let raw = RawEvent::decode(
            &delivery.subject,
            delivery.stream_sequence,
            delivery.headers.as_ref(),
            &delivery.payload,
            delivery.published,
        )
        .map_err(|e| poison(e.to_string()))?;
        let named = match followed {
            Followed::Incidents => match IncidentEvent::upcast(raw.data, raw.version)
                .map_err(|e| poison(format!("not an incident event: {e}")))?
            {
                IncidentEvent::Opened(Opening { service, at, .. }) => Some(Named {
                    service,
                    by: Sighting::Alert,
                    at,
                }),
                IncidentEvent::AlertCorrelated { alert, at, .. } => Some(Named {
                    service: alert.service,
                    by: Sighting::Alert,
                    at,
                }),
                _ => None,
            },
            Followed::Changes => {
                let ChangeRecordEvent::Recorded { change, at, .. } =
                    ChangeRecordEvent::upcast(raw.data, raw.version)
                        .map_err(|e| poison(format!("not a change event: {e}")))?;
                Some(Named {
                    service: change.service,
                    by: Sighting::Change,
                    at,
                })
            }
            Followed::Alerts => None,
        };
        match named {
            Some(named) => self.touch(tenant, named).await.map_err(transient),
            None => Ok(()),
        }
    }

    /// The nodes an alert's labels name exist from now on (or are seen again), then the edges
    /// between them (an edge known already records nothing).
    async fn place(&self, tenant: &TenantId, labelled: Labelled) -> Result<(), GraphError> {
        let Labelled { inventory, at } = labelled;
        let store = &self.inner.services;
        let recent = &self.inner.recent;
        for facts in inventory.nodes {
            if recent.covers(tenant, &facts.key, facts.node_type, at) {
                continue;
            }
            let (id, node_type) = (service_id(tenant.as_str(), &facts.key), facts.node_type);
            let command = ServiceCommand::Touch {
                key: facts.key.clone(),
                name: facts.name,
                node_type,
                by: Sighting::Alert,
                at,
            };
            // A touch is never refused (its only answer to a known node is a sighting).
            let _ = store
                .execute(tenant, id, command, Context::new_root())
                .await?;
            recent.note(tenant, &facts.key, node_type, at);
        }
        for edge in inventory.edges {
            // Both ends were just touched; a node removed in between refuses, which is its due.
            let (from, command) = edge.connect(tenant.as_str(), at);
            if let Err(refusal) = store
                .execute(tenant, from, command, Context::new_root())
                .await?
            {
                tracing::warn!(%tenant, %refusal, "an edge an alert's labels name was refused");
            }
        }
        Ok(())
    }

    /// The node of `named.service` exists from now on, or is seen again. A name that is no valid
    /// key (empty) names no node.
    async fn touch(&self, tenant: &TenantId, named: Named) -> Result<(), GraphError> {
        let Ok(key) = NodeKey::parse(&named.service) else {
            return Ok(());
        };
        let recent = &self.inner.recent;
        if recent.covers(tenant, &key, NodeType::Service, named.at) {
            return Ok(());
        }
        let id = service_id(tenant.as_str(), &key);
        let command = ServiceCommand::Touch {
            key: key.clone(),
            name: named.service,
            node_type: NodeType::Service,
            by: named.by,
            at: named.at,
        };
        // A touch is never refused (its only answer to a known node is a sighting).
        let _ = self
            .inner
            .services
            .execute(tenant, id, command, Context::new_root())
            .await?;
        recent.note(tenant, &key, NodeType::Service, named.at);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use super::*;

    #[test]
    fn a_touch_within_the_granularity_of_the_last_is_covered_and_a_later_one_is_not() {
        let recent = Recent::default();
        let tenant = |t: &str| TenantId::parse(t).expect("a tenant");
        let (acme, globex) = (tenant("acme"), tenant("globex"));
        let key = NodeKey::parse("checkout").expect("a key");
        let at = Utc
            .with_ymd_and_hms(2026, 12, 4, 10, 0, 0)
            .single()
            .expect("a time");
        let service = NodeType::Service;
        assert!(!recent.covers(&acme, &key, service, at), "never touched");
        recent.note(&acme, &key, service, at);
        assert!(recent.covers(&acme, &key, service, at));
        let earlier = at - TimeDelta::minutes(1);
        assert!(
            recent.covers(&acme, &key, service, earlier),
            "an older sighting"
        );
        let soon = at + SEEN_GRANULARITY - TimeDelta::seconds(1);
        assert!(recent.covers(&acme, &key, service, soon));
        let later = at + SEEN_GRANULARITY;
        assert!(
            !recent.covers(&acme, &key, service, later),
            "the node's rule records it"
        );
        assert!(
            !recent.covers(&globex, &key, service, at),
            "another tenant's node"
        );
        assert!(
            !recent.covers(&acme, &key, NodeType::Workload, at),
            "a workload may take the place of a service only an alert named"
        );
    }
}
