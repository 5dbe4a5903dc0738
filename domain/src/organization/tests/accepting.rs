use super::*;

fn invited() -> Vec<OrganizationEvent> {
    with(
        team(),
        vec![invitation_issued(1, "dee@acme.io", Role::Editor, 5)],
    )
}

#[test]
fn accepting_an_invitation_makes_the_invitee_a_member_with_the_invited_role() {
    let state = given(invited())
        .when(accept(1, dee(), " DEE@acme.io ", 6))
        .then(vec![OrganizationEvent::MemberJoined {
            user_id: dee(),
            email: "dee@acme.io".to_owned(),
            role: Role::Editor,
            invitation_id: Some(uuid(101)),
            at: at(6),
        }]);

    assert_eq!(state.role_of(dee()), Some(Role::Editor));
    assert_eq!(state.members[&dee()].joined_at, at(6));
    assert_eq!(
        state.invitations[&uuid(101)].status,
        InvitationStatus::Accepted
    );
}

#[test]
fn accepting_an_unknown_invitation_is_refused() {
    given(invited())
        .when(accept(9, dee(), "dee@acme.io", 6))
        .then_error(OrganizationError::UnknownInvitation { id: uuid(109) });
}

#[test]
fn an_invitation_can_be_accepted_only_once() {
    given(with(
        invited(),
        vec![OrganizationEvent::MemberJoined {
            user_id: dee(),
            email: "dee@acme.io".to_owned(),
            role: Role::Editor,
            invitation_id: Some(uuid(101)),
            at: at(6),
        }],
    ))
    .when(accept(1, dee(), "dee@acme.io", 7))
    .then_error(OrganizationError::InvitationNotPending { id: uuid(101) });
}

#[test]
fn a_revoked_invitation_cannot_be_accepted() {
    given(with(
        invited(),
        vec![OrganizationEvent::InvitationRevoked {
            invitation_id: uuid(101),
            email: "dee@acme.io".to_owned(),
            by: ana(),
            at: at(6),
        }],
    ))
    .when(accept(1, dee(), "dee@acme.io", 7))
    .then_error(OrganizationError::InvitationNotPending { id: uuid(101) });
}

#[test]
fn an_invitation_cannot_be_accepted_once_it_expires() {
    let expires_at = at(5) + TimeDelta::days(INVITATION_VALIDITY_DAYS);
    given(invited())
        .when(OrganizationCommand::AcceptInvitation {
            invitation_id: uuid(101),
            user_id: dee(),
            email: "dee@acme.io".to_owned(),
            at: expires_at,
        })
        .then_error(OrganizationError::InvitationExpired {
            id: uuid(101),
            expired_at: expires_at,
        });
}

#[test]
fn an_invitation_is_accepted_only_by_the_email_it_was_sent_to() {
    given(invited())
        .when(accept(1, dee(), "mallory@acme.io", 6))
        .then_error(OrganizationError::EmailMismatch);
}

#[test]
fn a_member_cannot_accept_an_invitation() {
    given(invited())
        .when(accept(1, bo(), "dee@acme.io", 6))
        .then_error(OrganizationError::AlreadyMember {
            email: "bo@acme.io".to_owned(),
        });
}

#[test]
fn an_invitation_to_an_email_that_became_a_member_cannot_be_accepted() {
    given(with(
        invited(),
        vec![joined(uuid(5), "dee@acme.io", Role::Viewer, 6)],
    ))
    .when(accept(1, dee(), "dee@acme.io", 7))
    .then_error(OrganizationError::AlreadyMember {
        email: "dee@acme.io".to_owned(),
    });
}
