//! The time component: how close the alert is to the incident's last update, within the window.

use super::*;

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
