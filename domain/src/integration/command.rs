//! What may be asked of an integration, and how it decides.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::error::IntegrationError;
use super::event::{IntegrationEvent, NewIntegration};
use super::settings::IntegrationSettings;
use super::state::IntegrationState;
use crate::aggregate::text_within;

pub const NAME_MAX_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum IntegrationCommand {
    Create(NewIntegration),
    /// Changes the name and/or the settings; what is already so changes nothing.
    Update {
        name: Option<String>,
        settings: Option<IntegrationSettings>,
        by: Uuid,
        at: DateTime<Utc>,
    },
    RotateSecret {
        secret_ref: String,
        by: Uuid,
        at: DateTime<Utc>,
    },
    /// Pins the SNS topic on first use; later the same topic is a no-op and another is refused.
    PinTopic {
        topic: String,
        at: DateTime<Utc>,
    },
    Delete {
        by: Uuid,
        at: DateTime<Utc>,
    },
}

type Decision = Result<Vec<IntegrationEvent>, IntegrationError>;

fn checked_name(name: &str) -> Result<String, IntegrationError> {
    let name = text_within(
        name.trim(),
        NAME_MAX_CHARS,
        IntegrationError::EmptyName,
        |len, max| IntegrationError::NameTooLong { len, max },
    )?;
    Ok(name.to_owned())
}

pub(crate) fn decide(state: &IntegrationState, command: IntegrationCommand) -> Decision {
    if let IntegrationCommand::Create(mut integration) = command {
        if state.id.is_some() {
            return Err(IntegrationError::AlreadyCreated);
        }
        let source = &integration.source;
        let valid_source = !source.is_empty()
            && source.len() <= 64
            && source
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid_source {
            return Err(IntegrationError::InvalidSource(integration.source));
        }
        if integration.secret_ref.trim().is_empty() {
            return Err(IntegrationError::EmptySecretRef);
        }
        integration.name = checked_name(&integration.name)?;
        return Ok(vec![IntegrationEvent::Created(integration)]);
    }
    if state.id.is_none() {
        return Err(IntegrationError::NotCreated);
    }
    if state.deleted {
        return Err(IntegrationError::Deleted);
    }
    match command {
        IntegrationCommand::Create { .. } => Err(IntegrationError::AlreadyCreated),
        IntegrationCommand::Update {
            name,
            settings,
            by,
            at,
        } => {
            let mut events = Vec::new();
            if let Some(name) = name {
                let name = checked_name(&name)?;
                if name != state.name {
                    events.push(IntegrationEvent::Renamed { name, by, at });
                }
            }
            if let Some(to) = settings.filter(|s| *s != state.settings) {
                events.push(IntegrationEvent::SettingsChanged {
                    from: state.settings.clone(),
                    to,
                    by,
                    at,
                });
            }
            Ok(events)
        }
        IntegrationCommand::RotateSecret { secret_ref, by, at } => {
            if secret_ref.trim().is_empty() {
                return Err(IntegrationError::EmptySecretRef);
            }
            Ok(vec![IntegrationEvent::SecretRotated { secret_ref, by, at }])
        }
        IntegrationCommand::PinTopic { topic, at } => match &state.pinned_topic {
            None => Ok(vec![IntegrationEvent::TopicPinned { topic, at }]),
            Some(pinned) if *pinned == topic => Ok(vec![]),
            Some(pinned) => Err(IntegrationError::TopicMismatch {
                pinned: pinned.clone(),
                offered: topic,
            }),
        },
        IntegrationCommand::Delete { by, at } => Ok(vec![IntegrationEvent::Deleted { by, at }]),
    }
}
