//! A session is its owner's: whatever a person asks of it names them, and only Ana, who started
//! it, is heard. The agent's own steps name nobody.

use super::*;
use crate::chat::ChatError;
use crate::values::ConfirmationDecision;

/// Ana's session with a question being answered and confirmation 1 pending (asked at 5 s).
fn running() -> Vec<ChatEvent> {
    vec![started(), question(1, 1), confirmation_requested(1, 5)]
}

fn respond(by: &str, decision: ConfirmationDecision) -> ChatCommand {
    ChatCommand::RespondToConfirmation {
        by: by.to_owned(),
        confirmation_id: uuid(1),
        decision,
        at: at(10),
    }
}

#[test]
fn someone_else_cannot_answer_the_owners_confirmation() {
    for decision in [ConfirmationDecision::Execute, ConfirmationDecision::Cancel] {
        given(running())
            .when(respond("bo", decision))
            .then_error(ChatError::NotOwner);
    }
    // The owner still can.
    given(running())
        .when(respond("ana", ConfirmationDecision::Execute))
        .then(vec![ChatEvent::ConfirmationAnswered {
            confirmation_id: uuid(1),
            decision: ConfirmationDecision::Execute,
            at: at(10),
        }]);
}

#[test]
fn someone_else_cannot_cancel_the_owners_run() {
    given(running())
        .when(cancel("bo", 10))
        .then_error(ChatError::NotOwner);
    // Not even when there is nothing to cancel: the refusal says nothing about the run.
    given(vec![started()])
        .when(cancel("bo", 10))
        .then_error(ChatError::NotOwner);
}

#[test]
fn someone_else_cannot_rename_the_session() {
    given(vec![started()])
        .when(ChatCommand::Rename {
            by: "bo".to_owned(),
            title: "Mine now".to_owned(),
            at: at(10),
        })
        .then_error(ChatError::NotOwner);
}

#[test]
fn someone_else_learns_nothing_from_a_rename_that_would_be_refused_anyway() {
    // An empty title or the current one: the owner check comes first.
    for title in ["", "Checkout errors"] {
        given(vec![started()])
            .when(ChatCommand::Rename {
                by: "bo".to_owned(),
                title: title.to_owned(),
                at: at(10),
            })
            .then_error(ChatError::NotOwner);
    }
}

#[test]
fn someone_else_cannot_delete_the_session() {
    given(vec![started()])
        .when(ChatCommand::Delete {
            by: "bo".to_owned(),
            at: at(10),
        })
        .then_error(ChatError::NotOwner);
}

#[test]
fn someone_else_cannot_post_in_the_session() {
    given(vec![started()])
        .when(ChatCommand::PostUserMessage {
            by: "bo".to_owned(),
            message_id: uuid(9),
            text: "let me in".to_owned(),
            mode: ChatMode::Ask,
            at: at(10),
        })
        .then_error(ChatError::NotOwner);
}

#[test]
fn someone_else_is_not_told_the_session_was_deleted() {
    given(vec![started(), ChatEvent::SessionDeleted { at: at(5) }])
        .when(cancel("bo", 10))
        .then_error(ChatError::NotOwner);
    given(vec![started(), ChatEvent::SessionDeleted { at: at(5) }])
        .when(cancel("ana", 10))
        .then_error(ChatError::Deleted);
}

#[test]
fn every_user_command_names_its_user_and_the_agents_steps_name_nobody() {
    let commands = every_command_but_start();
    let users: Vec<(String, Option<&str>)> = commands
        .iter()
        .map(|c| {
            let name = serde_json::to_value(c).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned();
            (name, c.acting_user())
        })
        .collect();
    let named: Vec<&str> = users
        .iter()
        .filter(|(_, user)| *user == Some("ana"))
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(
        named,
        [
            "post_user_message",
            "respond_to_confirmation",
            "cancel",
            "rename",
            "delete"
        ]
    );
    assert_eq!(
        users.iter().filter(|(_, user)| user.is_none()).count(),
        users.len() - named.len(),
        "the rest are the agent's: {users:?}"
    );
}

#[test]
fn every_user_command_from_someone_else_is_refused() {
    for command in every_command_but_start() {
        let Some(user) = command.acting_user() else {
            continue;
        };
        assert_eq!(user, "ana");
        let as_bo = match command {
            ChatCommand::PostUserMessage {
                message_id,
                text,
                mode,
                at,
                ..
            } => ChatCommand::PostUserMessage {
                by: "bo".to_owned(),
                message_id,
                text,
                mode,
                at,
            },
            ChatCommand::RespondToConfirmation {
                confirmation_id,
                decision,
                at,
                ..
            } => ChatCommand::RespondToConfirmation {
                by: "bo".to_owned(),
                confirmation_id,
                decision,
                at,
            },
            ChatCommand::Cancel { at, .. } => ChatCommand::Cancel {
                by: "bo".to_owned(),
                at,
            },
            ChatCommand::Rename { title, at, .. } => ChatCommand::Rename {
                by: "bo".to_owned(),
                title,
                at,
            },
            ChatCommand::Delete { at, .. } => ChatCommand::Delete {
                by: "bo".to_owned(),
                at,
            },
            other => panic!("a user command without a case here: {other:?}"),
        };
        given(running()).when(as_bo).then_error(ChatError::NotOwner);
    }
}
