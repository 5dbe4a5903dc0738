//! What an investigation leaves on its incident beyond the summary: the severity it assessed,
//! when the source gave none, and the run a person's feedback rates.

use super::*;
use crate::incident::{Feedback, IncidentCommand, Opening, RCA_AUTHOR};
use crate::values::IncidentStatus;

fn run(n: u32) -> Uuid {
    crate::ids::run_id(id(), n)
}

/// Opened by an alert whose source said nothing about severity.
fn opened_unknown() -> IncidentEvent {
    match opened() {
        IncidentEvent::Opened(Opening {
            id,
            title,
            service,
            environment,
            source,
            source_alert_id,
            fingerprint,
            alert_fired_at,
            at,
            why,
            integration_id,
            ..
        }) => IncidentEvent::Opened(Opening {
            id,
            title,
            service,
            environment,
            severity: Severity::Unknown,
            source,
            source_alert_id,
            fingerprint,
            alert_fired_at,
            at,
            why,
            integration_id,
        }),
        other => other,
    }
}

fn running(n: u32) -> Vec<IncidentEvent> {
    vec![
        IncidentEvent::RcaRequested {
            run: run(n),
            episode: n,
            by: None,
            at: at(1),
        },
        IncidentEvent::RcaStatusChanged {
            from: RcaStatus::Idle,
            to: RcaStatus::Running,
            at: at(2),
        },
    ]
}

fn conclude(severity: Option<Severity>) -> IncidentCommand {
    IncidentCommand::ConcludeRca {
        run: run(1),
        summary: "The v42 deploy exhausted the pool.".into(),
        severity,
        at: at(9),
    }
}

/// The events every conclusion of run 1 records, with `between` after the summary.
fn concluded(between: Vec<IncidentEvent>) -> Vec<IncidentEvent> {
    let mut events = vec![
        IncidentEvent::RcaStatusChanged {
            from: RcaStatus::Running,
            to: RcaStatus::Summarizing,
            at: at(9),
        },
        IncidentEvent::RcaStatusChanged {
            from: RcaStatus::Summarizing,
            to: RcaStatus::Complete,
            at: at(9),
        },
        IncidentEvent::SummaryUpdated {
            summary: "The v42 deploy exhausted the pool.".into(),
            by: RCA_AUTHOR.into(),
            at: at(9),
        },
    ];
    events.extend(between);
    events.push(IncidentEvent::StatusChanged {
        from: IncidentStatus::Investigating,
        to: IncidentStatus::Analyzed,
        by: RCA_AUTHOR.into(),
        at: at(9),
    });
    events
}

fn history(opening: IncidentEvent) -> Vec<IncidentEvent> {
    let mut events = vec![opening];
    events.extend(running(1));
    events
}

#[test]
fn an_unknown_severity_is_inferred_from_the_conclusion() {
    let state = given(history(opened_unknown()))
        .when(conclude(Some(Severity::Critical)))
        .then(concluded(vec![IncidentEvent::SeverityChanged {
            from: Severity::Unknown,
            to: Severity::Critical,
            by: RCA_AUTHOR.into(),
            at: at(9),
        }]));
    assert_eq!(state.severity, Severity::Critical);
}

#[test]
fn a_known_severity_is_never_overruled_by_the_investigation() {
    // `opened()` carries the source's `high`.
    let state = given(history(opened()))
        .when(conclude(Some(Severity::Low)))
        .then(concluded(vec![]));
    assert_eq!(state.severity, Severity::High);
    // Nor one a person set after the opening.
    let mut set_by_hand = history(opened_unknown());
    set_by_hand.push(IncidentEvent::SeverityChanged {
        from: Severity::Unknown,
        to: Severity::Medium,
        by: "ana".into(),
        at: at(3),
    });
    given(set_by_hand)
        .when(conclude(Some(Severity::Critical)))
        .then(concluded(vec![]));
}

#[test]
fn without_an_assessment_the_severity_stays_unknown() {
    for severity in [None, Some(Severity::Unknown)] {
        let state = given(history(opened_unknown()))
            .when(conclude(severity))
            .then(concluded(vec![]));
        assert_eq!(state.severity, Severity::Unknown, "{severity:?}");
    }
}

#[test]
fn feedback_names_the_run_it_rates() {
    let give = |minute| IncidentCommand::GiveFeedback {
        by: "ana".into(),
        helpful: false,
        comment: Some("missed the deploy".into()),
        at: at(minute),
    };
    let given_on = |run: Option<Uuid>, minute| IncidentEvent::FeedbackGiven {
        by: "ana".into(),
        helpful: false,
        comment: Some("missed the deploy".into()),
        run,
        at: at(minute),
    };
    // No run asked for yet: it names none.
    given(vec![opened()])
        .when(give(3))
        .then(vec![given_on(None, 3)]);
    // While run 1 is the incident's latest, running or ended, it names run 1.
    let mut events = history(opened());
    let state = given(events.clone())
        .when(give(4))
        .then(vec![given_on(Some(run(1)), 4)]);
    assert_eq!(state.feedback[0].run, Some(run(1)));
    // The same words on the same run change nothing; on the next run they are a new rating.
    events.push(given_on(Some(run(1)), 4));
    given(events.clone()).when(give(5)).then_nothing();
    events.push(IncidentEvent::RcaStatusChanged {
        from: RcaStatus::Running,
        to: RcaStatus::Error,
        at: at(6),
    });
    events.push(IncidentEvent::RcaRequested {
        run: run(2),
        episode: 2,
        by: Some("ana".into()),
        at: at(7),
    });
    let state = given(events)
        .when(give(8))
        .then(vec![given_on(Some(run(2)), 8)]);
    assert_eq!(
        state.feedback,
        vec![Feedback {
            by: "ana".into(),
            helpful: false,
            comment: Some("missed the deploy".into()),
            run: Some(run(2)),
            at: at(8),
        }]
    );
}

#[test]
fn events_stored_before_these_fields_still_load() {
    use esrs::event::Upcaster;
    let feedback = serde_json::json!({
        "type": "feedback_given", "by": "ana", "helpful": true, "comment": null,
        "at": "2025-03-01T12:13:00Z"
    });
    match IncidentEvent::upcast(feedback, Some(2)).unwrap() {
        IncidentEvent::FeedbackGiven { run, .. } => assert_eq!(run, None),
        other => panic!("not feedback: {other:?}"),
    }
    let conclude = serde_json::json!({
        "type": "conclude_rca", "run": run(1), "summary": "s", "at": "2025-03-01T12:13:00Z"
    });
    let command: IncidentCommand = serde_json::from_value(conclude).unwrap();
    assert!(matches!(
        command,
        IncidentCommand::ConcludeRca { severity: None, .. }
    ));
}
