//! The fold of an integration's events.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::event::{IntegrationEvent, NewIntegration};
use super::settings::IntegrationSettings;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IntegrationState {
    pub id: Option<Uuid>,
    pub source: String,
    pub name: String,
    pub settings: IntegrationSettings,
    /// Where the secret lives (e.g. `local:<tenant>/integrations/<id>/2`), never the secret.
    pub secret_ref: String,
    /// How many times the secret was replaced.
    pub secret_version: u32,
    /// For AWS SNS: the topic the first confirmed delivery came from; later ones must match.
    pub pinned_topic: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub deleted: bool,
}

impl IntegrationState {
    pub fn apply(mut self, event: IntegrationEvent) -> Self {
        match event {
            IntegrationEvent::Created(NewIntegration {
                id,
                source,
                name,
                settings,
                secret_ref,
                by,
                at,
            }) => {
                self.id = Some(id);
                self.source = source;
                self.name = name;
                self.settings = settings;
                self.secret_ref = secret_ref;
                self.created_by = Some(by);
                self.created_at = Some(at);
                self.updated_at = Some(at);
            }
            IntegrationEvent::Renamed { name, at, .. } => {
                self.name = name;
                self.updated_at = Some(at);
            }
            IntegrationEvent::SettingsChanged { to, at, .. } => {
                self.settings = to;
                self.updated_at = Some(at);
            }
            IntegrationEvent::SecretRotated { secret_ref, at, .. } => {
                self.secret_ref = secret_ref;
                self.secret_version += 1;
                self.updated_at = Some(at);
            }
            IntegrationEvent::TopicPinned { topic, at } => {
                self.pinned_topic = Some(topic);
                self.updated_at = Some(at);
            }
            IntegrationEvent::Deleted { at, .. } => {
                self.deleted = true;
                self.updated_at = Some(at);
            }
        }
        self
    }

    /// Whether deliveries are accepted.
    pub fn accepts_deliveries(&self) -> bool {
        self.id.is_some() && !self.deleted && self.settings.enabled
    }
}
