//! Given / when / then tests of the investigation aggregate.

#![allow(clippy::unwrap_used)]

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use uuid::Uuid;

use super::*;
use crate::ids::IncidentId;
use crate::scenario::{self, Given};
use crate::usage::ModelUsage;
use crate::values::Severity;

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_740_830_400, 0).unwrap() + TimeDelta::seconds(seconds)
}

fn incident() -> IncidentId {
    IncidentId(Uuid::from_u128(1))
}

fn given(events: Vec<InvestigationEvent>) -> Given<Investigation> {
    scenario::given::<Investigation>(events)
}

fn requested() -> InvestigationEvent {
    InvestigationEvent::Requested {
        incident: incident(),
        episode: 1,
        trigger: Trigger::Opened,
        at: at(0),
    }
}

fn started() -> InvestigationEvent {
    InvestigationEvent::Started {
        session: Uuid::from_u128(9),
        model: Some("gpt-test".into()),
        worker: "host-1".into(),
        at: at(1),
    }
}

fn step(id: &str) -> InvestigationEvent {
    InvestigationEvent::ToolStepStarted {
        step_id: id.into(),
        tool: "kubectl".into(),
        input: json!({"command": "get pods"}),
        at: at(2),
    }
}

fn finished(id: &str, status: StepStatus) -> InvestigationEvent {
    InvestigationEvent::ToolStepFinished {
        step_id: id.into(),
        status,
        output: "pod/api-1 CrashLoopBackOff".into(),
        duration_ms: 40,
        at: at(3),
    }
}

fn complete(conclusion: Conclusion) -> InvestigationCommand {
    InvestigationCommand::Complete {
        conclusion,
        summary: "The api pods crash on start.".into(),
        severity: None,
        at: at(9),
    }
}

#[test]
fn a_repeated_request_names_the_same_run_and_changes_nothing() {
    given(vec![])
        .when(InvestigationCommand::Request {
            incident: incident(),
            episode: 1,
            trigger: Trigger::Opened,
            at: at(0),
        })
        .then(vec![requested()]);
    given(vec![requested()])
        .when(InvestigationCommand::Request {
            incident: incident(),
            episode: 1,
            trigger: Trigger::Opened,
            at: at(5),
        })
        .then_nothing();
    assert_eq!(run_id(incident(), 1), run_id(incident(), 1));
    assert_ne!(run_id(incident(), 1), run_id(incident(), 2));
}

#[test]
fn only_one_worker_starts_a_run() {
    given(vec![requested(), started()])
        .when(InvestigationCommand::Start {
            session: Uuid::from_u128(10),
            model: None,
            worker: "host-2".into(),
            at: at(2),
        })
        .then_error(InvestigationError::AlreadyStarted {
            status: InvestigationStatus::Running,
        });
}

#[test]
fn a_queued_run_starts_from_the_queue() {
    let queued = InvestigationEvent::Queued { at: at(1) };
    given(vec![requested()])
        .when(InvestigationCommand::Queue { at: at(1) })
        .then(vec![queued.clone()]);
    let state = given(vec![requested(), queued])
        .when(InvestigationCommand::Start {
            session: Uuid::from_u128(9),
            model: Some("gpt-test".into()),
            worker: "host-1".into(),
            at: at(1),
        })
        .then(vec![started()]);
    assert_eq!(state.status, InvestigationStatus::Running);
}

#[test]
fn progress_needs_a_running_run() {
    given(vec![requested()])
        .when(InvestigationCommand::Think {
            text: "Looking at the pods first.".into(),
            at: at(2),
        })
        .then_error(InvestigationError::NotRunning {
            status: InvestigationStatus::Requested,
        });
    given(vec![])
        .when(InvestigationCommand::Fail {
            reason: "x".into(),
            at: at(2),
        })
        .then_error(InvestigationError::NotRequested);
}

