//! The organisation's LLM usage and the agent's command policy.

use aurora_domain::gate::Policy;
use aurora_domain::organization::{OrganizationCommand, Role};
use aurora_nats::envelope::Context;
use aurora_projections::queries;
use aurora_projections::queries::{
    UsageByDay, UsageByIncident, UsageByModel, UsageBySession, UsageTotals,
};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use chrono::{NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::auth::Caller;
use crate::api::responses::ErrorBody;
use crate::api::{ApiError, AppState, Body};

/// The longest period one usage report covers.
const MAX_USAGE_DAYS: i64 = 366;

/// LLM usage over a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageResponse {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub currency: &'static str,
    pub cost_unit: &'static str,
    pub total: UsageTotals,
    /// The same sums per session (or incident)
    pub by_session: Vec<UsageBySession>,
    /// The same sums per incident, over all its investigations
    pub by_incident: Vec<UsageByIncident>,
    pub by_model: Vec<UsageByModel>,
    pub by_day: Vec<UsageByDay>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UsageParams {
    /// First day (YYYY-MM-DD, UTC); default 30 days before `to`.
    from: Option<NaiveDate>,
    /// Last day (YYYY-MM-DD, UTC); default today.
    to: Option<NaiveDate>,
}

/// The organisation's LLM usage and estimated cost (chat sessions and investigations): totals, per
/// session (or incident), per incident investigated, per model and per day.
#[utoipa::path(get, path = "/api/llm-usage", tag = "chat", params(UsageParams),
    responses((status = 200, description = "the report; costs in micro-dollars", body = UsageResponse),
              (status = 400, description = "bad dates", body = ErrorBody),
              (status = 401, description = "not signed in", body = ErrorBody)))]
pub async fn usage(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<UsageParams>, QueryRejection>,
) -> Result<Json<UsageResponse>, ApiError> {
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
    Ok(Json(UsageResponse {
        from,
        to,
        currency: "USD",
        cost_unit: "micro-dollars",
        total: report.total,
        by_session: report.by_session,
        by_incident: report.by_incident,
        by_model: report.by_model,
        by_day: report.by_day,
    }))
}

/// The regular expressions the agent's commands are checked against (deny first; a non-empty
/// allow list admits only what matches).
#[utoipa::path(get, path = "/api/agent/policy", tag = "chat",
    responses((status = 200, description = "the policy", body = PolicyResponse),
              (status = 401, description = "not signed in", body = ErrorBody),
              (status = 503, description = "the event log is unavailable", body = ErrorBody)))]
pub async fn policy(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<PolicyResponse>, ApiError> {
    let organization = state
        .services
        .organizations
        .load(&caller.tenant, caller.organization_id)
        .await?
        .map(|s| s.into_inner().agent_policy)
        .unwrap_or_default();
    Ok(Json(PolicyResponse {
        allow: organization.allow,
        deny: organization.deny,
    }))
}

/// The agent's command policy.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyResponse {
    pub allow: Vec<String>,
    pub deny: Vec<String>,
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
    responses((status = 200, description = "the policy now", body = PolicyResponse),
              (status = 400, description = "a malformed body", body = ErrorBody),
              (status = 401, description = "not signed in", body = ErrorBody),
              (status = 403, description = "admins only", body = ErrorBody),
              (status = 413, description = "the body is too large", body = ErrorBody),
              (status = 415, description = "the body is not JSON", body = ErrorBody),
              (status = 503, description = "the event log is unavailable", body = ErrorBody),
              (status = 422, description = "a pattern does not compile, is empty or too long, or there are too many")))]
pub async fn set_policy(
    State(state): State<AppState>,
    caller: Caller,
    Body(req): Body<PolicyRequest>,
) -> Result<Json<PolicyResponse>, ApiError> {
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
        .map_err(crate::api::auth::refusal)?;
    Ok(Json(PolicyResponse {
        allow: req.allow,
        deny: req.deny,
    }))
}
