//! What an alert's Kubernetes labels say about the graph, as an inventory of observed nodes:
//! its cluster, namespace, the workload that owns its pod and its service, each `DEPLOYED_IN`
//! the next as [`super::kubernetes`] places what `kubectl` lists — the same keys
//! ([`NodeKey::cluster`], [`NodeKey::namespace`], workloads by name), so a node an alert names
//! and the one discovery lists are one node. Pods are no nodes there (only their owners are), so
//! here neither: a pod names its workload.

use std::collections::BTreeMap;

use super::{Builder, Inventory};
use crate::intake::{Placement, UNKNOWN_SERVICE};
use crate::service::node::{EdgeKind, EdgeOrigin, NodeKey, NodeType, Provider};

/// The characters of a pod-template hash and of a pod's random suffix (Kubernetes' `SafeEncodeString`:
/// no vowels, so no words).
const POD_HASH_ALPHABET: &str = "bcdfghjklmnpqrstvwxz2456789";

/// The nodes and edges `placement` and `service` name. A part that is no valid key is left out,
/// with its edges; the service nobody named ([`UNKNOWN_SERVICE`]) is placed nowhere.
pub fn parse(service: &str, placement: &Placement) -> Inventory {
    let mut b = Builder::default();
    let observed = |b: &mut Builder, key: NodeKey, name: &str, node_type: NodeType| {
        b.node(
            key,
            name,
            node_type,
            Provider::Observed,
            None,
            BTreeMap::new(),
        )
    };
    let cluster = placement.cluster.as_deref().and_then(|name| {
        let key = NodeKey::cluster(name).ok()?;
        Some(observed(&mut b, key, name, NodeType::KubernetesCluster))
    });
    let namespace = placement.namespace.as_deref().and_then(|name| {
        let key = NodeKey::namespace(name).ok()?;
        Some(observed(&mut b, key, name, NodeType::KubernetesNamespace))
    });
    if let (Some(ns), Some(cluster)) = (&namespace, &cluster) {
        b.edge(ns, cluster, EdgeKind::DeployedIn, EdgeOrigin::Placement);
    }
    let workload = placement
        .pod
        .as_deref()
        .and_then(workload_of_pod)
        .and_then(|name| {
            let key = NodeKey::parse(name).ok()?;
            Some(observed(&mut b, key, name, NodeType::Workload))
        });
    let service = (service.trim() != UNKNOWN_SERVICE)
        .then(|| NodeKey::parse(service).ok())
        .flatten()
        .map(|key| observed(&mut b, key, service, NodeType::Service));
    if let Some(ns) = &namespace {
        for placed in [&workload, &service].into_iter().flatten() {
            b.edge(placed, ns, EdgeKind::DeployedIn, EdgeOrigin::Placement);
        }
    }
    b.finish()
}

/// The workload a pod belongs to, by the names Kubernetes gives pods: a deployment's
/// `<deployment>-<template hash>-<suffix>`, a daemon set's or a job's `<owner>-<suffix>`, a
/// stateful set's `<statefulset>-<ordinal>`. A name of none of these shapes (a bare pod) names
/// no workload.
pub fn workload_of_pod(pod: &str) -> Option<&str> {
    let pod = pod.trim();
    let hashed = |part: &str, len: std::ops::RangeInclusive<usize>| {
        len.contains(&part.len()) && part.chars().all(|c| POD_HASH_ALPHABET.contains(c))
    };
    let (rest, last) = pod.rsplit_once('-')?;
    if rest.is_empty() {
        return None;
    }
    if last.chars().all(|c| c.is_ascii_digit()) && !last.is_empty() {
        return Some(rest);
    }
    if !hashed(last, 5..=5) {
        return None;
    }
    match rest.rsplit_once('-') {
        Some((deployment, template)) if !deployment.is_empty() && hashed(template, 6..=10) => {
            Some(deployment)
        }
        _ => Some(rest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::inventory::ObservedEdge;

    fn key(k: &str) -> NodeKey {
        NodeKey::parse(k).expect("key")
    }

    fn deployed_in(from: &str, to: &str) -> ObservedEdge {
        ObservedEdge {
            from: key(from),
            to: key(to),
            kind: EdgeKind::DeployedIn,
            origin: EdgeOrigin::Placement,
        }
    }

    #[test]
    fn pods_name_their_workloads() {
        assert_eq!(
            workload_of_pod("checkout-7d9f8b6c4-x2x5z"),
            Some("checkout")
        );
        assert_eq!(workload_of_pod("payments-db-0"), Some("payments-db"));
        assert_eq!(
            workload_of_pod("node-exporter-q8k2d"),
            Some("node-exporter")
        );
        assert_eq!(
            workload_of_pod("nightly-report-28893410-vkq7t"),
            Some("nightly-report-28893410")
        );
        // Vowels are never in a generated suffix; a bare pod names no workload.
        assert_eq!(workload_of_pod("api-gateway"), None);
        assert_eq!(workload_of_pod("my-app-stats"), None);
        assert_eq!(workload_of_pod("standalone"), None);
        assert_eq!(workload_of_pod("-0"), None);
    }

    #[test]
    fn labels_become_nodes_placed_as_kubectl_places_them() {
        let placement = Placement {
            cluster: Some("prod-eu".into()),
            namespace: Some("shop".into()),
            pod: Some("checkout-7d9f8b6c4-x2x5z".into()),
        };
        let inv = parse("Checkout-API", &placement);
        let types: Vec<(&str, NodeType, Provider)> = inv
            .nodes
            .iter()
            .map(|n| (n.key.as_str(), n.node_type, n.provider))
            .collect();
        assert_eq!(
            types,
            vec![
                (
                    "cluster:prod-eu",
                    NodeType::KubernetesCluster,
                    Provider::Observed
                ),
                (
                    "namespace:shop",
                    NodeType::KubernetesNamespace,
                    Provider::Observed
                ),
                ("checkout", NodeType::Workload, Provider::Observed),
                ("checkout-api", NodeType::Service, Provider::Observed),
            ]
        );
        assert_eq!(
            inv.edges,
            vec![
                deployed_in("namespace:shop", "cluster:prod-eu"),
                deployed_in("checkout", "namespace:shop"),
                deployed_in("checkout-api", "namespace:shop"),
            ]
        );
    }

    #[test]
    fn a_service_named_like_its_workload_is_one_node() {
        let placement = Placement {
            cluster: None,
            namespace: Some("shop".into()),
            pod: Some("checkout-7d9f8b6c4-x2x5z".into()),
        };
        let inv = parse("checkout", &placement);
        assert_eq!(inv.nodes.len(), 2);
        assert_eq!(inv.nodes[1].node_type, NodeType::Workload);
        assert_eq!(inv.edges, vec![deployed_in("checkout", "namespace:shop")]);
    }

    #[test]
    fn the_unnamed_service_and_missing_parts_place_nothing() {
        let inv = parse(UNKNOWN_SERVICE, &Placement::default());
        assert!(inv.nodes.is_empty() && inv.edges.is_empty());
        let only_cluster = Placement {
            cluster: Some("prod".into()),
            ..Placement::default()
        };
        let inv = parse(UNKNOWN_SERVICE, &only_cluster);
        assert_eq!(inv.nodes.len(), 1);
        assert!(inv.edges.is_empty());
        // A service without a namespace is a node, placed nowhere.
        let inv = parse("billing", &only_cluster);
        assert_eq!(inv.nodes.len(), 2);
        assert!(inv.edges.is_empty());
    }
}
