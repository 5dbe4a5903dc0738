//! A tenant's service dependency graph, as far as correlation needs it.
//!
//! Each edge says "`service` depends on `depends_on`" (a `DEPENDS_ON` edge upstream). Seen from one
//! service, *upstream* are the services it depends on, directly or through others, and
//! *downstream* the services that depend on it. The caller loads the tenant's edges from wherever
//! the topology lives; this type only walks them.

use std::collections::{BTreeSet, HashMap, HashSet};

/// Services and their `DEPENDS_ON` edges. An empty graph means "no topology known", which makes
/// topology scoring fall back to comparing service names (see [`super::topology_score`]).
#[derive(Debug, Clone, Default)]
pub struct ServiceGraph {
    /// service → the services it depends on.
    depends_on: HashMap<String, BTreeSet<String>>,
    /// service → the services that depend on it.
    dependents: HashMap<String, BTreeSet<String>>,
}

impl ServiceGraph {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `service` depends on `depends_on`. Adding an edge twice changes nothing.
    pub fn add_dependency(&mut self, service: &str, depends_on: &str) {
        self.depends_on
            .entry(service.to_owned())
            .or_default()
            .insert(depends_on.to_owned());
        self.dependents
            .entry(depends_on.to_owned())
            .or_default()
            .insert(service.to_owned());
    }

    /// True when no edge is known.
    pub fn is_empty(&self) -> bool {
        self.depends_on.is_empty()
    }

    /// How many `DEPENDS_ON` edges it holds.
    pub fn edge_count(&self) -> usize {
        self.depends_on.values().map(BTreeSet::len).sum()
    }

    /// The services `service` depends on, each with its distance (shortest path, 1 = direct), up
    /// to `max_depth`. `service` itself is never in the answer, even on a cycle.
    pub fn upstream_depths(&self, service: &str, max_depth: u32) -> HashMap<String, u32> {
        depths(walk(&self.depends_on, service, max_depth))
    }

    /// The services that depend on `service`, each with its distance (shortest path, 1 = direct),
    /// up to `max_depth`. `service` itself is never in the answer, even on a cycle.
    pub fn downstream_depths(&self, service: &str, max_depth: u32) -> HashMap<String, u32> {
        depths(walk(&self.dependents, service, max_depth))
    }

    /// The services `service` depends on up to `max_depth`, each with a shortest path to it
    /// (`service` first, the service last).
    pub fn upstream_paths(&self, service: &str, max_depth: u32) -> HashMap<String, Vec<String>> {
        walk(&self.depends_on, service, max_depth)
    }

    /// The services that depend on `service` up to `max_depth`, each with a shortest path from
    /// `service` to it against the edges (`service` first, the dependent last).
    pub fn downstream_paths(&self, service: &str, max_depth: u32) -> HashMap<String, Vec<String>> {
        walk(&self.dependents, service, max_depth)
    }
}

/// Builds a graph from `(service, depends_on)` pairs.
impl<S: AsRef<str>, D: AsRef<str>> FromIterator<(S, D)> for ServiceGraph {
    fn from_iter<I: IntoIterator<Item = (S, D)>>(edges: I) -> Self {
        let mut graph = Self::new();
        for (service, depends_on) in edges {
            graph.add_dependency(service.as_ref(), depends_on.as_ref());
        }
        graph
    }
}

/// Each path's length in hops.
fn depths(paths: HashMap<String, Vec<String>>) -> HashMap<String, u32> {
    paths
        .into_iter()
        .map(|(service, path)| {
            let hops = u32::try_from(path.len().saturating_sub(1)).unwrap_or(u32::MAX);
            (service, hops)
        })
        .collect()
}

/// Breadth first from `start`, so each service is found at its shortest distance, with the path
/// that reached it.
fn walk<'a>(
    edges: &'a HashMap<String, BTreeSet<String>>,
    start: &'a str,
    max_depth: u32,
) -> HashMap<String, Vec<String>> {
    let mut paths: HashMap<String, Vec<String>> = HashMap::new();
    let mut seen: HashSet<&str> = HashSet::from([start]);
    let mut frontier: Vec<(&str, Vec<String>)> = vec![(start, vec![start.to_owned()])];
    for _ in 1..=max_depth {
        let mut next = Vec::new();
        for (service, path) in frontier {
            for neighbour in edges.get(service).into_iter().flatten() {
                if seen.insert(neighbour.as_str()) {
                    let mut reached = path.clone();
                    reached.push(neighbour.clone());
                    paths.insert(neighbour.clone(), reached.clone());
                    next.push((neighbour.as_str(), reached));
                }
            }
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    paths
}
