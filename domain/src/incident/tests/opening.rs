use super::*;
use crate::incident::{
    fold, AttachedAlert, IncidentCommand, IncidentError, IncidentState, Opening,
};
use crate::values::IncidentStatus;
use crate::DomainEvent;

fn open() -> IncidentCommand {
    IncidentCommand::Open(Opening {
        id: id(),
        title: "High error rate on checkout".to_owned(),
        service: "checkout".to_owned(),
        environment: "production".to_owned(),
        severity: Severity::High,
        source: "grafana".to_owned(),
        source_alert_id: "alert-1".to_owned(),
        fingerprint: "fp-1".to_owned(),
        alert_fired_at: at(-2),
        at: at(0),
        why: None,
        integration_id: Some(integration()),
    })
}

#[test]
fn the_aggregate_is_stored_under_the_name_incident() {
    assert_eq!(<Incident as esrs::Aggregate>::NAME, "incident");
}

#[test]
fn opening_an_incident_records_every_initial_field() {
    let state = given(vec![]).when(open()).then(vec![opened()]);

    assert_eq!(state.id, Some(id()));
    assert_eq!(state.title, "High error rate on checkout");
    assert_eq!(state.service, "checkout");
    assert_eq!(state.environment, "production");
    assert_eq!(state.severity, Severity::High);
    assert_eq!(state.source, "grafana");
    assert_eq!(state.source_alert_id, "alert-1");
    assert_eq!(state.status, IncidentStatus::Investigating);
    assert_eq!(state.rca_status, RcaStatus::Idle);
    assert_eq!(state.started_at, Some(at(0)));
    assert_eq!(state.alert_fired_at, Some(at(-2)));
    assert_eq!(state.updated_at, Some(at(0)));
    assert_eq!(state.affected_services, vec!["checkout".to_owned()]);
    assert_eq!(state.correlated_alert_count, 0);
    assert_eq!(state.summary, None);
    assert_eq!(state.merged_into, None);
}

#[test]
fn the_opening_alert_is_the_first_attached_alert_without_a_correlation() {
    let state = given(vec![opened()]).state();

    assert_eq!(
        state.alerts,
        vec![AttachedAlert {
            alert: Alert {
                alert_id: "alert-1".to_owned(),
                fingerprint: "fp-1".to_owned(),
                title: "High error rate on checkout".to_owned(),
                service: "checkout".to_owned(),
                severity: Severity::High,
                source: "grafana".to_owned(),
                received_at: at(0),
            },
            correlation: None,
        }]
    );
}

#[test]
fn opening_an_incident_twice_is_refused() {
    given(vec![opened()])
        .when(open())
        .then_error(IncidentError::AlreadyOpened { id: id() });
}

#[test]
fn opening_an_incident_without_a_title_is_refused() {
    let mut command = open();
    if let IncidentCommand::Open(Opening { title, .. }) = &mut command {
        *title = "  ".to_owned();
    }
    given(vec![])
        .when(command)
        .then_error(IncidentError::EmptyTitle);
}

#[test]
fn every_command_on_an_incident_that_was_never_opened_is_refused() {
    for command in every_command_but_open() {
        given(vec![])
            .when(command)
            .then_error(IncidentError::NotOpened);
    }
}

#[test]
fn a_state_that_was_never_opened_is_the_default_one() {
    let state = given(vec![]).state();
    assert_eq!(state, IncidentState::default());
    assert!(!state.is_opened());
}

#[test]
fn every_event_names_its_dotted_type_and_when_it_happened() {
    let events = [
        (opened(), "incident.opened", at(0)),
        (correlated(3, "cart"), "incident.alert_correlated", at(3)),
        (
            IncidentEvent::ResolveNotificationAttached {
                fingerprint: "fp-1".to_owned(),
                source_alert_id: "alert-1".to_owned(),
                at: at(4),
            },
            "incident.resolve_notification_attached",
            at(4),
        ),
        (
            IncidentEvent::StatusChanged {
                from: IncidentStatus::Investigating,
                to: IncidentStatus::Analyzed,
                by: "ana".to_owned(),
                at: at(5),
            },
            "incident.status_changed",
            at(5),
        ),
        (
            IncidentEvent::SeverityChanged {
                from: Severity::High,
                to: Severity::Low,
                by: "ana".to_owned(),
                at: at(6),
            },
            "incident.severity_changed",
            at(6),
        ),
        (
            IncidentEvent::RcaStatusChanged {
                from: RcaStatus::Idle,
                to: RcaStatus::Running,
                at: at(7),
            },
            "incident.rca_status_changed",
            at(7),
        ),
        (
            IncidentEvent::SummaryUpdated {
                summary: "s".to_owned(),
                by: "rca".to_owned(),
                at: at(8),
            },
            "incident.summary_updated",
            at(8),
        ),
        (merged_into_other(), "incident.merged_into", at(10)),
        (
            IncidentEvent::MergedAlertsAbsorbed {
                source: other_id(),
                alerts: vec![],
                affected_services: vec![],
                at: at(11),
            },
            "incident.merged_alerts_absorbed",
            at(11),
        ),
        (resolved(), "incident.resolved", at(30)),
        (
            IncidentEvent::CommentAdded {
                comment_id: Uuid::from_u128(1),
                author: "ana".to_owned(),
                text: "t".to_owned(),
                at: at(12),
            },
            "incident.comment_added",
            at(12),
        ),
        (
            IncidentEvent::FeedbackGiven {
                by: "ana".to_owned(),
                helpful: true,
                comment: None,
                run: None,
                at: at(13),
            },
            "incident.feedback_given",
            at(13),
        ),
    ];
    for (event, event_type, time) in events {
        assert_eq!(event.event_type(), event_type);
        assert_eq!(event.occurred_at(), time);
        let tag = serde_json::to_value(&event).unwrap()["type"].clone();
        assert_eq!(
            Some(tag.as_str().unwrap()),
            event_type.strip_prefix("incident.")
        );
    }
}

#[test]
fn folding_the_events_up_to_a_moment_shows_the_incident_as_it_was_then() {
    let history = vec![
        opened(),
        correlated(3, "cart"),
        IncidentEvent::SeverityChanged {
            from: Severity::High,
            to: Severity::Critical,
            by: "ana".to_owned(),
            at: at(5),
        },
        resolved(),
    ];

    let then = fold(history.iter().filter(|e| e.occurred_at() <= at(4)).cloned());
    let now = fold(history);

    assert_eq!(then.severity, Severity::High);
    assert_eq!(then.status, IncidentStatus::Investigating);
    assert_eq!(then.correlated_alert_count, 1);
    assert_eq!(then.updated_at, Some(at(3)));
    assert_eq!(now.severity, Severity::Critical);
    assert_eq!(now.status, IncidentStatus::Resolved);
}
