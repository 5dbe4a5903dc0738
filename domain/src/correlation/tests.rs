//! Correlation, number by number: each score component with hand-computed values, then candidate
//! selection, the decision rules, explanations, settings and serialisation.
//!
//! The topology used throughout: `checkout` depends on `payments`, which depends on `ledger`, then
//! `postgres`, then `disk` (upstream of checkout, 1 to 4 hops); `web` depends on `checkout`, `cdn`
//! on `web`, `dns` on `cdn`, `edge` on `dns` (downstream of checkout, 1 to 4 hops).

#![allow(clippy::unwrap_used)]

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::*;
use crate::ids::IncidentId;
use crate::incident::{Correlation, TopologyBasis};

/// `seconds` after a fixed moment (2025-03-01T12:00:00Z); the alert arrives at 0.
fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_740_830_400, 0).unwrap() + TimeDelta::seconds(seconds)
}

fn id(n: u128) -> IncidentId {
    IncidentId(Uuid::from_u128(n))
}

fn alert<'a>(title: &'a str, service: &'a str) -> AlertFacts<'a> {
    AlertFacts {
        title,
        service,
        received_at: at(0),
        title_similarity_override: None,
    }
}

/// Open incident `n` on `service`, last updated `seconds_before` the alert.
fn candidate(n: u128, title: &str, service: &str, seconds_before: i64) -> Candidate {
    Candidate {
        incident_id: id(n),
        title: title.to_owned(),
        service: service.to_owned(),
        affected_services: vec![service.to_owned()],
        updated_at: at(-seconds_before),
        correlated_alert_count: 0,
        open: true,
    }
}

fn topology() -> ServiceGraph {
    [
        ("checkout", "payments"),
        ("payments", "ledger"),
        ("ledger", "postgres"),
        ("postgres", "disk"),
        ("web", "checkout"),
        ("cdn", "web"),
        ("dns", "cdn"),
        ("edge", "dns"),
    ]
    .into_iter()
    .collect()
}

fn no_graph() -> ServiceGraph {
    ServiceGraph::new()
}

fn assert_close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 1e-12,
        "expected {expected}, got {actual}"
    );
}

fn set(words: &[&str]) -> std::collections::BTreeSet<String> {
    words.iter().map(|word| (*word).to_owned()).collect()
}

fn ids(selected: &[&Candidate]) -> Vec<IncidentId> {
    selected.iter().map(|c| c.incident_id).collect()
}

// --- time -------------------------------------------------------------------------------------

#[test]
fn an_alert_arriving_as_the_incident_is_updated_scores_full_time() {
    assert_eq!(time_score(at(0), at(0), 300), 1.0);
}

#[test]
fn half_way_through_the_window_the_time_score_is_half() {
    assert_eq!(time_score(at(0), at(-150), 300), 0.5);
}

#[test]
fn a_tenth_of_a_second_before_the_window_ends_the_time_score_is_barely_above_zero() {
    let updated = at(0) - TimeDelta::milliseconds(299_900);
    let score = time_score(at(0), updated, 300);
    // 1 − 299.9 / 300 = 0.1 / 300
    assert_close(score, 1.0 / 3000.0);
    assert!(score > 0.0);
}

#[test]
fn at_the_end_of_the_window_and_beyond_the_time_score_is_zero() {
    assert_eq!(time_score(at(0), at(-300), 300), 0.0);
    assert_eq!(time_score(at(0), at(-301), 300), 0.0);
}

#[test]
fn an_alert_older_than_the_incidents_last_update_scores_no_time() {
    assert_eq!(time_score(at(0), at(1), 300), 0.0);
    assert_eq!(
        time_score(at(0), at(0) + TimeDelta::milliseconds(1), 300),
        0.0
    );
}

#[test]
fn the_time_gap_counts_fractions_of_a_second() {
    let updated = at(0) - TimeDelta::milliseconds(1_500);
    // 1 − 1.5 / 300
    assert_close(time_score(at(0), updated, 300), 0.995);
}

