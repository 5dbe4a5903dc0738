//! What a member may do in an organization: `viewer < editor < admin`, each allowing everything the
//! one below it allows.
//!
//! Like the value types in [`crate::values`], the JSON form, [`Role::as_str`], [`Display`] and
//! [`Role::parse`] all use the same lower-case word.

use std::fmt::{self, Display};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::values::ValueError;

/// A member's role. The order is the order of power, so `Role::Viewer < Role::Admin`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads everything, changes nothing.
    Viewer,
    /// Works on incidents and chats.
    Editor,
    /// Also manages members, invitations and the organization itself.
    Admin,
}

impl Role {
    /// Every role, from the least to the most powerful.
    pub const ALL: &'static [Self] = &[Self::Viewer, Self::Editor, Self::Admin];

    /// The stable lower-case name (as stored in events and read models).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Editor => "editor",
            Self::Admin => "admin",
        }
    }

    /// Reads a name, ignoring ASCII case and surrounding blanks.
    pub fn parse(value: &str) -> Result<Self, ValueError> {
        let trimmed = value.trim();
        Self::ALL
            .iter()
            .copied()
            .find(|candidate| candidate.as_str().eq_ignore_ascii_case(trimmed))
            .ok_or_else(|| ValueError::UnknownRole(value.to_owned()))
    }

    /// Whether this role allows everything `other` allows.
    pub fn at_least(self, other: Role) -> bool {
        self >= other
    }
}

impl Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ValueError;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
    }
}
