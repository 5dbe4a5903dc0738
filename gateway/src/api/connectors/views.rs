//! The bodies the connectors routes answer with, so /openapi.json describes them. No view holds
//! a secret or its reference.

use aurora_domain::connector::{Check, ConnectorKind, ConnectorSettings};
use aurora_projections::queries::ConnectorRow;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

/// A GCP project the key reaches, and whether the agent may use it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct ProjectView {
    pub project: String,
    pub enabled: bool,
}

/// A connected account as listed and shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectorView {
    pub id: Uuid,
    pub kind: ConnectorKind,
    /// What people call the provider ("Google Cloud").
    pub title: &'static str,
    /// `connected`, or `failing` when the last check was refused or the provider could not be
    /// reached.
    pub status: String,
    /// The non-secret settings (site, region, account id, URL, project, context…).
    #[schema(value_type = ConnectorSettings)]
    pub settings: Value,
    /// GCP only: the projects the key reaches.
    pub projects: Vec<ProjectView>,
    /// GCP only: the project the agent uses when a command names none.
    pub root_project: Option<String>,
    pub last_check: Check,
    pub connected_by: Uuid,
    pub connected_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ConnectorView {
    /// The row as shown; `None` for a kind this version does not know (rows are written from
    /// the domain's kinds, so only a downgrade meets one).
    pub fn of(row: ConnectorRow) -> Option<Self> {
        let kind = ConnectorKind::parse(&row.kind)?;
        Some(Self {
            id: row.id,
            kind,
            title: kind.title(),
            status: row.status,
            settings: row.settings,
            projects: serde_json::from_value(row.projects).unwrap_or_default(),
            root_project: row.root_project,
            last_check: Check {
                ok: row.last_check_ok,
                detail: row.last_check_detail,
                at: row.last_checked_at,
            },
            connected_by: row.connected_by,
            connected_at: row.connected_at,
            updated_at: row.updated_at,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectorList {
    pub items: Vec<ConnectorView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectList {
    pub projects: Vec<ProjectView>,
    pub root_project: Option<String>,
}
