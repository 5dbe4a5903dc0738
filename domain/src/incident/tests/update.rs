//! `Update`: several changes at once, all or nothing.

use super::*;
use crate::incident::{IncidentCommand, IncidentError};
use crate::values::IncidentStatus;

fn update(
    severity: Option<Severity>,
    summary: Option<&str>,
    status: Option<IncidentStatus>,
) -> IncidentCommand {
    IncidentCommand::Update {
        severity,
        summary: summary.map(str::to_owned),
        status,
        reason: Some("rolled back".to_owned()),
        by: "ana".to_owned(),
        at: at(30),
    }
}

#[test]
fn an_update_makes_every_change_in_one_decision() {
    let state = given(vec![opened()])
        .when(update(
            Some(Severity::Critical),
            Some("Bad deploy"),
            Some(IncidentStatus::Resolved),
        ))
        .then(vec![
            IncidentEvent::SeverityChanged {
                from: Severity::High,
                to: Severity::Critical,
                by: "ana".to_owned(),
                at: at(30),
            },
            IncidentEvent::SummaryUpdated {
                summary: "Bad deploy".to_owned(),
                by: "ana".to_owned(),
                at: at(30),
            },
            resolved(),
        ]);

    assert_eq!(state.severity, Severity::Critical);
    assert_eq!(state.summary.as_deref(), Some("Bad deploy"));
    assert_eq!(state.status, IncidentStatus::Resolved);
}

#[test]
fn an_update_refused_in_its_last_part_decides_nothing() {
    // Severity would change, but a resolved incident cannot be marked analyzed: nothing happens.
    given(vec![opened(), resolved()])
        .when(update(
            Some(Severity::Low),
            Some("Bad deploy"),
            Some(IncidentStatus::Analyzed),
        ))
        .then_error(IncidentError::InvalidStatusTransition {
            from: IncidentStatus::Resolved,
            to: IncidentStatus::Analyzed,
        });
}

#[test]
fn an_update_refused_in_its_second_part_decides_nothing() {
    given(vec![opened()])
        .when(update(Some(Severity::Low), Some("   "), None))
        .then_error(IncidentError::EmptySummary);
}

#[test]
fn an_update_cannot_merge() {
    given(vec![opened()])
        .when(update(
            Some(Severity::Low),
            None,
            Some(IncidentStatus::Merged),
        ))
        .then_error(IncidentError::UseMergeInto);
}

#[test]
fn an_update_of_what_is_already_true_decides_nothing() {
    given(vec![opened()])
        .when(update(
            Some(Severity::High),
            None,
            Some(IncidentStatus::Investigating),
        ))
        .then_nothing();
}

#[test]
fn a_later_part_is_decided_on_the_state_the_earlier_ones_leave() {
    // The summary set by the first part makes the same summary no change, not a second event:
    // seen through an update that sets severity and the summary the incident already has.
    let state = given(vec![
        opened(),
        IncidentEvent::SummaryUpdated {
            summary: "Bad deploy".to_owned(),
            by: "ana".to_owned(),
            at: at(10),
        },
    ])
    .when(update(Some(Severity::Low), Some("Bad deploy"), None))
    .then(vec![IncidentEvent::SeverityChanged {
        from: Severity::High,
        to: Severity::Low,
        by: "ana".to_owned(),
        at: at(30),
    }]);
    assert_eq!(state.severity, Severity::Low);
}