// --- topology ---------------------------------------------------------------------------------

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
fn with_a_graph_an_unconnected_service_scores_no_topology_whatever_its_name() {
    assert_eq!(
        topology_score("checkout", &["checkout-db"], &topology()),
        0.0
    );
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

// --- similarity -------------------------------------------------------------------------------

#[test]
fn title_tokens_are_lower_cased_alphanumeric_runs_without_stop_words_or_single_characters() {
    assert_eq!(
        tokenize("The DB is at 5xx errors for p99 on a x-ray"),
        set(&["db", "5xx", "errors", "p99", "ray"])
    );
    assert_eq!(
        tokenize("CPU-usage_high/99%"),
        set(&["cpu", "usage", "high", "99"])
    );
    assert!(tokenize("is a on the").is_empty());
}

#[test]
fn title_similarity_is_the_jaccard_of_the_title_tokens() {
    // {checkout, api, down} vs {checkout, api, latency, high, pod}: 2 shared of 6
    assert_close(
        title_similarity(
            "The checkout API is down",
            "Checkout api: latency high on a pod",
        ),
        1.0 / 3.0,
    );
    assert_eq!(title_similarity("Disk full", "disk FULL!"), 1.0);
}

#[test]
fn the_jaccard_of_two_empty_sets_is_zero() {
    assert_eq!(jaccard::<String>(&set(&[]), &set(&[])), 0.0);
    assert_eq!(jaccard(&set(&["db"]), &set(&[])), 0.0);
    assert_eq!(title_similarity("on the", "is a"), 0.0);
}

#[test]
fn service_similarity_is_full_for_one_of_the_incidents_services() {
    assert_eq!(
        service_similarity("payments", &["checkout", "payments"]),
        1.0
    );
}

#[test]
fn service_similarity_otherwise_compares_tokens_with_those_of_all_incident_services() {
    // {payments, api} vs {payments, worker, ledger}: 1 shared of 4
    assert_eq!(
        service_similarity("payments-api", &["payments-worker", "ledger"]),
        0.25
    );
    assert_eq!(service_similarity("checkout", &["ledger"]), 0.0);
}

#[test]
fn service_tokens_drop_stop_words_as_upstream_does() {
    // Upstream's `_service_similarity` filters `_STOPWORDS` from service tokens too (issue 14:
    // this port kept them, and scored `the-api` against `api` 0.5 instead of upstream's 1.0).
    assert_eq!(service_tokens("On-Call_x"), set(&["call"]));
    assert_eq!(service_tokens("the-api"), set(&["api"]));
    assert_eq!(service_similarity("the-api", &["api"]), 1.0);
    // {call} vs {prem}: nothing shared once `on` is dropped
    assert_eq!(service_similarity("on-call", &["on-prem"]), 0.0);
    // a name made only of stop-words has no tokens, so no overlap
    assert_eq!(service_similarity("the", &["api"]), 0.0);
}

#[test]
fn service_similarity_is_zero_when_a_side_is_empty_or_has_no_tokens() {
    assert_eq!(service_similarity("", &["checkout"]), 0.0);
    assert_eq!(service_similarity("checkout", &[]), 0.0);
    assert_eq!(service_similarity("x", &["checkout"]), 0.0);
    assert_eq!(service_similarity("checkout", &["-"]), 0.0);
}

#[test]
fn similarity_weighs_the_title_seven_tenths_and_the_services_three_tenths() {
    // title {checkout, api, down} vs {checkout, api, latency}: 2 of 4 → 0.7 × 0.5 + 0.3 × 1
    assert_close(
        similarity_score(
            "checkout api down",
            "checkout",
            "checkout api latency",
            &["checkout"],
            None,
        ),
        0.65,
    );
    // title {ledger, slow} vs {ledger, down}: 1 of 3; services {checkout} vs {ledger}: 0
    assert_close(
        similarity_score(
            "a b ledger slow",
            "checkout",
            "ledger down",
            &["ledger"],
            None,
        ),
        0.7 / 3.0,
    );
}

#[test]
fn an_empty_title_makes_the_whole_similarity_zero() {
    assert_eq!(
        similarity_score("", "checkout", "checkout down", &["checkout"], Some(1.0)),
        0.0
    );
    assert_eq!(
        similarity_score("checkout down", "checkout", "", &["checkout"], None),
        0.0
    );
}

#[test]
fn a_title_similarity_override_replaces_the_title_jaccard_clamped_to_zero_to_one() {
    let score = |value| similarity_score("a", "checkout", "b", &["checkout"], value);
    assert_close(score(Some(0.9)), 0.7 * 0.9 + 0.3);
    assert_eq!(score(Some(1.7)), 1.0);
    assert_close(score(Some(-0.2)), 0.3);
    // NaN is ignored: the titles share no token.
    assert_close(score(Some(f64::NAN)), 0.3);
}

// --- weighted score and strategy --------------------------------------------------------------

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

// --- candidate selection ----------------------------------------------------------------------

#[test]
fn candidates_are_those_updated_within_the_window_or_later() {
    let candidates = [
        candidate(1, "t", "s", 300),
        candidate(2, "t", "s", 301),
        candidate(3, "t", "s", -10),
    ];
    let selected = select_candidates(at(0), &candidates, &CorrelationSettings::default());
    assert_eq!(ids(&selected), [id(3), id(1)]);
}

#[test]
fn candidates_are_taken_newest_first() {
    let candidates = [
        candidate(1, "t", "s", 200),
        candidate(2, "t", "s", 10),
        candidate(3, "t", "s", 100),
    ];
    let selected = select_candidates(at(0), &candidates, &CorrelationSettings::default());
    assert_eq!(ids(&selected), [id(2), id(3), id(1)]);
}

#[test]
fn only_the_newest_max_candidates_are_taken() {
    let candidates: Vec<Candidate> = (1..=25).map(|n| candidate(n, "t", "s", n as i64)).collect();
    let defaults = CorrelationSettings::default();
    let selected = select_candidates(at(0), &candidates, &defaults);
    assert_eq!(selected.len(), 20);
    assert_eq!(selected[19].incident_id, id(20));

    let two = CorrelationSettings {
        max_candidates: 2,
        ..defaults
    };
    assert_eq!(
        ids(&select_candidates(at(0), &candidates, &two)),
        [id(1), id(2)]
    );
}

#[test]
fn closed_incidents_are_skipped() {
    let mut closed = candidate(1, "checkout down", "checkout", 0);
    closed.open = false;
    let candidates = [closed, candidate(2, "t", "s", 100)];
    let selected = select_candidates(at(0), &candidates, &CorrelationSettings::default());
    assert_eq!(ids(&selected), [id(2)]);
}

// --- decisions --------------------------------------------------------------------------------

/// Incident 1 on `ledger`, two hops upstream of checkout (topology 0.7), updated `seconds_before`
/// the alert; titles share 2 of 4 tokens and the service names nothing (similarity 0.35).
fn ledger_incident(seconds_before: i64) -> Candidate {
    candidate(1, "ledger writes failing", "ledger", seconds_before)
}

fn ledger_alert() -> AlertFacts<'static> {
    alert("Ledger writes slow", "checkout")
}