#[test]
fn tool_steps_start_and_finish_once() {
    let state = given(vec![requested(), started(), step("s1")])
        .when(InvestigationCommand::FinishToolStep {
            step_id: "s1".into(),
            status: StepStatus::Succeeded,
            output: "pod/api-1 CrashLoopBackOff".into(),
            duration_ms: 40,
            at: at(3),
        })
        .then(vec![finished("s1", StepStatus::Succeeded)]);
    assert!(state.step_succeeded("s1"));
    given(vec![
        requested(),
        started(),
        step("s1"),
        finished("s1", StepStatus::Succeeded),
    ])
    .when(InvestigationCommand::FinishToolStep {
        step_id: "s1".into(),
        status: StepStatus::Failed,
        output: String::new(),
        duration_ms: 1,
        at: at(4),
    })
    .then_nothing();
    given(vec![requested(), started()])
        .when(InvestigationCommand::FinishToolStep {
            step_id: "nope".into(),
            status: StepStatus::Failed,
            output: String::new(),
            duration_ms: 1,
            at: at(4),
        })
        .then_error(InvestigationError::UnknownToolStep {
            step_id: "nope".into(),
        });
}

#[test]
fn a_finding_cites_only_steps_of_the_run() {
    given(vec![requested(), started(), step("s1")])
        .when(InvestigationCommand::RecordFinding {
            text: "The pods crash.".into(),
            citations: vec!["s2".into()],
            at: at(4),
        })
        .then_error(InvestigationError::UnknownToolStep {
            step_id: "s2".into(),
        });
}

#[test]
fn confirmed_needs_a_finding_citing_a_successful_step() {
    let evidence = vec![
        requested(),
        started(),
        step("s1"),
        finished("s1", StepStatus::Succeeded),
        InvestigationEvent::FindingRecorded {
            finding_id: 1,
            text: "The pods crash on start.".into(),
            citations: vec!["s1".into()],
            at: at(5),
        },
    ];
    let state = given(evidence)
        .when(complete(Conclusion::Confirmed))
        .then(vec![InvestigationEvent::Completed {
            conclusion: Conclusion::Confirmed,
            asked: None,
            summary: "The api pods crash on start.".into(),
            severity: None,
            at: at(9),
        }]);
    assert_eq!(state.status, InvestigationStatus::Completed);
}

#[test]
fn a_confirmed_claim_without_evidence_is_recorded_as_inconclusive() {
    given(vec![
        requested(),
        started(),
        step("s1"),
        finished("s1", StepStatus::Failed),
    ])
    .when(complete(Conclusion::Confirmed))
    .then(vec![InvestigationEvent::Completed {
        conclusion: Conclusion::Inconclusive,
        asked: Some(Conclusion::Confirmed),
        summary: "The api pods crash on start.".into(),
        severity: None,
        at: at(9),
    }]);
}

#[test]
fn an_ended_run_takes_nothing_more() {
    let cancelled = InvestigationEvent::Cancelled {
        by: "ana".into(),
        reason: "merged".into(),
        at: at(3),
    };
    given(vec![requested(), started(), cancelled.clone()])
        .when(InvestigationCommand::Think {
            text: "Still thinking about it.".into(),
            at: at(4),
        })
        .then_error(InvestigationError::Ended {
            status: InvestigationStatus::Cancelled,
        });
    given(vec![requested(), started(), cancelled])
        .when(InvestigationCommand::Fail {
            reason: "stale".into(),
            at: at(4),
        })
        .then_error(InvestigationError::Ended {
            status: InvestigationStatus::Cancelled,
        });
}

#[test]
fn usage_adds_up_and_cannot_be_negative() {
    let usage = |cost| {
        InvestigationCommand::RecordUsage(ModelUsage {
            model: "gpt-test".into(),
            input_tokens: 100,
            output_tokens: 20,
            cost_micros: cost,
            at: at(4),
        })
    };
    given(vec![requested(), started()])
        .when(usage(-1))
        .then_error(InvestigationError::NegativeCost { cost_micros: -1 });
    let state = given(vec![requested(), started()])
        .when(usage(30))
        .then(vec![InvestigationEvent::UsageRecorded(ModelUsage {
            model: "gpt-test".into(),
            input_tokens: 100,
            output_tokens: 20,
            cost_micros: 30,
            at: at(4),
        })]);
    assert_eq!(state.usage.cost_micros, 30);
    assert_eq!(state.usage.model_calls, 1);
    assert_eq!(state.last_progress_at, Some(at(4)));
}

