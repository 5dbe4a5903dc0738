//! What may be asked of a node, and how it decides.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::ServiceError;
use super::event::{ServiceEvent, Sighting};
use super::node::{Edge, EdgeOrigin, NodeFacts, NodeKey, NodeType, Provider};
use super::rules::{removal_due, stale_due, valid_confidence, SEEN_GRANULARITY};
use super::state::ServiceState;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServiceCommand {
    /// An inventory lists the node with these facts.
    Discover { facts: NodeFacts, at: DateTime<Utc> },
    /// An alert, a change or a declaration names the node: it exists from now on (as a node of
    /// `node_type` nobody listed), or is seen again (what an inventory said of it is kept).
    Touch {
        key: NodeKey,
        name: String,
        node_type: NodeType,
        by: Sighting,
        at: DateTime<Utc>,
    },
    /// An edge leaves the node. `target_exists` is looked up first (the target's own aggregate).
    Connect {
        from: NodeKey,
        edge: Edge,
        target_exists: bool,
        at: DateTime<Utc>,
    },
    /// The daily look: stale once unseen for long enough.
    MarkStale { now: DateTime<Utc> },
    /// The daily look: removed once stale for long enough.
    Remove { now: DateTime<Utc> },
}

type Decision = Result<Vec<ServiceEvent>, ServiceError>;

pub(crate) fn decide(state: &ServiceState, command: ServiceCommand) -> Decision {
    match command {
        ServiceCommand::Discover { facts, at } => Ok(discover(state, facts, at)),
        ServiceCommand::Touch {
            key,
            name,
            node_type,
            by,
            at,
        } => Ok(match &state.facts {
            None => vec![ServiceEvent::Discovered {
                facts: NodeFacts {
                    node_type,
                    ..NodeFacts::observed(key, &name)
                },
                by,
                at,
            }],
            // A pod's workload named like a service only an alert named so far: the workload
            // takes its place, as in an inventory ([`super::inventory`]'s builder).
            Some(known)
                if known.provider == Provider::Observed
                    && known.node_type == NodeType::Service
                    && node_type != NodeType::Service =>
            {
                vec![ServiceEvent::Discovered {
                    facts: NodeFacts {
                        node_type,
                        ..known.clone()
                    },
                    by,
                    at,
                }]
            }
            Some(_) => seen(state, by, at),
        }),
        ServiceCommand::Connect {
            from,
            edge,
            target_exists,
            at,
        } => connect(state, from, edge, target_exists, at),
        ServiceCommand::MarkStale { now } => Ok(match (state.exists(), state.last_seen) {
            (true, Some(last_seen)) if !state.is_stale() && stale_due(last_seen, now) => {
                vec![ServiceEvent::MarkedStale { last_seen, at: now }]
            }
            _ => vec![],
        }),
        ServiceCommand::Remove { now } => Ok(match state.stale_since {
            Some(since) if state.exists() && removal_due(since, now) => {
                vec![ServiceEvent::Removed { at: now }]
            }
            _ => vec![],
        }),
    }
}

/// New facts are taken from the provider that owns the node (the first inventory to list it;
/// a node only observed so far belongs to whichever lists it first); another provider listing a
/// node of the same name only sees it, so two inventories never overwrite each other hourly.
fn discover(state: &ServiceState, facts: NodeFacts, at: DateTime<Utc>) -> Vec<ServiceEvent> {
    let by = Sighting::Discovery;
    match &state.facts {
        None => vec![ServiceEvent::Discovered { facts, by, at }],
        Some(known) if *known == facts => seen(state, by, at),
        Some(known) if known.provider != Provider::Observed && known.provider != facts.provider => {
            seen(state, by, at)
        }
        Some(_) => vec![ServiceEvent::Discovered { facts, by, at }],
    }
}

/// A sighting of a node that exists: recorded unless the last one is recent (and the node not
/// stale), or later than this one.
fn seen(state: &ServiceState, by: Sighting, at: DateTime<Utc>) -> Vec<ServiceEvent> {
    match state.last_seen {
        Some(last) if !state.is_stale() && at - last < SEEN_GRANULARITY => vec![],
        _ => vec![ServiceEvent::Seen { by, at }],
    }
}

fn connect(
    state: &ServiceState,
    from: NodeKey,
    edge: Edge,
    target_exists: bool,
    at: DateTime<Utc>,
) -> Decision {
    if !state.exists() {
        return Err(ServiceError::Unknown(from));
    }
    if edge.to_key == from {
        return Err(ServiceError::SelfLoop(edge.to_key));
    }
    if !target_exists {
        return Err(ServiceError::UnknownTarget(edge.to_key));
    }
    if !valid_confidence(edge.confidence) {
        return Err(ServiceError::BadConfidence(edge.confidence));
    }
    let declared = edge.origin == EdgeOrigin::Declared;
    match state.edge(edge.to, edge.kind) {
        Some(known) if *known == edge => return Ok(vec![]),
        // What a person declared is not taken back by a discovery.
        Some(known) if known.origin == EdgeOrigin::Declared && !declared => return Ok(vec![]),
        _ => {}
    }
    Ok(vec![if declared {
        ServiceEvent::DependencyDeclared { edge, at }
    } else {
        ServiceEvent::DependencyObserved { edge, at }
    }])
}
