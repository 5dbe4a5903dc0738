use super::*;
use crate::chat::{ChatError, ConfirmationAnswer};
use crate::values::ConfirmationDecision;

fn ask(n: u128, tool_call_id: Option<&str>, second: i64) -> ChatCommand {
    ChatCommand::AskConfirmation {
        confirmation_id: uuid(n),
        tool_call_id: tool_call_id.map(str::to_owned),
        command: "kubectl delete pod checkout-7".to_owned(),
        reason: "restart the stuck pod".to_owned(),
        at: at(second),
    }
}

/// Ana, the owner, answers confirmation `n`.
fn answer(n: u128, decision: ConfirmationDecision, second: i64) -> ChatCommand {
    ChatCommand::RespondToConfirmation {
        by: "ana".to_owned(),
        confirmation_id: uuid(n),
        decision,
        at: at(second),
    }
}

fn answered(n: u128, decision: ConfirmationDecision, second: i64) -> ChatEvent {
    ChatEvent::ConfirmationAnswered {
        confirmation_id: uuid(n),
        decision,
        at: at(second),
    }
}

#[test]
fn asking_for_a_confirmation_gives_it_three_hundred_seconds() {
    let state = given(vec![started()])
        .when(ask(1, None, 10))
        .then(vec![confirmation_requested(1, 10)]);

    let confirmation = state.confirmation(uuid(1)).unwrap();
    assert_eq!(confirmation.requested_at, at(10));
    assert_eq!(confirmation.expires_at, at(310));
    assert_eq!(confirmation.answer, None);
}

#[test]
fn a_confirmation_may_name_the_tool_call_it_guards() {
    given(vec![started(), tool_call_started("call-1", 5)])
        .when(ask(1, Some("call-1"), 10))
        .then(vec![ChatEvent::ConfirmationRequested {
            confirmation_id: uuid(1),
            tool_call_id: Some("call-1".to_owned()),
            command: "kubectl delete pod checkout-7".to_owned(),
            reason: "restart the stuck pod".to_owned(),
            expires_at: at(310),
            at: at(10),
        }]);
}

#[test]
fn a_confirmation_for_an_unknown_tool_call_is_refused() {
    given(vec![started()])
        .when(ask(1, Some("call-9"), 10))
        .then_error(ChatError::UnknownToolCall {
            tool_call_id: "call-9".to_owned(),
        });
}

#[test]
fn asking_the_same_confirmation_twice_changes_nothing() {
    given(vec![started(), confirmation_requested(1, 10)])
        .when(ask(1, None, 11))
        .then_nothing();
}

#[test]
fn answering_a_confirmation_records_the_decision() {
    let state = given(vec![started(), confirmation_requested(1, 10)])
        .when(answer(1, ConfirmationDecision::Execute, 40))
        .then(vec![answered(1, ConfirmationDecision::Execute, 40)]);

    assert_eq!(
        state.confirmation(uuid(1)).unwrap().answer,
        Some(ConfirmationAnswer {
            decision: ConfirmationDecision::Execute,
            at: at(40),
        })
    );
}

#[test]
fn answering_an_unknown_confirmation_is_refused() {
    given(vec![started()])
        .when(answer(1, ConfirmationDecision::Execute, 40))
        .then_error(ChatError::UnknownConfirmation {
            confirmation_id: uuid(1),
        });
}

#[test]
fn answering_a_confirmation_twice_is_refused() {
    given(vec![
        started(),
        confirmation_requested(1, 10),
        answered(1, ConfirmationDecision::Cancel, 40),
    ])
    .when(answer(1, ConfirmationDecision::Execute, 41))
    .then_error(ChatError::ConfirmationAlreadyAnswered {
        confirmation_id: uuid(1),
        decision: ConfirmationDecision::Cancel,
    });
}

#[test]
fn a_confirmation_can_be_answered_up_to_its_expiry_and_not_a_second_later() {
    given(vec![started(), confirmation_requested(1, 10)])
        .when(answer(1, ConfirmationDecision::Execute, 310))
        .then(vec![answered(1, ConfirmationDecision::Execute, 310)]);

    given(vec![started(), confirmation_requested(1, 10)])
        .when(answer(1, ConfirmationDecision::Execute, 311))
        .then_error(ChatError::ConfirmationExpired {
            confirmation_id: uuid(1),
            expired_at: at(310),
        });
}

#[test]
fn pending_confirmations_are_those_neither_answered_nor_expired() {
    let state = given(vec![
        started(),
        confirmation_requested(1, 0),
        confirmation_requested(2, 100),
        confirmation_requested(3, 200),
        answered(2, ConfirmationDecision::Execute, 150),
    ])
    .state();

    let pending = |second| -> Vec<Uuid> {
        state
            .pending_confirmations(at(second))
            .iter()
            .map(|c| c.confirmation_id)
            .collect()
    };
    assert_eq!(pending(250), [uuid(1), uuid(3)]);
    assert_eq!(pending(301), [uuid(3)], "the first expired at 300 s");
    assert_eq!(pending(501), Vec::<Uuid>::new());
}

