use super::*;
use crate::incident::{IncidentCommand, IncidentError};
use crate::values::IncidentStatus;

fn merge_into(target: IncidentId, target_status: IncidentStatus) -> IncidentCommand {
    IncidentCommand::MergeInto {
        target,
        target_status,
        by: "ana".to_owned(),
        at: at(20),
    }
}

fn merged(rca_cancelled: bool) -> IncidentEvent {
    IncidentEvent::MergedInto {
        target: other_id(),
        rca_cancelled,
        by: "ana".to_owned(),
        at: at(20),
    }
}

fn absorb(alerts: Vec<Alert>, services: &[&str]) -> IncidentCommand {
    IncidentCommand::AbsorbMerged {
        source: other_id(),
        alerts,
        affected_services: services.iter().map(|s| (*s).to_owned()).collect(),
        at: at(25),
    }
}

fn absorbed(alerts: Vec<Alert>, services: &[&str]) -> IncidentEvent {
    IncidentEvent::MergedAlertsAbsorbed {
        source: other_id(),
        alerts,
        affected_services: services.iter().map(|s| (*s).to_owned()).collect(),
        at: at(25),
    }
}

#[test]
fn merging_records_the_target_and_closes_the_source() {
    let state = given(vec![opened()])
        .when(merge_into(other_id(), IncidentStatus::Investigating))
        .then(vec![merged(false)]);

    assert_eq!(state.status, IncidentStatus::Merged);
    assert_eq!(state.merged_into, Some(other_id()));
    assert_eq!(state.rca_status, RcaStatus::Idle);
}

#[test]
fn merging_cancels_a_running_rca() {
    let state = given(rca_history(RcaStatus::Running))
        .when(merge_into(other_id(), IncidentStatus::Investigating))
        .then(vec![merged(true)]);

    assert_eq!(state.rca_status, RcaStatus::Idle);
}

#[test]
fn merging_cancels_a_summarizing_rca() {
    given(rca_history(RcaStatus::Summarizing))
        .when(merge_into(other_id(), IncidentStatus::Analyzed))
        .then(vec![merged(true)]);
}

#[test]
fn merging_keeps_a_finished_rca() {
    for status in [RcaStatus::Complete, RcaStatus::Error] {
        let state = given(rca_history(status))
            .when(merge_into(other_id(), IncidentStatus::Investigating))
            .then(vec![merged(false)]);
        assert_eq!(state.rca_status, status);
    }
}

#[test]
fn a_resolved_incident_can_be_merged_into_a_resolved_one() {
    given(vec![opened(), resolved()])
        .when(merge_into(other_id(), IncidentStatus::Resolved))
        .then(vec![merged(false)]);
}

#[test]
fn merging_an_incident_into_itself_is_refused() {
    given(vec![opened()])
        .when(merge_into(id(), IncidentStatus::Investigating))
        .then_error(IncidentError::MergeIntoItself { id: id() });
}

#[test]
fn merging_an_incident_that_was_already_merged_is_refused() {
    given(vec![opened(), merged_into_other()])
        .when(merge_into(
            IncidentId(Uuid::from_u128(7)),
            IncidentStatus::Investigating,
        ))
        .then_error(IncidentError::Merged { into: other_id() });
}

#[test]
fn merging_into_a_merged_incident_is_refused() {
    given(vec![opened()])
        .when(merge_into(other_id(), IncidentStatus::Merged))
        .then_error(IncidentError::TargetMerged { target: other_id() });
}

#[test]
fn every_command_that_would_change_a_merged_incident_is_refused() {
    for command in every_command_but_open() {
        given(vec![opened(), merged_into_other()])
            .when(command)
            .then_error(IncidentError::Merged { into: other_id() });
    }
}

#[test]
fn absorbing_a_merged_incident_takes_over_its_alerts_and_services() {
    let state = given(vec![opened(), correlated(2, "payments")])
        .when(absorb(
            vec![alert(5, "search"), alert(6, "payments")],
            &["search", "payments", "ledger"],
        ))
        .then(vec![absorbed(
            vec![alert(5, "search"), alert(6, "payments")],
            &["search", "payments", "ledger"],
        )]);

    assert_eq!(
        state.affected_services,
        ["checkout", "payments", "search", "ledger"]
    );
    assert_eq!(state.correlated_alert_count, 3);
    assert_eq!(state.alerts.len(), 4);
    assert_eq!(state.alerts[2].correlation, None);
    assert_eq!(state.merged_from, vec![other_id()]);
    assert_eq!(state.updated_at, Some(at(25)));
}

#[test]
fn absorbing_leaves_out_alerts_the_incident_already_holds() {
    given(vec![opened(), correlated(2, "payments")])
        .when(absorb(vec![alert(2, "payments"), alert(5, "search")], &[]))
        .then(vec![absorbed(vec![alert(5, "search")], &[])]);
}

#[test]
fn absorbing_the_same_incident_twice_changes_nothing() {
    given(vec![
        opened(),
        absorbed(vec![alert(5, "search")], &["search"]),
    ])
    .when(absorb(vec![alert(5, "search")], &["search"]))
    .then_nothing();
}

#[test]
fn an_incident_cannot_absorb_itself() {
    given(vec![opened()])
        .when(IncidentCommand::AbsorbMerged {
            source: id(),
            alerts: vec![],
            affected_services: vec![],
            at: at(25),
        })
        .then_error(IncidentError::MergeIntoItself { id: id() });
}
