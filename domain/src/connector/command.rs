//! What may be asked of a connector, and how it decides.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::error::ConnectorError;
use super::event::ConnectorEvent;
use super::settings::{gcp_project, ConnectorSettings};
use super::state::ConnectorState;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConnectorCommand {
    /// The account, checked with its provider before (the gateway looks first, then decides).
    Connect {
        id: Uuid,
        settings: ConnectorSettings,
        /// Where the secret was put; `None` for AWS, whose role is assumed with Aurora's keys.
        secret_ref: Option<String>,
        /// GCP: the projects the key can reach.
        projects: Vec<String>,
        by: Uuid,
        at: DateTime<Utc>,
    },
    /// The outcome of asking the provider again.
    RecordCheck {
        ok: bool,
        detail: Option<String>,
        at: DateTime<Utc>,
    },
    EnableProject {
        project: String,
        by: Uuid,
        at: DateTime<Utc>,
    },
    DisableProject {
        project: String,
        by: Uuid,
        at: DateTime<Utc>,
    },
    /// The project the agent uses when a call names none.
    SetRootProject {
        project: String,
        by: Uuid,
        at: DateTime<Utc>,
    },
    Disconnect {
        by: Uuid,
        at: DateTime<Utc>,
    },
}

type Decision = Result<Vec<ConnectorEvent>, ConnectorError>;

pub(crate) fn decide(state: &ConnectorState, command: ConnectorCommand) -> Decision {
    if let ConnectorCommand::Connect {
        id,
        settings,
        secret_ref,
        projects,
        by,
        at,
    } = command
    {
        if state.id.is_some() {
            return Err(ConnectorError::AlreadyConnected);
        }
        settings.validate()?;
        if secret_ref.as_deref().is_some_and(|r| r.trim().is_empty()) {
            return Err(ConnectorError::EmptySecretRef);
        }
        if !projects.is_empty() && !matches!(settings, ConnectorSettings::Gcp { .. }) {
            return Err(ConnectorError::NotGcp);
        }
        for project in &projects {
            gcp_project(project)?;
        }
        return Ok(vec![ConnectorEvent::Connected {
            id,
            kind: settings.kind(),
            settings,
            secret_ref,
            projects,
            by,
            at,
        }]);
    }
    if state.id.is_none() {
        return Err(ConnectorError::NotConnected);
    }
    if state.disconnected {
        return Err(ConnectorError::Disconnected);
    }
    match command {
        ConnectorCommand::Connect { .. } => Err(ConnectorError::AlreadyConnected),
        ConnectorCommand::RecordCheck { ok, detail, at } => {
            Ok(vec![ConnectorEvent::Checked { ok, detail, at }])
        }
        ConnectorCommand::EnableProject { project, by, at } => {
            known_project(state, &project)?;
            if !state.disabled_projects.contains(&project) {
                return Ok(vec![]);
            }
            Ok(vec![ConnectorEvent::ProjectEnabled { project, by, at }])
        }
        ConnectorCommand::DisableProject { project, by, at } => {
            known_project(state, &project)?;
            if state.disabled_projects.contains(&project) {
                return Ok(vec![]);
            }
            Ok(vec![ConnectorEvent::ProjectDisabled { project, by, at }])
        }
        ConnectorCommand::SetRootProject { project, by, at } => {
            known_project(state, &project)?;
            if state.disabled_projects.contains(&project) {
                return Err(ConnectorError::ProjectDisabled(project));
            }
            if state.root_project.as_deref() == Some(project.as_str()) {
                return Ok(vec![]);
            }
            Ok(vec![ConnectorEvent::RootProjectSet { project, by, at }])
        }
        ConnectorCommand::Disconnect { by, at } => {
            Ok(vec![ConnectorEvent::Disconnected { by, at }])
        }
    }
}

fn known_project(state: &ConnectorState, project: &str) -> Result<(), ConnectorError> {
    if !matches!(state.settings, Some(ConnectorSettings::Gcp { .. })) {
        return Err(ConnectorError::NotGcp);
    }
    if state.projects.iter().any(|p| p == project) {
        Ok(())
    } else {
        Err(ConnectorError::UnknownProject(project.to_owned()))
    }
}