#[test]
fn a_best_score_of_exactly_the_threshold_correlates() {
    let decision = decide(
        &ledger_alert(),
        &[ledger_incident(120)],
        &CorrelationSettings::default(),
        &topology(),
    );
    // 0.5 × 0.7 + 0.3 × (1 − 120/300) + 0.2 × 0.35 = 0.35 + 0.18 + 0.07
    let expected = Correlation {
        strategy: "topology".to_owned(),
        score: 0.6,
        topology: 0.7,
        time: 0.6,
        similarity: 0.35,
        candidates_considered: 1,
        topology_basis: TopologyBasis::ServiceGraph,
    };
    match &decision {
        Decision::Correlate {
            incident_id,
            correlation,
            considered,
        } => {
            assert_eq!(*incident_id, id(1));
            assert_eq!(correlation.score, 0.6);
            assert_eq!(correlation.strategy, expected.strategy);
            assert_close(correlation.topology, expected.topology);
            assert_close(correlation.time, expected.time);
            assert_close(correlation.similarity, expected.similarity);
            assert_eq!(correlation.candidates_considered, 1);
            assert_eq!(considered.len(), 1);
        }
        other => panic!("expected a correlation, got {other:?}"),
    }
    assert_eq!(decision.incident(), Some(id(1)));
}

#[test]
fn a_best_score_just_below_the_threshold_opens_a_new_incident() {
    let decision = decide(
        &ledger_alert(),
        &[ledger_incident(121)],
        &CorrelationSettings::default(),
        &topology(),
    );
    let Decision::Open {
        reason: OpenReason::BelowThreshold { best, threshold },
        considered,
    } = &decision
    else {
        panic!("expected below threshold, got {decision:?}");
    };
    assert!(best.score < 0.6);
    assert_eq!(best.incident_id, id(1));
    assert_eq!(*threshold, 0.6);
    assert_eq!(considered, std::slice::from_ref(best));
    assert_eq!(decision.incident(), None);
}

