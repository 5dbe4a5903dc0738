//! Each decision explained in one line.

use super::*;

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
            topology_path: None,
            title_basis: TitleBasis::WordOverlap,
        },
        considered: vec![],
    };
    assert_eq!(
        correlated.explain(),
        "correlated with 00000000-0000-0000-0000-000000000001 at score 0.74: topology 1.00, \
         time 0.42, similarity 0.35 (titles by word overlap, without embeddings) (3 candidates)"
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
         (titles by word overlap, without embeddings) (1 candidate)"
    );
    assert_eq!(
        correlation.breakdown(),
        "topology (service-name fallback: no service graph yet) 1.00, time 0.80, similarity 0.58 \
         (titles by word overlap, without embeddings)"
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

#[test]
fn a_graph_correlation_names_the_path_in_its_explanation() {
    let decision = decide(
        &alert("Payment authorisations failing", "payments"),
        &[candidate(1, "Checkout latency high", "checkout", 10)],
        &CorrelationSettings::default(),
        &topology(),
    );
    let Decision::Correlate { correlation, .. } = &decision else {
        panic!("expected a correlation, got {decision:?}");
    };
    assert_eq!(correlation.topology, 0.8);
    assert!(
        decision
            .explain()
            .contains("topology 0.80 (payments ← checkout), time"),
        "{}",
        decision.explain()
    );
}
