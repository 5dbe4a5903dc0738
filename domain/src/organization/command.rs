//! What may be asked of an organization, and how it decides.
//!
//! Who asks (`by`, `user_id`) is authenticated by the caller and put in the command; whether they
//! may ask is decided here, from the roles the events recorded. Emails are compared ignoring case
//! and surrounding blanks, and stored trimmed and lower-case.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::error::{Decision, OrganizationError};
use super::event::{Denial, NewApiToken, NewConsumerCredentials, NewInvitation, OrganizationEvent};
use super::role::Role;
use super::state::{InvitationStatus, OrganizationState};
use crate::aggregate::text_within;

/// How long an invitation stays open; the caller computes `expires_at` from it.
pub const INVITATION_VALIDITY_DAYS: i64 = 7;
/// The longest organization name, in characters (after trimming).
pub const NAME_MAX_CHARS: usize = 200;
/// The longest API token name, in characters (after trimming).
pub const TOKEN_NAME_MAX_CHARS: usize = 100;
/// The most allow and deny patterns an organisation's agent policy holds, together.
pub const POLICY_PATTERNS_MAX: usize = 100;
/// The longest pattern, in characters.
pub const POLICY_PATTERN_MAX_CHARS: usize = 500;

/// Commands travel as JSON, tagged by `type` (snake_case).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OrganizationCommand {
    /// The founder becomes the first member, an admin.
    Create {
        name: String,
        founder_id: Uuid,
        founder_email: String,
        at: DateTime<Utc>,
    },
    /// Only admins invite. Inviting an email that has an open invitation revokes that one first
    /// (so re-inviting re-sends).
    Invite(NewInvitation),
    RevokeInvitation {
        invitation_id: Uuid,
        by: Uuid,
        at: DateTime<Utc>,
    },
    /// `user_id` and `email` are those of the signed-in user accepting the invitation.
    AcceptInvitation {
        invitation_id: Uuid,
        user_id: Uuid,
        email: String,
        at: DateTime<Utc>,
    },
    ChangeRole {
        user_id: Uuid,
        role: Role,
        by: Uuid,
        at: DateTime<Utc>,
    },
    /// Also revokes every API token of the member that is not revoked yet.
    RemoveMember {
        user_id: Uuid,
        by: Uuid,
        at: DateTime<Utc>,
    },
    /// A token acting for `user_id`, who asks for it.
    IssueApiToken(NewApiToken),
    /// The token's owner or an admin.
    RevokeApiToken {
        token_id: Uuid,
        by: Uuid,
        at: DateTime<Utc>,
    },
    /// Only admins. Replaces the regular expressions the agent's commands are checked against
    /// (deny first; a non-empty allow list admits only what matches it). The gateway checks that
    /// each compiles; the aggregate bounds their number and length.
    SetAgentPolicy {
        allow: Vec<String>,
        deny: Vec<String>,
        by: Uuid,
        at: DateTime<Utc>,
    },
    /// NATS credentials for a program outside Aurora to read this organisation's events (issued by
    /// an operator with `aurora consumer-credentials`; the seed goes to them, only the public key
    /// is recorded). `name` must be unused, or its credentials expired.
    IssueConsumerCredentials(NewConsumerCredentials),
    /// Withdraws the consumer credentials named `name`.
    RevokeConsumerCredentials { name: String, at: DateTime<Utc> },
    /// An audit record of a refused request; always recorded once the organization exists.
    RecordAccessDenied(Denial),
}

/// Decides which events a command causes (none for a change to what is already true).
pub(crate) fn decide(state: &OrganizationState, command: OrganizationCommand) -> Decision {
    match command {
        OrganizationCommand::Create {
            name,
            founder_id,
            founder_email,
            at,
        } => {
            if state.created {
                return Err(OrganizationError::AlreadyCreated);
            }
            let name = text_within(
                name.trim(),
                NAME_MAX_CHARS,
                OrganizationError::EmptyName,
                |len, max| OrganizationError::NameTooLong { len, max },
            )?;
            // A new organisation starts with the default deny template, set by its founder, so
            // the policy it runs with is in its log and its admins edit it like any other.
            Ok(vec![
                OrganizationEvent::Created {
                    name: name.to_owned(),
                    founder_id,
                    founder_email: normalize_email(&founder_email)?,
                    at,
                },
                OrganizationEvent::AgentPolicySet {
                    allow: Vec::new(),
                    deny: crate::gate::default_deny_patterns(),
                    by: founder_id,
                    at,
                },
            ])
        }
        other => decide_on_created(state, other),
    }
}

