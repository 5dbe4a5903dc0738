//! Identity (SPEC §10): register, log in and out, who am I — and what every other module uses to
//! know the caller ([`Caller`]) and to turn organisation refusals into answers.
//!
//! Registering creates the user and either a new organisation (the caller its admin) or, with an
//! invitation token, membership of the inviting organisation. Membership lives on the
//! `Organization` aggregate; the user and password hash in the identity store ([`store`]).

pub mod caller;
pub mod credentials;
mod store;
pub mod views;

use std::time::Duration;

use aurora_domain::organization::{OrganizationCommand, OrganizationError, Role};
use aurora_domain::TenantId;
use aurora_nats::envelope::Context;
use aurora_projections::queries::{self, identity};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub use caller::{Caller, Via};
use credentials::{hash_token, new_token, TokenKind};
use views::{Me, OrganizationRef, SessionStarted, UserRef};

use super::rate_limit::ClientIp;
use super::{ApiError, AppState, Body};

/// How long a command's caller waits for its own write to reach the read models.
const READ_OWN_WRITE: Duration = Duration::from_secs(10);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    email: String,
    /// At least 8 characters.
    password: String,
    /// Name of the new organisation (the caller becomes its admin). Give this or `invitation`.
    organization: Option<String>,
    /// Token of an invitation: join the organisation that sent it, with the role it names. With
    /// the email of an existing account, `password` must be that account's.
    invitation: Option<String>,
}

/// Create a user, and an organisation or membership of the inviting one.
#[utoipa::path(post, path = "/api/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = SessionStarted, description = "the new session, also set as the session cookie"),
              (status = 409, description = "the email is already registered")))]
async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Body(req): Body<RegisterRequest>,
) -> Result<Response, ApiError> {
    state.limits.check_login(ip)?;
    let email = credentials::normalise_email(&req.email)?;
    credentials::check_password(&req.password)?;
    let join = match (req.organization, req.invitation) {
        (Some(name), None) => Join::New(name),
        (None, Some(token)) => Join::Invited(invitation(&state, &token).await?),
        _ => {
            return Err(ApiError::bad_request(
                "invalid_body",
                "give either `organization` (to create one) or `invitation` (to join one)",
            ))
        }
    };
    let password_hash = credentials::hash_password(req.password.clone()).await?;
    // Run to the end even if the client goes away or the time limit fires: stopping between the
    // organisation's event and the user row's commit would leave one without the other.
    let (user_id, tenant, organization, role) = tokio::spawn(create_member(
        state.clone(),
        email.clone(),
        (req.password, password_hash),
        join,
    ))
    .await
    .map_err(|e| anyhow::anyhow!("the registration task failed: {e}"))??;
    let session = start_session(&state, &tenant, user_id).await?;
    let body = SessionStarted {
        user: UserRef { id: user_id, email },
        organization,
        role: role.as_str().to_owned(),
        token: session.token,
        expires_at: session.expires_at,
    };
    Ok((
        StatusCode::CREATED,
        [(header::SET_COOKIE, session.cookie)],
        Json(body),
    )
        .into_response())
}

/// Inserts the user and makes them a member (founder or invitee). The user row commits only if
/// the organisation accepted the member, so a refused join leaves no account behind.
///
/// An invitee who already has an account (say, removed from their only organisation) joins with
/// it by giving its password.
async fn create_member(
    state: AppState,
    email: String,
    (password, password_hash): (String, String),
    join: Join,
) -> Result<(Uuid, TenantId, OrganizationRef, Role), ApiError> {
    let taken = || {
        ApiError::conflict(
            "email_taken",
            format!("{email} is already registered; log in instead"),
        )
    };
    let mut tx = state.services.gateway_pool.begin().await?;
    let user_id = match store::insert_user(&mut tx, &email, &password_hash).await? {
        Some(id) => id,
        None if matches!(join, Join::Invited(_)) => {
            let (id, stored) = identity::credentials(&state.services.gateway_pool, &email)
                .await?
                .ok_or_else(taken)?;
            if !credentials::verify_password(password, Some(stored)).await? {
                return Err(taken());
            }
            id
        }
        None => return Err(taken()),
    };
    let now = Utc::now();
    let (tenant, organization, role, command) = match join {
        Join::New(name) => {
            let id = Uuid::now_v7();
            let organization = OrganizationRef {
                id,
                name: name.trim().to_owned(),
                created_at: Some(now),
            };
            let command = OrganizationCommand::Create {
                name,
                founder_id: user_id,
                founder_email: email.clone(),
                at: now,
            };
            (tenant_of(id)?, organization, Role::Admin, command)
        }
        Join::Invited(invitation) => {
            let tenant = TenantId::parse(invitation.tenant_id)
                .map_err(|e| anyhow::anyhow!("stored tenant id does not parse: {e}"))?;
            let role = Role::parse(&invitation.role)
                .map_err(|e| anyhow::anyhow!("stored role does not parse: {e}"))?;
            let organization = OrganizationRef {
                id: invitation.organization_id,
                name: invitation.organization_name.clone(),
                created_at: None,
            };
            let command = OrganizationCommand::AcceptInvitation {
                invitation_id: invitation.id,
                user_id,
                email: email.clone(),
                at: now,
            };
            (tenant, organization, role, command)
        }
    };
    let organization_id = organization.id;
    let executed = state
        .services
        .organizations
        .execute(&tenant, organization_id, command, Context::new_root())
        .await?
        .map_err(refusal)?;
    tx.commit().await?;
    read_own_write(&state, executed.stream_sequence).await;
    Ok((user_id, tenant, organization, role))
}

