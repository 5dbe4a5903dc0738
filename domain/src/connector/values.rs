//! The closed choices of some providers: Datadog sites, New Relic and OVH regions. Each reads
//! case-insensitively and says what it accepts when it does not.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::ConnectorError;

macro_rules! choice {
    ($(#[$doc:meta])* $name:ident, $what:literal, { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }

        impl FromStr for $name {
            type Err = ConnectorError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|c| c.as_str().eq_ignore_ascii_case(text.trim()))
                    .ok_or_else(|| ConnectorError::UnknownChoice {
                        what: $what,
                        given: text.to_owned(),
                        known: Self::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", "),
                    })
            }
        }

        impl TryFrom<String> for $name {
            type Error = ConnectorError;

            fn try_from(text: String) -> Result<Self, Self::Error> {
                text.parse()
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.as_str().to_owned()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        // Stored as written: one of the names (read in any case, but never written so).
        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({ "type": "string", "enum": [$($text),+] })
            }
        }
    };
}

choice!(
    /// Where a Datadog organisation lives.
    DatadogSite, "Datadog site", { Us1 = "US1", Us3 = "US3", Us5 = "US5", Eu = "EU" }
);
choice!(
    /// Where a New Relic account lives.
    NewRelicRegion, "New Relic region", { Us = "US", Eu = "EU" }
);
choice!(
    /// Which OVHcloud API an account uses.
    OvhRegion, "OVH region", { Eu = "EU", Ca = "CA", Us = "US" }
);

impl DatadogSite {
    /// The site's API host (Datadog's documented per-site hosts).
    pub fn api_host(self) -> &'static str {
        match self {
            Self::Us1 => "api.datadoghq.com",
            Self::Us3 => "api.us3.datadoghq.com",
            Self::Us5 => "api.us5.datadoghq.com",
            Self::Eu => "api.datadoghq.eu",
        }
    }
}

impl NewRelicRegion {
    /// NerdGraph's host in the region.
    pub fn api_host(self) -> &'static str {
        match self {
            Self::Us => "api.newrelic.com",
            Self::Eu => "api.eu.newrelic.com",
        }
    }
}

impl OvhRegion {
    /// The region's API host.
    pub fn api_host(self) -> &'static str {
        match self {
            Self::Eu => "eu.api.ovh.com",
            Self::Ca => "ca.api.ovh.com",
            Self::Us => "api.us.ovhcloud.com",
        }
    }
}
