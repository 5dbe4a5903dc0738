//! What a user can change about an integration. Its own module because both the events (which
//! carry settings) and the state (which folds them) need it: in either, one would import the
//! other both ways.

use serde::{Deserialize, Serialize};

/// What a user can change about an integration.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema,
)]
#[serde(default, deny_unknown_fields)]
pub struct IntegrationSettings {
    /// Off: deliveries answer 404 until it is turned back on.
    pub enabled: bool,
    /// Start a root-cause analysis when one of its alerts opens an incident. `None` means the
    /// source's default (SPEC §1).
    pub rca_on_new_incidents: Option<bool>,
    /// The service its alerts are about when the payload names none.
    pub default_service: Option<String>,
    /// The environment its alerts are about when the payload names none.
    pub default_environment: Option<String>,
}

impl Default for IntegrationSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            rca_on_new_incidents: None,
            default_service: None,
            default_environment: None,
        }
    }
}
