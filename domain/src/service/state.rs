//! A node as its events leave it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::event::ServiceEvent;
use super::node::{Edge, EdgeKind, NodeFacts};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceState {
    /// `None` before the first sighting and after removal.
    pub facts: Option<NodeFacts>,
    pub first_seen: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    pub stale_since: Option<DateTime<Utc>>,
    /// Edges leaving it, one per target and kind, in the order first seen.
    pub edges: Vec<Edge>,
}

impl ServiceState {
    /// Whether the node is in the graph (seen, and not removed since).
    pub fn exists(&self) -> bool {
        self.facts.is_some()
    }

    pub fn is_stale(&self) -> bool {
        self.stale_since.is_some()
    }

    /// The edge to `to` of `kind`, if there is one.
    pub fn edge(&self, to: Uuid, kind: EdgeKind) -> Option<&Edge> {
        self.edges.iter().find(|e| e.to == to && e.kind == kind)
    }

    pub(super) fn apply(mut self, event: ServiceEvent) -> Self {
        match event {
            ServiceEvent::Discovered { facts, at, .. } => {
                if self.facts.is_none() {
                    self.first_seen = Some(at);
                }
                self.facts = Some(facts);
                self.seen(at);
            }
            ServiceEvent::Seen { at, .. } => self.seen(at),
            ServiceEvent::DependencyObserved { edge, .. }
            | ServiceEvent::DependencyDeclared { edge, .. } => {
                match self
                    .edges
                    .iter_mut()
                    .find(|e| e.to == edge.to && e.kind == edge.kind)
                {
                    Some(known) => *known = edge,
                    None => self.edges.push(edge),
                }
            }
            ServiceEvent::MarkedStale { at, .. } => self.stale_since = Some(at),
            ServiceEvent::Removed { .. } => self = Self::default(),
        }
        self
    }

    fn seen(&mut self, at: DateTime<Utc>) {
        self.last_seen = Some(self.last_seen.map_or(at, |last| last.max(at)));
        self.stale_since = None;
    }
}
