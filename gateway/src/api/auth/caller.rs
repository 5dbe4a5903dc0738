//! Who is calling: [`authenticate`] turns a bearer token or the session cookie into a [`Caller`]
//! (or answers 401 for a credential that is unknown, expired or revoked), and [`Caller`] as an
//! extractor demands one. [`Caller::require`] checks the role, and a refusal is recorded on the
//! organisation's audit log before the 403 goes out.

use std::net::SocketAddr;

use aurora_domain::organization::{Denial, OrganizationCommand, Role};
use aurora_domain::TenantId;
use aurora_nats::envelope::Context;
use aurora_nats::Executed;
use aurora_projections::queries::identity::{self, CredentialOwner};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use uuid::Uuid;

use super::credentials::{cookie_token, hash_token, TokenKind};
use crate::api::{ApiError, AppState};

/// An authenticated request: the user, the organisation (tenant) it acts in, and its role there.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: Uuid,
    pub email: String,
    pub tenant: TenantId,
    pub organization_id: Uuid,
    pub role: Role,
    pub via: Via,
    /// What was asked, for the audit entry of a refusal.
    method: Method,
    path: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A login session (cookie or bearer); its hash identifies it for logout.
    Session,
    /// An API token.
    ApiToken(Uuid),
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Session => "session",
            Self::ApiToken(_) => "api_token",
        }
    }
}

/// The credential a request presents: `Authorization: Bearer …`, else the session cookie.
pub fn presented_token(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        return value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim);
    }
    headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(cookie_token)
}

/// Middleware: resolves the caller (if any credential is presented), then applies the rate
/// limit of that user, or of the client's IP address for anonymous requests.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    // Only owned copies cross the awaits below: a request body is not `Sync`.
    let asked = (
        request.headers().clone(),
        request.method().clone(),
        request.uri().path().to_owned(),
    );
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let caller = match resolve(&state, asked).await {
        Ok(caller) => caller,
        // A bad credential still counts against its address, so guessing tokens is limited too.
        Err(e) => return state.limits.check_ip(ip).err().unwrap_or(e).into_response(),
    };
    let checked = match &caller {
        Some(c) => state.limits.check_user(c.user_id),
        None => state.limits.check_ip(ip),
    };
    if let Err(e) = checked {
        return e.into_response();
    }
    if let Some(caller) = caller {
        request.extensions_mut().insert(caller);
    }
    next.run(request).await
}

async fn resolve(
    state: &AppState,
    (headers, method, path): (HeaderMap, Method, String),
) -> Result<Option<Caller>, ApiError> {
    let from_cookie = !headers.contains_key(header::AUTHORIZATION);
    let Some(token) = presented_token(&headers) else {
        if headers.contains_key(header::AUTHORIZATION) {
            return Err(ApiError::unauthorized(
                "invalid_authorization",
                "the Authorization header must be \"Bearer <token>\"",
            ));
        }
        return Ok(None);
    };
    let invalid = || {
        ApiError::unauthorized(
            "invalid_token",
            "the token is unknown, expired or revoked; log in again or use another API token",
        )
    };
    let pool = &state.services.gateway_pool;
    let hash = hash_token(token);
    let owner = match TokenKind::of(token) {
        Some(TokenKind::Session) => identity::session_owner(pool, &hash).await?,
        Some(TokenKind::Api) => identity::api_token_owner(pool, &hash).await?,
        _ => None,
    };
    match owner {
        Some(owner) => Ok(Some(caller_of(owner, method, path)?)),
        // A stale cookie (logged out, expired, membership ended) is as good as none: the browser
        // cannot remove an HttpOnly cookie itself, and it must still reach login and logout.
        None if from_cookie => Ok(None),
        None => Err(invalid()),
    }
}

fn caller_of(owner: CredentialOwner, method: Method, path: String) -> Result<Caller, ApiError> {
    let broken = |what: String| ApiError::Internal(anyhow::anyhow!(what));
    Ok(Caller {
        tenant: TenantId::parse(owner.tenant_id.clone())
            .map_err(|e| broken(format!("stored tenant id does not parse: {e}")))?,
        role: Role::parse(&owner.role)
            .map_err(|e| broken(format!("stored role does not parse: {e}")))?,
        user_id: owner.user_id,
        email: owner.email,
        organization_id: owner.organization_id,
        via: owner.token_id.map_or(Via::Session, Via::ApiToken),
        method,
        path,
    })
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            ApiError::unauthorized(
                "unauthenticated",
                "log in (POST /api/auth/login) or send Authorization: Bearer <API token>",
            )
        })
    }
}

impl Caller {
    /// Allows the request if the caller's role is at least `role`; otherwise records the denied
    /// `action` on the organisation's audit log and answers 403.
    pub async fn require(
        &self,
        state: &AppState,
        role: Role,
        action: &str,
    ) -> Result<(), ApiError> {
        if self.role.at_least(role) {
            return Ok(());
        }
        self.record_denied(state, action).await;
        Err(ApiError::Forbidden(format!(
            "{action} needs the {role} role; you are {}",
            self.role
        )))
    }

    /// Puts a refused access on the audit log. A failure to record is logged, not shown: the
    /// caller is refused either way.
    pub async fn record_denied(&self, state: &AppState, action: &str) {
        let command = OrganizationCommand::RecordAccessDenied(Denial {
            user_id: Some(self.user_id),
            action: action.to_owned(),
            method: self.method.to_string(),
            path: self.path.clone(),
            role: Some(self.role),
            at: Utc::now(),
        });
        let result = state
            .services
            .organizations
            .execute(
                &self.tenant,
                self.organization_id,
                command,
                Context::new_root(),
            )
            .await;
        match result {
            Ok(Ok(_)) => {}
            Ok(Err(refusal)) => tracing::warn!(%refusal, "denied access not recorded"),
            Err(e) => tracing::error!(error = %e, "denied access not recorded"),
        }
    }

    /// Runs `command` on the caller's organisation.
    /// Runs `command` on the caller's organisation and waits until the read models show it. A
    /// refusal for lack of rights is recorded like any other denied access.
    pub async fn execute(
        &self,
        state: &AppState,
        action: &str,
        command: OrganizationCommand,
    ) -> Result<Executed, ApiError> {
        let result = state
            .services
            .organizations
            .execute(
                &self.tenant,
                self.organization_id,
                command,
                Context::new_root(),
            )
            .await?;
        match result {
            Ok(executed) => {
                super::read_own_write(state, executed.stream_sequence).await;
                Ok(executed)
            }
            Err(refusal) => {
                let error = super::refusal(refusal);
                if matches!(error, ApiError::Forbidden(_)) {
                    self.record_denied(state, action).await;
                }
                Err(error)
            }
        }
    }
}
