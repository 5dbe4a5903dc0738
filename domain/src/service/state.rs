//! A node as its events leave it.

use std::collections::BTreeMap;

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
    /// Edges leaving it, by target and kind.
    pub edges: BTreeMap<(Uuid, EdgeKind), Edge>,
}

impl ServiceState {
    /// Whether the node is in the graph (seen, and not removed since).
    pub fn exists(&self) -> bool {
        self.facts.is_some()
    }

    pub fn is_stale(&self) -> bool {
        self.stale_since.is_some()
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
                self.edges.insert((edge.to, edge.kind), edge);
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
