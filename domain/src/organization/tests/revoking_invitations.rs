use super::*;

fn invited() -> Vec<OrganizationEvent> {
    with(
        team(),
        vec![invitation_issued(1, "dee@acme.io", Role::Editor, 5)],
    )
}

#[test]
fn an_admin_revokes_a_pending_invitation() {
    let state = given(invited())
        .when(revoke_invitation(1, ana()))
        .then(vec![OrganizationEvent::InvitationRevoked {
            invitation_id: uuid(101),
            email: "dee@acme.io".to_owned(),
            by: ana(),
            at: at(20),
        }]);

    assert_eq!(
        state.invitations[&uuid(101)].status,
        InvitationStatus::Revoked
    );
    assert!(!state.invitations[&uuid(101)].is_open_at(at(21)));
}

#[test]
fn an_editor_cannot_revoke_an_invitation() {
    given(invited())
        .when(revoke_invitation(1, bo()))
        .then_error(OrganizationError::NotAdmin { user: bo() });
}

#[test]
fn a_non_member_cannot_revoke_an_invitation() {
    given(invited())
        .when(revoke_invitation(1, dee()))
        .then_error(OrganizationError::NotMember { user: dee() });
}

#[test]
fn revoking_an_unknown_invitation_is_refused() {
    given(invited())
        .when(revoke_invitation(9, ana()))
        .then_error(OrganizationError::UnknownInvitation { id: uuid(109) });
}

#[test]
fn an_accepted_invitation_cannot_be_revoked() {
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
    .when(revoke_invitation(1, ana()))
    .then_error(OrganizationError::InvitationNotPending { id: uuid(101) });
}

#[test]
fn a_revoked_invitation_cannot_be_revoked_again() {
    given(with(
        invited(),
        vec![OrganizationEvent::InvitationRevoked {
            invitation_id: uuid(101),
            email: "dee@acme.io".to_owned(),
            by: ana(),
            at: at(6),
        }],
    ))
    .when(revoke_invitation(1, ana()))
    .then_error(OrganizationError::InvitationNotPending { id: uuid(101) });
}
