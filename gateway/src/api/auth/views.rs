//! The bodies the identity routes answer with, so /openapi.json describes them.

use aurora_projections::queries::OrganizationRow;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct UserRef {
    pub id: Uuid,
    pub email: String,
}

/// An organisation as a session names it. `created_at` is only known (and only sent) when
/// registering has just created it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationRef {
    pub id: Uuid,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
}

/// A new session (register, log in); the same token is also set as the session cookie.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionStarted {
    pub user: UserRef,
    pub organization: OrganizationRef,
    /// viewer, editor or admin
    pub role: String,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub user: UserRef,
    /// Null while the organisation's read model has not caught up.
    pub organization: Option<OrganizationRow>,
    /// viewer, editor or admin
    pub role: String,
    /// How the caller authenticated: session or api_token.
    pub via: String,
}
