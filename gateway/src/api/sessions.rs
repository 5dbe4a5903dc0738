//! Chat sessions over REST (list, reopen with full history, rename, soft delete), the
//! organisation's LLM usage, and the agent's command policy.
//!
//! A session is its owner's: anyone else, admins included, gets 404 as for a random id.

use aurora_domain::gate::Policy;
use aurora_domain::organization::{OrganizationCommand, Role};
use aurora_domain::{ChatCommand, ChatError, ChatSessionState};
use aurora_nats::envelope::Context;
use aurora_projections::queries;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{NaiveDate, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::auth::Caller;
use super::incidents::{cursor, parse_cursor};
use super::{parse_uuid, ApiError, AppState, Body};

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;
/// How long a rename or delete waits for the read model, so the next read shows it.
const READ_OWN_WRITE: std::time::Duration = std::time::Duration::from_secs(5);
/// The longest period one usage report covers.
const MAX_USAGE_DAYS: i64 = 366;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(detail, rename, delete))
        .routes(routes!(usage))
        .routes(routes!(policy, set_policy))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// `next_cursor` of the previous page
    cursor: Option<String>,
    /// 1 to 200; default 50
    limit: Option<i64>,
}

/// The caller's sessions, most recently active first (deleted ones are not listed).
#[utoipa::path(get, path = "/chat_api/sessions", tag = "chat", params(ListParams),
    responses((status = 200, description = "`{items: [{id, title, mode, created_at, updated_at, message_count, input_tokens, output_tokens, cost_micros}], next_cursor}`"),
              (status = 400, description = "a bad cursor or limit")))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit must be between 1 and {MAX_LIMIT}, got {limit}"),
        ));
    }
    let after = p.cursor.as_deref().map(parse_cursor).transpose()?;
    let tenant = caller.tenant.as_str();
    let mut tx = queries::scoped(&state.services.gateway_pool, tenant).await?;
    let items =
        queries::list_sessions(&mut tx, tenant, &caller.user_id.to_string(), after, limit).await?;
    tx.commit().await?;
    let next_cursor = (items.len() as i64 == limit)
        .then(|| items.last().map(|s| cursor(s.updated_at, s.id)))
        .flatten();
    Ok(Json(json!({ "items": items, "next_cursor": next_cursor })))
}

/// One session with its whole history: messages, tool calls with inputs and results, gate
/// decisions, confirmations and usage, as the read model holds them.
#[utoipa::path(get, path = "/chat_api/sessions/{id}", tag = "chat",
    params(("id" = Uuid, Path, description = "the session")),
    responses((status = 200, description = "`{id, title, mode, created_at, updated_at, messages, tool_calls, gate_decisions, confirmations, usage, totals, history}`"),
              (status = 404, description = "no such session of the caller")))]
async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_uuid(&id, "session id")?;
    let tenant = caller.tenant.as_str();
    let mut tx = queries::scoped(&state.services.gateway_pool, tenant).await?;
    let found = queries::session_state(&mut tx, tenant, id).await?;
    let Some((owner, deleted, text, last_sequence)) = found else {
        return Err(not_found(id));
    };
    if deleted || owner != caller.user_id.to_string() {
        return Err(not_found(id));
    }
    let history = queries::session_history(&mut tx, tenant, id).await?;
    tx.commit().await?;
    let s: ChatSessionState = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("session {id} has an unreadable state: {e}"))?;
    Ok(Json(json!({
        "id": id,
        "title": s.title,
        "mode": s.mode,
        "created_at": s.started_at,
        "updated_at": s.updated_at,
        "messages": s.messages,
        "tool_calls": s.tool_calls,
        "gate_decisions": s.gate_decisions,
        "confirmations": s.confirmations,
        "pending_confirmations": s.pending_confirmations(Utc::now()),
        "cancelled_runs": s.cancelled_runs,
        "usage": s.usage,
        "totals": {
            "input_tokens": s.total_input_tokens,
            "output_tokens": s.total_output_tokens,
            "cost_micros": s.total_cost_micros,
        },
        "last_sequence": last_sequence,
        "history": history,
    })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameRequest {
    title: String,
}

/// Rename a session.
#[utoipa::path(patch, path = "/chat_api/sessions/{id}", tag = "chat", request_body = RenameRequest,
    params(("id" = Uuid, Path, description = "the session")),
    responses((status = 200, description = "`{id, title}`"), (status = 404, description = "no such session of the caller"),
              (status = 422, description = "an empty or too long title")))]
async fn rename(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(req): Body<RenameRequest>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_uuid(&id, "session id")?;
    let title = req.title.trim().to_owned();
    change(
        &state,
        &caller,
        id,
        ChatCommand::Rename {
            by: caller.user_id.to_string(),
            title: title.clone(),
            at: Utc::now(),
        },
    )
    .await?;
    Ok(Json(json!({ "id": id, "title": title })))
}

