//! The service aggregate: one node of a tenant's service graph (SPEC §8) — a service, a cluster,
//! a namespace, a database, a queue, a function… — with the edges that leave it (`DEPENDS_ON`,
//! `DEPLOYED_IN`).
//!
//! A node is found three ways: by discovery (a provider's inventory, parsed by [`inventory`]), by
//! an alert or a change naming it, or by a person declaring an edge to it. Its id is derived from
//! the tenant and its [`NodeKey`] ([`service_id`]), so every way finds the same aggregate without
//! a lookup. An edge lives on the node it leaves ("`from` depends on `to`"); a person's declared
//! edge has confidence 1.0, a discovered one says how it was found and how sure that is.
//!
//! Time is passed in (`at`, `now`): a node unseen for [`STALE_AFTER`] is marked stale, a stale
//! node for [`REMOVE_AFTER`] more is removed — both events, so a replay agrees with the live graph.
//! The rules are in [`rules`], the nodes' vocabulary in [`node`].

mod command;
mod error;
mod event;
mod history;
pub mod inventory;
pub mod node;
pub mod request;
pub mod rules;
mod state;

#[cfg(test)]
mod tests;

use uuid::Uuid;

pub use command::ServiceCommand;
pub use error::ServiceError;
pub use event::{ServiceEvent, Sighting};
pub use history::{GraphHistory, StoredServiceEvent};
pub use node::{Edge, EdgeKind, EdgeOrigin, NodeFacts, NodeKey, NodeKeyError, NodeType, Provider};
pub use request::{DiscoveryRequest, DISCOVERY_SUBJECT_TYPE};
pub use rules::{Depth, DepthError, REMOVE_AFTER, SEEN_GRANULARITY, STALE_AFTER};
pub use state::ServiceState;

crate::aggregate::aggregate!(
    /// The service aggregate (stored under the name `service`).
    Service = "service", command::decide,
    ServiceState, ServiceCommand, ServiceEvent, ServiceError
);

/// The id of the node `key` of `tenant`: the same whoever finds it (discovery, an alert, a
/// change, a declared edge).
pub fn service_id(tenant: &str, key: &NodeKey) -> Uuid {
    Uuid::new_v5(
        &Uuid::NAMESPACE_OID,
        format!("aurora:{tenant}:service:{}", key.as_str()).as_bytes(),
    )
}
