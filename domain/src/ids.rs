//! Identifiers. Each is a newtype that can only hold a valid value (parse, don't validate).

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("tenant id must be 1 to 64 characters of a-z, 0-9, '-' or '_', got {0:?}")]
    InvalidTenant(String),
    #[error("not a valid UUID: {0:?}")]
    InvalidUuid(String),
}

/// The organisation that owns a piece of data. It is the second token of every NATS subject
/// (`evt.<tenant>.…`), so it may only hold characters that are safe in one subject token.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(String);

impl TenantId {
    pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
        let value = value.into();
        let valid = !value.is_empty()
            && value.len() <= 64
            && value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if valid {
            Ok(Self(value))
        } else {
            Err(IdError::InvalidTenant(value))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TenantId {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<TenantId> for String {
    fn from(value: TenantId) -> Self {
        value.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            schemars::JsonSchema,
        )]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered id (UUID v7), so ids sort by creation time.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn parse(value: &str) -> Result<Self, IdError> {
                Uuid::parse_str(value)
                    .map(Self)
                    .map_err(|_| IdError::InvalidUuid(value.to_owned()))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<$name> for Uuid {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// One incident (the aggregate id of [`crate::incident::Incident`]).
    IncidentId
);
uuid_id!(
    /// One chat session (the aggregate id of [`crate::chat::ChatSession`]).
    SessionId
);

/// The id of an incident's `episode`-th investigation (1 for the one its opening starts), so a
/// redelivered opening, a second consumer or a restart name the same run and start it once.
///
/// It is here, beside [`IncidentId`], because both aggregates need it: the incident checks that a
/// requested run is its next one, and the investigation (which depends on the incident for its
/// alert) names its runs by it and re-exports it as `investigation::run_id`.
pub fn run_id(incident: IncidentId, episode: u32) -> Uuid {
    Uuid::new_v5(&incident.0, format!("investigation-{episode}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_id_is_one_safe_subject_token() {
        assert!(TenantId::parse("acme-prod_1").is_ok());
        for bad in ["", "Acme", "a.b", "a b", "a*", "a>", &"x".repeat(65)] {
            assert_eq!(
                TenantId::parse(bad),
                Err(IdError::InvalidTenant(bad.to_owned())),
                "{bad:?} must be refused"
            );
        }
    }

    #[test]
    fn a_uuid_id_parses_and_refuses_garbage() {
        let id = IncidentId::new();
        assert_eq!(IncidentId::parse(&id.to_string()), Ok(id));
        assert!(matches!(
            IncidentId::parse("nope"),
            Err(IdError::InvalidUuid(_))
        ));
    }

    #[test]
    fn an_investigation_run_id_is_fixed_by_the_incident_and_the_episode() {
        let incident = IncidentId(Uuid::from_u128(1));
        assert_eq!(run_id(incident, 1), run_id(incident, 1));
        assert_ne!(run_id(incident, 1), run_id(incident, 2));
        assert_ne!(
            run_id(incident, 1),
            run_id(IncidentId(Uuid::from_u128(2)), 1)
        );
        // Stored events and projections hold these ids: the derivation must never change.
        assert_eq!(
            run_id(incident, 1).to_string(),
            "385ba199-e218-550c-ab86-310b6815b4ed"
        );
        assert_eq!(
            run_id(incident, 2).to_string(),
            "1fba130b-6466-5be8-a8a4-89977a5c4eaa"
        );
    }
}
