//! The bodies the integrations routes answer with, so /openapi.json describes them.

use aurora_domain::integration::IntegrationSettings;
use aurora_handlers::sources::{Auth, SecretOrigin, Setup};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

/// A new integration. `secret` is shown only here, and only when Aurora made it (null when the
/// source makes its own).
#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrationCreated {
    pub id: Uuid,
    pub source: String,
    pub name: String,
    pub webhook_url: String,
    pub secret: Option<String>,
    pub setup: Setup,
    pub settings: IntegrationSettings,
    pub rca_on_new_incidents: bool,
}

/// An integration as listed and shown; the secret never is.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrationView {
    pub id: Uuid,
    pub source: String,
    pub name: String,
    pub enabled: bool,
    /// As stored (the read model keeps the settings the integration's events made).
    #[schema(value_type = IntegrationSettings)]
    pub settings: Value,
    /// The setting, or the source's default when it is not set.
    pub rca_on_new_incidents: bool,
    pub webhook_url: String,
    /// Null for a source this version no longer knows.
    pub setup: Option<Setup>,
    /// The SNS topic the first confirmed subscription pinned (SNS sources only).
    pub pinned_topic: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrationList {
    pub items: Vec<IntegrationView>,
}

/// A source Aurora accepts, how it authenticates and what the user must paste where.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourceView {
    pub name: &'static str,
    pub title: &'static str,
    pub auth: Auth,
    pub secret_origin: SecretOrigin,
    pub rca_by_default: bool,
    pub setup: Setup,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SourceList {
    pub items: Vec<SourceView>,
}

/// The new secret (null when the source makes its own) and the setup that uses it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretRotated {
    pub secret: Option<String>,
    pub setup: Setup,
}
