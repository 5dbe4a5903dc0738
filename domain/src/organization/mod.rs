//! The organization aggregate: one tenant's members and their roles, the invitations that bring
//! people in, the API tokens that let programs act for a member, and the audit trail of refused
//! requests, and the NATS credentials of programs outside Aurora that read its events.
//!
//! [`OrganizationCommand`] says what may be asked, [`OrganizationEvent`] what happened,
//! [`OrganizationError`] why a command was refused, and [`OrganizationState`] is the fold of the
//! events. [`Role`] orders what members may do. The rules live in `command.rs`; the fold in
//! `state.rs`.

mod command;
mod consumer_credentials;
mod error;
mod event;
mod role;
mod state;

#[cfg(test)]
mod tests;

pub use command::{
    OrganizationCommand, INVITATION_VALIDITY_DAYS, NAME_MAX_CHARS, POLICY_PATTERNS_MAX,
    POLICY_PATTERN_MAX_CHARS, TOKEN_NAME_MAX_CHARS,
};
pub use consumer_credentials::CONSUMER_NAME_MAX_CHARS;
pub use error::OrganizationError;
pub use event::{Denial, NewApiToken, NewConsumerCredentials, NewInvitation, OrganizationEvent};
pub use role::Role;
pub use state::{
    AgentPolicy, ApiToken, ConsumerCredentials, Invitation, InvitationStatus, Member,
    OrganizationState,
};

crate::aggregate::aggregate!(
    /// The organization aggregate (stored under the name `organization`).
    Organization = "organization", command::decide,
    OrganizationState, OrganizationCommand, OrganizationEvent, OrganizationError
);
