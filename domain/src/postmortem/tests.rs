//! Given / when / then tests of the postmortem aggregate.

#![allow(clippy::unwrap_used)]

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::*;
use crate::ids::IncidentId;
use crate::scenario::{self, Given};

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_740_830_400, 0).unwrap() + TimeDelta::seconds(seconds)
}

fn incident() -> IncidentId {
    IncidentId(Uuid::from_u128(7))
}

fn given(events: Vec<PostmortemEvent>) -> Given<Postmortem> {
    scenario::given::<Postmortem>(events)
}

fn template() -> Origin {
    Origin::Template {
        reason: "no model is configured".into(),
    }
}

fn model() -> Origin {
    Origin::Model {
        model: "gpt-test".into(),
        input_tokens: 900,
        output_tokens: 400,
        cost_micros: 5_000,
    }
}

fn generated() -> PostmortemEvent {
    PostmortemEvent::Generated {
        incident: incident(),
        version: 1,
        markdown: "# Postmortem\n\nThe checkout pods crashed.".into(),
        origin: template(),
        request: None,
        by: None,
        at: at(0),
    }
}

fn edited(version: u32, markdown: &str) -> PostmortemEvent {
    PostmortemEvent::Edited {
        version,
        base_version: version - 1,
        markdown: markdown.into(),
        by: "sre@acme.io".into(),
        at: at(i64::from(version) * 10),
    }
}

fn edit(base_version: u32, markdown: &str) -> PostmortemCommand {
    PostmortemCommand::Edit {
        markdown: markdown.into(),
        base_version,
        by: "sre@acme.io".into(),
        at: at(i64::from(base_version + 1) * 10),
    }
}

#[test]
fn the_ids_of_an_incidents_postmortem_are_one_and_its_own() {
    assert_eq!(postmortem_id(incident()), postmortem_id(incident()));
    assert_ne!(
        postmortem_id(incident()),
        postmortem_id(IncidentId(Uuid::from_u128(8)))
    );
    assert_ne!(postmortem_id(incident()), incident().0);
}

#[test]
fn resolving_generates_version_one() {
    let state = given(vec![])
        .when(PostmortemCommand::Generate {
            incident: incident(),
            markdown: "# Postmortem\n\nThe checkout pods crashed.".into(),
            origin: template(),
            at: at(0),
        })
        .then(vec![generated()]);
    assert_eq!(state.incident, Some(incident()));
    assert_eq!(state.latest_version(), 1);
    let latest = state.latest().unwrap();
    assert_eq!(latest.change, Change::Generated { origin: template() });
    assert_eq!(latest.by, None);
}

#[test]
fn a_model_written_version_keeps_what_it_cost() {
    let state = given(vec![])
        .when(PostmortemCommand::Generate {
            incident: incident(),
            markdown: "# Postmortem by the model".into(),
            origin: model(),
            at: at(0),
        })
        .then(vec![PostmortemEvent::Generated {
            incident: incident(),
            version: 1,
            markdown: "# Postmortem by the model".into(),
            origin: model(),
            request: None,
            by: None,
            at: at(0),
        }]);
    assert_eq!(
        state.latest().unwrap().change,
        Change::Generated { origin: model() }
    );
}

#[test]
fn a_redelivered_resolve_generates_nothing_twice() {
    given(vec![generated()])
        .when(PostmortemCommand::Generate {
            incident: incident(),
            markdown: "# Another text".into(),
            origin: template(),
            at: at(5),
        })
        .then_nothing();
    // Nor does a second resolve after a reopening overwrite what people wrote since.
    given(vec![generated(), edited(2, "# Edited")])
        .when(PostmortemCommand::Generate {
            incident: incident(),
            markdown: "# Generated again".into(),
            origin: template(),
            at: at(50),
        })
        .then_nothing();
}

#[test]
fn an_edit_on_the_latest_version_is_a_new_version_and_the_previous_is_kept() {
    let state = given(vec![generated()])
        .when(edit(1, "# Postmortem\n\nThe deploy broke checkout."))
        .then(vec![edited(
            2,
            "# Postmortem\n\nThe deploy broke checkout.",
        )]);
    assert_eq!(state.versions.len(), 2);
    assert_eq!(
        state.version(1).unwrap().markdown,
        "# Postmortem\n\nThe checkout pods crashed."
    );
    assert_eq!(
        state.latest().unwrap().markdown,
        "# Postmortem\n\nThe deploy broke checkout."
    );
    assert_eq!(state.latest().unwrap().by.as_deref(), Some("sre@acme.io"));
}

#[test]
fn an_edit_on_a_stale_version_is_refused() {
    given(vec![generated(), edited(2, "# Mine")])
        .when(edit(1, "# Theirs, written on version 1"))
        .then_error(PostmortemError::StaleBase {
            base_version: 1,
            latest: 2,
        });
    given(vec![generated()])
        .when(edit(4, "# From the future"))
        .then_error(PostmortemError::StaleBase {
            base_version: 4,
            latest: 1,
        });
}

#[test]
fn saving_the_same_text_makes_no_version() {
    given(vec![generated()])
        .when(edit(1, "# Postmortem\n\nThe checkout pods crashed."))
        .then_nothing();
}