/// The agent stops waiting for confirmation `n` and withdraws it.
fn withdraw(n: u128, decision: ConfirmationDecision, second: i64) -> ChatCommand {
    ChatCommand::AnswerConfirmation {
        confirmation_id: uuid(n),
        decision,
        at: at(second),
    }
}

#[test]
fn the_agent_withdraws_a_confirmation_by_answering_it_cancel() {
    let state = given(vec![started(), confirmation_requested(1, 10)])
        .when(withdraw(1, ConfirmationDecision::Cancel, 310))
        .then(vec![answered(1, ConfirmationDecision::Cancel, 310)]);

    assert!(state.pending_confirmations(at(310)).is_empty());
}

#[test]
fn the_agent_cannot_approve_a_confirmation() {
    given(vec![started(), confirmation_requested(1, 10)])
        .when(withdraw(1, ConfirmationDecision::Execute, 20))
        .then_error(ChatError::ApprovalNeedsOwner {
            confirmation_id: uuid(1),
        });
}

#[test]
fn a_withdrawn_confirmation_can_no_longer_be_approved() {
    given(vec![
        started(),
        confirmation_requested(1, 10),
        answered(1, ConfirmationDecision::Cancel, 200),
    ])
    .when(answer(1, ConfirmationDecision::Execute, 201))
    .then_error(ChatError::ConfirmationAlreadyAnswered {
        confirmation_id: uuid(1),
        decision: ConfirmationDecision::Cancel,
    });
}

#[test]
fn cancelling_stops_the_run_and_answers_every_pending_confirmation_with_cancel() {
    let state = given(vec![
        started(),
        question(1, 0),
        confirmation_requested(1, 0),
        confirmation_requested(2, 100),
        confirmation_requested(3, 200),
        confirmation_requested(4, 250),
        answered(3, ConfirmationDecision::Execute, 210),
    ])
    .when(cancel("ana", 320))
    .then(vec![
        ChatEvent::RunCancelled { at: at(320) },
        answered(2, ConfirmationDecision::Cancel, 320),
        answered(4, ConfirmationDecision::Cancel, 320),
    ]);

    assert_eq!(state.cancelled_runs, vec![at(320)]);
    assert!(state.pending_confirmations(at(320)).is_empty());
    assert_eq!(
        state.confirmation(uuid(1)).unwrap().answer,
        None,
        "an expired confirmation stays unanswered"
    );
}

#[test]
fn cancelling_with_nothing_pending_only_stops_the_run() {
    given(vec![started(), question(1, 5)])
        .when(cancel("ana", 20))
        .then(vec![ChatEvent::RunCancelled { at: at(20) }]);
}

#[test]
fn a_pending_confirmation_is_something_to_cancel_even_after_the_answer() {
    // A confirmation left pending beside an answered question (a run that died, say): cancel
    // still resolves it.
    given(vec![
        started(),
        question(1, 0),
        ChatEvent::AssistantMessageRecorded {
            message_id: uuid(2),
            text: "partial".to_owned(),
            at: at(5),
        },
        confirmation_requested(1, 6),
    ])
    .when(cancel("ana", 20))
    .then(vec![
        ChatEvent::RunCancelled { at: at(20) },
        answered(1, ConfirmationDecision::Cancel, 20),
    ]);
}

#[test]
fn cancelling_when_nothing_runs_changes_nothing() {
    // Before any question.
    given(vec![started()])
        .when(cancel("ana", 20))
        .then_nothing();
    // After the answer, with the only confirmation answered and another expired.
    given(vec![
        started(),
        question(1, 0),
        confirmation_requested(1, 1),
        answered(1, ConfirmationDecision::Execute, 2),
        confirmation_requested(2, 3),
        ChatEvent::AssistantMessageRecorded {
            message_id: uuid(2),
            text: "Done.".to_owned(),
            at: at(4),
        },
    ])
    .when(cancel("ana", 400))
    .then_nothing();
}

#[test]
fn cancelling_twice_records_the_cancel_once() {
    let state = given(vec![
        started(),
        question(1, 0),
        confirmation_requested(1, 5),
    ])
    .when(cancel("ana", 20))
    .then(vec![
        ChatEvent::RunCancelled { at: at(20) },
        answered(1, ConfirmationDecision::Cancel, 20),
    ]);
    assert!(!state.run_in_progress(at(21)));

    given(vec![
        started(),
        question(1, 0),
        confirmation_requested(1, 5),
        ChatEvent::RunCancelled { at: at(20) },
        answered(1, ConfirmationDecision::Cancel, 20),
    ])
    .when(cancel("ana", 21))
    .then_nothing();
}

#[test]
fn a_cancel_after_the_partial_answer_was_kept_changes_nothing() {
    given(vec![
        started(),
        question(1, 0),
        ChatEvent::RunCancelled { at: at(20) },
        ChatEvent::AssistantMessageRecorded {
            message_id: uuid(2),
            text: "partial".to_owned(),
            at: at(21),
        },
    ])
    .when(cancel("ana", 30))
    .then_nothing();
}
