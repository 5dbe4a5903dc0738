//! Why an organization refused a command, and [`Decision`], what deciding a command comes to.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::event::OrganizationEvent;

/// What a rule of the organization comes to: the events a command causes, or why it was refused.
pub(super) type Decision = Result<Vec<OrganizationEvent>, OrganizationError>;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OrganizationError {
    #[error("the organization has not been created")]
    NotCreated,
    #[error("the organization already exists")]
    AlreadyCreated,
    #[error("an organization needs a name")]
    EmptyName,
    #[error("an organization name may hold at most {max} characters, this one has {len}")]
    NameTooLong { len: usize, max: usize },
    #[error("{email:?} is not a valid email address")]
    InvalidEmail { email: String },
    #[error("user {user} is not a member of the organization")]
    NotMember { user: Uuid },
    #[error("user {user} is not an admin of the organization")]
    NotAdmin { user: Uuid },
    #[error("{email} is already a member of the organization")]
    AlreadyMember { email: String },
    #[error("an expiry must come after the moment it is given")]
    InvalidExpiry,
    #[error("invitation {id} already exists")]
    DuplicateInvitation { id: Uuid },
    #[error("there is no invitation {id}")]
    UnknownInvitation { id: Uuid },
    #[error("invitation {id} was already accepted or revoked")]
    InvitationNotPending { id: Uuid },
    #[error("invitation {id} expired at {expired_at}")]
    InvitationExpired { id: Uuid, expired_at: DateTime<Utc> },
    #[error("the invitation was sent to another email address")]
    EmailMismatch,
    #[error("the organization must keep at least one admin")]
    LastAdmin,
    #[error("an API token needs a name")]
    EmptyTokenName,
    #[error("an API token name may hold at most {max} characters, this one has {len}")]
    TokenNameTooLong { len: usize, max: usize },
    #[error("API token {id} already exists")]
    DuplicateToken { id: Uuid },
    #[error("there is no API token {id}")]
    UnknownToken { id: Uuid },
    #[error("API token {id} is already revoked")]
    TokenAlreadyRevoked { id: Uuid },
    #[error("user {user} may not do this")]
    NotAllowed { user: Uuid },
    #[error("a policy pattern cannot be empty")]
    EmptyPolicyPattern,
    #[error("a policy pattern may hold at most {max} characters, this one has {len}")]
    PolicyPatternTooLong { len: usize, max: usize },
    #[error("a policy may hold at most {max} patterns, this one has {count}")]
    TooManyPolicyPatterns { count: usize, max: usize },
    #[error("a denied access must say which action was denied")]
    EmptyAction,
    #[error(
        "consumer credentials need a name of 1 to {max} lower-case letters, digits, '-' or '_', \
         not {name:?}"
    )]
    InvalidConsumerName { name: String, max: usize },
    #[error("consumer credentials need an nkey user public key (U…), not {key:?}")]
    InvalidConsumerKey { key: String },
    #[error(
        "consumer credentials named {name:?} are already issued and not expired; revoke them first"
    )]
    ConsumerCredentialsExist { name: String },
    #[error("there are no consumer credentials named {name:?}")]
    UnknownConsumerCredentials { name: String },
}
