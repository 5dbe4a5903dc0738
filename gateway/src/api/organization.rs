//! The caller's organisation: members and their roles, invitations, API tokens, and the audit
//! log. Every change is a command on the `Organization` aggregate, so it is also an audit entry.

use aurora_domain::organization::{
    NewApiToken, NewInvitation, OrganizationCommand, Role, INVITATION_VALIDITY_DAYS,
};
use aurora_projections::queries;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::auth::credentials::{new_token, TokenKind};
use super::auth::views::OrganizationRef;
use super::auth::{Caller, Via};
use super::{parse_uuid, ApiError, AppState, Body};

/// API tokens live this long unless asked otherwise, and at most [`MAX_TOKEN_DAYS`].
const DEFAULT_TOKEN_DAYS: i64 = 90;
const MAX_TOKEN_DAYS: i64 = 365;
const AUDIT_DEFAULT_LIMIT: i64 = 100;
const AUDIT_MAX_LIMIT: i64 = 500;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_members))
        .routes(routes!(change_role, remove_member))
        .routes(routes!(invite, list_invitations))
        .routes(routes!(revoke_invitation))
        .routes(routes!(accept_invitation))
        .routes(routes!(create_token, list_tokens))
        .routes(routes!(revoke_token))
        .routes(routes!(audit_log))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberList {
    items: Vec<queries::MemberRow>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleChanged {
    user_id: Uuid,
    /// viewer, editor or admin
    role: String,
}

/// The invitation just made; `token` is shown only here.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationCreated {
    id: Uuid,
    email: String,
    /// viewer, editor or admin
    role: String,
    expires_at: DateTime<Utc>,
    token: String,
    /// How the invitee uses the token.
    register: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationList {
    items: Vec<queries::InvitationRow>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationAccepted {
    organization: OrganizationRef,
    /// viewer, editor or admin
    role: String,
}

/// The API token just made; `token` is shown only here.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenCreated {
    id: Uuid,
    name: String,
    token: String,
    expires_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    items: Vec<queries::ApiTokenRow>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    items: Vec<queries::AuditRow>,
    /// Pass as `before` for the next page; null on the last one.
    next_before: Option<i64>,
}

fn parse_role(role: &str) -> Result<Role, ApiError> {
    Role::parse(role).map_err(|_| {
        ApiError::bad_request(
            "invalid_role",
            format!("{role:?} is not a role; use viewer, editor or admin"),
        )
    })
}

/// Everyone in the organisation, with their roles.
#[utoipa::path(get, path = "/api/members", tag = "organization",
    responses((status = 200, body = MemberList, description = "the members")))]
async fn list_members(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<MemberList>, ApiError> {
    let mut tx = queries::scoped(&state.services.gateway_pool, caller.tenant.as_str()).await?;
    let items = queries::members(&mut tx, caller.tenant.as_str()).await?;
    tx.commit().await?;
    Ok(Json(MemberList { items }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    /// viewer, editor or admin
    role: String,
}

/// Change a member's role (admin).
#[utoipa::path(patch, path = "/api/members/{user_id}", tag = "organization", request_body = RoleChange,
    params(("user_id" = Uuid, Path, description = "the member")),
    responses((status = 200, body = RoleChanged, description = "the member with the new role"), (status = 403, description = "not an admin"),
              (status = 404, description = "no such member"), (status = 409, description = "would leave no admin")))]
async fn change_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
    Body(req): Body<RoleChange>,
) -> Result<Json<RoleChanged>, ApiError> {
    const ACTION: &str = "changing a member's role";
    caller.require(&state, Role::Admin, ACTION).await?;
    let user_id = parse_uuid(&user_id, "user")?;
    let role = parse_role(&req.role)?;
    let command = OrganizationCommand::ChangeRole {
        user_id,
        role,
        by: caller.user_id,
        at: Utc::now(),
    };
    caller.execute(&state, ACTION, command).await?;
    Ok(Json(RoleChanged {
        user_id,
        role: role.as_str().to_owned(),
    }))
}

/// Remove a member (admin). Their API tokens are revoked with them.
#[utoipa::path(delete, path = "/api/members/{user_id}", tag = "organization",
    params(("user_id" = Uuid, Path, description = "the member")),
    responses((status = 204, description = "removed"), (status = 403, description = "not an admin"),
              (status = 404, description = "no such member"), (status = 409, description = "would leave no admin")))]
