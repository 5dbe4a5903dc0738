//! What happened to an integration.

use chrono::{DateTime, Utc};
use esrs::event::Upcaster;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::settings::IntegrationSettings;
use crate::event::DomainEvent;

/// An integration: what [`super::IntegrationCommand::Create`] asks for and
/// [`IntegrationEvent::Created`] records (its name trimmed by then).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct NewIntegration {
    pub id: Uuid,
    pub source: String,
    pub name: String,
    pub settings: IntegrationSettings,
    /// A reference into the secret store, never the secret.
    pub secret_ref: String,
    pub by: Uuid,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum IntegrationEvent {
    /// An integration (a webhook source: Grafana, PagerDuty, GitHub…) was added.
    Created(NewIntegration),
    /// The integration was renamed.
    Renamed {
        name: String,
        by: Uuid,
        at: DateTime<Utc>,
    },
    /// The integration's settings were replaced.
    SettingsChanged {
        from: IntegrationSettings,
        to: IntegrationSettings,
        by: Uuid,
        at: DateTime<Utc>,
    },
    /// The secret was replaced; deliveries signed with the old one are refused from now on.
    SecretRotated {
        secret_ref: String,
        by: Uuid,
        at: DateTime<Utc>,
    },
    /// AWS SNS: the first confirmed subscription fixed the topic this integration accepts.
    TopicPinned { topic: String, at: DateTime<Utc> },
    /// Final: the integration is deleted.
    Deleted { by: Uuid, at: DateTime<Utc> },
}

impl DomainEvent for IntegrationEvent {
    crate::event::event_types! {
        Created(NewIntegration) => "integration.created",
        Renamed => "integration.renamed",
        SettingsChanged => "integration.settings_changed",
        SecretRotated => "integration.secret_rotated",
        TopicPinned => "integration.topic_pinned",
        Deleted => "integration.deleted",
    }
}

impl Upcaster for IntegrationEvent {
    fn current_version() -> Option<i32> {
        Some(1)
    }
}
