//! An organization as its events made it: its members, invitations and API tokens.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::event::{NewInvitation, OrganizationEvent};
use super::role::Role;
use crate::organization::{NewApiToken, NewConsumerCredentials};

/// The organization; the tenant is not here because the event store already scopes by it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrganizationState {
    /// `false` until the organization is created; every other field is meaningless until then.
    pub created: bool,
    pub name: String,
    pub created_at: Option<DateTime<Utc>>,
    /// Current members by user id (removed members are gone).
    pub members: BTreeMap<Uuid, Member>,
    /// Every invitation ever issued, by invitation id, whatever became of it.
    pub invitations: BTreeMap<Uuid, Invitation>,
    /// Every API token ever issued, by token id, revoked ones included.
    pub api_tokens: BTreeMap<Uuid, ApiToken>,
    /// What the agent's commands are checked against, beside the command gate's own rules.
    #[serde(default)]
    pub agent_policy: AgentPolicy,
    /// External consumers' NATS credentials not revoked, by name (expired ones included).
    #[serde(default)]
    pub consumer_credentials: BTreeMap<String, ConsumerCredentials>,
}

/// NATS credentials of a program outside Aurora (see `aurora_nats::consumer_access`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerCredentials {
    pub credential_id: Uuid,
    /// The nkey's public key; the seed is not kept anywhere.
    pub public_key: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub issued_at: DateTime<Utc>,
}

impl ConsumerCredentials {
    pub fn is_usable_at(&self, at: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|expiry| at < expiry)
    }
}

/// Regular expressions over a command line (binary first, arguments joined by spaces).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentPolicy {
    pub allow: Vec<String>,
    pub deny: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Trimmed and lower-case.
    pub email: String,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    /// Trimmed and lower-case.
    pub email: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
    /// `Pending` says nothing about expiry: see [`Invitation::is_open_at`].
    pub status: InvitationStatus,
    pub invited_by: Uuid,
    /// SHA-256 of the invitation token (the token itself only goes to the invitee).
    pub token_hash: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Revoked,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub name: String,
    pub user_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub revoked: bool,
    /// SHA-256 of the token (the token itself is shown once, to its creator).
    pub token_hash: String,
}

impl Invitation {
    /// Whether the invitation can still be accepted at `at`: pending and not expired.
    pub fn is_open_at(&self, at: DateTime<Utc>) -> bool {
        self.status == InvitationStatus::Pending && at < self.expires_at
    }
}

impl ApiToken {
    /// Whether the token still authenticates at `at`: not revoked and not expired.
    pub fn is_usable_at(&self, at: DateTime<Utc>) -> bool {
        !self.revoked && at < self.expires_at
    }
}

impl OrganizationState {
    /// The role of `user`, if they are a member.
    pub fn role_of(&self, user: Uuid) -> Option<Role> {
        self.members.get(&user).map(|member| member.role)
    }

    /// How many members are admins.
    pub fn admin_count(&self) -> usize {
        self.members
            .values()
            .filter(|member| member.role == Role::Admin)
            .count()
    }

    /// The member with this email, ignoring case and surrounding blanks.
    pub fn member_by_email(&self, email: &str) -> Option<(Uuid, &Member)> {
        let email = email.trim().to_lowercase();
        self.members
            .iter()
            .find(|(_, member)| member.email.to_lowercase() == email)
            .map(|(user, member)| (*user, member))
    }

    /// Folds one event in. Events are facts, so nothing here refuses anything.
    pub fn apply(mut self, event: OrganizationEvent) -> Self {
        match event {
            OrganizationEvent::Created {
                name,
                founder_id,
                founder_email,
                at,
            } => {
                self.created = true;
                self.name = name;
                self.created_at = Some(at);
                self.members.insert(
                    founder_id,
                    Member {
                        email: founder_email,
                        role: Role::Admin,
                        joined_at: at,
                    },
                );
            }
            OrganizationEvent::InvitationIssued(NewInvitation {
                invitation_id,
                email,
                role,
                token_hash,
                expires_at,
                by,
                ..
            }) => {
                self.invitations.insert(
                    invitation_id,
                    Invitation {
                        email,
                        role,
                        expires_at,
                        status: InvitationStatus::Pending,
                        invited_by: by,
                        token_hash,
                    },
                );
            }
            OrganizationEvent::InvitationRevoked { invitation_id, .. } => {
                self.set_invitation_status(invitation_id, InvitationStatus::Revoked);
            }
            OrganizationEvent::MemberJoined {
                user_id,
                email,
                role,
                invitation_id,
                at,
            } => {
                if let Some(invitation_id) = invitation_id {
                    self.set_invitation_status(invitation_id, InvitationStatus::Accepted);
                }
                self.members.insert(
                    user_id,
                    Member {
                        email,
                        role,
                        joined_at: at,
                    },
                );
            }
            OrganizationEvent::RoleChanged { user_id, to, .. } => {
                if let Some(member) = self.members.get_mut(&user_id) {
                    member.role = to;
                }
            }
            OrganizationEvent::MemberRemoved { user_id, .. } => {
                self.members.remove(&user_id);
            }
            OrganizationEvent::ApiTokenIssued(NewApiToken {
                token_id,
                name,
                user_id,
                token_hash,
                expires_at,
                ..
            }) => {
                self.api_tokens.insert(
                    token_id,
                    ApiToken {
                        name,
                        user_id,
                        expires_at,
                        revoked: false,
                        token_hash,
                    },
                );
            }
            OrganizationEvent::ApiTokenRevoked { token_id, .. } => {
                if let Some(token) = self.api_tokens.get_mut(&token_id) {
                    token.revoked = true;
                }
            }
            OrganizationEvent::AgentPolicySet { allow, deny, .. } => {
                self.agent_policy = AgentPolicy { allow, deny };
            }
            OrganizationEvent::ConsumerCredentialsIssued(NewConsumerCredentials {
                credential_id,
                name,
                public_key,
                expires_at,
                at,
            }) => {
                self.consumer_credentials.insert(
                    name,
                    ConsumerCredentials {
                        credential_id,
                        public_key,
                        expires_at,
                        issued_at: at,
                    },
                );
            }
            OrganizationEvent::ConsumerCredentialsRevoked { name, .. } => {
                self.consumer_credentials.remove(&name);
            }
            OrganizationEvent::AccessDenied { .. } => {}
        }
        self
    }

    fn set_invitation_status(&mut self, invitation_id: Uuid, status: InvitationStatus) {
        if let Some(invitation) = self.invitations.get_mut(&invitation_id) {
            invitation.status = status;
        }
    }
}