#[test]
fn the_highest_score_wins_and_every_candidate_is_reported_newest_first() {
    let candidates = [
        candidate(1, "disk full", "disk", 5),
        candidate(2, "checkout errors", "checkout", 60),
        candidate(3, "web slow", "web", 30),
    ];
    let decision = decide(
        &alert("checkout errors", "checkout"),
        &candidates,
        &CorrelationSettings::default(),
        &topology(),
    );
    assert_eq!(decision.incident(), Some(id(2)));
    let order: Vec<IncidentId> = decision
        .considered()
        .iter()
        .map(|c| c.incident_id)
        .collect();
    assert_eq!(order, [id(1), id(3), id(2)]);
    let Decision::Correlate { correlation, .. } = &decision else {
        panic!("expected a correlation");
    };
    assert_eq!(correlation.candidates_considered, 3);
    // topology 1, time 0.8, similarity 0.7 × 1 + 0.3 × 1
    assert_close(correlation.score, 0.5 + 0.24 + 0.2);
}

#[test]
fn on_equal_scores_the_newest_candidate_wins() {
    let settings = CorrelationSettings {
        topology_weight: 0.8,
        time_weight: 0.0,
        similarity_weight: 0.2,
        ..CorrelationSettings::default()
    };
    let candidates = [
        candidate(1, "checkout down", "checkout", 100),
        candidate(2, "checkout down", "checkout", 50),
    ];
    let decision = decide(
        &alert("checkout down", "checkout"),
        &candidates,
        &settings,
        &topology(),
    );
    let scores: Vec<f64> = decision.considered().iter().map(|c| c.score).collect();
    assert_eq!(scores[0], scores[1]);
    assert_eq!(decision.incident(), Some(id(2)));
}

#[test]
fn an_incident_holding_the_maximum_of_alerts_takes_no_more() {
    let mut full = candidate(1, "checkout down", "checkout", 10);
    full.correlated_alert_count = 50;
    let decision = decide(
        &alert("checkout down", "checkout"),
        &[full.clone()],
        &CorrelationSettings::default(),
        &topology(),
    );
    let Decision::Open {
        reason: OpenReason::GroupFull { best, count, max },
        ..
    } = &decision
    else {
        panic!("expected a full group, got {decision:?}");
    };
    assert_eq!((best.incident_id, *count, *max), (id(1), 50, 50));

    full.correlated_alert_count = 49;
    let decision = decide(
        &alert("checkout down", "checkout"),
        &[full],
        &CorrelationSettings::default(),
        &topology(),
    );
    assert_eq!(decision.incident(), Some(id(1)));
}

#[test]
fn when_the_best_incident_is_full_the_runner_up_is_not_tried() {
    let mut full = candidate(1, "checkout down", "checkout", 10);
    full.correlated_alert_count = 50;
    let runner_up = candidate(2, "checkout down", "checkout", 20);
    let decision = decide(
        &alert("checkout down", "checkout"),
        &[full, runner_up],
        &CorrelationSettings::default(),
        &topology(),
    );
    assert!(matches!(
        decision,
        Decision::Open {
            reason: OpenReason::GroupFull { .. },
            ..
        }
    ));
    assert!(decision.considered()[1].score >= 0.6);
}

#[test]
fn shadow_mode_opens_a_new_incident_but_says_which_it_would_have_joined() {
    let settings = CorrelationSettings {
        shadow_mode: true,
        ..CorrelationSettings::default()
    };
    let decision = decide(
        &ledger_alert(),
        &[ledger_incident(120)],
        &settings,
        &topology(),
    );
    let Decision::Open {
        reason: OpenReason::Shadow {
            would_correlate_with,
        },
        considered,
    } = &decision
    else {
        panic!("expected shadow mode, got {decision:?}");
    };
    assert_eq!(would_correlate_with.incident_id, id(1));
    assert_eq!(considered.len(), 1);
    assert_eq!(decision.incident(), None);
}

