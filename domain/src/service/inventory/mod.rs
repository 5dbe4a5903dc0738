//! Provider inventories (the CLIs' JSON) → nodes and edges, as pure functions. The discovery job
//! runs the commands each parser names ([`kubernetes::COMMANDS`], …) through the agent's
//! executor and hands their output here; what comes back becomes commands on the nodes.
//!
//! Dependencies are inferred from what the inventory itself says: a Kubernetes service's host
//! name in a container's environment or in a config map it reads, an ingress's backends, a
//! Cloud Run service's Cloud SQL connection, a Lambda's event sources and environment, a load
//! balancer's target groups. Each edge says how it was found and how sure that is
//! ([`EdgeOrigin::confidence`]).

pub mod alert;
pub mod aws;
pub mod azure;
pub mod gcp;
pub mod kubernetes;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::node::{Edge, EdgeKind, EdgeOrigin, NodeFacts, NodeKey, NodeType, Provider};
use super::{service_id, ServiceCommand};

/// What one provider's inventory shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inventory {
    /// One per key, in the order first listed.
    pub nodes: Vec<NodeFacts>,
    /// Every edge's ends are among `nodes`; no edge is a self-loop.
    pub edges: Vec<ObservedEdge>,
}

/// An edge an inventory shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedEdge {
    pub from: NodeKey,
    pub to: NodeKey,
    pub kind: EdgeKind,
    pub origin: EdgeOrigin,
}

impl ObservedEdge {
    /// The command that records this edge on its dependent node, and that node's id, at `at`:
    /// both ends are nodes of the same inventory, recorded before its edges.
    pub fn connect(self, tenant: &str, at: DateTime<Utc>) -> (Uuid, ServiceCommand) {
        let from = service_id(tenant, &self.from);
        let edge = Edge {
            to: service_id(tenant, &self.to),
            to_key: self.to,
            kind: self.kind,
            confidence: self.origin.confidence(),
            origin: self.origin,
            declared_by: None,
        };
        let command = ServiceCommand::Connect {
            from: self.from,
            edge,
            target_exists: true,
            at,
        };
        (from, command)
    }
}

/// An inventory's output that does not read.
#[derive(Debug, thiserror::Error)]
#[error("the output of `{command}` is not the JSON expected: {source}")]
pub struct InventoryError {
    pub command: String,
    #[source]
    pub source: serde_json::Error,
}

/// Reads the output of `command` as `T` (an empty output is an empty list, as some CLIs print
/// nothing when there is nothing).
pub(crate) fn read<T: DeserializeOwned + Default>(
    command: &str,
    output: &str,
) -> Result<T, InventoryError> {
    if output.trim().is_empty() {
        return Ok(T::default());
    }
    serde_json::from_str(output).map_err(|source| InventoryError {
        command: command.to_owned(),
        source,
    })
}

/// Builds an inventory: nodes keyed once, edges checked against them.
#[derive(Debug, Default)]
pub(crate) struct Builder {
    inventory: Inventory,
    index: HashMap<NodeKey, usize>,
    /// Host names and other aliases (lower case) → the node they name.
    aliases: HashMap<String, NodeKey>,
}

impl Builder {
    /// Adds a node unless its key is there already; a workload takes the place of a plain
    /// service of the same name (a Kubernetes service named like its deployment).
    pub(crate) fn node(
        &mut self,
        key: NodeKey,
        name: &str,
        node_type: NodeType,
        provider: Provider,
        region: Option<String>,
        labels: BTreeMap<String, String>,
    ) -> NodeKey {
        let facts = NodeFacts {
            key: key.clone(),
            name: name.to_owned(),
            node_type,
            provider,
            region,
            labels,
        };
        match self.index.get(&key) {
            Some(&at) => {
                if self.inventory.nodes[at].node_type == NodeType::Service
                    && node_type != NodeType::Service
                {
                    self.inventory.nodes[at] = facts;
                }
            }
            None => {
                self.index.insert(key.clone(), self.inventory.nodes.len());
                self.inventory.nodes.push(facts);
            }
        }
        key
    }

    /// Lets `alias` (a host name, an endpoint, an ARN) stand for `key` in [`Builder::references`].
    pub(crate) fn alias(&mut self, alias: &str, key: &NodeKey) {
        let alias = alias.trim().to_lowercase();
        if !alias.is_empty() {
            self.aliases.insert(alias, key.clone());
        }
    }

