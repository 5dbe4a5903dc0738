use super::*;
use crate::chat::{ChatError, ChatMessage, FirstQuestion};
use crate::usage::ModelUsage;
use crate::values::MessageRole;

fn post(n: u128, text: &str, mode: ChatMode) -> ChatCommand {
    ChatCommand::PostUserMessage {
        by: "ana".to_owned(),
        message_id: uuid(n),
        text: text.to_owned(),
        mode,
        at: at(10),
    }
}

fn posted(n: u128, text: &str, mode: ChatMode) -> ChatEvent {
    ChatEvent::UserMessagePosted {
        message_id: uuid(n),
        text: text.to_owned(),
        mode,
        at: at(10),
    }
}

fn answer(n: u128, text: &str) -> ChatCommand {
    ChatCommand::RecordAssistantMessage {
        message_id: uuid(n),
        text: text.to_owned(),
        at: at(20),
    }
}

fn answered(n: u128, text: &str) -> ChatEvent {
    ChatEvent::AssistantMessageRecorded {
        message_id: uuid(n),
        text: text.to_owned(),
        at: at(20),
    }
}

fn record_usage(cost_micros: i64) -> ChatCommand {
    ChatCommand::RecordUsage(ModelUsage {
        model: "gpt-4o".to_owned(),
        input_tokens: 1_200,
        output_tokens: 300,
        cost_micros,
        at: at(21),
    })
}

fn usage_recorded(input_tokens: u64, output_tokens: u64, cost_micros: i64) -> ChatEvent {
    ChatEvent::UsageRecorded(ModelUsage {
        model: "gpt-4o".to_owned(),
        input_tokens,
        output_tokens,
        cost_micros,
        at: at(21),
    })
}

#[test]
fn posting_a_user_message_records_it_and_switches_the_session_mode() {
    let state = given(vec![started()])
        .when(post(1, "Why is checkout failing?", ChatMode::Agent))
        .then(vec![posted(1, "Why is checkout failing?", ChatMode::Agent)]);

    assert_eq!(state.mode, ChatMode::Agent);
    assert_eq!(
        state.messages,
        vec![ChatMessage {
            message_id: uuid(1),
            role: MessageRole::User,
            text: "Why is checkout failing?".to_owned(),
            at: at(10),
        }]
    );
    assert_eq!(state.updated_at, Some(at(10)));
}

#[test]
fn an_empty_user_message_is_refused() {
    for text in ["", " \n "] {
        given(vec![started()])
            .when(post(1, text, ChatMode::Ask))
            .then_error(ChatError::EmptyMessage);
    }
}

#[test]
fn posting_the_same_user_message_twice_changes_nothing() {
    given(vec![started(), posted(1, "why?", ChatMode::Ask)])
        .when(post(1, "why?", ChatMode::Ask))
        .then_nothing();
}

#[test]
fn a_user_may_post_while_a_confirmation_is_pending() {
    given(vec![started(), confirmation_requested(7, 5)])
        .when(post(1, "Actually, just describe it", ChatMode::Ask))
        .then(vec![posted(1, "Actually, just describe it", ChatMode::Ask)]);
}

#[test]
fn the_assistant_answer_is_recorded_once_per_message_id() {
    let state = given(vec![started(), posted(1, "why?", ChatMode::Ask)])
        .when(answer(2, "A bad deploy."))
        .then(vec![answered(2, "A bad deploy.")]);
    assert_eq!(state.messages[1].role, MessageRole::Assistant);

    given(vec![
        started(),
        posted(1, "why?", ChatMode::Ask),
        answered(2, "A bad deploy."),
    ])
    .when(answer(2, "A bad deploy."))
    .then_nothing();
}

#[test]
fn usage_records_add_up_to_the_session_totals() {
    let state = given(vec![started(), usage_recorded(1_000, 200, 4_500)])
        .when(record_usage(1_250))
        .then(vec![usage_recorded(1_200, 300, 1_250)]);

    assert_eq!(state.total_input_tokens, 2_200);
    assert_eq!(state.total_output_tokens, 500);
    assert_eq!(state.total_cost_micros, 5_750);
    assert_eq!(
        state.usage[1],
        ModelUsage {
            model: "gpt-4o".to_owned(),
            input_tokens: 1_200,
            output_tokens: 300,
            cost_micros: 1_250,
            at: at(21),
        }
    );
}

