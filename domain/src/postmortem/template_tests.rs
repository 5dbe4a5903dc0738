//! The template against a scripted incident whose text is known line by line.

#![allow(clippy::unwrap_used)]

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use uuid::Uuid;

use super::*;
use crate::correlation::{Correlation, TitleBasis, TopologyBasis};
use crate::ids::IncidentId;
use crate::incident::{self, Alert, Opening};
use crate::investigation::{
    self, Conclusion, InvestigationEvent, Risk, StepStatus, SuggestionKind,
};
use crate::values::{IncidentStatus, Severity};

fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_740_830_400, 0).unwrap() + TimeDelta::minutes(minutes)
}

fn id() -> IncidentId {
    IncidentId(Uuid::from_u128(1))
}

fn events() -> Vec<IncidentEvent> {
    vec![
        IncidentEvent::Opened(Opening {
            id: id(),
            title: "High error rate on checkout".into(),
            service: "checkout".into(),
            environment: "production".into(),
            severity: Severity::High,
            source: "grafana".into(),
            source_alert_id: "alert-1".into(),
            fingerprint: "fp-1".into(),
            alert_fired_at: at(-2),
            at: at(0),
            why: None,
            integration_id: None,
        }),
        IncidentEvent::AlertCorrelated {
            alert: Alert {
                alert_id: "alert-2".into(),
                fingerprint: "fp-2".into(),
                title: "payments latency".into(),
                service: "payments".into(),
                severity: Severity::Medium,
                source: "datadog".into(),
                received_at: at(3),
            },
            correlation: Correlation {
                strategy: "topology".into(),
                score: 0.8,
                topology: 1.0,
                time: 0.9,
                similarity: 0.3,
                candidates_considered: 2,
                topology_basis: TopologyBasis::ServiceGraph,
                topology_path: None,
                title_basis: TitleBasis::WordOverlap,
            },
            at: at(3),
        },
        IncidentEvent::CommentAdded {
            comment_id: Uuid::from_u128(5),
            author: "ana@acme.io".into(),
            text: "Rolling back v42.\nWatching the error rate.".into(),
            at: at(20),
        },
        IncidentEvent::Resolved {
            by: "ana@acme.io".into(),
            reason: Some("rolled back to v41".into()),
            at: at(65),
        },
    ]
}

fn concluded() -> InvestigationState {
    investigation::fold([
        InvestigationEvent::Requested {
            incident: id(),
            episode: 1,
            trigger: investigation::Trigger::Opened,
            at: at(0),
        },
        InvestigationEvent::Started {
            session: Uuid::from_u128(9),
            model: Some("gpt-test".into()),
            worker: "w".into(),
            at: at(1),
        },
        InvestigationEvent::ToolStepStarted {
            step_id: "call-1".into(),
            tool: "kubectl".into(),
            input: json!({"command": "get pods"}),
            at: at(2),
        },
        InvestigationEvent::ToolStepFinished {
            step_id: "call-1".into(),
            status: StepStatus::Succeeded,
            output: "CrashLoopBackOff".into(),
            duration_ms: 10,
            at: at(2),
        },
        InvestigationEvent::FindingRecorded {
            finding_id: 1,
            text: "checkout v42 crash-loops on start".into(),
            citations: vec!["call-1".into()],
            at: at(4),
        },
        InvestigationEvent::SuggestionMade {
            suggestion_id: 1,
            kind: SuggestionKind::Mitigation,
            risk: Risk::Low,
            title: "Roll back checkout".into(),
            action: Some("kubectl rollout undo deploy/checkout".into()),
            at: at(5),
        },
        InvestigationEvent::Completed {
            conclusion: Conclusion::Confirmed,
            asked: None,
            summary: "The v42 deploy of checkout crash-loops.".into(),
            severity: None,
            at: at(6),
        },
    ])
}

