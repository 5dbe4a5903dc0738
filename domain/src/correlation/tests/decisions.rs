//! The decision rules: threshold, best score, full incidents, shadow mode, disabled, overrides.

use super::*;

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
        topology_path: None,
        title_basis: TitleBasis::WordOverlap,
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