    /// Adds an edge between two listed nodes (anything else, and self-loops, are left out).
    pub(crate) fn edge(
        &mut self,
        from: &NodeKey,
        to: &NodeKey,
        kind: EdgeKind,
        origin: EdgeOrigin,
    ) {
        let edge = ObservedEdge {
            from: from.clone(),
            to: to.clone(),
            kind,
            origin,
        };
        if from != to
            && self.index.contains_key(from)
            && self.index.contains_key(to)
            && !self.inventory.edges.contains(&edge)
        {
            self.inventory.edges.push(edge);
        }
    }

    /// The nodes `text` names by one of their aliases: the text is cut into host-like tokens
    /// (`http://payments.shop.svc.cluster.local:8080/v1` holds `payments.shop.svc.cluster.local`).
    pub(crate) fn references(&self, text: &str) -> Vec<NodeKey> {
        let mut found = Vec::new();
        for token in text
            .to_lowercase()
            .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
            .filter(|t| !t.is_empty())
        {
            if let Some(key) = self.aliases.get(token) {
                if !found.contains(key) {
                    found.push(key.clone());
                }
            }
        }
        found
    }

    /// Edges from `from` to every node `text` names.
    pub(crate) fn edges_to_references(&mut self, from: &NodeKey, text: &str, origin: EdgeOrigin) {
        for to in self.references(text) {
            self.edge(from, &to, EdgeKind::DependsOn, origin);
        }
    }

    pub(crate) fn finish(self) -> Inventory {
        self.inventory
    }
}

/// The last segment of a `/`-separated path or URL (`…/zones/europe-west1-b` → `europe-west1-b`).
pub(crate) fn last_segment(path: &str) -> &str {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(path)
}

/// The region of an availability zone (`eu-west-1a` → `eu-west-1`, `europe-west1-b` →
/// `europe-west1`).
pub(crate) fn region_of_zone(zone: &str) -> String {
    let zone = zone.trim();
    if let Some((region, suffix)) = zone.rsplit_once('-') {
        if suffix.len() == 1 && suffix.chars().all(|c| c.is_ascii_lowercase()) {
            return region.to_owned();
        }
    }
    // AWS zones end in a letter without a dash.
    match zone.char_indices().last() {
        Some((at, c))
            if c.is_ascii_lowercase() && zone[..at].ends_with(|d: char| d.is_ascii_digit()) =>
        {
            zone[..at].to_owned()
        }
        _ => zone.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_observed_edge_connects_its_dependent_to_its_dependency_by_their_ids() {
        let key = |k: &str| NodeKey::parse(k).expect("a key");
        let at = Utc::now();
        let observed = ObservedEdge {
            from: key("k8s:prod:shop:deployment:checkout"),
            to: key("k8s:prod:shop:service:payments"),
            kind: EdgeKind::DependsOn,
            origin: EdgeOrigin::EnvVar,
        };
        let (id, command) = observed.clone().connect("acme", at);
        assert_eq!(id, service_id("acme", &observed.from));
        let ServiceCommand::Connect {
            from,
            edge,
            target_exists,
            at: when,
        } = command
        else {
            panic!("a connect: {command:?}");
        };
        assert_eq!(from, observed.from);
        assert_eq!(edge.to, service_id("acme", &observed.to));
        assert_eq!(edge.to_key, observed.to);
        assert_eq!(edge.confidence, EdgeOrigin::EnvVar.confidence());
        assert_eq!(edge.declared_by, None);
        assert!(target_exists);
        assert_eq!(when, at);
    }

    #[test]
    fn zones_give_their_region() {
        assert_eq!(region_of_zone("europe-west1-b"), "europe-west1");
        assert_eq!(region_of_zone("eu-west-1a"), "eu-west-1");
        assert_eq!(region_of_zone("westeurope"), "westeurope");
    }

    #[test]
    fn references_are_host_like_tokens_naming_an_alias() {
        let mut builder = Builder::default();
        let payments = NodeKey::parse("payments").expect("key");
        builder.alias("payments.shop.svc.cluster.local", &payments);
        builder.alias("payments", &payments);
        assert_eq!(
            builder.references("http://payments.shop.svc.cluster.local:8080/v1"),
            std::slice::from_ref(&payments)
        );
        assert_eq!(builder.references("payments:8080,payments"), [payments]);
        assert!(builder.references("paymentsx.example").is_empty());
    }
}
