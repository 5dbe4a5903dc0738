//! Decisions as JSON.

use super::*;

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