fn decide_on_created(state: &OrganizationState, command: OrganizationCommand) -> Decision {
    if !state.created {
        return Err(OrganizationError::NotCreated);
    }
    match command {
        OrganizationCommand::Create { .. } => Err(OrganizationError::AlreadyCreated),
        OrganizationCommand::Invite(mut invitation) => {
            let (by, at) = (invitation.by, invitation.at);
            require_admin(state, by)?;
            invitation.email = normalize_email(&invitation.email)?;
            check_expiry(invitation.expires_at, at)?;
            if state.invitations.contains_key(&invitation.invitation_id) {
                return Err(OrganizationError::DuplicateInvitation {
                    id: invitation.invitation_id,
                });
            }
            if state.member_by_email(&invitation.email).is_some() {
                return Err(OrganizationError::AlreadyMember {
                    email: invitation.email,
                });
            }
            let mut events: Vec<OrganizationEvent> = state
                .invitations
                .iter()
                .filter(|(_, open)| open.email == invitation.email && open.is_open_at(at))
                .map(|(id, open)| OrganizationEvent::InvitationRevoked {
                    invitation_id: *id,
                    email: open.email.clone(),
                    by,
                    at,
                })
                .collect();
            events.push(OrganizationEvent::InvitationIssued(invitation));
            Ok(events)
        }
        OrganizationCommand::RevokeInvitation {
            invitation_id,
            by,
            at,
        } => {
            require_admin(state, by)?;
            let Some(invitation) = state.invitations.get(&invitation_id) else {
                return Err(OrganizationError::UnknownInvitation { id: invitation_id });
            };
            if invitation.status != InvitationStatus::Pending {
                return Err(OrganizationError::InvitationNotPending { id: invitation_id });
            }
            Ok(vec![OrganizationEvent::InvitationRevoked {
                invitation_id,
                email: invitation.email.clone(),
                by,
                at,
            }])
        }
        OrganizationCommand::AcceptInvitation {
            invitation_id,
            user_id,
            email,
            at,
        } => {
            let Some(invitation) = state.invitations.get(&invitation_id) else {
                return Err(OrganizationError::UnknownInvitation { id: invitation_id });
            };
            if invitation.status != InvitationStatus::Pending {
                return Err(OrganizationError::InvitationNotPending { id: invitation_id });
            }
            if at >= invitation.expires_at {
                return Err(OrganizationError::InvitationExpired {
                    id: invitation_id,
                    expired_at: invitation.expires_at,
                });
            }
            if !same_email(&email, &invitation.email) {
                return Err(OrganizationError::EmailMismatch);
            }
            if let Some(member) = state.members.get(&user_id) {
                return Err(OrganizationError::AlreadyMember {
                    email: member.email.clone(),
                });
            }
            if state.member_by_email(&invitation.email).is_some() {
                return Err(OrganizationError::AlreadyMember {
                    email: invitation.email.clone(),
                });
            }
            Ok(vec![OrganizationEvent::MemberJoined {
                user_id,
                email: invitation.email.clone(),
                role: invitation.role,
                invitation_id: Some(invitation_id),
                at,
            }])
        }
        OrganizationCommand::ChangeRole {
            user_id,
            role,
            by,
            at,
        } => {
            require_admin(state, by)?;
            let Some(member) = state.members.get(&user_id) else {
                return Err(OrganizationError::NotMember { user: user_id });
            };
            if member.role == role {
                return Ok(vec![]);
            }
            if member.role == Role::Admin && state.admin_count() <= 1 {
                return Err(OrganizationError::LastAdmin);
            }
            Ok(vec![OrganizationEvent::RoleChanged {
                user_id,
                email: member.email.clone(),
                from: member.role,
                to: role,
                by,
                at,
            }])
        }
        OrganizationCommand::RemoveMember { user_id, by, at } => {
            require_admin(state, by)?;
            let Some(member) = state.members.get(&user_id) else {
                return Err(OrganizationError::NotMember { user: user_id });
            };
            if member.role == Role::Admin && state.admin_count() <= 1 {
                return Err(OrganizationError::LastAdmin);
            }
            let mut events = vec![OrganizationEvent::MemberRemoved {
                user_id,
                email: member.email.clone(),
                by,
                at,
            }];
            events.extend(
                state
                    .api_tokens
                    .iter()
                    .filter(|(_, token)| token.user_id == user_id && !token.revoked)
                    .map(|(token_id, _)| OrganizationEvent::ApiTokenRevoked {
                        token_id: *token_id,
                        user_id,
                        by,
                        at,
                    }),
            );
            Ok(events)
        }
        OrganizationCommand::IssueApiToken(mut token) => {
            if !state.members.contains_key(&token.user_id) {
                return Err(OrganizationError::NotMember {
                    user: token.user_id,
                });
            }
            token.name = text_within(
                token.name.trim(),
                TOKEN_NAME_MAX_CHARS,
                OrganizationError::EmptyTokenName,
                |len, max| OrganizationError::TokenNameTooLong { len, max },
            )?
            .to_owned();
            check_expiry(token.expires_at, token.at)?;
            if state.api_tokens.contains_key(&token.token_id) {
                return Err(OrganizationError::DuplicateToken { id: token.token_id });
            }
            Ok(vec![OrganizationEvent::ApiTokenIssued(token)])
        }
        OrganizationCommand::RevokeApiToken { token_id, by, at } => {
            let Some(token) = state.api_tokens.get(&token_id) else {
                return Err(OrganizationError::UnknownToken { id: token_id });
            };
            if token.revoked {
                return Err(OrganizationError::TokenAlreadyRevoked { id: token_id });
            }
            let is_owner = token.user_id == by;
            let is_admin = state.role_of(by) == Some(Role::Admin);
            if !is_owner && !is_admin {
                return Err(OrganizationError::NotAllowed { user: by });
            }
            Ok(vec![OrganizationEvent::ApiTokenRevoked {
                token_id,
                user_id: token.user_id,
                by,
                at,
            }])
        }
        OrganizationCommand::SetAgentPolicy {
            allow,
            deny,
            by,
            at,
        } => {
            require_admin(state, by)?;
            for pattern in allow.iter().chain(&deny) {
                text_within(
                    pattern,
                    POLICY_PATTERN_MAX_CHARS,
                    OrganizationError::EmptyPolicyPattern,
                    |len, max| OrganizationError::PolicyPatternTooLong { len, max },
                )?;
            }
            let count = allow.len() + deny.len();
            if count > POLICY_PATTERNS_MAX {
                return Err(OrganizationError::TooManyPolicyPatterns {
                    count,
                    max: POLICY_PATTERNS_MAX,
                });
            }
            if state.agent_policy.allow == allow && state.agent_policy.deny == deny {
                return Ok(vec![]);
            }
            Ok(vec![OrganizationEvent::AgentPolicySet {
                allow,
                deny,
                by,
                at,
            }])
        }
        OrganizationCommand::IssueConsumerCredentials(credentials) => {
            if let Some(expires_at) = credentials.expires_at {
                check_expiry(expires_at, credentials.at)?;
            }
            super::consumer_credentials::issue(state, credentials)
        }
        OrganizationCommand::RevokeConsumerCredentials { name, at } => {
            super::consumer_credentials::revoke(state, &name, at)
        }
        OrganizationCommand::RecordAccessDenied(denial) => {
            if denial.action.trim().is_empty() {
                return Err(OrganizationError::EmptyAction);
            }
            Ok(vec![OrganizationEvent::AccessDenied(denial)])
        }
    }
}

/// `user` must be a member, and an admin.
fn require_admin(state: &OrganizationState, user: Uuid) -> Result<(), OrganizationError> {
    match state.role_of(user) {
        None => Err(OrganizationError::NotMember { user }),
        Some(Role::Admin) => Ok(()),
        Some(_) => Err(OrganizationError::NotAdmin { user }),
    }
}

fn check_expiry(expires_at: DateTime<Utc>, at: DateTime<Utc>) -> Result<(), OrganizationError> {
    if expires_at <= at {
        return Err(OrganizationError::InvalidExpiry);
    }
    Ok(())
}

/// The stored form of an email (trimmed, lower-case), if it looks like one: exactly one `@`, a
/// non-empty local part, a domain with a `.` neither first nor last, and no blanks inside.
fn normalize_email(raw: &str) -> Result<String, OrganizationError> {
    let email = raw.trim().to_lowercase();
    let looks_valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if looks_valid {
        Ok(email)
    } else {
        Err(OrganizationError::InvalidEmail {
            email: raw.to_owned(),
        })
    }
}

fn same_email(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}