enum Join {
    New(String),
    Invited(identity::InvitationByToken),
}

/// The pending invitation a token stands for.
pub(crate) async fn invitation(
    state: &AppState,
    token: &str,
) -> Result<identity::InvitationByToken, ApiError> {
    let invalid = |why: &str| ApiError::bad_request("invalid_invitation", why.to_owned());
    if TokenKind::of(token) != Some(TokenKind::Invitation) {
        return Err(invalid("this is not an invitation token"));
    }
    let found = identity::invitation_by_token(&state.services.gateway_pool, &hash_token(token))
        .await?
        .ok_or_else(|| invalid("no invitation has this token"))?;
    if found.status != "pending" {
        return Err(invalid("this invitation was already used or revoked"));
    }
    if found.expires_at <= Utc::now() {
        return Err(invalid("this invitation has expired; ask for a new one"));
    }
    Ok(found)
}

pub(crate) fn tenant_of(organization: Uuid) -> Result<TenantId, ApiError> {
    TenantId::parse(organization.to_string())
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("a UUID is not a tenant id: {e}")))
}

struct Session {
    token: String,
    expires_at: chrono::DateTime<Utc>,
    cookie: String,
}

async fn start_session(
    state: &AppState,
    tenant: &TenantId,
    user: Uuid,
) -> Result<Session, ApiError> {
    let (token, hash) = new_token(TokenKind::Session)?;
    let hours = state.config.session_hours;
    let expires_at = Utc::now() + chrono::Duration::hours(hours);
    let mut tx = queries::scoped_write(&state.services.gateway_pool, tenant.as_str()).await?;
    store::insert_session(&mut tx, &hash, tenant.as_str(), user, expires_at).await?;
    tx.commit().await?;
    let cookie = credentials::session_cookie(&token, hours * 3600, state.config.tls());
    Ok(Session {
        token,
        expires_at,
        cookie,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    email: String,
    password: String,
    /// The organisation to act in, for a user of several (default: the first joined).
    organization: Option<Uuid>,
}

/// Log in: a session token (also set as an HttpOnly cookie).
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = SessionStarted, description = "the new session, also set as the session cookie"),
              (status = 401, description = "wrong email or password (the same answer for both)")))]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Body(req): Body<LoginRequest>,
) -> Result<Response, ApiError> {
    state.limits.check_login(ip)?;
    let user = match credentials::normalise_email(&req.email) {
        Ok(email) => identity::credentials(&state.services.gateway_pool, &email).await?,
        Err(_) => None,
    };
    let (user_id, stored) = match user {
        Some((id, hash)) => (Some(id), Some(hash)),
        None => (None, None),
    };
    // One password check whether or not the user exists: same answer, same time.
    let matches = credentials::verify_password(req.password, stored).await?;
    let user_id = match user_id {
        Some(id) if matches => id,
        _ => {
            return Err(ApiError::unauthorized(
                "invalid_credentials",
                "the email or the password is wrong",
            ))
        }
    };
    let memberships = identity::memberships(&state.services.gateway_pool, user_id).await?;
    let membership = match req.organization {
        Some(wanted) => memberships
            .into_iter()
            .find(|m| m.organization_id == wanted),
        None => memberships.into_iter().next(),
    }
    .ok_or_else(|| match req.organization {
        // Like anything of another tenant: not found, whether or not it exists.
        Some(wanted) => {
            ApiError::NotFound(format!("you are not a member of organisation {wanted}"))
        }
        None => ApiError::Forbidden(
            "you are not a member of any organisation; ask an admin for an invitation".into(),
        ),
    })?;
    let tenant = TenantId::parse(membership.tenant_id.clone())
        .map_err(|e| anyhow::anyhow!("stored tenant id does not parse: {e}"))?;
    let session = start_session(&state, &tenant, user_id).await?;
    let body = SessionStarted {
        user: UserRef {
            id: user_id,
            email: req.email.trim().to_lowercase(),
        },
        organization: OrganizationRef {
            id: membership.organization_id,
            name: membership.organization_name,
            created_at: None,
        },
        role: membership.role,
        token: session.token,
        expires_at: session.expires_at,
    };
    Ok(([(header::SET_COOKIE, session.cookie)], Json(body)).into_response())
}

