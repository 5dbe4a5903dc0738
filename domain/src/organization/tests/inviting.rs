use super::*;

#[test]
fn an_admin_invites_someone_by_email() {
    let state = given(team())
        .when(invite(1, " Dee@Acme.io", Role::Editor, ana(), 5))
        .then(vec![invitation_issued(1, "dee@acme.io", Role::Editor, 5)]);

    let invitation = &state.invitations[&uuid(101)];
    assert_eq!(invitation.email, "dee@acme.io");
    assert_eq!(invitation.role, Role::Editor);
    assert_eq!(invitation.status, InvitationStatus::Pending);
    assert_eq!(invitation.invited_by, ana());
    assert_eq!(invitation.expires_at, at(5) + TimeDelta::days(7));
    assert!(invitation.is_open_at(at(6)));
}

#[test]
fn a_non_member_cannot_invite() {
    given(team())
        .when(invite(1, "dee@acme.io", Role::Viewer, dee(), 5))
        .then_error(OrganizationError::NotMember { user: dee() });
}

#[test]
fn an_editor_cannot_invite() {
    given(team())
        .when(invite(1, "dee@acme.io", Role::Viewer, bo(), 5))
        .then_error(OrganizationError::NotAdmin { user: bo() });
}

#[test]
fn an_invitation_needs_a_valid_email() {
    given(team())
        .when(invite(1, "dee-at-acme.io", Role::Viewer, ana(), 5))
        .then_error(OrganizationError::InvalidEmail {
            email: "dee-at-acme.io".to_owned(),
        });
}

#[test]
fn an_invitation_must_expire_after_it_is_issued() {
    for expires_at in [at(5), at(4)] {
        given(team())
            .when(OrganizationCommand::Invite(NewInvitation {
                invitation_id: uuid(101),
                email: "dee@acme.io".to_owned(),
                role: Role::Viewer,
                token_hash: "h".to_owned(),
                expires_at,
                by: ana(),
                at: at(5),
            }))
            .then_error(OrganizationError::InvalidExpiry);
    }
}

#[test]
fn a_member_cannot_be_invited() {
    given(team())
        .when(invite(1, "BO@acme.io", Role::Admin, ana(), 5))
        .then_error(OrganizationError::AlreadyMember {
            email: "bo@acme.io".to_owned(),
        });
}

#[test]
fn an_invitation_id_is_used_once() {
    given(with(
        team(),
        vec![invitation_issued(1, "dee@acme.io", Role::Viewer, 5)],
    ))
    .when(invite(1, "eve@acme.io", Role::Viewer, ana(), 6))
    .then_error(OrganizationError::DuplicateInvitation { id: uuid(101) });
}

#[test]
fn inviting_the_same_email_again_supersedes_the_open_invitation() {
    let state = given(with(
        team(),
        vec![invitation_issued(1, "dee@acme.io", Role::Viewer, 5)],
    ))
    .when(invite(2, "Dee@acme.io", Role::Editor, ana(), 8))
    .then(vec![
        OrganizationEvent::InvitationRevoked {
            invitation_id: uuid(101),
            email: "dee@acme.io".to_owned(),
            by: ana(),
            at: at(8),
        },
        invitation_issued(2, "dee@acme.io", Role::Editor, 8),
    ]);

    assert_eq!(
        state.invitations[&uuid(101)].status,
        InvitationStatus::Revoked
    );
    assert_eq!(
        state.invitations[&uuid(102)].status,
        InvitationStatus::Pending
    );
}

#[test]
fn re_inviting_after_an_invitation_expired_leaves_the_expired_one_alone() {
    let later = 8 * 24 * 60;
    given(with(
        team(),
        vec![invitation_issued(1, "dee@acme.io", Role::Viewer, 5)],
    ))
    .when(invite(2, "dee@acme.io", Role::Viewer, ana(), later))
    .then(vec![invitation_issued(
        2,
        "dee@acme.io",
        Role::Viewer,
        later,
    )]);
}
