use super::*;

#[test]
fn an_admin_changes_a_members_role() {
    let state = given(team())
        .when(change_role(cy(), Role::Editor, ana()))
        .then(vec![OrganizationEvent::RoleChanged {
            user_id: cy(),
            email: "cy@acme.io".to_owned(),
            from: Role::Viewer,
            to: Role::Editor,
            by: ana(),
            at: at(30),
        }]);

    assert_eq!(state.role_of(cy()), Some(Role::Editor));
}

#[test]
fn changing_a_member_to_the_role_they_have_changes_nothing() {
    given(team())
        .when(change_role(bo(), Role::Editor, ana()))
        .then_nothing();
}

#[test]
fn an_editor_cannot_change_roles() {
    given(team())
        .when(change_role(cy(), Role::Editor, bo()))
        .then_error(OrganizationError::NotAdmin { user: bo() });
}

#[test]
fn a_non_member_cannot_change_roles() {
    given(team())
        .when(change_role(cy(), Role::Editor, dee()))
        .then_error(OrganizationError::NotMember { user: dee() });
}

#[test]
fn the_role_of_a_non_member_cannot_be_changed() {
    given(team())
        .when(change_role(dee(), Role::Editor, ana()))
        .then_error(OrganizationError::NotMember { user: dee() });
}

#[test]
fn an_admin_cannot_demote_the_last_admin() {
    given(team())
        .when(change_role(ana(), Role::Editor, ana()))
        .then_error(OrganizationError::LastAdmin);
}

#[test]
fn an_admin_may_step_down_while_another_admin_remains() {
    let state = given(with(
        team(),
        vec![joined(dee(), "dee@acme.io", Role::Admin, 3)],
    ))
    .when(change_role(ana(), Role::Viewer, ana()))
    .then(vec![OrganizationEvent::RoleChanged {
        user_id: ana(),
        email: "ana@acme.io".to_owned(),
        from: Role::Admin,
        to: Role::Viewer,
        by: ana(),
        at: at(30),
    }]);

    assert_eq!(state.admin_count(), 1);
    assert_eq!(state.role_of(dee()), Some(Role::Admin));
}
