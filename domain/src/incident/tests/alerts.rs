use super::*;
use crate::incident::{IncidentCommand, IncidentError, ResolveNotification, ALERT_CAP};

fn attach(n: i64, service: &str) -> IncidentCommand {
    IncidentCommand::AttachAlert {
        alert: alert(n, service),
        correlation: correlation(),
        at: at(n),
    }
}

fn resolve_notification(fingerprint: &str, source_alert_id: &str) -> IncidentCommand {
    IncidentCommand::AttachResolveNotification {
        fingerprint: fingerprint.to_owned(),
        source_alert_id: source_alert_id.to_owned(),
        at: at(20),
    }
}

#[test]
fn a_correlated_alert_grows_the_services_the_count_and_the_update_time() {
    let state = given(vec![opened()])
        .when(attach(3, "payments"))
        .then(vec![correlated(3, "payments")]);

    assert_eq!(state.affected_services, ["checkout", "payments"]);
    assert_eq!(state.correlated_alert_count, 1);
    assert_eq!(state.updated_at, Some(at(3)));
    assert_eq!(state.alerts.len(), 2);
    assert_eq!(state.alerts[1].alert, alert(3, "payments"));
    assert_eq!(state.alerts[1].correlation, Some(correlation()));
}

#[test]
fn attaching_the_same_alert_again_changes_nothing() {
    given(vec![opened(), correlated(3, "payments")])
        .when(attach(3, "payments"))
        .then_nothing();
}

#[test]
fn the_alert_that_opened_the_incident_counts_as_attached() {
    let mut command = attach(1, "checkout");
    if let IncidentCommand::AttachAlert { alert, .. } = &mut command {
        alert.alert_id = "alert-1".to_owned();
    }
    given(vec![opened()]).when(command).then_nothing();
}

#[test]
fn affected_services_keep_their_order_and_hold_each_service_once() {
    let state = given(vec![
        opened(),
        correlated(2, "payments"),
        correlated(3, "checkout"),
        correlated(4, "cart"),
        correlated(5, "payments"),
    ])
    .state();

    assert_eq!(state.affected_services, ["checkout", "payments", "cart"]);
    assert_eq!(state.correlated_alert_count, 4);
}

#[test]
fn an_incident_with_forty_nine_correlated_alerts_accepts_one_more() {
    let mut history = vec![opened()];
    history.extend((100..149).map(|n| correlated(n, "checkout")));

    let state = given(history)
        .when(attach(200, "checkout"))
        .then(vec![correlated(200, "checkout")]);

    assert_eq!(state.correlated_alert_count, ALERT_CAP);
}

#[test]
fn an_incident_with_fifty_correlated_alerts_refuses_another() {
    let mut history = vec![opened()];
    history.extend((100..150).map(|n| correlated(n, "checkout")));

    given(history)
        .when(attach(200, "checkout"))
        .then_error(IncidentError::AlertCapReached { cap: 50 });
}

#[test]
fn a_resolved_incident_refuses_new_alerts() {
    given(vec![opened(), resolved()])
        .when(attach(40, "checkout"))
        .then_error(IncidentError::Resolved);
}

#[test]
fn an_alert_redelivered_after_the_incident_was_resolved_changes_nothing() {
    given(vec![opened(), correlated(3, "payments"), resolved()])
        .when(attach(3, "payments"))
        .then_nothing();
}

#[test]
fn a_merged_incident_refuses_new_alerts() {
    given(vec![opened(), merged_into_other()])
        .when(attach(40, "checkout"))
        .then_error(IncidentError::Merged { into: other_id() });
}

#[test]
fn a_resolve_notification_attaches_to_the_incident_holding_its_fingerprint() {
    let state = given(vec![opened()])
        .when(resolve_notification("fp-1", "alert-1"))
        .then(vec![IncidentEvent::ResolveNotificationAttached {
            fingerprint: "fp-1".to_owned(),
            source_alert_id: "alert-1".to_owned(),
            at: at(20),
        }]);

    assert_eq!(
        state.resolve_notifications,
        vec![ResolveNotification {
            fingerprint: "fp-1".to_owned(),
            source_alert_id: "alert-1".to_owned(),
            at: at(20),
        }]
    );
    assert_eq!(state.status, crate::values::IncidentStatus::Investigating);
}

#[test]
fn a_resolve_notification_may_match_a_correlated_alert() {
    given(vec![opened(), correlated(3, "payments")])
        .when(resolve_notification("fp-3", "alert-3"))
        .then(vec![IncidentEvent::ResolveNotificationAttached {
            fingerprint: "fp-3".to_owned(),
            source_alert_id: "alert-3".to_owned(),
            at: at(20),
        }]);
}

#[test]
fn a_repeated_resolve_notification_changes_nothing() {
    given(vec![
        opened(),
        IncidentEvent::ResolveNotificationAttached {
            fingerprint: "fp-1".to_owned(),
            source_alert_id: "alert-1".to_owned(),
            at: at(19),
        },
    ])
    .when(resolve_notification("fp-1", "alert-1"))
    .then_nothing();
}

#[test]
fn a_resolve_notification_for_a_fingerprint_the_incident_does_not_hold_is_refused() {
    given(vec![opened()])
        .when(resolve_notification("fp-9", "alert-9"))
        .then_error(IncidentError::FingerprintNotHeld {
            fingerprint: "fp-9".to_owned(),
        });
}

#[test]
fn a_resolve_notification_is_still_recorded_after_the_incident_was_resolved() {
    given(vec![opened(), resolved()])
        .when(resolve_notification("fp-1", "alert-1"))
        .then(vec![IncidentEvent::ResolveNotificationAttached {
            fingerprint: "fp-1".to_owned(),
            source_alert_id: "alert-1".to_owned(),
            at: at(20),
        }]);
}
