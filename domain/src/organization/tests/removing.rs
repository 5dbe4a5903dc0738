use super::*;

#[test]
fn an_admin_removes_a_member_and_their_unrevoked_tokens_are_revoked() {
    let state = given(with(
        team(),
        vec![
            token_issued(1, bo()),
            token_issued(2, bo()),
            token_issued(3, bo()),
            token_issued(4, cy()),
            token_revoked(2, bo(), bo(), 11),
        ],
    ))
    .when(remove_member(bo(), ana()))
    .then(vec![
        OrganizationEvent::MemberRemoved {
            user_id: bo(),
            email: "bo@acme.io".to_owned(),
            by: ana(),
            at: at(40),
        },
        token_revoked(1, bo(), ana(), 40),
        token_revoked(3, bo(), ana(), 40),
    ]);

    assert_eq!(state.role_of(bo()), None);
    assert!(state.member_by_email("bo@acme.io").is_none());
    assert!(state
        .api_tokens
        .values()
        .filter(|token| token.user_id == bo())
        .all(|token| token.revoked));
    assert!(state.api_tokens[&uuid(204)].is_usable_at(at(41)));
}

#[test]
fn an_editor_cannot_remove_members() {
    given(team())
        .when(remove_member(cy(), bo()))
        .then_error(OrganizationError::NotAdmin { user: bo() });
}

#[test]
fn a_non_member_cannot_remove_members() {
    given(team())
        .when(remove_member(cy(), dee()))
        .then_error(OrganizationError::NotMember { user: dee() });
}

#[test]
fn removing_a_non_member_is_refused() {
    given(team())
        .when(remove_member(dee(), ana()))
        .then_error(OrganizationError::NotMember { user: dee() });
}

#[test]
fn the_last_admin_cannot_remove_themselves() {
    given(team())
        .when(remove_member(ana(), ana()))
        .then_error(OrganizationError::LastAdmin);
}

#[test]
fn an_admin_may_remove_another_admin() {
    let state = given(with(
        team(),
        vec![joined(dee(), "dee@acme.io", Role::Admin, 3)],
    ))
    .when(remove_member(ana(), dee()))
    .then(vec![OrganizationEvent::MemberRemoved {
        user_id: ana(),
        email: "ana@acme.io".to_owned(),
        by: dee(),
        at: at(40),
    }]);

    assert_eq!(state.admin_count(), 1);
}
