use super::*;
use crate::incident::{IncidentCommand, IncidentError};

fn change_rca(to: RcaStatus) -> IncidentCommand {
    IncidentCommand::ChangeRcaStatus { to, at: at(20) }
}

const ALLOWED: [(RcaStatus, RcaStatus); 7] = [
    (RcaStatus::Idle, RcaStatus::Running),
    (RcaStatus::Running, RcaStatus::Summarizing),
    (RcaStatus::Running, RcaStatus::Error),
    (RcaStatus::Summarizing, RcaStatus::Complete),
    (RcaStatus::Summarizing, RcaStatus::Error),
    (RcaStatus::Complete, RcaStatus::Running),
    (RcaStatus::Error, RcaStatus::Running),
];

#[test]
fn every_allowed_rca_transition_is_recorded() {
    for (from, to) in ALLOWED {
        let state = given(rca_history(from)).when(change_rca(to)).then(vec![
            IncidentEvent::RcaStatusChanged {
                from,
                to,
                at: at(20),
            },
        ]);
        assert_eq!(state.rca_status, to, "{from} -> {to}");
    }
}

#[test]
fn every_other_rca_transition_is_refused() {
    for &from in RcaStatus::ALL {
        for &to in RcaStatus::ALL {
            if from == to || ALLOWED.contains(&(from, to)) {
                continue;
            }
            given(rca_history(from))
                .when(change_rca(to))
                .then_error(IncidentError::InvalidRcaTransition { from, to });
        }
    }
}

#[test]
fn changing_the_rca_status_to_the_current_one_changes_nothing() {
    for &status in RcaStatus::ALL {
        given(rca_history(status))
            .when(change_rca(status))
            .then_nothing();
    }
}

#[test]
fn an_rca_can_finish_after_the_incident_was_resolved() {
    let mut history = rca_history(RcaStatus::Summarizing);
    history.push(resolved());

    given(history)
        .when(change_rca(RcaStatus::Complete))
        .then(vec![IncidentEvent::RcaStatusChanged {
            from: RcaStatus::Summarizing,
            to: RcaStatus::Complete,
            at: at(20),
        }]);
}