async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    const ACTION: &str = "removing a member";
    caller.require(&state, Role::Admin, ACTION).await?;
    let user_id = parse_uuid(&user_id, "user")?;
    let command = OrganizationCommand::RemoveMember {
        user_id,
        by: caller.user_id,
        at: Utc::now(),
    };
    caller.execute(&state, ACTION, command).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationRequest {
    email: String,
    /// viewer, editor or admin
    role: String,
}

/// Invite someone by email (admin). The answer holds the token the invitee registers with; it
/// is shown only once.
#[utoipa::path(post, path = "/api/invitations", tag = "organization", request_body = InvitationRequest,
    responses((status = 201, body = InvitationCreated, description = "the invitation, with its token"), (status = 403, description = "not an admin"),
              (status = 409, description = "already a member")))]
async fn invite(
    State(state): State<AppState>,
    caller: Caller,
    Body(req): Body<InvitationRequest>,
) -> Result<(StatusCode, Json<InvitationCreated>), ApiError> {
    const ACTION: &str = "inviting a member";
    caller.require(&state, Role::Admin, ACTION).await?;
    let email = super::auth::credentials::normalise_email(&req.email)?;
    let role = parse_role(&req.role)?;
    let (token, token_hash) = new_token(TokenKind::Invitation)?;
    let id = Uuid::now_v7();
    let at = Utc::now();
    let expires_at = at + chrono::Duration::days(INVITATION_VALIDITY_DAYS);
    let command = OrganizationCommand::Invite(NewInvitation {
        invitation_id: id,
        email: email.clone(),
        role,
        token_hash,
        expires_at,
        by: caller.user_id,
        at,
    });
    caller.execute(&state, ACTION, command).await?;
    Ok((
        StatusCode::CREATED,
        Json(InvitationCreated {
            id,
            email,
            role: role.as_str().to_owned(),
            expires_at,
            token,
            register: "POST /api/auth/register {email, password, invitation: <token>}",
        }),
    ))
}

/// Invitations of the organisation, pending and past (admin).
#[utoipa::path(get, path = "/api/invitations", tag = "organization",
    responses((status = 200, body = InvitationList, description = "the invitations"),
              (status = 403, description = "not an admin")))]
async fn list_invitations(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<InvitationList>, ApiError> {
    caller
        .require(&state, Role::Admin, "listing invitations")
        .await?;
    let mut tx = queries::scoped(&state.services.gateway_pool, caller.tenant.as_str()).await?;
    let items = queries::invitations(&mut tx, caller.tenant.as_str()).await?;
    tx.commit().await?;
    Ok(Json(InvitationList { items }))
}

/// Revoke a pending invitation (admin).
#[utoipa::path(delete, path = "/api/invitations/{id}", tag = "organization",
    params(("id" = Uuid, Path, description = "the invitation")),
    responses((status = 204, description = "revoked"), (status = 404, description = "no such invitation"),
              (status = 409, description = "already accepted or revoked")))]
async fn revoke_invitation(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    const ACTION: &str = "revoking an invitation";
    caller.require(&state, Role::Admin, ACTION).await?;
    let invitation_id = parse_uuid(&id, "invitation")?;
    let command = OrganizationCommand::RevokeInvitation {
        invitation_id,
        by: caller.user_id,
        at: Utc::now(),
    };
    caller.execute(&state, ACTION, command).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    /// The invitation token.
    invitation: String,
}

/// Join another organisation with an invitation sent to the caller's email (for a user who
/// already has an account). Log in with `organization` to act in it.
#[utoipa::path(post, path = "/api/invitations/accept", tag = "organization", request_body = AcceptRequest,
    responses((status = 200, body = InvitationAccepted, description = "the organisation joined"), (status = 400, description = "unknown, used, revoked or expired invitation"),
              (status = 409, description = "already a member"), (status = 422, description = "the invitation was sent to another email")))]
