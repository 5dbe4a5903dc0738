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

fn run(n: u32) -> Uuid {
    crate::ids::run_id(id(), n)
}

fn requested(n: u32) -> IncidentEvent {
    IncidentEvent::RcaRequested {
        run: run(n),
        episode: n,
        by: None,
        at: at(1),
    }
}

#[test]
fn an_investigation_is_requested_once_per_run() {
    let state = given(vec![opened()])
        .when(IncidentCommand::RequestRca {
            run: run(1),
            by: None,
            at: at(1),
        })
        .then(vec![requested(1)]);
    assert_eq!(state.rca_run, Some(run(1)));
    assert!(state.rca_under_way);
    // A redelivered opening asks for the same run: nothing more.
    given(vec![opened(), requested(1)])
        .when(IncidentCommand::RequestRca {
            run: run(1),
            by: None,
            at: at(2),
        })
        .then_nothing();
}

#[test]
fn a_second_investigation_waits_for_the_first_to_end() {
    given(vec![opened(), requested(1)])
        .when(IncidentCommand::RequestRca {
            run: run(2),
            by: Some("ana".into()),
            at: at(2),
        })
        .then_error(IncidentError::RcaUnderWay { run: run(1) });
    let failed = given(vec![opened(), requested(1)])
        .when(IncidentCommand::FailRca {
            run: run(1),
            at: at(3),
        })
        .then(vec![
            IncidentEvent::RcaStatusChanged {
                from: RcaStatus::Idle,
                to: RcaStatus::Running,
                at: at(3),
            },
            IncidentEvent::RcaStatusChanged {
                from: RcaStatus::Running,
                to: RcaStatus::Error,
                at: at(3),
            },
        ]);
    assert!(!failed.rca_under_way);
    assert_eq!(failed.rca_runs, 1);
    // After it ended, the next one may be asked for, and only as the next episode.
    given(vec![
        opened(),
        requested(1),
        IncidentEvent::RcaCancelled {
            run: run(1),
            by: "ana".into(),
            at: at(3),
        },
    ])
    .when(IncidentCommand::RequestRca {
        run: run(1),
        by: None,
        at: at(4),
    })
    .then_nothing();
    given(vec![
        opened(),
        requested(1),
        IncidentEvent::RcaCancelled {
            run: run(1),
            by: "ana".into(),
            at: at(3),
        },
    ])
    .when(IncidentCommand::RequestRca {
        run: run(3),
        by: Some("ana".into()),
        at: at(4),
    })
    .then_error(IncidentError::NotNextRca {
        run: run(3),
        next: run(2),
    });
    let again = given(vec![
        opened(),
        requested(1),
        IncidentEvent::RcaCancelled {
            run: run(1),
            by: "ana".into(),
            at: at(3),
        },
    ])
    .when(IncidentCommand::RequestRca {
        run: run(2),
        by: Some("ana".into()),
        at: at(4),
    })
    .then(vec![IncidentEvent::RcaRequested {
        run: run(2),
        episode: 2,
        by: Some("ana".into()),
        at: at(4),
    }]);
    assert_eq!(again.rca_run, Some(run(2)));
}

#[test]
fn a_concluded_investigation_sets_the_summary_and_analyzes_the_incident() {
    let started = IncidentEvent::RcaStatusChanged {
        from: RcaStatus::Idle,
        to: RcaStatus::Running,
        at: at(2),
    };
    let state = given(vec![opened(), requested(1), started.clone()])
        .when(IncidentCommand::ConcludeRca {
            run: run(1),
            summary: "The deploy at 11:58 exhausted the pool.".into(),
            severity: Some(Severity::High),
            at: at(9),
        })
        .then(vec![
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
                summary: "The deploy at 11:58 exhausted the pool.".into(),
                by: crate::incident::RCA_AUTHOR.into(),
                at: at(9),
            },
            IncidentEvent::StatusChanged {
                from: crate::values::IncidentStatus::Investigating,
                to: crate::values::IncidentStatus::Analyzed,
                by: crate::incident::RCA_AUTHOR.into(),
                at: at(9),
            },
        ]);
    assert_eq!(state.rca_status, RcaStatus::Complete);
    assert!(!state.rca_under_way);
    // A run that is not the current one changes nothing on the incident.
    given(vec![opened(), requested(1), started])
        .when(IncidentCommand::ConcludeRca {
            run: run(7),
            summary: "stale".into(),
            severity: None,
            at: at(9),
        })
        .then_error(IncidentError::NotCurrentRca {
            run: run(7),
            current: Some(run(1)),
        });
}

#[test]
fn cancelling_needs_a_run_under_way() {
    given(vec![opened()])
        .when(IncidentCommand::CancelRca {
            by: "ana".into(),
            at: at(3),
        })
        .then_error(IncidentError::NoRcaUnderWay);
    let state = given(vec![opened(), requested(1)])
        .when(IncidentCommand::CancelRca {
            by: "ana".into(),
            at: at(3),
        })
        .then(vec![IncidentEvent::RcaCancelled {
            run: run(1),
            by: "ana".into(),
            at: at(3),
        }]);
    assert!(!state.rca_under_way);
    assert_eq!(state.rca_status, RcaStatus::Idle);
}

#[test]
fn merging_ends_the_run_under_way() {
    let state = given(vec![opened(), requested(1)])
        .when(IncidentCommand::MergeInto {
            target: other_id(),
            target_status: crate::values::IncidentStatus::Investigating,
            by: "ana".into(),
            at: at(4),
        })
        .then(vec![IncidentEvent::MergedInto {
            target: other_id(),
            rca_cancelled: true,
            by: "ana".into(),
            at: at(4),
        }]);
    assert!(!state.rca_under_way);
}