/// Delete a session (soft: its events stay; it no longer lists, opens or changes).
#[utoipa::path(delete, path = "/chat_api/sessions/{id}", tag = "chat",
    params(("id" = Uuid, Path, description = "the session")),
    responses((status = 204, description = "deleted"), (status = 404, description = "no such session of the caller")))]
async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_uuid(&id, "session id")?;
    let command = ChatCommand::Delete {
        by: caller.user_id.to_string(),
        at: Utc::now(),
    };
    change(&state, &caller, id, command).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Runs `command` (which names the caller) on session `id` of the caller's organisation and
/// waits until the read model shows it. The session decides whether it is the caller's: someone
/// else's, like a deleted or unknown one, is 404.
async fn change(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    command: ChatCommand,
) -> Result<(), ApiError> {
    let executed = state
        .services
        .sessions
        .execute(&caller.tenant, id, command, Context::new_root())
        .await?
        .map_err(|refusal| match refusal {
            ChatError::NotOwner | ChatError::Deleted | ChatError::NotStarted => not_found(id),
            other => ApiError::unprocessable("invalid_title", other.to_string()),
        })?;
    if executed.stream_sequence > 0 {
        queries::wait_for_checkpoint(
            &state.services.pool,
            "sessions",
            executed.stream_sequence,
            READ_OWN_WRITE,
        )
        .await?;
    }
    Ok(())
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("session {id} not found"))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UsageParams {
    /// First day (YYYY-MM-DD, UTC); default 30 days before `to`.
    from: Option<NaiveDate>,
    /// Last day (YYYY-MM-DD, UTC); default today.
    to: Option<NaiveDate>,
}

/// The organisation's LLM usage and estimated cost: totals, per session (or incident), per model
/// and per day.
#[utoipa::path(get, path = "/api/llm-usage", tag = "chat", params(UsageParams),
    responses((status = 200, description = "`{from, to, currency, total, by_session, by_model, by_day}`; costs in micro-dollars"),
              (status = 400, description = "bad dates")))]
async fn usage(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<UsageParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let to = p.to.unwrap_or_else(|| Utc::now().date_naive());
    let from = p.from.unwrap_or(to - TimeDelta::days(30));
    if from > to {
        return Err(ApiError::bad_request(
            "invalid_period",
            format!("from ({from}) is after to ({to})"),
        ));
    }
    if (to - from).num_days() > MAX_USAGE_DAYS {
        return Err(ApiError::bad_request(
            "invalid_period",
            format!("a report covers at most {MAX_USAGE_DAYS} days"),
        ));
    }
    let tenant = caller.tenant.as_str();
    let mut tx = queries::scoped(&state.services.gateway_pool, tenant).await?;
    let report = queries::llm_usage(&mut tx, tenant, from, to).await?;
    tx.commit().await?;
    Ok(Json(json!({
        "from": from,
        "to": to,
        "currency": "USD",
        "cost_unit": "micro-dollars",
        "total": report.total,
        "by_session": report.by_session,
        "by_model": report.by_model,
        "by_day": report.by_day,
    })))
}

/// The regular expressions the agent's commands are checked against (deny first; a non-empty
/// allow list admits only what matches).
#[utoipa::path(get, path = "/api/agent/policy", tag = "chat",
    responses((status = 200, description = "`{allow: [..], deny: [..]}`")))]
async fn policy(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let organization = state
        .services
        .organizations
        .load(&caller.tenant, caller.organization_id)
        .await?
        .map(|s| s.into_inner().agent_policy)
        .unwrap_or_default();
    Ok(Json(
        json!({ "allow": organization.allow, "deny": organization.deny }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyRequest {
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    deny: Vec<String>,
}

/// Replace the agent's command policy (admin).
#[utoipa::path(put, path = "/api/agent/policy", tag = "chat", request_body = PolicyRequest,
    responses((status = 200, description = "`{allow, deny}`"), (status = 403, description = "admins only"),
              (status = 422, description = "a pattern does not compile, is empty or too long, or there are too many")))]
async fn set_policy(
    State(state): State<AppState>,
    caller: Caller,
    Body(req): Body<PolicyRequest>,
) -> Result<Json<Value>, ApiError> {
    caller
        .require(&state, Role::Admin, "setting the agent's command policy")
        .await?;
    Policy::new(&req.allow, &req.deny)
        .map_err(|e| ApiError::unprocessable("invalid_pattern", e.to_string()))?;
    let command = OrganizationCommand::SetAgentPolicy {
        allow: req.allow.clone(),
        deny: req.deny.clone(),
        by: caller.user_id,
        at: Utc::now(),
    };
    state
        .services
        .organizations
        .execute(
            &caller.tenant,
            caller.organization_id,
            command,
            Context::new_root(),
        )
        .await?
        .map_err(super::auth::refusal)?;
    Ok(Json(json!({ "allow": req.allow, "deny": req.deny })))
}