#[test]
fn every_section_is_filled_from_the_events_and_the_investigation() {
    let events = events();
    let state = incident::fold(events.clone());
    let run = concluded();
    let text = render(&Facts {
        incident: &state,
        events: &events,
        investigation: Some(&run),
    });
    let mut last = 0;
    for section in SECTIONS {
        let heading = format!("\n## {section}\n");
        let found = text
            .find(&heading)
            .unwrap_or_else(|| panic!("no {section}:\n{text}"));
        assert!(found > last, "{section} is out of order");
        last = found;
    }
    for expected in [
        "# Postmortem: High error rate on checkout\n",
        "| Alert fired | 2025-03-01 11:58:00 UTC |",
        "| Time to detect | 2 min |",
        "| Time to resolve | 1 h 5 min |",
        "High error rate on checkout affected checkout (production) for 1 h 7 min, from the first alert until it was resolved.",
        "The v42 deploy of checkout crash-loops.",
        "- Affected services: checkout, payments.",
        "- 2 alert(s): the one that opened the incident and 1 correlated with it.",
        "- 2025-03-01 12:00:00 — Incident opened from grafana: High error rate on checkout (high, service checkout)",
        "- 2025-03-01 12:20:00 — Comment by ana@acme.io:\n  > Rolling back v42.\n  > Watching the error rate.",
        "concluded **CONFIRMED**.",
        "1. checkout v42 crash-loops on start _(shown by call-1)_",
        "- 2025-03-01 13:05:00: resolved by ana@acme.io: rolled back to v41",
        "- [ ] **mitigation** (low risk): Roll back checkout",
        "kubectl rollout undo deploy/checkout",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    // A confirmed cause needs no action item to find it.
    assert!(!text.contains("Establish the root cause"));
}

#[test]
fn the_same_events_give_the_same_text() {
    let events = events();
    let state = incident::fold(events.clone());
    let facts = Facts {
        incident: &state,
        events: &events,
        investigation: None,
    };
    assert_eq!(render(&facts), render(&facts));
}

#[test]
fn without_an_investigation_it_says_the_cause_is_not_recorded_and_asks_for_it() {
    let events = events();
    let state = incident::fold(events.clone());
    let text = render(&Facts {
        incident: &state,
        events: &events,
        investigation: None,
    });
    assert!(text.contains("No root-cause analysis was run for this incident"));
    assert!(text.contains("- [ ] Establish the root cause"));
    assert!(text.contains("No summary was recorded on the incident."));
    assert_eq!(state.status, IncidentStatus::Resolved);
}

#[test]
fn a_failed_investigation_says_why() {
    let events = events();
    let state = incident::fold(events.clone());
    let run = investigation::fold([
        InvestigationEvent::Requested {
            incident: id(),
            episode: 1,
            trigger: investigation::Trigger::Manual {
                by: "ana@acme.io".into(),
            },
            at: at(0),
        },
        InvestigationEvent::Failed {
            reason: "its worker stopped".into(),
            at: at(9),
        },
    ]);
    let text = render(&Facts {
        incident: &state,
        events: &events,
        investigation: Some(&run),
    });
    assert!(
        text.contains("The investigation (asked for by ana@acme.io) failed: its worker stopped."),
        "{text}"
    );
}

#[test]
fn a_text_over_the_limit_is_cut_and_says_so() {
    let long = "x".repeat(MARKDOWN_MAX_CHARS + 10);
    let cut = fit(long);
    assert_eq!(cut.chars().count(), MARKDOWN_MAX_CHARS);
    assert!(cut.ends_with("(cut at 200000 characters)\n"));
    assert_eq!(fit("short".into()), "short");
}

#[test]
fn durations_read_as_people_say_them() {
    assert_eq!(duration(TimeDelta::seconds(40)), "40 s");
    assert_eq!(duration(TimeDelta::seconds(120)), "2 min");
    assert_eq!(duration(TimeDelta::seconds(125)), "2 min 5 s");
    assert_eq!(duration(TimeDelta::seconds(3900)), "1 h 5 min");
    assert_eq!(duration(TimeDelta::seconds(90_000)), "1 d 1 h");
}
