//! Given/when/then tests of every integration rule.

use chrono::{TimeZone, Utc};
use uuid::Uuid;

use super::*;
use crate::scenario::given;

fn at(minute: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 10, minute, 0)
        .single()
        .expect("a valid time")
}

fn id() -> Uuid {
    Uuid::from_u128(1)
}

fn admin() -> Uuid {
    Uuid::from_u128(7)
}

fn create(source: &str, name: &str) -> IntegrationCommand {
    IntegrationCommand::Create(NewIntegration {
        id: id(),
        source: source.into(),
        name: name.into(),
        settings: IntegrationSettings::default(),
        secret_ref: "local:acme/integrations/1/1".into(),
        by: admin(),
        at: at(0),
    })
}

fn created() -> IntegrationEvent {
    IntegrationEvent::Created(NewIntegration {
        id: id(),
        source: "grafana".into(),
        name: "Prod Grafana".into(),
        settings: IntegrationSettings::default(),
        secret_ref: "local:acme/integrations/1/1".into(),
        by: admin(),
        at: at(0),
    })
}

fn deleted() -> IntegrationEvent {
    IntegrationEvent::Deleted {
        by: admin(),
        at: at(5),
    }
}

#[test]
fn an_integration_is_created_with_a_trimmed_name_and_accepts_deliveries() {
    let state = given::<Integration>([])
        .when(create("grafana", "  Prod Grafana "))
        .then(vec![created()]);
    assert!(state.accepts_deliveries());
    assert!(state.settings.enabled);
}

#[test]
fn creating_twice_is_refused() {
    given::<Integration>([created()])
        .when(create("grafana", "again"))
        .then_error(IntegrationError::AlreadyCreated);
}

#[test]
fn a_name_is_required_and_bounded() {
    given::<Integration>([])
        .when(create("grafana", "   "))
        .then_error(IntegrationError::EmptyName);
    given::<Integration>([])
        .when(create("grafana", &"x".repeat(NAME_MAX_CHARS + 1)))
        .then_error(IntegrationError::NameTooLong {
            len: NAME_MAX_CHARS + 1,
            max: NAME_MAX_CHARS,
        });
}

#[test]
fn a_source_name_must_be_one_subject_safe_word() {
    for bad in ["", "Grafana", "graf ana", "graf.ana"] {
        given::<Integration>([])
            .when(create(bad, "x"))
            .then_error(IntegrationError::InvalidSource(bad.into()));
    }
}

#[test]
fn a_secret_reference_is_required() {
    given::<Integration>([])
        .when(IntegrationCommand::Create(NewIntegration {
            id: id(),
            source: "grafana".into(),
            name: "x".into(),
            settings: IntegrationSettings::default(),
            secret_ref: " ".into(),
            by: admin(),
            at: at(0),
        }))
        .then_error(IntegrationError::EmptySecretRef);
}

#[test]
fn commands_on_a_missing_integration_are_refused() {
    given::<Integration>([])
        .when(IntegrationCommand::Delete {
            by: admin(),
            at: at(1),
        })
        .then_error(IntegrationError::NotCreated);
}

#[test]
fn an_update_records_only_what_changed() {
    let off = IntegrationSettings {
        enabled: false,
        ..IntegrationSettings::default()
    };
    let state = given::<Integration>([created()])
        .when(IntegrationCommand::Update {
            name: Some("Prod Grafana".into()),
            settings: Some(off.clone()),
            by: admin(),
            at: at(1),
        })
        .then(vec![IntegrationEvent::SettingsChanged {
            from: IntegrationSettings::default(),
            to: off,
            by: admin(),
            at: at(1),
        }]);
    assert!(!state.accepts_deliveries(), "disabled");
    given::<Integration>([created()])
        .when(IntegrationCommand::Update {
            name: None,
            settings: Some(IntegrationSettings::default()),
            by: admin(),
            at: at(1),
        })
        .then_nothing();
}

#[test]
fn a_rename_is_an_event() {
    given::<Integration>([created()])
        .when(IntegrationCommand::Update {
            name: Some("Staging Grafana".into()),
            settings: None,
            by: admin(),
            at: at(2),
        })
        .then(vec![IntegrationEvent::Renamed {
            name: "Staging Grafana".into(),
            by: admin(),
            at: at(2),
        }]);
}

#[test]
fn rotating_the_secret_replaces_the_reference() {
    let state = given::<Integration>([created()])
        .when(IntegrationCommand::RotateSecret {
            secret_ref: "local:acme/integrations/1/2".into(),
            by: admin(),
            at: at(3),
        })
        .then(vec![IntegrationEvent::SecretRotated {
            secret_ref: "local:acme/integrations/1/2".into(),
            by: admin(),
            at: at(3),
        }]);
    assert_eq!(state.secret_ref, "local:acme/integrations/1/2");
    assert_eq!(state.secret_version, 1);
}

#[test]
fn the_sns_topic_is_pinned_once_and_others_are_refused() {
    let pinned = IntegrationEvent::TopicPinned {
        topic: "arn:aws:sns:eu-west-1:1:alarms".into(),
        at: at(1),
    };
    given::<Integration>([created()])
        .when(IntegrationCommand::PinTopic {
            topic: "arn:aws:sns:eu-west-1:1:alarms".into(),
            at: at(1),
        })
        .then(vec![pinned.clone()]);
    given::<Integration>([created(), pinned.clone()])
        .when(IntegrationCommand::PinTopic {
            topic: "arn:aws:sns:eu-west-1:1:alarms".into(),
            at: at(2),
        })
        .then_nothing();
    given::<Integration>([created(), pinned])
        .when(IntegrationCommand::PinTopic {
            topic: "arn:aws:sns:eu-west-1:666:evil".into(),
            at: at(2),
        })
        .then_error(IntegrationError::TopicMismatch {
            pinned: "arn:aws:sns:eu-west-1:1:alarms".into(),
            offered: "arn:aws:sns:eu-west-1:666:evil".into(),
        });
}

#[test]
fn a_deleted_integration_refuses_everything_and_accepts_no_delivery() {
    let state = given::<Integration>([created()])
        .when(IntegrationCommand::Delete {
            by: admin(),
            at: at(5),
        })
        .then(vec![deleted()]);
    assert!(!state.accepts_deliveries());
    given::<Integration>([created(), deleted()])
        .when(IntegrationCommand::Delete {
            by: admin(),
            at: at(6),
        })
        .then_error(IntegrationError::Deleted);
    given::<Integration>([created(), deleted()])
        .when(IntegrationCommand::RotateSecret {
            secret_ref: "x".into(),
            by: admin(),
            at: at(6),
        })
        .then_error(IntegrationError::Deleted);
}

#[test]
fn events_round_trip_through_json() {
    for event in [
        created(),
        deleted(),
        IntegrationEvent::TopicPinned {
            topic: "t".into(),
            at: at(1),
        },
    ] {
        let json = serde_json::to_value(&event).expect("serialise");
        let back: IntegrationEvent = serde_json::from_value(json).expect("deserialise");
        assert_eq!(back, event);
        assert!(crate::DomainEvent::event_type(&back).starts_with("integration."));
    }
}
