//! What happened to an organization. Events carry everything the read models need (emails next to
//! user ids, for one), so no projector has to look anything up.
//!
//! Emails in events are always trimmed and lower-case. Token and invitation secrets appear only as
//! hashes.

use chrono::{DateTime, Utc};
use esrs::event::Upcaster;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::role::Role;
use crate::event::DomainEvent;

/// An invitation: what [`super::OrganizationCommand::Invite`] asks for and
/// [`OrganizationEvent::InvitationIssued`] records (its email trimmed and lower-cased by then).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct NewInvitation {
    pub invitation_id: Uuid,
    pub email: String,
    pub role: Role,
    pub token_hash: String,
    pub expires_at: DateTime<Utc>,
    pub by: Uuid,
    pub at: DateTime<Utc>,
}

/// An API token: what [`super::OrganizationCommand::IssueApiToken`] asks for and
/// [`OrganizationEvent::ApiTokenIssued`] records (its name trimmed by then).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct NewApiToken {
    pub token_id: Uuid,
    pub name: String,
    pub user_id: Uuid,
    pub token_hash: String,
    pub expires_at: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

/// Consumer credentials: what [`super::OrganizationCommand::IssueConsumerCredentials`] asks for
/// and [`OrganizationEvent::ConsumerCredentialsIssued`] records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct NewConsumerCredentials {
    pub credential_id: Uuid,
    pub name: String,
    pub public_key: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
}

/// A refused request: what [`super::OrganizationCommand::RecordAccessDenied`] asks to record and
/// [`OrganizationEvent::AccessDenied`] records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct Denial {
    pub user_id: Option<Uuid>,
    pub action: String,
    pub method: String,
    pub path: String,
    pub role: Option<Role>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OrganizationEvent {
    /// The organization was created; its founder is its first member, an admin.
    Created {
        name: String,
        founder_id: Uuid,
        founder_email: String,
        at: DateTime<Utc>,
    },
    /// An admin invited `email` to join as `role`. The invitation is pending until accepted,
    /// revoked or past `expires_at`.
    InvitationIssued(NewInvitation),
    /// A pending invitation was withdrawn (by an admin, or superseded by a new one to the same
    /// email).
    InvitationRevoked {
        invitation_id: Uuid,
        email: String,
        by: Uuid,
        at: DateTime<Utc>,
    },
    /// Someone became a member; `invitation_id` names the invitation they accepted, if any.
    MemberJoined {
        user_id: Uuid,
        email: String,
        role: Role,
        invitation_id: Option<Uuid>,
        at: DateTime<Utc>,
    },
    /// A member's role changed from `from` to `to`.
    RoleChanged {
        user_id: Uuid,
        email: String,
        from: Role,
        to: Role,
        by: Uuid,
        at: DateTime<Utc>,
    },
    /// A member was removed. Their API tokens are revoked by the `api_token_revoked` events that
    /// follow it.
    MemberRemoved {
        user_id: Uuid,
        email: String,
        by: Uuid,
        at: DateTime<Utc>,
    },
    /// An API token was issued to `user_id`; only its hash is kept (the token was shown once).
    ApiTokenIssued(NewApiToken),
    /// An API token was revoked; requests bearing it are refused from now on.
    ApiTokenRevoked {
        token_id: Uuid,
        user_id: Uuid,
        by: Uuid,
        at: DateTime<Utc>,
    },
    /// The agent's command policy was replaced.
    AgentPolicySet {
        allow: Vec<String>,
        deny: Vec<String>,
        by: Uuid,
        at: DateTime<Utc>,
    },
    /// NATS credentials were issued to a program outside Aurora: it may read `evt.<tenant>.>`
    /// through its own durable consumer. Only the nkey's public key is kept; its seed was shown
    /// once to whoever asked.
    ConsumerCredentialsIssued(NewConsumerCredentials),
    /// The consumer credentials named `name` were withdrawn; the NATS server refuses them (and
    /// closes their open connections) from then on.
    ConsumerCredentialsRevoked {
        credential_id: Uuid,
        name: String,
        at: DateTime<Utc>,
    },
    /// A request was refused for lack of permission (an audit record; it changes nothing).
    AccessDenied(Denial),
}

impl DomainEvent for OrganizationEvent {
    crate::event::event_types! {
        Created => "organization.created",
        InvitationIssued(NewInvitation) => "organization.invitation_issued",
        InvitationRevoked => "organization.invitation_revoked",
        MemberJoined => "organization.member_joined",
        RoleChanged => "organization.role_changed",
        MemberRemoved => "organization.member_removed",
        ApiTokenIssued(NewApiToken) => "organization.api_token_issued",
        ApiTokenRevoked => "organization.api_token_revoked",
        AgentPolicySet => "organization.agent_policy_set",
        ConsumerCredentialsIssued(NewConsumerCredentials) => "organization.consumer_credentials_issued",
        ConsumerCredentialsRevoked => "organization.consumer_credentials_revoked",
        AccessDenied(Denial) => "organization.access_denied",
    }
}

/// Version 1 is the only schema so far, so the default upcast (plain deserialisation) suffices.
impl Upcaster for OrganizationEvent {
    fn current_version() -> Option<i32> {
        Some(1)
    }
}
