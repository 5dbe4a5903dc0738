//! Which tenant a request acts for.
//!
//! Authentication arrives with the identity issue; until then the tenant comes from the
//! `X-Aurora-Tenant` header, and requests without it act for the tenant `default`.

use aurora_domain::TenantId;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::ApiError;

pub const TENANT_HEADER: &str = "x-aurora-tenant";
pub const DEFAULT_TENANT: &str = "default";

pub struct Tenant(pub TenantId);

impl<S: Send + Sync> FromRequestParts<S> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let raw = match parts.headers.get(TENANT_HEADER) {
            Some(v) => v.to_str().map_err(|_| {
                ApiError::bad_request("invalid_tenant", "X-Aurora-Tenant is not text")
            })?,
            None => DEFAULT_TENANT,
        };
        TenantId::parse(raw)
            .map(Tenant)
            .map_err(|e| ApiError::bad_request("invalid_tenant", e.to_string()))
    }
}
