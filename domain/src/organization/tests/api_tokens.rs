use super::*;

#[test]
fn a_member_is_issued_an_api_token() {
    let state = given(team())
        .when(issue_token(1, cy(), "  ci "))
        .then(vec![token_issued(1, cy())]);

    let token = &state.api_tokens[&uuid(201)];
    assert_eq!(token.name, "ci");
    assert_eq!(token.user_id, cy());
    assert_eq!(token.expires_at, in_days(90));
    assert!(!token.revoked);
    assert!(token.is_usable_at(at(11)));
    assert!(!token.is_usable_at(in_days(90)));
}

#[test]
fn only_members_are_issued_api_tokens() {
    given(team())
        .when(issue_token(1, dee(), "ci"))
        .then_error(OrganizationError::NotMember { user: dee() });
}

#[test]
fn an_api_token_needs_a_name() {
    given(team())
        .when(issue_token(1, bo(), " "))
        .then_error(OrganizationError::EmptyTokenName);
}

#[test]
fn an_api_token_name_may_hold_at_most_a_hundred_characters() {
    given(team())
        .when(issue_token(1, bo(), &"x".repeat(TOKEN_NAME_MAX_CHARS + 1)))
        .then_error(OrganizationError::TokenNameTooLong {
            len: TOKEN_NAME_MAX_CHARS + 1,
            max: TOKEN_NAME_MAX_CHARS,
        });
    given(team())
        .when(issue_token(1, bo(), &"x".repeat(TOKEN_NAME_MAX_CHARS)))
        .then(vec![OrganizationEvent::ApiTokenIssued(NewApiToken {
            token_id: uuid(201),
            name: "x".repeat(TOKEN_NAME_MAX_CHARS),
            user_id: bo(),
            token_hash: "token-hash-1".to_owned(),
            expires_at: in_days(90),
            at: at(10),
        })]);
}

#[test]
fn an_api_token_must_expire_after_it_is_issued() {
    given(team())
        .when(OrganizationCommand::IssueApiToken(NewApiToken {
            token_id: uuid(201),
            name: "ci".to_owned(),
            user_id: bo(),
            token_hash: "h".to_owned(),
            expires_at: at(10),
            at: at(10),
        }))
        .then_error(OrganizationError::InvalidExpiry);
}

#[test]
fn an_api_token_id_is_used_once() {
    given(with(team(), vec![token_issued(1, bo())]))
        .when(issue_token(1, cy(), "other"))
        .then_error(OrganizationError::DuplicateToken { id: uuid(201) });
}

#[test]
fn the_owner_revokes_their_api_token() {
    let state = given(with(team(), vec![token_issued(1, cy())]))
        .when(revoke_token(1, cy()))
        .then(vec![token_revoked(1, cy(), cy(), 50)]);

    assert!(state.api_tokens[&uuid(201)].revoked);
    assert!(!state.api_tokens[&uuid(201)].is_usable_at(at(51)));
}

#[test]
fn an_admin_revokes_anyones_api_token() {
    given(with(team(), vec![token_issued(1, cy())]))
        .when(revoke_token(1, ana()))
        .then(vec![token_revoked(1, cy(), ana(), 50)]);
}

#[test]
fn a_member_cannot_revoke_someone_elses_api_token() {
    given(with(team(), vec![token_issued(1, cy())]))
        .when(revoke_token(1, bo()))
        .then_error(OrganizationError::NotAllowed { user: bo() });
}

#[test]
fn a_non_member_cannot_revoke_an_api_token() {
    given(with(team(), vec![token_issued(1, cy())]))
        .when(revoke_token(1, dee()))
        .then_error(OrganizationError::NotAllowed { user: dee() });
}

#[test]
fn revoking_an_unknown_api_token_is_refused() {
    given(team())
        .when(revoke_token(9, ana()))
        .then_error(OrganizationError::UnknownToken { id: uuid(209) });
}

#[test]
fn an_api_token_cannot_be_revoked_twice() {
    given(with(
        team(),
        vec![token_issued(1, cy()), token_revoked(1, cy(), cy(), 11)],
    ))
    .when(revoke_token(1, cy()))
    .then_error(OrganizationError::TokenAlreadyRevoked { id: uuid(201) });
}
