//! The graph as it stood at a past moment: a tenant's service events, in the order they were
//! stored, folded up to that moment. The correlation dry run scores topology on it, so each
//! delivery is decided again on the edges that existed when it arrived, not on today's.
//!
//! It yields what the read model would have held then: a `DEPENDS_ON` edge counts while both of
//! its nodes exist (`service_edges` joined on both ends).

use std::collections::HashMap;
use std::iter::Peekable;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::event::ServiceEvent;
use super::node::EdgeKind;
use super::state::ServiceState;
use crate::correlation::ServiceGraph;

/// One stored service event: when it was stored, and the node it belongs to.
#[derive(Debug, Clone)]
pub struct StoredServiceEvent {
    pub at: DateTime<Utc>,
    pub node: Uuid,
    pub event: ServiceEvent,
}

/// A tenant's service events, walked forward in time.
pub struct GraphHistory {
    events: Peekable<std::vec::IntoIter<StoredServiceEvent>>,
    nodes: HashMap<Uuid, ServiceState>,
    graph: ServiceGraph,
    /// Whether an event folded since `graph` was built could change its edges.
    dirty: bool,
}

impl GraphHistory {
    /// `events` in the order they were stored.
    pub fn new(events: Vec<StoredServiceEvent>) -> Self {
        Self {
            events: events.into_iter().peekable(),
            nodes: HashMap::new(),
            graph: ServiceGraph::new(),
            dirty: false,
        }
    }

    /// The graph with every event stored at or before `moment` folded in. Moments are asked in
    /// the order of time: one earlier than a moment already asked gives that moment's graph.
    pub fn at(&mut self, moment: DateTime<Utc>) -> &ServiceGraph {
        while let Some(next) = self.events.next_if(|e| e.at <= moment) {
            // Sightings move `last_seen` and stale marks only: the edges stay as they were.
            self.dirty |= !matches!(
                next.event,
                ServiceEvent::Seen { .. } | ServiceEvent::MarkedStale { .. }
            );
            let node = self.nodes.remove(&next.node).unwrap_or_default();
            self.nodes.insert(next.node, node.apply(next.event));
        }
        if self.dirty {
            self.graph = self.edges().collect();
            self.dirty = false;
        }
        &self.graph
    }

    fn edges(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        let nodes = &self.nodes;
        nodes
            .values()
            .filter_map(|node| Some((node, node.facts.as_ref()?)))
            .flat_map(move |(node, from)| {
                node.edges
                    .iter()
                    .filter(|e| e.kind == EdgeKind::DependsOn)
                    .filter_map(move |e| {
                        let to = nodes.get(&e.to)?.facts.as_ref()?;
                        Some((from.key.as_str(), to.key.as_str()))
                    })
            })
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::service::node::{Edge, EdgeOrigin, NodeFacts, NodeKey};
    use crate::service::{service_id, Sighting};

    fn key(name: &str) -> NodeKey {
        NodeKey::parse(name).expect("a key")
    }

    fn node(name: &str) -> Uuid {
        service_id("t1", &key(name))
    }

    fn at(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0)
            .single()
            .expect("a time")
            + Duration::minutes(minute)
    }

    fn discovered(minute: i64, name: &str) -> StoredServiceEvent {
        StoredServiceEvent {
            at: at(minute),
            node: node(name),
            event: ServiceEvent::Discovered {
                facts: NodeFacts::observed(key(name), name),
                by: Sighting::Alert,
                at: at(minute),
            },
        }
    }

    fn depends(minute: i64, from: &str, to: &str) -> StoredServiceEvent {
        StoredServiceEvent {
            at: at(minute),
            node: node(from),
            event: ServiceEvent::DependencyDeclared {
                edge: Edge {
                    to: node(to),
                    to_key: key(to),
                    kind: EdgeKind::DependsOn,
                    confidence: 1.0,
                    origin: EdgeOrigin::Declared,
                    declared_by: Some("admin@acme.io".into()),
                },
                at: at(minute),
            },
        }
    }

    fn removed(minute: i64, name: &str) -> StoredServiceEvent {
        StoredServiceEvent {
            at: at(minute),
            node: node(name),
            event: ServiceEvent::Removed { at: at(minute) },
        }
    }

    fn upstream(graph: &ServiceGraph, of: &str) -> Vec<String> {
        let mut names: Vec<String> = graph.upstream_depths(of, 3).into_keys().collect();
        names.sort();
        names
    }

    #[test]
    fn an_edge_counts_from_its_event_on_and_while_both_nodes_exist() {
        let mut history = GraphHistory::new(vec![
            discovered(0, "checkout"),
            discovered(0, "payments"),
            depends(10, "checkout", "payments"),
            removed(20, "payments"),
            discovered(30, "payments"),
        ]);
        assert!(
            history.at(at(5)).is_empty(),
            "no edge before it was declared"
        );
        assert_eq!(upstream(history.at(at(10)), "checkout"), ["payments"]);
        assert!(history.at(at(25)).is_empty(), "its target was removed");
        // Rediscovered, the target has the edge leading to it again, as the read model's join
        // of both ends shows it.
        assert_eq!(upstream(history.at(at(30)), "checkout"), ["payments"]);
        assert_eq!(history.at(at(31)).edge_count(), 1);
    }

    #[test]
    fn a_removed_node_loses_the_edges_it_had() {
        let mut history = GraphHistory::new(vec![
            discovered(0, "checkout"),
            discovered(0, "payments"),
            depends(1, "checkout", "payments"),
            removed(2, "checkout"),
            discovered(3, "checkout"),
        ]);
        assert_eq!(history.at(at(1)).edge_count(), 1);
        assert!(
            history.at(at(3)).is_empty(),
            "rediscovered without its edges"
        );
    }
}