#[test]
fn a_negative_cost_is_refused() {
    given(vec![started()])
        .when(record_usage(-1))
        .then_error(ChatError::NegativeCost { cost_micros: -1 });
}

#[test]
fn a_cancel_stops_the_answer_to_the_newest_question_only() {
    let state = given(vec![
        started(),
        posted(1, "why is checkout slow?", ChatMode::Ask),
        ChatEvent::RunCancelled { at: at(3) },
        posted(2, "and the database?", ChatMode::Ask),
    ])
    .when(cancel("ana", 9))
    .then(vec![ChatEvent::RunCancelled { at: at(9) }]);

    assert_eq!(state.last_question(), Some(uuid(2)));
    assert_eq!(state.cancelled_questions, [uuid(1), uuid(2)]);
}

#[test]
fn a_cancel_before_any_question_records_nothing() {
    let state = given(vec![started()]).state();
    assert!(!state.run_in_progress(at(1)));
    assert_eq!(state.last_question(), None);
    given(vec![started()]).when(cancel("ana", 1)).then_nothing();
}

#[test]
fn the_question_being_answered_is_the_newest_message_if_it_was_not_cancelled() {
    let answered_state = given(vec![
        started(),
        posted(1, "why?", ChatMode::Ask),
        answered(2, "A bad deploy."),
    ])
    .state();
    assert_eq!(answered_state.unanswered_question(), None);

    let waiting = given(vec![started(), posted(1, "why?", ChatMode::Ask)]).state();
    assert_eq!(waiting.unanswered_question(), Some(uuid(1)));
    assert!(waiting.run_in_progress(at(11)));

    let cancelled = given(vec![
        started(),
        posted(1, "why?", ChatMode::Ask),
        ChatEvent::RunCancelled { at: at(12) },
    ])
    .state();
    assert_eq!(cancelled.unanswered_question(), None);
    assert!(!cancelled.run_in_progress(at(13)));
}

fn ask(n: u128, owner: &str, text: &str) -> ChatCommand {
    ChatCommand::Ask(FirstQuestion {
        id: id(),
        owner: owner.to_owned(),
        title: "Checkout errors".to_owned(),
        message_id: uuid(n),
        text: text.to_owned(),
        mode: ChatMode::Ask,
        at: at(0),
    })
}

#[test]
fn asking_in_a_new_session_opens_it_with_the_question_in_one_event() {
    let state = given(vec![])
        .when(ask(1, "ana", "why is checkout slow?"))
        .then(vec![ChatEvent::Opened(FirstQuestion {
            id: id(),
            owner: "ana".to_owned(),
            title: "Checkout errors".to_owned(),
            mode: ChatMode::Ask,
            message_id: uuid(1),
            text: "why is checkout slow?".to_owned(),
            at: at(0),
        })]);
    assert_eq!(state.last_question(), Some(uuid(1)));
    assert_eq!(state.owner, "ana");
    assert_eq!(state.started_at, Some(at(0)));
    assert!(state.is_started());
}

#[test]
fn asking_again_in_a_started_session_posts_once() {
    given(vec![started()])
        .when(ask(2, "ana", "and now?"))
        .then(vec![ChatEvent::UserMessagePosted {
            message_id: uuid(2),
            text: "and now?".to_owned(),
            mode: ChatMode::Ask,
            at: at(0),
        }]);
    given(vec![started(), posted(2, "and now?", ChatMode::Ask)])
        .when(ask(2, "ana", "and now?"))
        .then_nothing();
}

#[test]
fn only_the_owner_asks_in_a_live_session() {
    given(vec![started()])
        .when(ask(2, "bo", "let me in"))
        .then_error(ChatError::NotOwner);
    given(vec![started(), ChatEvent::SessionDeleted { at: at(1) }])
        .when(ask(2, "ana", "hello?"))
        .then_error(ChatError::Deleted);
    given(vec![])
        .when(ask(1, "ana", "  "))
        .then_error(ChatError::EmptyMessage);
}
