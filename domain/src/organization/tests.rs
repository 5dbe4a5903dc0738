//! Given / when / then tests of the organization aggregate, grouped by command.
//!
//! The cast: Ana founded the organization (admin), Bo is an editor, Cy a viewer, and Dee is not a
//! member (an outsider, or an invitee).

#![allow(clippy::unwrap_used)]

use chrono::{DateTime, TimeDelta, Utc};
use esrs::event::Upcaster;
use uuid::Uuid;

use super::*;
use crate::scenario::{self, Given};
use crate::DomainEvent;

/// `minutes` after a fixed moment (2025-03-01T12:00:00Z), so tests read as a timeline.
fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_740_830_400, 0).unwrap() + TimeDelta::minutes(minutes)
}

fn in_days(days: i64) -> DateTime<Utc> {
    at(0) + TimeDelta::days(days)
}

fn uuid(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn ana() -> Uuid {
    uuid(1)
}

fn bo() -> Uuid {
    uuid(2)
}

fn cy() -> Uuid {
    uuid(3)
}

fn dee() -> Uuid {
    uuid(4)
}

fn given(events: Vec<OrganizationEvent>) -> Given<Organization> {
    scenario::given::<Organization>(events)
}

/// "Acme" created at minute 0 by Ana.
fn created() -> OrganizationEvent {
    OrganizationEvent::Created {
        name: "Acme".to_owned(),
        founder_id: ana(),
        founder_email: "ana@acme.io".to_owned(),
        at: at(0),
    }
}

/// The default deny template the founder's creation seeds.
fn seeded_policy(founder: Uuid, minute: i64) -> OrganizationEvent {
    OrganizationEvent::AgentPolicySet {
        allow: Vec::new(),
        deny: crate::gate::default_deny_patterns(),
        by: founder,
        at: at(minute),
    }
}

fn joined(user: Uuid, email: &str, role: Role, minute: i64) -> OrganizationEvent {
    OrganizationEvent::MemberJoined {
        user_id: user,
        email: email.to_owned(),
        role,
        invitation_id: None,
        at: at(minute),
    }
}

/// Acme with Ana (admin), Bo (editor) and Cy (viewer).
fn team() -> Vec<OrganizationEvent> {
    vec![
        created(),
        joined(bo(), "bo@acme.io", Role::Editor, 1),
        joined(cy(), "cy@acme.io", Role::Viewer, 2),
    ]
}

fn with(
    mut events: Vec<OrganizationEvent>,
    more: Vec<OrganizationEvent>,
) -> Vec<OrganizationEvent> {
    events.extend(more);
    events
}

/// Invitation `n` from Ana to `email` as `role`, issued at `minute`, open for seven days.
fn invitation_issued(n: u128, email: &str, role: Role, minute: i64) -> OrganizationEvent {
    OrganizationEvent::InvitationIssued {
        invitation_id: uuid(100 + n),
        email: email.to_owned(),
        role,
        token_hash: format!("invitation-hash-{n}"),
        expires_at: at(minute) + TimeDelta::days(INVITATION_VALIDITY_DAYS),
        by: ana(),
        at: at(minute),
    }
}

fn invite(n: u128, email: &str, role: Role, by: Uuid, minute: i64) -> OrganizationCommand {
    OrganizationCommand::Invite {
        invitation_id: uuid(100 + n),
        email: email.to_owned(),
        role,
        token_hash: format!("invitation-hash-{n}"),
        expires_at: at(minute) + TimeDelta::days(INVITATION_VALIDITY_DAYS),
        by,
        at: at(minute),
    }
}

fn accept(n: u128, user: Uuid, email: &str, minute: i64) -> OrganizationCommand {
    OrganizationCommand::AcceptInvitation {
        invitation_id: uuid(100 + n),
        user_id: user,
        email: email.to_owned(),
        at: at(minute),
    }
}

fn revoke_invitation(n: u128, by: Uuid) -> OrganizationCommand {
    OrganizationCommand::RevokeInvitation {
        invitation_id: uuid(100 + n),
        by,
        at: at(20),
    }
}

fn change_role(user: Uuid, role: Role, by: Uuid) -> OrganizationCommand {
    OrganizationCommand::ChangeRole {
        user_id: user,
        role,
        by,
        at: at(30),
    }
}

fn remove_member(user: Uuid, by: Uuid) -> OrganizationCommand {
    OrganizationCommand::RemoveMember {
        user_id: user,
        by,
        at: at(40),
    }
}

/// Token `n` named "ci", acting for `user`, issued at minute 10 for 90 days.
fn token_issued(n: u128, user: Uuid) -> OrganizationEvent {
    OrganizationEvent::ApiTokenIssued {
        token_id: uuid(200 + n),
        name: "ci".to_owned(),
        user_id: user,
        token_hash: format!("token-hash-{n}"),
        expires_at: in_days(90),
        at: at(10),
    }
}

fn issue_token(n: u128, user: Uuid, name: &str) -> OrganizationCommand {
    OrganizationCommand::IssueApiToken {
        token_id: uuid(200 + n),
        name: name.to_owned(),
        user_id: user,
        token_hash: format!("token-hash-{n}"),
        expires_at: in_days(90),
        at: at(10),
    }
}

fn revoke_token(n: u128, by: Uuid) -> OrganizationCommand {
    OrganizationCommand::RevokeApiToken {
        token_id: uuid(200 + n),
        by,
        at: at(50),
    }
}

fn token_revoked(n: u128, user: Uuid, by: Uuid, minute: i64) -> OrganizationEvent {
    OrganizationEvent::ApiTokenRevoked {
        token_id: uuid(200 + n),
        user_id: user,
        by,
        at: at(minute),
    }
}

fn access_denied() -> OrganizationEvent {
    OrganizationEvent::AccessDenied {
        user_id: Some(cy()),
        action: "incident.resolve".to_owned(),
        method: "POST".to_owned(),
        path: "/api/incidents/1/resolve".to_owned(),
        role: Some(Role::Viewer),
        at: at(60),
    }
}

fn record_access_denied(action: &str) -> OrganizationCommand {
    OrganizationCommand::RecordAccessDenied {
        user_id: Some(cy()),
        action: action.to_owned(),
        method: "POST".to_owned(),
        path: "/api/incidents/1/resolve".to_owned(),
        role: Some(Role::Viewer),
        at: at(60),
    }
}

/// One of every command except `Create`, each of which would change a created organization.
fn every_command_but_create() -> Vec<OrganizationCommand> {
    vec![
        invite(1, "dee@acme.io", Role::Editor, ana(), 5),
        revoke_invitation(1, ana()),
        accept(1, dee(), "dee@acme.io", 6),
        change_role(bo(), Role::Admin, ana()),
        remove_member(bo(), ana()),
        issue_token(1, ana(), "ci"),
        revoke_token(1, ana()),
        record_access_denied("incident.resolve"),
    ]
}

mod roles {
    use super::*;
    use crate::values::ValueError;

    #[test]
    fn roles_are_ordered_viewer_editor_admin() {
        assert!(Role::Viewer < Role::Editor);
        assert!(Role::Editor < Role::Admin);
        assert_eq!(Role::ALL, [Role::Viewer, Role::Editor, Role::Admin]);
    }

    #[test]
    fn a_role_is_at_least_itself_and_every_role_below_it() {
        for &role in Role::ALL {
            for &other in Role::ALL {
                assert_eq!(role.at_least(other), role >= other, "{role} vs {other}");
            }
        }
        assert!(Role::Admin.at_least(Role::Viewer));
        assert!(Role::Editor.at_least(Role::Editor));
        assert!(!Role::Viewer.at_least(Role::Editor));
    }

    #[test]
    fn a_role_round_trips_through_its_name_display_and_json() {
        for &role in Role::ALL {
            let name = role.to_string();
            assert_eq!(name, role.as_str());
            assert_eq!(Role::parse(&name), Ok(role));
            assert_eq!(name.parse::<Role>(), Ok(role));
            let json = serde_json::to_value(role).unwrap();
            assert_eq!(json, serde_json::Value::String(name));
            assert_eq!(serde_json::from_value::<Role>(json).unwrap(), role);
        }
        assert_eq!(Role::Admin.as_str(), "admin");
    }

    #[test]
    fn a_role_parses_in_any_case_and_unknown_names_are_refused() {
        assert_eq!(Role::parse(" Editor "), Ok(Role::Editor));
        assert_eq!(Role::parse("ADMIN"), Ok(Role::Admin));
        assert_eq!(
            Role::parse("owner"),
            Err(ValueError::UnknownRole("owner".to_owned()))
        );
    }
}

mod creating {
    use super::*;

    #[test]
    fn creating_an_organization_makes_the_founder_its_admin() {
        let state = given(vec![])
            .when(OrganizationCommand::Create {
                name: "  Acme ".to_owned(),
                founder_id: ana(),
                founder_email: " Ana@Acme.IO ".to_owned(),
                at: at(0),
            })
            .then(vec![created(), seeded_policy(ana(), 0)]);

        assert!(state.created);
        assert_eq!(state.name, "Acme");
        assert_eq!(state.created_at, Some(at(0)));
        assert_eq!(state.role_of(ana()), Some(Role::Admin));
        assert_eq!(state.members[&ana()].email, "ana@acme.io");
        assert_eq!(state.members[&ana()].joined_at, at(0));
        assert_eq!(state.admin_count(), 1);
    }

    #[test]
    fn a_new_organization_starts_with_the_default_deny_template() {
        let state = given(vec![])
            .when(OrganizationCommand::Create {
                name: "Acme".to_owned(),
                founder_id: ana(),
                founder_email: "ana@acme.io".to_owned(),
                at: at(0),
            })
            .then(vec![created(), seeded_policy(ana(), 0)]);
        assert!(state.agent_policy.allow.is_empty());
        assert_eq!(state.agent_policy.deny.len(), 13);
        assert!(state
            .agent_policy
            .deny
            .iter()
            .any(|p| p == r"\biptables\b|\bnft\b|\bip\s+route\b"));
        // An admin edits it like any other policy.
        given(vec![created(), seeded_policy(ana(), 0)])
            .when(OrganizationCommand::SetAgentPolicy {
                allow: Vec::new(),
                deny: vec![r"\brm\s+-rf\s+/".to_owned()],
                by: ana(),
                at: at(1),
            })
            .then(vec![OrganizationEvent::AgentPolicySet {
                allow: Vec::new(),
                deny: vec![r"\brm\s+-rf\s+/".to_owned()],
                by: ana(),
                at: at(1),
            }]);
    }

    #[test]
    fn an_organization_cannot_be_created_twice() {
        given(vec![created()])
            .when(OrganizationCommand::Create {
                name: "Acme again".to_owned(),
                founder_id: bo(),
                founder_email: "bo@acme.io".to_owned(),
                at: at(1),
            })
            .then_error(OrganizationError::AlreadyCreated);
    }

    #[test]
    fn an_organization_needs_a_name() {
        given(vec![])
            .when(OrganizationCommand::Create {
                name: "   ".to_owned(),
                founder_id: ana(),
                founder_email: "ana@acme.io".to_owned(),
                at: at(0),
            })
            .then_error(OrganizationError::EmptyName);
    }

    #[test]
    fn an_organization_name_may_hold_at_most_two_hundred_characters() {
        let create = |name: String| OrganizationCommand::Create {
            name,
            founder_id: ana(),
            founder_email: "ana@acme.io".to_owned(),
            at: at(0),
        };
        given(vec![])
            .when(create("é".repeat(NAME_MAX_CHARS + 1)))
            .then_error(OrganizationError::NameTooLong {
                len: NAME_MAX_CHARS + 1,
                max: NAME_MAX_CHARS,
            });
        let longest = "é".repeat(NAME_MAX_CHARS);
        let state = given(vec![]).when(create(longest.clone())).then(vec![
            OrganizationEvent::Created {
                name: longest.clone(),
                founder_id: ana(),
                founder_email: "ana@acme.io".to_owned(),
                at: at(0),
            },
            seeded_policy(ana(), 0),
        ]);
        assert_eq!(state.name, longest);
    }

    #[test]
    fn the_founder_needs_an_email_that_looks_like_one() {
        for email in [
            "",
            "ana",
            "ana@",
            "@acme.io",
            "ana@acme",
            "ana@@acme.io",
            "ana@b@acme.io",
            "ana@.io",
            "ana@acme.",
            "an a@acme.io",
        ] {
            given(vec![])
                .when(OrganizationCommand::Create {
                    name: "Acme".to_owned(),
                    founder_id: ana(),
                    founder_email: email.to_owned(),
                    at: at(0),
                })
                .then_error(OrganizationError::InvalidEmail {
                    email: email.to_owned(),
                });
        }
    }

    #[test]
    fn every_command_but_create_is_refused_before_the_organization_exists() {
        for command in every_command_but_create() {
            given(vec![])
                .when(command)
                .then_error(OrganizationError::NotCreated);
        }
    }
}

mod inviting {
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
                .when(OrganizationCommand::Invite {
                    invitation_id: uuid(101),
                    email: "dee@acme.io".to_owned(),
                    role: Role::Viewer,
                    token_hash: "h".to_owned(),
                    expires_at,
                    by: ana(),
                    at: at(5),
                })
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
}

mod revoking_invitations {
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
}

mod accepting {
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
}

mod roles_of_members {
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
}

mod removing {
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
}

mod api_tokens {
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
            .then(vec![OrganizationEvent::ApiTokenIssued {
                token_id: uuid(201),
                name: "x".repeat(TOKEN_NAME_MAX_CHARS),
                user_id: bo(),
                token_hash: "token-hash-1".to_owned(),
                expires_at: in_days(90),
                at: at(10),
            }]);
    }

    #[test]
    fn an_api_token_must_expire_after_it_is_issued() {
        given(team())
            .when(OrganizationCommand::IssueApiToken {
                token_id: uuid(201),
                name: "ci".to_owned(),
                user_id: bo(),
                token_hash: "h".to_owned(),
                expires_at: at(10),
                at: at(10),
            })
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
}

mod access_denied {
    use super::*;

    #[test]
    fn a_denied_access_is_recorded_and_changes_nothing_else() {
        let before = given(team()).state();
        let after = given(team())
            .when(record_access_denied("incident.resolve"))
            .then(vec![access_denied()]);

        assert_eq!(after, before);
    }

    #[test]
    fn a_denied_access_by_an_unknown_caller_is_recorded_too() {
        let denied = OrganizationEvent::AccessDenied {
            user_id: None,
            action: "organization.read".to_owned(),
            method: "GET".to_owned(),
            path: "/api/organization".to_owned(),
            role: None,
            at: at(60),
        };
        given(team())
            .when(OrganizationCommand::RecordAccessDenied {
                user_id: None,
                action: "organization.read".to_owned(),
                method: "GET".to_owned(),
                path: "/api/organization".to_owned(),
                role: None,
                at: at(60),
            })
            .then(vec![denied]);
    }

    #[test]
    fn a_denied_access_must_name_its_action() {
        given(team())
            .when(record_access_denied("  "))
            .then_error(OrganizationError::EmptyAction);
    }
}

mod state_and_events {
    use super::*;

    fn history() -> Vec<OrganizationEvent> {
        with(
            team(),
            vec![
                invitation_issued(1, "dee@acme.io", Role::Admin, 5),
                OrganizationEvent::MemberJoined {
                    user_id: dee(),
                    email: "dee@acme.io".to_owned(),
                    role: Role::Admin,
                    invitation_id: Some(uuid(101)),
                    at: at(6),
                },
                invitation_issued(2, "eve@acme.io", Role::Viewer, 7),
                OrganizationEvent::InvitationRevoked {
                    invitation_id: uuid(102),
                    email: "eve@acme.io".to_owned(),
                    by: ana(),
                    at: at(8),
                },
                token_issued(1, bo()),
                token_issued(2, cy()),
                OrganizationEvent::RoleChanged {
                    user_id: cy(),
                    email: "cy@acme.io".to_owned(),
                    from: Role::Viewer,
                    to: Role::Editor,
                    by: dee(),
                    at: at(30),
                },
                OrganizationEvent::MemberRemoved {
                    user_id: bo(),
                    email: "bo@acme.io".to_owned(),
                    by: ana(),
                    at: at(40),
                },
                token_revoked(1, bo(), ana(), 40),
                access_denied(),
            ],
        )
    }

    #[test]
    fn fold_reproduces_the_state_the_aggregate_builds() {
        let folded = fold(history());

        assert_eq!(folded, given(history()).state());
        assert!(folded.created);
        assert_eq!(folded.name, "Acme");
        assert_eq!(
            folded.members.keys().copied().collect::<Vec<_>>(),
            [ana(), cy(), dee()]
        );
        assert_eq!(folded.admin_count(), 2);
        assert_eq!(folded.role_of(cy()), Some(Role::Editor));
        assert_eq!(folded.role_of(bo()), None);
        assert_eq!(
            folded.invitations[&uuid(101)].status,
            InvitationStatus::Accepted
        );
        assert_eq!(
            folded.invitations[&uuid(102)].status,
            InvitationStatus::Revoked
        );
        assert!(folded.api_tokens[&uuid(201)].revoked);
        assert!(!folded.api_tokens[&uuid(202)].revoked);
    }

    #[test]
    fn fold_of_a_prefix_shows_the_organization_as_it_was() {
        let events = history();
        let before_removal = fold(events[..events.len() - 3].to_vec());

        assert_eq!(before_removal.role_of(bo()), Some(Role::Editor));
        assert_eq!(before_removal.role_of(cy()), Some(Role::Editor));
        assert_eq!(fold(vec![]), OrganizationState::default());
    }

    #[test]
    fn a_member_is_found_by_email_ignoring_case_and_blanks() {
        let state = fold(team());

        let (user, member) = state.member_by_email(" Bo@ACME.io ").unwrap();
        assert_eq!(user, bo());
        assert_eq!(member.role, Role::Editor);
        assert!(state.member_by_email("dee@acme.io").is_none());
    }

    #[test]
    fn every_event_survives_a_round_trip_through_json_at_the_current_version() {
        assert_eq!(OrganizationEvent::current_version(), Some(1));
        for event in history() {
            let body = serde_json::to_value(&event).unwrap();
            let loaded =
                OrganizationEvent::upcast(body.clone(), OrganizationEvent::current_version())
                    .unwrap();
            assert_eq!(loaded, event);
            let unversioned = OrganizationEvent::upcast(body, None).unwrap();
            assert_eq!(unversioned, event);
        }
    }

    #[test]
    fn every_event_has_its_own_dotted_type_name_and_time() {
        let events = [
            (created(), "organization.created"),
            (
                invitation_issued(1, "dee@acme.io", Role::Viewer, 5),
                "organization.invitation_issued",
            ),
            (
                OrganizationEvent::InvitationRevoked {
                    invitation_id: uuid(101),
                    email: "dee@acme.io".to_owned(),
                    by: ana(),
                    at: at(8),
                },
                "organization.invitation_revoked",
            ),
            (
                joined(bo(), "bo@acme.io", Role::Editor, 1),
                "organization.member_joined",
            ),
            (
                OrganizationEvent::RoleChanged {
                    user_id: cy(),
                    email: "cy@acme.io".to_owned(),
                    from: Role::Viewer,
                    to: Role::Editor,
                    by: ana(),
                    at: at(30),
                },
                "organization.role_changed",
            ),
            (
                OrganizationEvent::MemberRemoved {
                    user_id: bo(),
                    email: "bo@acme.io".to_owned(),
                    by: ana(),
                    at: at(40),
                },
                "organization.member_removed",
            ),
            (token_issued(1, bo()), "organization.api_token_issued"),
            (
                token_revoked(1, bo(), ana(), 40),
                "organization.api_token_revoked",
            ),
            (access_denied(), "organization.access_denied"),
        ];
        for (event, name) in events {
            assert_eq!(event.event_type(), name);
            let body = serde_json::to_value(&event).unwrap();
            assert_eq!(
                Some(body["type"].as_str().unwrap()),
                name.strip_prefix("organization.")
            );
            assert_eq!(
                body["at"],
                serde_json::to_value(event.occurred_at()).unwrap()
            );
        }
    }

    #[test]
    fn an_unknown_event_gives_a_serde_error() {
        let body = serde_json::json!({"type": "exploded", "at": "2025-03-01T12:00:00Z"});
        assert!(OrganizationEvent::upcast(body, Some(1)).is_err());
    }

    #[test]
    fn commands_travel_as_snake_case_tagged_json() {
        let command = invite(1, "dee@acme.io", Role::Editor, ana(), 5);
        let body = serde_json::to_value(&command).unwrap();

        assert_eq!(body["type"], "invite");
        assert_eq!(body["role"], "editor");
        assert_eq!(
            serde_json::from_value::<OrganizationCommand>(body).unwrap(),
            command
        );
    }

    #[test]
    fn the_state_round_trips_through_json() {
        let state = fold(history());
        let body = serde_json::to_value(&state).unwrap();

        assert_eq!(
            body["invitations"][uuid(102).to_string()]["status"],
            "revoked"
        );
        assert_eq!(
            serde_json::from_value::<OrganizationState>(body).unwrap(),
            state
        );
    }
}

mod agent_policy {
    use super::*;

    fn set(allow: &[&str], deny: &[&str], by: Uuid) -> OrganizationCommand {
        OrganizationCommand::SetAgentPolicy {
            allow: allow.iter().map(|s| s.to_string()).collect(),
            deny: deny.iter().map(|s| s.to_string()).collect(),
            by,
            at: at(5),
        }
    }

    #[test]
    fn an_admin_sets_the_agent_policy() {
        let state = given(team())
            .when(set(&["^kubectl "], &["secrets"], ana()))
            .then(vec![OrganizationEvent::AgentPolicySet {
                allow: vec!["^kubectl ".into()],
                deny: vec!["secrets".into()],
                by: ana(),
                at: at(5),
            }]);
        assert_eq!(state.agent_policy.allow, ["^kubectl "]);
        assert_eq!(state.agent_policy.deny, ["secrets"]);
    }

    #[test]
    fn setting_the_same_policy_again_changes_nothing() {
        let mut events = team();
        events.push(OrganizationEvent::AgentPolicySet {
            allow: vec![],
            deny: vec!["secrets".into()],
            by: ana(),
            at: at(4),
        });
        given(events)
            .when(set(&[], &["secrets"], ana()))
            .then_nothing();
    }

    #[test]
    fn only_an_admin_sets_the_agent_policy() {
        given(team())
            .when(set(&[], &["secrets"], bo()))
            .then_error(OrganizationError::NotAdmin { user: bo() });
        given(team())
            .when(set(&[], &["secrets"], dee()))
            .then_error(OrganizationError::NotMember { user: dee() });
    }

    #[test]
    fn empty_long_or_too_many_patterns_are_refused() {
        given(team())
            .when(set(&[" "], &[], ana()))
            .then_error(OrganizationError::EmptyPolicyPattern);
        let long = "a".repeat(POLICY_PATTERN_MAX_CHARS + 1);
        given(team())
            .when(set(&[], &[long.as_str()], ana()))
            .then_error(OrganizationError::PolicyPatternTooLong {
                len: POLICY_PATTERN_MAX_CHARS + 1,
                max: POLICY_PATTERN_MAX_CHARS,
            });
        let many: Vec<&str> = std::iter::repeat_n("x", POLICY_PATTERNS_MAX + 1).collect();
        given(team()).when(set(&many, &[], ana())).then_error(
            OrganizationError::TooManyPolicyPatterns {
                count: POLICY_PATTERNS_MAX + 1,
                max: POLICY_PATTERNS_MAX,
            },
        );
    }
}
