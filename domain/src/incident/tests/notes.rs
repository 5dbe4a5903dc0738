use super::*;
use crate::incident::{Comment, Feedback, IncidentCommand, IncidentError, COMMENT_MAX_CHARS};

fn set_summary(summary: &str) -> IncidentCommand {
    IncidentCommand::SetSummary {
        summary: summary.to_owned(),
        by: "rca".to_owned(),
        at: at(20),
    }
}

fn add_comment(id: u128, text: &str) -> IncidentCommand {
    IncidentCommand::AddComment {
        comment_id: Uuid::from_u128(id),
        author: "ana".to_owned(),
        text: text.to_owned(),
        at: at(21),
    }
}

fn comment_added(id: u128, text: &str) -> IncidentEvent {
    IncidentEvent::CommentAdded {
        comment_id: Uuid::from_u128(id),
        author: "ana".to_owned(),
        text: text.to_owned(),
        at: at(21),
    }
}

fn give_feedback(by: &str, helpful: bool, comment: Option<&str>, minute: i64) -> IncidentCommand {
    IncidentCommand::GiveFeedback {
        by: by.to_owned(),
        helpful,
        comment: comment.map(str::to_owned),
        at: at(minute),
    }
}

fn feedback_given(by: &str, helpful: bool, comment: Option<&str>, minute: i64) -> IncidentEvent {
    IncidentEvent::FeedbackGiven {
        by: by.to_owned(),
        helpful,
        comment: comment.map(str::to_owned),
        run: None,
        at: at(minute),
    }
}

#[test]
fn setting_a_summary_records_it() {
    let state = given(vec![opened()])
        .when(set_summary("A bad deploy of checkout v42."))
        .then(vec![IncidentEvent::SummaryUpdated {
            summary: "A bad deploy of checkout v42.".to_owned(),
            by: "rca".to_owned(),
            at: at(20),
        }]);

    assert_eq!(
        state.summary.as_deref(),
        Some("A bad deploy of checkout v42.")
    );
}

#[test]
fn setting_the_same_summary_again_changes_nothing() {
    given(vec![
        opened(),
        IncidentEvent::SummaryUpdated {
            summary: "Same".to_owned(),
            by: "rca".to_owned(),
            at: at(10),
        },
    ])
    .when(set_summary("Same"))
    .then_nothing();
}

#[test]
fn an_empty_summary_is_refused() {
    given(vec![opened()])
        .when(set_summary(" \n"))
        .then_error(IncidentError::EmptySummary);
}

#[test]
fn adding_a_comment_records_its_author_text_and_time() {
    let state = given(vec![opened()])
        .when(add_comment(1, "Rolling back now"))
        .then(vec![comment_added(1, "Rolling back now")]);

    assert_eq!(
        state.comments,
        vec![Comment {
            comment_id: Uuid::from_u128(1),
            author: "ana".to_owned(),
            text: "Rolling back now".to_owned(),
            at: at(21),
        }]
    );
}

#[test]
fn an_empty_or_blank_comment_is_refused() {
    for text in ["", "   ", "\n\t"] {
        given(vec![opened()])
            .when(add_comment(1, text))
            .then_error(IncidentError::EmptyComment);
    }
}

#[test]
fn a_comment_of_ten_thousand_characters_is_accepted_and_one_more_is_refused() {
    let longest = "é".repeat(COMMENT_MAX_CHARS);
    given(vec![opened()])
        .when(add_comment(1, &longest))
        .then(vec![comment_added(1, &longest)]);

    given(vec![opened()])
        .when(add_comment(1, &format!("{longest}x")))
        .then_error(IncidentError::CommentTooLong {
            len: 10_001,
            max: 10_000,
        });
}

#[test]
fn adding_the_same_comment_twice_changes_nothing() {
    given(vec![opened(), comment_added(1, "Rolling back now")])
        .when(add_comment(1, "Rolling back now"))
        .then_nothing();
}

#[test]
fn a_resolved_incident_can_still_be_commented_on() {
    given(vec![opened(), resolved()])
        .when(add_comment(2, "Postmortem on Monday"))
        .then(vec![comment_added(2, "Postmortem on Monday")]);
}

#[test]
fn giving_feedback_records_it() {
    let state = given(vec![opened()])
        .when(give_feedback("ana", true, Some("spot on"), 40))
        .then(vec![feedback_given("ana", true, Some("spot on"), 40)]);

    assert_eq!(
        state.feedback,
        vec![Feedback {
            by: "ana".to_owned(),
            helpful: true,
            comment: Some("spot on".to_owned()),
            run: None,
            at: at(40),
        }]
    );
}

#[test]
fn later_feedback_from_the_same_user_replaces_the_earlier_one() {
    let state = given(vec![
        opened(),
        feedback_given("ana", true, None, 40),
        feedback_given("bo", true, None, 41),
    ])
    .when(give_feedback("ana", false, Some("missed the DB"), 42))
    .then(vec![feedback_given(
        "ana",
        false,
        Some("missed the DB"),
        42,
    )]);

    let by_user: Vec<(&str, bool)> = state
        .feedback
        .iter()
        .map(|f| (f.by.as_str(), f.helpful))
        .collect();
    assert_eq!(by_user, [("bo", true), ("ana", false)]);
}

#[test]
fn giving_the_same_feedback_again_changes_nothing() {
    given(vec![opened(), feedback_given("ana", true, Some("ok"), 40)])
        .when(give_feedback("ana", true, Some("ok"), 45))
        .then_nothing();
}

#[test]
fn a_feedback_comment_longer_than_ten_thousand_characters_is_refused() {
    let too_long = "x".repeat(COMMENT_MAX_CHARS + 1);
    given(vec![opened()])
        .when(give_feedback("ana", false, Some(&too_long), 40))
        .then_error(IncidentError::CommentTooLong {
            len: COMMENT_MAX_CHARS + 1,
            max: COMMENT_MAX_CHARS,
        });
}

fn request_postmortem(id: u128) -> IncidentCommand {
    IncidentCommand::RequestPostmortem {
        request: Uuid::from_u128(id),
        by: "lead@acme.io".to_owned(),
        at: at(40),
    }
}

#[test]
fn a_resolved_incident_records_a_request_for_its_postmortem() {
    let state = given(vec![opened(), resolved()])
        .when(request_postmortem(9))
        .then(vec![IncidentEvent::PostmortemRequested {
            request: Uuid::from_u128(9),
            by: "lead@acme.io".to_owned(),
            at: at(40),
        }]);
    assert_eq!(state.status, crate::values::IncidentStatus::Resolved);
}

#[test]
fn a_postmortem_is_asked_for_only_once_the_incident_resolved() {
    given(vec![opened()])
        .when(request_postmortem(9))
        .then_error(IncidentError::NotResolved {
            status: crate::values::IncidentStatus::Investigating,
        });
    given(vec![])
        .when(request_postmortem(9))
        .then_error(IncidentError::NotOpened);
}