#[test]
fn empty_and_oversized_texts_are_refused_with_their_reason() {
    given(vec![generated()])
        .when(edit(1, " \n\t "))
        .then_error(PostmortemError::Empty);
    let long = "x".repeat(MARKDOWN_MAX_CHARS + 1);
    given(vec![generated()])
        .when(edit(1, &long))
        .then_error(PostmortemError::TooLong {
            len: MARKDOWN_MAX_CHARS + 1,
            max: MARKDOWN_MAX_CHARS,
        });
    // Characters, not bytes: the limit's worth of multi-byte text is accepted.
    let wide = "é".repeat(MARKDOWN_MAX_CHARS);
    given(vec![generated()])
        .when(edit(1, &wide))
        .then(vec![PostmortemEvent::Edited {
            version: 2,
            base_version: 1,
            markdown: wide.clone(),
            by: "sre@acme.io".into(),
            at: at(20),
        }]);
    let error = PostmortemError::TooLong {
        len: 200_001,
        max: MARKDOWN_MAX_CHARS,
    };
    assert!(error.to_string().contains("at most 200000 characters"));
}

#[test]
fn nothing_is_edited_or_restored_before_the_first_version() {
    given(vec![])
        .when(edit(0, "# Too early"))
        .then_error(PostmortemError::NotGenerated);
    given(vec![])
        .when(PostmortemCommand::Restore {
            version: 1,
            by: "sre@acme.io".into(),
            at: at(1),
        })
        .then_error(PostmortemError::NotGenerated);
}

#[test]
fn a_restore_is_a_new_version_with_an_earlier_text() {
    let state = given(vec![generated(), edited(2, "# Wrong turn")])
        .when(PostmortemCommand::Restore {
            version: 1,
            by: "lead@acme.io".into(),
            at: at(30),
        })
        .then(vec![PostmortemEvent::Restored {
            version: 3,
            from_version: 1,
            markdown: "# Postmortem\n\nThe checkout pods crashed.".into(),
            by: "lead@acme.io".into(),
            at: at(30),
        }]);
    assert_eq!(state.versions.len(), 3);
    assert_eq!(state.version(2).unwrap().markdown, "# Wrong turn");
    assert_eq!(
        state.latest().unwrap().change,
        Change::Restored { from_version: 1 }
    );
}

#[test]
fn restoring_a_version_that_is_not_there_names_the_latest() {
    given(vec![generated()])
        .when(PostmortemCommand::Restore {
            version: 3,
            by: "lead@acme.io".into(),
            at: at(30),
        })
        .then_error(PostmortemError::UnknownVersion {
            version: 3,
            latest: 1,
        });
    given(vec![generated()])
        .when(PostmortemCommand::Restore {
            version: 0,
            by: "lead@acme.io".into(),
            at: at(30),
        })
        .then_error(PostmortemError::UnknownVersion {
            version: 0,
            latest: 1,
        });
}

#[test]
fn restoring_the_text_that_is_already_the_latest_adds_nothing() {
    given(vec![generated()])
        .when(PostmortemCommand::Restore {
            version: 1,
            by: "lead@acme.io".into(),
            at: at(30),
        })
        .then_nothing();
}

#[test]
fn a_regeneration_is_a_new_version_and_a_redelivered_request_adds_none() {
    let request = Uuid::from_u128(42);
    let regenerate = PostmortemCommand::Regenerate {
        incident: incident(),
        request,
        markdown: "# Postmortem, written again".into(),
        origin: model(),
        by: "lead@acme.io".into(),
        at: at(40),
    };
    let regenerated = PostmortemEvent::Regenerated {
        version: 3,
        markdown: "# Postmortem, written again".into(),
        origin: model(),
        request,
        by: "lead@acme.io".into(),
        at: at(40),
    };
    let state = given(vec![generated(), edited(2, "# Edited")])
        .when(regenerate.clone())
        .then(vec![regenerated.clone()]);
    assert_eq!(state.version(2).unwrap().markdown, "# Edited");
    assert_eq!(
        state.latest().unwrap().change,
        Change::Regenerated { origin: model() }
    );
    given(vec![generated(), edited(2, "# Edited"), regenerated])
        .when(regenerate)
        .then_nothing();
}

#[test]
fn a_regeneration_of_an_incident_without_a_postmortem_is_its_first_version() {
    let request = Uuid::from_u128(43);
    let state = given(vec![])
        .when(PostmortemCommand::Regenerate {
            incident: incident(),
            request,
            markdown: "# First, on request".into(),
            origin: template(),
            by: "lead@acme.io".into(),
            at: at(1),
        })
        .then(vec![PostmortemEvent::Generated {
            incident: incident(),
            version: 1,
            markdown: "# First, on request".into(),
            origin: template(),
            request: Some(request),
            by: Some("lead@acme.io".into()),
            at: at(1),
        }]);
    assert_eq!(state.requests, vec![request]);
}

#[test]
fn events_round_trip_through_json_with_their_type_names() {
    use crate::event::DomainEvent;
    let event = generated();
    let json = serde_json::to_value(&event).unwrap();
    assert_eq!(json["type"], "generated");
    assert_eq!(json["origin"]["kind"], "template");
    assert_eq!(event.event_type(), "postmortem.generated");
    assert_eq!(
        serde_json::from_value::<PostmortemEvent>(json).unwrap(),
        event
    );
}
