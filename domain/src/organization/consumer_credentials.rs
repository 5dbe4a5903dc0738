//! Credentials for programs outside Aurora that read the organisation's events over NATS: the
//! rules of issuing and revoking them. What they may reach on the server is
//! `aurora_nats::consumer_access`'s business; here they are names with a public key.

use chrono::{DateTime, Utc};

use super::error::{Decision, OrganizationError};
use super::event::{NewConsumerCredentials, OrganizationEvent};
use super::state::OrganizationState;

/// The longest credential name. It becomes one token of a consumer name (`ext-<tenant>-<name>`).
pub const CONSUMER_NAME_MAX_CHARS: usize = 40;

pub(super) fn issue(state: &OrganizationState, credentials: NewConsumerCredentials) -> Decision {
    let (name, public_key) = (&credentials.name, &credentials.public_key);
    let valid_name = (1..=CONSUMER_NAME_MAX_CHARS).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !valid_name {
        return Err(OrganizationError::InvalidConsumerName {
            name: credentials.name,
            max: CONSUMER_NAME_MAX_CHARS,
        });
    }
    // An nkey user public key: 'U' and 55 more base32 characters.
    let valid_key = public_key.len() == 56
        && public_key.starts_with('U')
        && public_key
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b));
    if !valid_key {
        return Err(OrganizationError::InvalidConsumerKey {
            key: credentials.public_key,
        });
    }
    if state
        .consumer_credentials
        .get(name)
        .is_some_and(|existing| existing.is_usable_at(credentials.at))
    {
        return Err(OrganizationError::ConsumerCredentialsExist {
            name: credentials.name,
        });
    }
    Ok(vec![OrganizationEvent::ConsumerCredentialsIssued(
        credentials,
    )])
}

pub(super) fn revoke(state: &OrganizationState, name: &str, at: DateTime<Utc>) -> Decision {
    let Some(existing) = state.consumer_credentials.get(name) else {
        return Err(OrganizationError::UnknownConsumerCredentials { name: name.into() });
    };
    Ok(vec![OrganizationEvent::ConsumerCredentialsRevoked {
        credential_id: existing.credential_id,
        name: name.into(),
        at,
    }])
}
