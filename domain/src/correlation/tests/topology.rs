//! The topology component: distance in the service graph, and the service-name fallback without one.

use super::*;

#[test]
fn the_alerts_own_service_scores_full_topology_with_or_without_a_graph() {
    assert_eq!(
        topology_score("checkout", &["web", "checkout"], &topology()),
        1.0
    );
    assert_eq!(topology_score("checkout", &["checkout"], &no_graph()), 1.0);
}

#[test]
fn an_upstream_service_scores_by_its_distance_up_to_three_hops() {
    let graph = topology();
    assert_eq!(topology_score("checkout", &["payments"], &graph), 1.0);
    assert_eq!(topology_score("checkout", &["ledger"], &graph), 0.7);
    assert_eq!(topology_score("checkout", &["postgres"], &graph), 0.4);
    assert_eq!(topology_score("checkout", &["disk"], &graph), 0.0);
}

#[test]
fn a_downstream_service_scores_by_its_distance_up_to_three_hops() {
    let graph = topology();
    assert_eq!(topology_score("checkout", &["web"], &graph), 0.8);
    assert_eq!(topology_score("checkout", &["cdn"], &graph), 0.5);
    assert_eq!(topology_score("checkout", &["dns"], &graph), 0.2);
    assert_eq!(topology_score("checkout", &["edge"], &graph), 0.0);
}

#[test]
fn the_distance_is_the_shortest_path() {
    let mut graph = topology();
    graph.add_dependency("checkout", "postgres");
    assert_eq!(topology_score("checkout", &["postgres"], &graph), 1.0);
    assert_eq!(topology_score("checkout", &["disk"], &graph), 0.7);
}

#[test]
fn the_best_of_the_incidents_services_counts() {
    assert_eq!(
        topology_score("checkout", &["disk", "ledger", "web"], &topology()),
        0.8
    );
}

#[test]
fn a_service_both_upstream_and_downstream_scores_its_better_direction() {
    let mut graph = topology();
    // postgres is 3 hops upstream (0.4) and now also directly downstream (0.8).
    graph.add_dependency("postgres", "checkout");
    assert_eq!(topology_score("checkout", &["postgres"], &graph), 0.8);
}

#[test]
fn with_a_graph_an_unconnected_service_falls_back_to_its_name_and_says_so() {
    // {checkout} vs {checkout, db}: the graph connects neither, so the names decide.
    let found = topology_match("checkout", &["checkout-db"], &topology());
    assert_eq!(found.score, 0.5);
    assert_eq!(found.basis, TopologyBasis::NotConnected);
    assert_eq!(found.path, None);
}

#[test]
fn a_graph_score_names_the_path_that_gave_it() {
    let graph = topology();
    let up = topology_match("checkout", &["ledger"], &graph);
    assert_eq!((up.score, up.basis), (0.7, TopologyBasis::ServiceGraph));
    let path = up.path.expect("a path");
    assert_eq!(path.services, ["checkout", "payments", "ledger"]);
    assert_eq!(path.to_string(), "checkout → payments → ledger");
    let down = topology_match("checkout", &["cdn"], &graph);
    let path = down.path.expect("a path");
    assert_eq!(path.direction, PathDirection::Downstream);
    assert_eq!(path.to_string(), "checkout ← web ← cdn");
}

#[test]
fn without_a_graph_topology_falls_back_to_service_name_tokens() {
    // {checkout} vs {checkout, db}
    assert_eq!(
        topology_score("checkout", &["checkout-db"], &no_graph()),
        0.5
    );
    // {payments, api} vs {payments, worker}
    assert_close(
        topology_score("payments-api", &["payments-worker"], &no_graph()),
        1.0 / 3.0,
    );
    assert_eq!(topology_score("checkout", &["ledger"], &no_graph()), 0.0);
}

#[test]
fn an_empty_side_scores_no_topology() {
    assert_eq!(topology_score("", &["checkout"], &topology()), 0.0);
    assert_eq!(topology_score("", &[""], &no_graph()), 0.0);
    assert_eq!(topology_score("checkout", &[], &topology()), 0.0);
}

#[test]
fn an_incident_without_affected_services_is_compared_by_its_own_service() {
    let mut incident = candidate(1, "down", "checkout", 0);
    assert_eq!(incident.incident_services(), ["checkout"]);
    incident.affected_services.clear();
    assert_eq!(incident.incident_services(), ["checkout"]);
    incident.service.clear();
    assert!(incident.incident_services().is_empty());
}

#[test]
fn graph_depths_follow_edges_in_each_direction_and_stop_at_the_limit() {
    let graph = topology();
    let upstream = graph.upstream_depths("checkout", 3);
    assert_eq!(upstream.len(), 3);
    assert_eq!(upstream["payments"], 1);
    assert_eq!(upstream["ledger"], 2);
    assert_eq!(upstream["postgres"], 3);
    let downstream = graph.downstream_depths("checkout", 2);
    assert_eq!(downstream.len(), 2);
    assert_eq!(downstream["web"], 1);
    assert_eq!(downstream["cdn"], 2);
    assert!(graph.upstream_depths("unknown", 3).is_empty());
}

#[test]
fn a_cycle_never_leads_back_to_the_service_itself() {
    let graph: ServiceGraph = [("a", "b"), ("b", "a")].into_iter().collect();
    let upstream = graph.upstream_depths("a", 3);
    assert_eq!(upstream.len(), 1);
    assert_eq!(upstream["b"], 1);
}

#[test]
fn a_graph_is_empty_until_an_edge_is_added() {
    let mut graph = ServiceGraph::new();
    assert!(graph.is_empty());
    graph.add_dependency("checkout", "payments");
    assert!(!graph.is_empty());
}
