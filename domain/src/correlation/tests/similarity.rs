//! The similarity component: title tokens and service tokens, weighted.

use super::*;

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