/// Log out: the session presented stops working, and the cookie is cleared.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth",
    responses((status = 204, description = "logged out")))]
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) =
        caller::presented_token(&headers).filter(|t| TokenKind::of(t) == Some(TokenKind::Session))
    {
        identity::revoke_session(&state.services.gateway_pool, &hash_token(token)).await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(
            header::SET_COOKIE,
            credentials::clear_cookie(state.config.tls()),
        )],
    )
        .into_response())
}

/// Who the caller is, in which organisation, with which role.
#[utoipa::path(get, path = "/api/auth/me", tag = "auth",
    responses((status = 200, body = Me, description = "the caller"),
              (status = 401, description = "not logged in")))]
async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<Me>, ApiError> {
    let mut tx = queries::scoped(&state.services.gateway_pool, caller.tenant.as_str()).await?;
    let organization = queries::organization(&mut tx, caller.tenant.as_str()).await?;
    tx.commit().await?;
    Ok(Json(Me {
        user: UserRef {
            id: caller.user_id,
            email: caller.email,
        },
        organization,
        role: caller.role.as_str().to_owned(),
        via: caller.via.as_str().to_owned(),
    }))
}

/// Waits until the organisation read models show the event at `sequence`, so the next request
/// (a login, a member list) sees what this one did. Past the timeout the write still stands;
/// the read models catch up on their own.
pub async fn read_own_write(state: &AppState, sequence: u64) {
    read_own_write_of(state, "organizations", sequence).await
}

/// [`read_own_write`] for any projector.
pub async fn read_own_write_of(state: &AppState, projector: &str, sequence: u64) {
    if sequence == 0 {
        return;
    }
    let pool = &state.services.gateway_pool;
    match queries::wait_for_checkpoint(pool, projector, sequence, READ_OWN_WRITE).await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            projector,
            sequence,
            "projection is behind; answering anyway"
        ),
        Err(e) => tracing::warn!(projector, error = %e, "cannot read the checkpoint"),
    }
}

/// The answer to an organisation's refusal.
pub fn refusal(refusal: OrganizationError) -> ApiError {
    use OrganizationError as E;
    let message = refusal.to_string();
    match refusal {
        E::NotAdmin { .. } | E::NotAllowed { .. } => ApiError::Forbidden(message),
        E::NotMember { .. } | E::UnknownInvitation { .. } | E::UnknownToken { .. } => {
            ApiError::NotFound(message)
        }
        E::AlreadyMember { .. } => ApiError::conflict("already_member", message),
        E::LastAdmin => ApiError::conflict("last_admin", message),
        E::AlreadyCreated => ApiError::conflict("already_created", message),
        E::DuplicateInvitation { .. } | E::DuplicateToken { .. } => {
            ApiError::conflict("duplicate", message)
        }
        E::InvitationNotPending { .. } => ApiError::conflict("invitation_not_pending", message),
        E::TokenAlreadyRevoked { .. } => ApiError::conflict("already_revoked", message),
        E::InvitationExpired { .. } => ApiError::unprocessable("invitation_expired", message),
        E::EmailMismatch => ApiError::unprocessable("email_mismatch", message),
        E::NotCreated => ApiError::NotFound(message),
        E::EmptyName | E::NameTooLong { .. } => ApiError::unprocessable("invalid_name", message),
        E::InvalidEmail { .. } => ApiError::unprocessable("invalid_email", message),
        E::InvalidExpiry => ApiError::unprocessable("invalid_expiry", message),
        E::EmptyTokenName | E::TokenNameTooLong { .. } => {
            ApiError::unprocessable("invalid_token_name", message)
        }
        E::EmptyAction => ApiError::unprocessable("invalid_action", message),
        E::EmptyPolicyPattern
        | E::PolicyPatternTooLong { .. }
        | E::TooManyPolicyPatterns { .. } => ApiError::unprocessable("invalid_policy", message),
        // Consumer credentials are issued on the command line, not over the API; mapped all the
        // same so a future route answers them rightly.
        E::InvalidConsumerName { .. } | E::InvalidConsumerKey { .. } => {
            ApiError::unprocessable("invalid_consumer_credentials", message)
        }
        E::ConsumerCredentialsExist { .. } => ApiError::conflict("duplicate", message),
        E::UnknownConsumerCredentials { .. } => ApiError::NotFound(message),
    }
}
