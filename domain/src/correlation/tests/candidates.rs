//! Which open incidents are candidates: within the window, newest first, at most the maximum, none closed.

use super::*;

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
