//! What happened to a connector. No event carries a secret: only where it is kept.

use chrono::{DateTime, Utc};
use esrs::event::Upcaster;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::kind::ConnectorKind;
use super::settings::ConnectorSettings;
use crate::event::DomainEvent;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConnectorEvent {
    /// An account was connected (its secret, if it has one, is in the secret store).
    Connected {
        id: Uuid,
        kind: ConnectorKind,
        settings: ConnectorSettings,
        /// A reference into the secret store, never the secret (none for AWS).
        secret_ref: Option<String>,
        /// GCP: the projects the key could reach when it was connected.
        #[serde(default)]
        projects: Vec<String>,
        by: Uuid,
        at: DateTime<Utc>,
    },
    /// The provider was asked whether the credential still works.
    Checked {
        ok: bool,
        /// What the provider answered when it refused (never a secret).
        detail: Option<String>,
        at: DateTime<Utc>,
    },
    /// GCP: tools may look at `project`.
    ProjectEnabled {
        project: String,
        by: Uuid,
        at: DateTime<Utc>,
    },
    /// GCP: tools no longer look at `project`.
    ProjectDisabled {
        project: String,
        by: Uuid,
        at: DateTime<Utc>,
    },
    /// GCP: `project` is the one tools use unless told otherwise.
    RootProjectSet {
        project: String,
        by: Uuid,
        at: DateTime<Utc>,
    },
    /// Final: the secret is deleted from the store and tools refuse the provider.
    Disconnected { by: Uuid, at: DateTime<Utc> },
}

impl DomainEvent for ConnectorEvent {
    crate::event::event_types! {
        Connected => "connector.connected",
        Checked => "connector.checked",
        ProjectEnabled => "connector.project_enabled",
        ProjectDisabled => "connector.project_disabled",
        RootProjectSet => "connector.root_project_set",
        Disconnected => "connector.disconnected",
    }
}

impl Upcaster for ConnectorEvent {
    fn current_version() -> Option<i32> {
        Some(1)
    }
}

impl ConnectorEvent {
    /// The person who caused it (a check is Aurora's own).
    pub fn actor(&self) -> Option<Uuid> {
        match self {
            Self::Connected { by, .. }
            | Self::ProjectEnabled { by, .. }
            | Self::ProjectDisabled { by, .. }
            | Self::RootProjectSet { by, .. }
            | Self::Disconnected { by, .. } => Some(*by),
            Self::Checked { .. } => None,
        }
    }
}
