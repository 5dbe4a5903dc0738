use esrs::event::Upcaster;
use serde_json::{json, Value};

use super::*;
use crate::incident::Opening;

fn v1_opened(severity: &str) -> Value {
    json!({
        "type": "opened",
        "id": "00000000-0000-0000-0000-000000000001",
        "title": "High error rate on checkout",
        "service": "checkout",
        "severity": severity,
        "source": "grafana",
        "source_alert_id": "alert-1",
        "fingerprint": "fp-1",
        "alert_fired_at": "2025-03-01T11:58:00Z",
        "at": "2025-03-01T12:00:00Z"
    })
}

fn opened_with(environment: &str, severity: Severity) -> IncidentEvent {
    let IncidentEvent::Opened(Opening {
        id,
        title,
        service,
        source,
        source_alert_id,
        fingerprint,
        alert_fired_at,
        at,
        ..
    }) = opened()
    else {
        unreachable!("opened() returns Opened")
    };
    IncidentEvent::Opened(Opening {
        id,
        title,
        service,
        environment: environment.to_owned(),
        severity,
        source,
        source_alert_id,
        fingerprint,
        alert_fired_at,
        at,
        why: None,
        // Events of version 1 name no integration.
        integration_id: None,
    })
}

#[test]
fn incident_events_are_written_at_version_two() {
    assert_eq!(IncidentEvent::current_version(), Some(2));
}

#[test]
fn a_version_one_opened_event_upcasts_into_todays_shape() {
    let event = IncidentEvent::upcast(v1_opened("P1"), Some(1)).unwrap();

    assert_eq!(event, opened_with("production", Severity::Critical));
}

#[test]
fn every_version_one_priority_maps_onto_a_severity() {
    for (priority, severity) in [
        ("P1", Severity::Critical),
        ("P2", Severity::High),
        ("P3", Severity::Medium),
        ("P4", Severity::Low),
        ("P5", Severity::Low),
    ] {
        let event = IncidentEvent::upcast(v1_opened(priority), Some(1)).unwrap();
        assert_eq!(event, opened_with("production", severity), "{priority}");
    }
}

#[test]
fn an_event_stored_without_a_version_is_read_as_version_one() {
    let event = IncidentEvent::upcast(v1_opened("P2"), None).unwrap();

    assert_eq!(event, opened_with("production", Severity::High));
}

#[test]
fn a_version_two_opened_event_loads_as_it_is() {
    let mut body = v1_opened("low");
    body["environment"] = json!("staging");

    let event = IncidentEvent::upcast(body, Some(2)).unwrap();

    assert_eq!(event, opened_with("staging", Severity::Low));
}

#[test]
fn an_opened_event_written_before_integrations_were_named_loads_without_one() {
    let mut body = serde_json::to_value(opened()).unwrap();
    body.as_object_mut().unwrap().remove("integration_id");

    let event = IncidentEvent::upcast(body, Some(2)).unwrap();

    let IncidentEvent::Opened(Opening { integration_id, .. }) = event else {
        panic!("an opened event: {event:?}")
    };
    assert_eq!(integration_id, None);
}

#[test]
fn other_version_one_events_load_unchanged() {
    let body = json!({
        "type": "severity_changed",
        "from": "high",
        "to": "critical",
        "by": "ana",
        "at": "2025-03-01T12:05:00Z"
    });

    let event = IncidentEvent::upcast(body, Some(1)).unwrap();

    assert_eq!(
        event,
        IncidentEvent::SeverityChanged {
            from: Severity::High,
            to: Severity::Critical,
            by: "ana".to_owned(),
            at: at(5),
        }
    );
}

#[test]
fn every_event_survives_a_round_trip_through_json_at_the_current_version() {
    let events = vec![
        opened(),
        correlated(3, "cart"),
        merged_into_other(),
        resolved(),
        IncidentEvent::MergedAlertsAbsorbed {
            source: other_id(),
            alerts: vec![alert(4, "search")],
            affected_services: vec!["search".to_owned()],
            at: at(4),
        },
    ];
    for event in events {
        let body = serde_json::to_value(&event).unwrap();
        let loaded = IncidentEvent::upcast(body, IncidentEvent::current_version()).unwrap();
        assert_eq!(loaded, event);
    }
}

#[test]
fn garbage_gives_a_serde_error() {
    let garbage = [
        json!("not an event"),
        json!({"type": "exploded", "at": "2025-03-01T12:00:00Z"}),
        v1_opened("P9"),
        json!({"type": "opened"}),
    ];
    for body in garbage {
        for version in [None, Some(1), Some(2)] {
            let result = IncidentEvent::upcast(body.clone(), version);
            assert!(result.is_err(), "{body} at {version:?} must not load");
        }
    }
}