async fn accept_invitation(
    State(state): State<AppState>,
    caller: Caller,
    Body(req): Body<AcceptRequest>,
) -> Result<Json<InvitationAccepted>, ApiError> {
    let invitation = super::auth::invitation(&state, &req.invitation).await?;
    let tenant = aurora_domain::TenantId::parse(invitation.tenant_id.clone())
        .map_err(|e| anyhow::anyhow!("stored tenant id does not parse: {e}"))?;
    let command = OrganizationCommand::AcceptInvitation {
        invitation_id: invitation.id,
        user_id: caller.user_id,
        email: caller.email.clone(),
        at: Utc::now(),
    };
    // The command runs on the inviting organisation, not the caller's current one.
    let executed = state
        .services
        .organizations
        .execute(
            &tenant,
            invitation.organization_id,
            command,
            aurora_nats::Context::new_root(),
        )
        .await?
        .map_err(super::auth::refusal)?;
    super::auth::read_own_write(&state, executed.stream_sequence).await;
    Ok(Json(InvitationAccepted {
        organization: OrganizationRef {
            id: invitation.organization_id,
            name: invitation.organization_name,
            created_at: None,
        },
        role: invitation.role,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    name: String,
    /// 1 to 365; default 90.
    expires_in_days: Option<i64>,
}

/// Create an API token acting as the caller, with the caller's role. The token is shown once.
#[utoipa::path(post, path = "/api/tokens", tag = "organization", request_body = TokenRequest,
    responses((status = 201, body = TokenCreated, description = "the token, shown once"),
              (status = 400, description = "expires_in_days out of 1 to 365"),
              (status = 403, description = "an API token cannot create API tokens")))]
async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Body(req): Body<TokenRequest>,
) -> Result<(StatusCode, Json<TokenCreated>), ApiError> {
    const ACTION: &str = "creating an API token";
    // A leaked token must not be able to mint successors that outlive its revocation.
    if let Via::ApiToken(_) = caller.via {
        caller.record_denied(&state, ACTION).await;
        return Err(ApiError::Forbidden(
            "an API token cannot create API tokens; log in to create one".into(),
        ));
    }
    let days = req.expires_in_days.unwrap_or(DEFAULT_TOKEN_DAYS);
    if !(1..=MAX_TOKEN_DAYS).contains(&days) {
        return Err(ApiError::bad_request(
            "invalid_expiry",
            format!("expires_in_days must be between 1 and {MAX_TOKEN_DAYS}, got {days}"),
        ));
    }
    let (token, token_hash) = new_token(TokenKind::Api)?;
    let id = Uuid::now_v7();
    let at = Utc::now();
    let expires_at = at + chrono::Duration::days(days);
    let command = OrganizationCommand::IssueApiToken(NewApiToken {
        token_id: id,
        name: req.name.clone(),
        user_id: caller.user_id,
        token_hash,
        expires_at,
        at,
    });
    caller
        .execute(&state, "creating an API token", command)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenCreated {
            id,
            name: req.name.trim().to_owned(),
            token,
            expires_at,
        }),
    ))
}

/// API tokens: all of the organisation's for an admin, one's own for anyone else.
#[utoipa::path(get, path = "/api/tokens", tag = "organization",
    responses((status = 200, body = TokenList, description = "the tokens")))]
async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<TokenList>, ApiError> {
    let owner = (!caller.role.at_least(Role::Admin)).then_some(caller.user_id);
    let mut tx = queries::scoped(&state.services.gateway_pool, caller.tenant.as_str()).await?;
    let items = queries::api_tokens(&mut tx, caller.tenant.as_str(), owner).await?;
    tx.commit().await?;
    Ok(Json(TokenList { items }))
}

/// Revoke an API token: one's own, or any as an admin.
#[utoipa::path(delete, path = "/api/tokens/{id}", tag = "organization",
    params(("id" = Uuid, Path, description = "the token")),
    responses((status = 204, description = "revoked"), (status = 403, description = "neither the owner nor an admin"),
              (status = 404, description = "no such token"), (status = 409, description = "already revoked")))]
async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let token_id = parse_uuid(&id, "token")?;
    let command = OrganizationCommand::RevokeApiToken {
        token_id,
        by: caller.user_id,
        at: Utc::now(),
    };
    caller
        .execute(&state, "revoking an API token", command)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Entries older than this sequence (the `next_before` of the previous page).
    before: Option<i64>,
    /// 1 to 500; default 100.
    limit: Option<i64>,
}

/// The audit log, newest first (admin): every admin action and every denied access.
#[utoipa::path(get, path = "/api/audit-log", tag = "organization", params(AuditParams),
    responses((status = 200, body = AuditPage, description = "a page of the audit log"),
              (status = 403, description = "not an admin")))]
async fn audit_log(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<AuditParams>, QueryRejection>,
) -> Result<Json<AuditPage>, ApiError> {
    caller
        .require(&state, Role::Admin, "reading the audit log")
        .await?;
    let Query(p) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let limit = super::page::limit(p.limit, AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT)?;
    let mut tx = queries::scoped(&state.services.gateway_pool, caller.tenant.as_str()).await?;
    let items = queries::audit_log(&mut tx, caller.tenant.as_str(), p.before, limit).await?;
    tx.commit().await?;
    let next_before = (items.len() as i64 == limit)
        .then(|| items.last().map(|i| i.sequence))
        .flatten();
    Ok(Json(AuditPage { items, next_before }))
}