#[test]
fn merged_thoughts_and_findings_are_carried_over() {
    let state = given(vec![requested(), started()])
        .when(InvestigationCommand::CarryOver {
            from: Uuid::from_u128(77),
            thoughts: vec!["The other incident saw the same pods crash.".into()],
            findings: vec!["Config map api-env lost DB_URL.".into()],
            at: at(5),
        })
        .then(vec![InvestigationEvent::CarriedOver {
            from: Uuid::from_u128(77),
            thoughts: vec!["The other incident saw the same pods crash.".into()],
            findings: vec!["Config map api-env lost DB_URL.".into()],
            at: at(5),
        }]);
    assert_eq!(state.findings.len(), 1);
    assert_eq!(state.thoughts.len(), 1);
}

fn resume(attempt: u32) -> InvestigationCommand {
    InvestigationCommand::Resume {
        worker: "host-2".into(),
        attempt,
        at: at(5),
    }
}

fn resumed(attempt: u32) -> InvestigationEvent {
    InvestigationEvent::Resumed {
        worker: "host-2".into(),
        attempt,
        at: at(5),
    }
}

#[test]
fn a_running_run_whose_worker_stopped_is_resumed_by_one_worker() {
    given(vec![requested(), started()])
        .when(resume(1))
        .then(vec![resumed(1)]);
    // A second worker that decided on the same state names the same attempt: refused.
    given(vec![requested(), started(), resumed(1)])
        .when(resume(1))
        .then_error(InvestigationError::AlreadyResumed { attempt: 1 });
    let state = fold(vec![requested(), started(), resumed(1)]);
    assert_eq!(state.resumes, 1);
    assert_eq!(
        state.resumed,
        vec![crate::investigation::Resume {
            worker: "host-2".into(),
            attempt: 1,
            at: at(5)
        }]
    );
    assert_eq!(state.worker.as_deref(), Some("host-2"));
    assert_eq!(
        state.last_progress_at,
        Some(at(5)),
        "a resumption is progress"
    );
}

#[test]
fn a_run_is_resumed_at_most_max_resumes_times_and_only_while_running() {
    let mut history = vec![requested(), started()];
    history.extend((1..=MAX_RESUMES).map(resumed));
    given(history)
        .when(resume(MAX_RESUMES + 1))
        .then_error(InvestigationError::ResumedTooOften { max: MAX_RESUMES });
    given(vec![requested()])
        .when(resume(1))
        .then_error(InvestigationError::NotRunning {
            status: InvestigationStatus::Requested,
        });
    given(vec![
        requested(),
        started(),
        InvestigationEvent::Failed {
            reason: "its worker stopped".into(),
            at: at(4),
        },
    ])
    .when(resume(1))
    .then_error(InvestigationError::Ended {
        status: InvestigationStatus::Failed,
    });
}

#[test]
fn the_severity_a_run_assessed_is_kept_and_unknown_is_no_assessment() {
    let assessed = |severity| InvestigationCommand::Complete {
        conclusion: Conclusion::Inconclusive,
        summary: "The api pods crash on start.".into(),
        severity,
        at: at(9),
    };
    let completed = |severity| InvestigationEvent::Completed {
        conclusion: Conclusion::Inconclusive,
        asked: None,
        summary: "The api pods crash on start.".into(),
        severity,
        at: at(9),
    };
    let state = given(vec![requested(), started()])
        .when(assessed(Some(Severity::High)))
        .then(vec![completed(Some(Severity::High))]);
    assert_eq!(state.severity, Some(Severity::High));
    given(vec![requested(), started()])
        .when(assessed(Some(Severity::Unknown)))
        .then(vec![completed(None)]);
    // A completion stored before runs assessed severity loads as none.
    let old = json!({"type": "completed", "conclusion": "likely", "asked": null,
        "summary": "s", "at": "2025-03-01T12:09:00Z"});
    let event = <InvestigationEvent as esrs::event::Upcaster>::upcast(old, Some(1)).unwrap();
    assert!(matches!(
        event,
        InvestigationEvent::Completed { severity: None, .. }
    ));
}
