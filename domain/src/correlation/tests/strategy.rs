//! The weighted score and the strategy (the strongest component) it is labelled with.

use super::*;

#[test]
fn the_weighted_score_uses_the_settings_weights() {
    let defaults = CorrelationSettings::default();
    // 0.5 × 1 + 0.3 × 0.5 + 0.2 × 0.25
    assert_close(weighted_score(1.0, 0.5, 0.25, &defaults), 0.7);
    let settings = CorrelationSettings {
        topology_weight: 0.2,
        time_weight: 0.2,
        similarity_weight: 0.6,
        ..defaults
    };
    assert_close(weighted_score(1.0, 0.5, 0.25, &settings), 0.45);
}

#[test]
fn the_strategy_is_the_highest_raw_component() {
    assert_eq!(Strategy::dominant(0.2, 0.9, 0.5), Strategy::Time);
    assert_eq!(Strategy::dominant(0.2, 0.3, 0.4), Strategy::Similarity);
    assert_eq!(Strategy::dominant(0.8, 0.3, 0.4), Strategy::Topology);
}

#[test]
fn strategy_labels_are_upstreams_score_keys() {
    // Upstream's `scores` dict keys, of which `max(scores, key=scores.get)` is the strategy.
    assert_eq!(Strategy::Topology.as_str(), "topology");
    assert_eq!(Strategy::Time.as_str(), "time_window");
    assert_eq!(Strategy::Similarity.as_str(), "similarity");
    let recent = candidate(1, "disk full", "db", 0);
    let scored = score_candidate(
        &alert("CPU hot", "web"),
        &recent,
        &CorrelationSettings::default(),
        &topology(),
    );
    assert_eq!(scored.time, 1.0);
    assert_eq!(scored.strategy, "time_window");
}

#[test]
fn strategy_ties_go_to_topology_then_time() {
    assert_eq!(Strategy::dominant(0.5, 0.5, 0.5), Strategy::Topology);
    assert_eq!(Strategy::dominant(0.0, 0.0, 0.0), Strategy::Topology);
    assert_eq!(Strategy::dominant(0.1, 0.6, 0.6), Strategy::Time);
    assert_eq!(Strategy::dominant(0.6, 0.1, 0.6), Strategy::Topology);
}

#[test]
fn a_candidate_is_scored_on_all_three_components() {
    let mut incident = candidate(1, "checkout api errors", "checkout", 60);
    incident.affected_services.push("payments".to_owned());
    let scored = score_candidate(
        &alert("Checkout API latency high", "checkout"),
        &incident,
        &CorrelationSettings::default(),
        &topology(),
    );
    // topology 1; time 1 − 60/300 = 0.8; title {checkout, api} of 5 = 0.4 → 0.7 × 0.4 + 0.3
    assert_eq!(scored.incident_id, id(1));
    assert_eq!(scored.topology, 1.0);
    assert_close(scored.time, 0.8);
    assert_close(scored.similarity, 0.58);
    assert_close(scored.score, 0.5 + 0.24 + 0.116);
    assert_eq!(scored.strategy, "topology");
}