#[test]
fn shadow_mode_reports_a_low_score_as_below_threshold_and_comes_before_the_group_guard() {
    let settings = CorrelationSettings {
        shadow_mode: true,
        ..CorrelationSettings::default()
    };
    let low = decide(
        &ledger_alert(),
        &[ledger_incident(121)],
        &settings,
        &topology(),
    );
    assert!(matches!(
        low,
        Decision::Open {
            reason: OpenReason::BelowThreshold { .. },
            ..
        }
    ));

    let mut full = ledger_incident(0);
    full.correlated_alert_count = 50;
    let decision = decide(&ledger_alert(), &[full], &settings, &topology());
    assert!(matches!(
        decision,
        Decision::Open {
            reason: OpenReason::Shadow { .. },
            ..
        }
    ));
}

#[test]
fn when_disabled_nothing_is_scored() {
    let settings = CorrelationSettings {
        enabled: false,
        ..CorrelationSettings::default()
    };
    let decision = decide(
        &alert("checkout down", "checkout"),
        &[candidate(1, "checkout down", "checkout", 0)],
        &settings,
        &topology(),
    );
    assert_eq!(
        decision,
        Decision::Open {
            reason: OpenReason::Disabled,
            considered: vec![],
        }
    );
}

#[test]
fn without_a_candidate_in_the_window_a_new_incident_is_opened() {
    let mut closed = candidate(1, "checkout down", "checkout", 0);
    closed.open = false;
    let stale = candidate(2, "checkout down", "checkout", 301);
    for candidates in [vec![], vec![closed, stale]] {
        let decision = decide(
            &alert("checkout down", "checkout"),
            &candidates,
            &CorrelationSettings::default(),
            &topology(),
        );
        assert_eq!(
            decision,
            Decision::Open {
                reason: OpenReason::NoCandidates,
                considered: vec![],
            }
        );
    }
}

#[test]
fn a_title_similarity_per_candidate_comes_before_the_alerts_override() {
    let candidates = [
        candidate(1, "alpha", "ledger", 0),
        candidate(2, "beta", "ledger", 0),
    ];
    let mut facts = alert("gamma", "checkout");
    facts.title_similarity_override = Some(0.5);
    let decision = decide_with_title_similarity(
        &facts,
        &candidates,
        &CorrelationSettings::default(),
        &topology(),
        |c| (c.incident_id == id(2)).then_some(1.0),
    );
    let similarities: Vec<f64> = decision.considered().iter().map(|c| c.similarity).collect();
    assert_close(similarities[0], 0.35);
    assert_close(similarities[1], 0.7);
}

// --- explanations -----------------------------------------------------------------------------

fn scored(n: u128, score: f64) -> ScoredCandidate {
    ScoredCandidate {
        incident_id: id(n),
        score,
        topology: 1.0,
        time: 0.42,
        similarity: 0.35,
        topology_basis: TopologyBasis::ServiceGraph,
        strategy: "topology".to_owned(),
    }
}

fn opened(reason: OpenReason) -> Decision {
    Decision::Open {
        reason,
        considered: vec![],
    }
}

#[test]
fn each_decision_explains_itself_in_one_line() {
    let correlated = Decision::Correlate {
        incident_id: id(1),
        correlation: Correlation {
            strategy: "topology".to_owned(),
            score: 0.736,
            topology: 1.0,
            time: 0.42,
            similarity: 0.35,
            candidates_considered: 3,
            topology_basis: TopologyBasis::ServiceGraph,
        },
        considered: vec![],
    };
    assert_eq!(
        correlated.explain(),
        "correlated with 00000000-0000-0000-0000-000000000001 at score 0.74: topology 1.00, \
         time 0.42, similarity 0.35 (3 candidates)"
    );
    assert_eq!(
        opened(OpenReason::BelowThreshold {
            best: scored(2, 0.41),
            threshold: 0.6,
        })
        .explain(),
        "opened a new incident: best score 0.41 (00000000-0000-0000-0000-000000000002) below \
         threshold 0.60"
    );
    assert_eq!(
        opened(OpenReason::NoCandidates).explain(),
        "opened a new incident: no open incident updated within the correlation window"
    );
    assert_eq!(
        opened(OpenReason::Disabled).explain(),
        "opened a new incident: correlation is disabled"
    );
    assert_eq!(
        opened(OpenReason::Shadow {
            would_correlate_with: scored(3, 0.74),
        })
        .explain(),
        "shadow mode: would have correlated with 00000000-0000-0000-0000-000000000003 at score 0.74"
    );
    assert_eq!(
        opened(OpenReason::GroupFull {
            best: scored(4, 0.9),
            count: 50,
            max: 50,
        })
        .explain(),
        "opened a new incident: the best candidate 00000000-0000-0000-0000-000000000004 already \
         holds 50 alerts (at most 50)"
    );
}

