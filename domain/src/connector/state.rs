//! The fold of a connector's events, and which GCP project a command runs in.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::ConnectorError;
use super::event::ConnectorEvent;
use super::kind::ConnectorKind;
use super::settings::ConnectorSettings;

/// The last time the provider was asked: whether it accepted the credential, and if not, why.
// `ConnectorCheck` in the OpenAPI document: the health check's `Check` has that name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = ConnectorCheck)]
pub struct Check {
    pub ok: bool,
    pub detail: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectorState {
    pub id: Option<Uuid>,
    pub kind: Option<ConnectorKind>,
    pub settings: Option<ConnectorSettings>,
    /// Where the secret lives, never the secret.
    pub secret_ref: Option<String>,
    /// GCP: the projects the key reaches, as found when it was connected.
    pub projects: Vec<String>,
    pub disabled_projects: BTreeSet<String>,
    pub root_project: Option<String>,
    pub last_check: Option<Check>,
    pub connected_by: Option<Uuid>,
    pub connected_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub disconnected: bool,
}

impl ConnectorState {
    pub fn apply(mut self, event: ConnectorEvent) -> Self {
        match event {
            ConnectorEvent::Connected {
                id,
                kind,
                settings,
                secret_ref,
                projects,
                by,
                at,
            } => {
                self.id = Some(id);
                self.kind = Some(kind);
                self.settings = Some(settings);
                self.secret_ref = secret_ref;
                self.projects = projects;
                self.connected_by = Some(by);
                self.connected_at = Some(at);
                self.updated_at = Some(at);
                // Connecting is checking: it was refused otherwise.
                self.last_check = Some(Check {
                    ok: true,
                    detail: None,
                    at,
                });
            }
            ConnectorEvent::Checked { ok, detail, at } => {
                self.last_check = Some(Check { ok, detail, at });
                self.updated_at = Some(at);
            }
            ConnectorEvent::ProjectEnabled { project, at, .. } => {
                self.disabled_projects.remove(&project);
                self.updated_at = Some(at);
            }
            ConnectorEvent::ProjectDisabled { project, at, .. } => {
                if self.root_project.as_ref() == Some(&project) {
                    self.root_project = None;
                }
                self.disabled_projects.insert(project);
                self.updated_at = Some(at);
            }
            ConnectorEvent::RootProjectSet { project, at, .. } => {
                self.root_project = Some(project);
                self.updated_at = Some(at);
            }
            ConnectorEvent::Disconnected { at, .. } => {
                self.disconnected = true;
                self.updated_at = Some(at);
            }
        }
        self
    }

    /// The GCP project a command runs in: the one the call names, else the root project, else
    /// the key's own. A disabled project is refused (upstream's `GCP_PROJECT_DISABLED`).
    pub fn project_for(&self, asked: Option<&str>) -> Result<String, ConnectorError> {
        let Some(ConnectorSettings::Gcp { project_id, .. }) = &self.settings else {
            return Err(ConnectorError::NotGcp);
        };
        let project = asked
            .map(str::to_owned)
            .or_else(|| self.root_project.clone())
            .unwrap_or_else(|| project_id.clone());
        if self.disabled_projects.contains(&project) {
            return Err(ConnectorError::ProjectDisabled(project));
        }
        Ok(project)
    }
}
