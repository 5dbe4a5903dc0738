//! What happened to a node. Each event carries what the read model shows, so the graph's tables
//! are written from the events alone.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::node::{Edge, NodeFacts};
use crate::event::DomainEvent;

/// Who saw a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sighting {
    /// A provider's inventory.
    Discovery,
    /// An alert named it as its service.
    Alert,
    /// A change (deployment, merge, build) named it.
    Change,
    /// A person declared an edge to or from it.
    Declaration,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServiceEvent {
    /// First seen (or seen again after its removal), or seen with other facts.
    Discovered {
        facts: NodeFacts,
        by: Sighting,
        at: DateTime<Utc>,
    },
    /// Seen again as it was; clears a stale mark.
    Seen { by: Sighting, at: DateTime<Utc> },
    /// An inventory shows an edge leaving this node (new, or with another confidence or origin).
    DependencyObserved { edge: Edge, at: DateTime<Utc> },
    /// A person declared an edge leaving this node (confidence 1.0).
    DependencyDeclared { edge: Edge, at: DateTime<Utc> },
    /// Unseen since `last_seen`, for [`super::STALE_AFTER`] or more.
    MarkedStale {
        last_seen: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    /// Stale for [`super::REMOVE_AFTER`]: gone from the graph, with its edges.
    Removed { at: DateTime<Utc> },
}

impl DomainEvent for ServiceEvent {
    crate::event::event_types! {
        Discovered => "service.discovered",
        Seen => "service.seen",
        DependencyObserved => "service.dependency_observed",
        DependencyDeclared => "service.dependency_declared",
        MarkedStale => "service.marked_stale",
        Removed => "service.removed",
    }
}

impl esrs::event::Upcaster for ServiceEvent {
    fn current_version() -> Option<i32> {
        Some(1)
    }
}