#[test]
fn without_a_service_graph_the_explanation_says_topology_is_the_service_name_fallback() {
    let decision = decide(
        &alert("Checkout API latency high", "checkout"),
        &[candidate(1, "checkout api errors", "checkout", 60)],
        &CorrelationSettings::default(),
        &ServiceGraph::new(),
    );
    let Decision::Correlate { correlation, .. } = &decision else {
        panic!("expected a correlation, got {decision:?}");
    };
    assert_eq!(
        correlation.topology_basis,
        TopologyBasis::ServiceNameFallback
    );
    assert_eq!(
        decision.explain(),
        "correlated with 00000000-0000-0000-0000-000000000001 at score 0.86: topology \
         (service-name fallback: no service graph yet) 1.00, time 0.80, similarity 0.58 \
         (1 candidate)"
    );
    assert_eq!(
        correlation.breakdown(),
        "topology (service-name fallback: no service graph yet) 1.00, time 0.80, similarity 0.58"
    );
    // With a graph, topology is the graph's.
    let with_graph = decide(
        &alert("Checkout API latency high", "checkout"),
        &[candidate(1, "checkout api errors", "checkout", 60)],
        &CorrelationSettings::default(),
        &topology(),
    );
    assert!(
        with_graph.explain().contains(": topology 1.00, time 0.80"),
        "{}",
        with_graph.explain()
    );
}

#[test]
fn a_correlation_stored_before_its_basis_was_recorded_reads_as_the_service_name_fallback() {
    // Every correlation made before then was made without a service graph.
    let stored = serde_json::json!({
        "strategy": "topology", "score": 0.74, "topology": 1.0, "time": 0.42,
        "similarity": 0.35, "candidates_considered": 3
    });
    let correlation: Correlation = serde_json::from_value(stored).expect("loads");
    assert_eq!(
        correlation.topology_basis,
        TopologyBasis::ServiceNameFallback
    );
    assert!(correlation
        .breakdown()
        .starts_with("topology (service-name fallback: no service graph yet) 1.00"));
}

#[test]
fn one_candidate_is_spoken_of_in_the_singular() {
    let decision = decide(
        &ledger_alert(),
        &[ledger_incident(120)],
        &CorrelationSettings::default(),
        &topology(),
    );
    assert!(decision.explain().ends_with("(1 candidate)"));
}

// --- settings ---------------------------------------------------------------------------------

#[test]
fn the_default_settings_are_upstreams_and_valid() {
    let settings = CorrelationSettings::default();
    assert!(settings.enabled);
    assert!(!settings.shadow_mode);
    assert_eq!(settings.window_secs, 300);
    assert_eq!(settings.threshold, 0.6);
    assert_eq!(
        (
            settings.topology_weight,
            settings.time_weight,
            settings.similarity_weight
        ),
        (0.5, 0.3, 0.2)
    );
    assert_eq!((settings.max_candidates, settings.max_group_size), (20, 50));
    assert_eq!(settings.validate(), Ok(()));
}

#[test]
fn a_weight_outside_zero_to_one_is_refused() {
    let settings = CorrelationSettings {
        topology_weight: 1.2,
        time_weight: -0.1,
        similarity_weight: -0.1,
        ..CorrelationSettings::default()
    };
    let error = settings.validate().unwrap_err();
    assert_eq!(
        error,
        SettingsError::WeightOutOfRange {
            field: "topology_weight",
            value: 1.2,
        }
    );
    assert_eq!(
        error.to_string(),
        "topology_weight must be a number from 0 to 1, got 1.2"
    );

    let not_a_number = CorrelationSettings {
        time_weight: f64::NAN,
        ..CorrelationSettings::default()
    };
    assert!(matches!(
        not_a_number.validate(),
        Err(SettingsError::WeightOutOfRange {
            field: "time_weight",
            ..
        })
    ));
}

#[test]
fn weights_must_add_up_to_one() {
    let short = CorrelationSettings {
        similarity_weight: 0.1,
        ..CorrelationSettings::default()
    };
    let Err(SettingsError::WeightsDoNotSumToOne { sum }) = short.validate() else {
        panic!("expected the weights refused");
    };
    assert_close(sum, 0.9);

    let close_enough = CorrelationSettings {
        similarity_weight: 0.2 + 1e-7,
        ..CorrelationSettings::default()
    };
    assert_eq!(close_enough.validate(), Ok(()));
}

