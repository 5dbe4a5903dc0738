//! Given / when / then tests of the organization aggregate, grouped by command.
//!
//! The cast: Ana founded the organization (admin), Bo is an editor, Cy a viewer, and Dee is not a
//! member (an outsider, or an invitee).

#![allow(clippy::unwrap_used)]

mod accepting;
mod access_denied;
mod agent_policy;
mod api_tokens;
mod consumer_credentials;
mod creating;
mod inviting;
mod removing;
mod revoking_invitations;
mod roles;
mod roles_of_members;
mod state_and_events;

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
    OrganizationEvent::InvitationIssued(NewInvitation {
        invitation_id: uuid(100 + n),
        email: email.to_owned(),
        role,
        token_hash: format!("invitation-hash-{n}"),
        expires_at: at(minute) + TimeDelta::days(INVITATION_VALIDITY_DAYS),
        by: ana(),
        at: at(minute),
    })
}

fn invite(n: u128, email: &str, role: Role, by: Uuid, minute: i64) -> OrganizationCommand {
    OrganizationCommand::Invite(NewInvitation {
        invitation_id: uuid(100 + n),
        email: email.to_owned(),
        role,
        token_hash: format!("invitation-hash-{n}"),
        expires_at: at(minute) + TimeDelta::days(INVITATION_VALIDITY_DAYS),
        by,
        at: at(minute),
    })
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
    OrganizationEvent::ApiTokenIssued(NewApiToken {
        token_id: uuid(200 + n),
        name: "ci".to_owned(),
        user_id: user,
        token_hash: format!("token-hash-{n}"),
        expires_at: in_days(90),
        at: at(10),
    })
}

fn issue_token(n: u128, user: Uuid, name: &str) -> OrganizationCommand {
    OrganizationCommand::IssueApiToken(NewApiToken {
        token_id: uuid(200 + n),
        name: name.to_owned(),
        user_id: user,
        token_hash: format!("token-hash-{n}"),
        expires_at: in_days(90),
        at: at(10),
    })
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
    OrganizationEvent::AccessDenied(Denial {
        user_id: Some(cy()),
        action: "incident.resolve".to_owned(),
        method: "POST".to_owned(),
        path: "/api/incidents/1/resolve".to_owned(),
        role: Some(Role::Viewer),
        at: at(60),
    })
}

fn record_access_denied(action: &str) -> OrganizationCommand {
    OrganizationCommand::RecordAccessDenied(Denial {
        user_id: Some(cy()),
        action: action.to_owned(),
        method: "POST".to_owned(),
        path: "/api/incidents/1/resolve".to_owned(),
        role: Some(Role::Viewer),
        at: at(60),
    })
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
        OrganizationCommand::IssueConsumerCredentials(NewConsumerCredentials {
            credential_id: uuid(301),
            name: "audit".into(),
            public_key: format!("U{}", "A".repeat(55)),
            expires_at: None,
            at: at(10),
        }),
        OrganizationCommand::RevokeConsumerCredentials {
            name: "audit".into(),
            at: at(10),
        },
    ]
}
