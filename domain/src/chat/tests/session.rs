use esrs::event::Upcaster;

use super::*;
use crate::chat::{fold, ChatError, ChatSessionState, NewSession, TITLE_MAX_CHARS};
use crate::usage::ModelUsage;
use crate::DomainEvent;

fn start(title: &str) -> ChatCommand {
    ChatCommand::Start(NewSession {
        id: id(),
        owner: "ana".to_owned(),
        title: title.to_owned(),
        mode: ChatMode::Ask,
        at: at(0),
    })
}

fn rename(title: &str) -> ChatCommand {
    ChatCommand::Rename {
        by: "ana".to_owned(),
        title: title.to_owned(),
        at: at(50),
    }
}

#[test]
fn the_aggregate_is_stored_under_the_name_session() {
    assert_eq!(<ChatSession as esrs::Aggregate>::NAME, "session");
}

#[test]
fn starting_a_session_records_its_owner_title_and_mode() {
    let state = given(vec![])
        .when(start("Checkout errors"))
        .then(vec![started()]);

    assert_eq!(state.id, Some(id()));
    assert_eq!(state.owner, "ana");
    assert_eq!(state.title, "Checkout errors");
    assert_eq!(state.mode, ChatMode::Ask);
    assert_eq!(state.started_at, Some(at(0)));
    assert!(!state.deleted);
}

#[test]
fn starting_a_session_twice_is_refused() {
    given(vec![started()])
        .when(start("Again"))
        .then_error(ChatError::AlreadyStarted { id: id() });
}

#[test]
fn starting_a_session_without_a_title_is_refused() {
    given(vec![])
        .when(start(" "))
        .then_error(ChatError::EmptyTitle);
}

#[test]
fn every_command_before_the_session_started_is_refused() {
    for command in every_command_but_start() {
        given(vec![])
            .when(command)
            .then_error(ChatError::NotStarted);
    }
}

#[test]
fn renaming_records_the_new_title() {
    let state = given(vec![started()])
        .when(rename("Checkout 5xx after deploy"))
        .then(vec![ChatEvent::Renamed {
            title: "Checkout 5xx after deploy".to_owned(),
            at: at(50),
        }]);

    assert_eq!(state.title, "Checkout 5xx after deploy");
}

#[test]
fn renaming_to_the_current_title_changes_nothing() {
    given(vec![started()])
        .when(rename("Checkout errors"))
        .then_nothing();
}

#[test]
fn an_empty_title_is_refused() {
    for title in ["", "  \t"] {
        given(vec![started()])
            .when(rename(title))
            .then_error(ChatError::EmptyTitle);
    }
}

#[test]
fn a_title_of_two_hundred_characters_is_accepted_and_one_more_is_refused() {
    let longest = "ü".repeat(TITLE_MAX_CHARS);
    given(vec![started()])
        .when(rename(&longest))
        .then(vec![ChatEvent::Renamed {
            title: longest.clone(),
            at: at(50),
        }]);

    given(vec![started()])
        .when(rename(&format!("{longest}!")))
        .then_error(ChatError::TitleTooLong { len: 201, max: 200 });
}

#[test]
fn deleting_a_session_is_soft() {
    let state = given(vec![
        started(),
        ChatEvent::UserMessagePosted {
            message_id: uuid(1),
            text: "why?".to_owned(),
            mode: ChatMode::Ask,
            at: at(5),
        },
    ])
    .when(ChatCommand::Delete {
        by: "ana".to_owned(),
        at: at(60),
    })
    .then(vec![ChatEvent::SessionDeleted { at: at(60) }]);

    assert!(state.deleted);
    assert_eq!(state.messages.len(), 1, "the history stays");
}

#[test]
fn every_command_after_the_session_was_deleted_is_refused() {
    for command in every_command_but_start() {
        given(vec![started(), ChatEvent::SessionDeleted { at: at(5) }])
            .when(command)
            .then_error(ChatError::Deleted);
    }
}

#[test]
fn every_event_names_its_dotted_type_and_when_it_happened() {
    let events = [
        (started(), "session.started"),
        (
            ChatEvent::UserMessagePosted {
                message_id: uuid(1),
                text: "q".to_owned(),
                mode: ChatMode::Agent,
                at: at(7),
            },
            "session.user_message_posted",
        ),
        (
            ChatEvent::AssistantMessageRecorded {
                message_id: uuid(2),
                text: "a".to_owned(),
                at: at(7),
            },
            "session.assistant_message_recorded",
        ),
        (tool_call_started("call-1", 7), "session.tool_call_started"),
        (
            ChatEvent::ToolResultRecorded {
                tool_call_id: "call-1".to_owned(),
                output: "o".to_owned(),
                duration_ms: 1,
                at: at(7),
            },
            "session.tool_result_recorded",
        ),
        (
            ChatEvent::ToolCallFailed {
                tool_call_id: "call-1".to_owned(),
                error: "e".to_owned(),
                duration_ms: 1,
                at: at(7),
            },
            "session.tool_call_failed",
        ),
        (
            confirmation_requested(1, 7),
            "session.confirmation_requested",
        ),
        (
            ChatEvent::ConfirmationAnswered {
                confirmation_id: uuid(1),
                decision: crate::values::ConfirmationDecision::Execute,
                at: at(7),
            },
            "session.confirmation_answered",
        ),
        (
            ChatEvent::RunCancelled { at: at(7) },
            "session.run_cancelled",
        ),
        (
            ChatEvent::UsageRecorded(ModelUsage {
                model: "m".to_owned(),
                input_tokens: 1,
                output_tokens: 2,
                cost_micros: 3,
                at: at(7),
            }),
            "session.usage_recorded",
        ),
        (
            ChatEvent::Renamed {
                title: "t".to_owned(),
                at: at(7),
            },
            "session.renamed",
        ),
        (ChatEvent::SessionDeleted { at: at(7) }, "session.deleted"),
    ];
    for (event, event_type) in events {
        assert_eq!(event.event_type(), event_type);
        let expected_at = if event_type == "session.started" {
            at(0)
        } else {
            at(7)
        };
        assert_eq!(event.occurred_at(), expected_at);
        let body = serde_json::to_value(&event).unwrap();
        assert_eq!(
            body["type"].as_str(),
            event_type.strip_prefix("session."),
            "the JSON tag matches the event type"
        );
        let loaded = ChatEvent::upcast(body, ChatEvent::current_version()).unwrap();
        assert_eq!(loaded, event);
    }
}

#[test]
fn chat_events_are_written_at_version_one_and_garbage_does_not_load() {
    assert_eq!(ChatEvent::current_version(), Some(1));
    assert!(ChatEvent::upcast(json!({"type": "started"}), Some(1)).is_err());
    assert!(ChatEvent::upcast(json!(42), None).is_err());
}

#[test]
fn folding_no_events_gives_a_session_that_was_never_started() {
    let state = fold(vec![]);
    assert_eq!(state, ChatSessionState::default());
    assert!(!state.is_started());
}