#[test]
fn a_threshold_outside_zero_to_one_is_refused() {
    for threshold in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
        let settings = CorrelationSettings {
            threshold,
            ..CorrelationSettings::default()
        };
        assert!(matches!(
            settings.validate(),
            Err(SettingsError::ThresholdOutOfRange { .. })
        ));
    }
    for threshold in [0.0, 1.0] {
        let settings = CorrelationSettings {
            threshold,
            ..CorrelationSettings::default()
        };
        assert_eq!(settings.validate(), Ok(()));
    }
}

#[test]
fn windows_and_limits_outside_their_ranges_are_refused() {
    let defaults = CorrelationSettings::default;
    let window = |window_secs| CorrelationSettings {
        window_secs,
        ..defaults()
    };
    assert_eq!(
        window(0).validate(),
        Err(SettingsError::WindowOutOfRange { value: 0 })
    );
    assert_eq!(
        window(86_401).validate(),
        Err(SettingsError::WindowOutOfRange { value: 86_401 })
    );
    assert_eq!(window(86_400).validate(), Ok(()));
    assert_eq!(
        window(0).validate().unwrap_err().to_string(),
        "window_secs must be from 1 to 86400, got 0"
    );

    let candidates = |max_candidates| CorrelationSettings {
        max_candidates,
        ..defaults()
    };
    assert_eq!(
        candidates(0).validate(),
        Err(SettingsError::MaxCandidatesOutOfRange { value: 0 })
    );
    assert_eq!(
        candidates(101).validate(),
        Err(SettingsError::MaxCandidatesOutOfRange { value: 101 })
    );
    assert_eq!(candidates(100).validate(), Ok(()));

    let group = |max_group_size| CorrelationSettings {
        max_group_size,
        ..defaults()
    };
    assert_eq!(
        group(0).validate(),
        Err(SettingsError::MaxGroupSizeOutOfRange { value: 0 })
    );
    assert_eq!(
        group(10_001).validate(),
        Err(SettingsError::MaxGroupSizeOutOfRange { value: 10_001 })
    );
    assert_eq!(group(10_000).validate(), Ok(()));
}

#[test]
fn settings_read_from_json_take_defaults_for_missing_fields_and_refuse_unknown_ones() {
    let settings: CorrelationSettings =
        serde_json::from_str(r#"{"threshold": 0.7, "shadow_mode": true}"#).unwrap();
    assert_eq!(
        settings,
        CorrelationSettings {
            threshold: 0.7,
            shadow_mode: true,
            ..CorrelationSettings::default()
        }
    );
    assert!(serde_json::from_str::<CorrelationSettings>(r#"{"thresold": 0.7}"#).is_err());
}

// --- serialisation ----------------------------------------------------------------------------

#[test]
fn decisions_round_trip_through_json_tagged_by_outcome_and_reason() {
    let decisions = [
        decide(
            &ledger_alert(),
            &[ledger_incident(120)],
            &CorrelationSettings::default(),
            &topology(),
        ),
        decide(
            &ledger_alert(),
            &[ledger_incident(121)],
            &CorrelationSettings::default(),
            &topology(),
        ),
        opened(OpenReason::Disabled),
        opened(OpenReason::NoCandidates),
        opened(OpenReason::GroupFull {
            best: scored(4, 0.9),
            count: 50,
            max: 50,
        }),
        opened(OpenReason::Shadow {
            would_correlate_with: scored(3, 0.74),
        }),
    ];
    for decision in decisions {
        let json = serde_json::to_string(&decision).unwrap();
        assert_eq!(serde_json::from_str::<Decision>(&json).unwrap(), decision);
    }

    let below = decide(
        &ledger_alert(),
        &[ledger_incident(121)],
        &CorrelationSettings::default(),
        &topology(),
    );
    let json = serde_json::to_value(&below).unwrap();
    assert_eq!(json["outcome"], "open");
    assert_eq!(json["reason"]["reason"], "below_threshold");
    assert_eq!(json["reason"]["threshold"], 0.6);
    assert_eq!(json["considered"][0]["strategy"], "topology");
}
