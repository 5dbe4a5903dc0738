use super::*;
use crate::incident::{IncidentCommand, IncidentError};
use crate::values::IncidentStatus;

fn change_status(to: IncidentStatus) -> IncidentCommand {
    IncidentCommand::ChangeStatus {
        to,
        by: "ana".to_owned(),
        at: at(20),
    }
}

fn status_changed(from: IncidentStatus, to: IncidentStatus, minute: i64) -> IncidentEvent {
    IncidentEvent::StatusChanged {
        from,
        to,
        by: "ana".to_owned(),
        at: at(minute),
    }
}

fn resolve() -> IncidentCommand {
    IncidentCommand::Resolve {
        by: "ana".to_owned(),
        reason: Some("rolled back".to_owned()),
        at: at(30),
    }
}

fn change_severity(to: Severity) -> IncidentCommand {
    IncidentCommand::ChangeSeverity {
        to,
        by: "ana".to_owned(),
        at: at(20),
    }
}

#[test]
fn marking_an_incident_analyzed_records_when() {
    let state = given(vec![opened()])
        .when(change_status(IncidentStatus::Analyzed))
        .then(vec![status_changed(
            IncidentStatus::Investigating,
            IncidentStatus::Analyzed,
            20,
        )]);

    assert_eq!(state.status, IncidentStatus::Analyzed);
    assert_eq!(state.analyzed_at, Some(at(20)));
}

#[test]
fn changing_the_status_to_the_current_one_changes_nothing() {
    given(vec![opened()])
        .when(change_status(IncidentStatus::Investigating))
        .then_nothing();
}

#[test]
fn an_analyzed_incident_can_go_back_to_investigating() {
    let state = given(vec![
        opened(),
        status_changed(IncidentStatus::Investigating, IncidentStatus::Analyzed, 10),
    ])
    .when(change_status(IncidentStatus::Investigating))
    .then(vec![status_changed(
        IncidentStatus::Analyzed,
        IncidentStatus::Investigating,
        20,
    )]);

    assert_eq!(state.status, IncidentStatus::Investigating);
    assert_eq!(state.analyzed_at, Some(at(10)));
}

#[test]
fn the_status_cannot_be_changed_to_resolved_without_the_resolve_command() {
    given(vec![opened()])
        .when(change_status(IncidentStatus::Resolved))
        .then_error(IncidentError::UseResolve);
}

#[test]
fn the_status_cannot_be_changed_to_merged_without_the_merge_command() {
    given(vec![opened()])
        .when(change_status(IncidentStatus::Merged))
        .then_error(IncidentError::UseMergeInto);
}

#[test]
fn a_resolved_incident_is_reopened_by_changing_its_status_to_investigating() {
    let state = given(vec![opened(), resolved()])
        .when(change_status(IncidentStatus::Investigating))
        .then(vec![status_changed(
            IncidentStatus::Resolved,
            IncidentStatus::Investigating,
            20,
        )]);

    assert_eq!(state.status, IncidentStatus::Investigating);
    assert_eq!(state.resolved_at, None);
}

#[test]
fn a_resolved_incident_cannot_be_marked_analyzed() {
    given(vec![opened(), resolved()])
        .when(change_status(IncidentStatus::Analyzed))
        .then_error(IncidentError::InvalidStatusTransition {
            from: IncidentStatus::Resolved,
            to: IncidentStatus::Analyzed,
        });
}

#[test]
fn resolving_records_who_why_and_when() {
    let state = given(vec![opened()]).when(resolve()).then(vec![resolved()]);

    assert_eq!(state.status, IncidentStatus::Resolved);
    assert_eq!(state.resolved_at, Some(at(30)));
}

#[test]
fn resolving_a_resolved_incident_is_refused() {
    given(vec![opened(), resolved()])
        .when(resolve())
        .then_error(IncidentError::AlreadyResolved);
}

#[test]
fn a_reopened_incident_can_be_resolved_again() {
    given(vec![
        opened(),
        resolved(),
        status_changed(IncidentStatus::Resolved, IncidentStatus::Investigating, 31),
    ])
    .when(IncidentCommand::Resolve {
        by: "bo".to_owned(),
        reason: None,
        at: at(40),
    })
    .then(vec![IncidentEvent::Resolved {
        by: "bo".to_owned(),
        reason: None,
        at: at(40),
    }]);
}

#[test]
fn changing_the_severity_records_the_old_and_the_new_value() {
    let state = given(vec![opened()])
        .when(change_severity(Severity::Critical))
        .then(vec![IncidentEvent::SeverityChanged {
            from: Severity::High,
            to: Severity::Critical,
            by: "ana".to_owned(),
            at: at(20),
        }]);

    assert_eq!(state.severity, Severity::Critical);
}

#[test]
fn changing_the_severity_to_the_current_one_changes_nothing() {
    given(vec![opened()])
        .when(change_severity(Severity::High))
        .then_nothing();
}

#[test]
fn the_severity_of_a_resolved_incident_can_still_be_corrected() {
    given(vec![opened(), resolved()])
        .when(change_severity(Severity::Low))
        .then(vec![IncidentEvent::SeverityChanged {
            from: Severity::High,
            to: Severity::Low,
            by: "ana".to_owned(),
            at: at(20),
        }]);
}
