//! Incident metrics: `GET /api/metrics/summary?from=&to=` — MTTD, MTTR, incidents per day,
//! source and service, and the root-cause analyses' durations and conclusions, over a range
//! (`projections::queries::metrics_summary` says what counts where).

use aurora_projections::queries::{self, MetricsSummary};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use chrono::{TimeDelta, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::{query_time, ApiError, AppState};

/// The range when `from` is not given: this many days before `to`.
const DEFAULT_DAYS: i64 = 30;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(summary))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RangeParams {
    /// RFC 3339 time, the range's start (included); default 30 days before `to`
    from: Option<String>,
    /// RFC 3339 time, the range's end (excluded); default now
    to: Option<String>,
}

/// Incident metrics of the caller's organisation over `[from, to)`: counts, MTTD, MTTR,
/// incidents per day, source and service, and the RCA runs' durations and conclusions.
#[utoipa::path(get, path = "/api/metrics/summary", tag = "incidents", params(RangeParams),
    responses((status = 200, body = MetricsSummary, description = "the figures of the range"),
              (status = 400, description = "a time is not RFC 3339, or `from` is not before `to`")))]
async fn summary(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<RangeParams>, QueryRejection>,
) -> Result<Json<MetricsSummary>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let to = p.to.as_deref().map(|t| query_time("to", t)).transpose()?;
    let to = to.unwrap_or_else(Utc::now);
    let from = p
        .from
        .as_deref()
        .map(|t| query_time("from", t))
        .transpose()?;
    let from = from.unwrap_or(to - TimeDelta::days(DEFAULT_DAYS));
    if from >= to {
        return Err(ApiError::bad_request(
            "invalid_range",
            format!(
                "from ({}) must be before to ({})",
                from.to_rfc3339(),
                to.to_rfc3339()
            ),
        ));
    }
    let tenant = caller.tenant.as_str();
    let mut tx = queries::scoped(&state.services.gateway_pool, tenant).await?;
    let summary = queries::metrics_summary(&mut tx, tenant, from, to).await?;
    tx.commit().await?;
    Ok(Json(summary))
}
