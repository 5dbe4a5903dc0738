//! `GET /api/incidents/{id}/similar`: earlier incidents whose text and services resemble this
//! one's ([`aurora_handlers::similar`]), so the responder sees what happened before.

use aurora_handlers::similar::{self, SimilarIncidents, SimilarQuery};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use super::parse_id;
use crate::api::auth::Caller;
use crate::api::responses::ErrorBody;
use crate::api::{page, ApiError, AppState};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SimilarParams {
    /// 1 to 20; default 5
    limit: Option<i64>,
    /// only resolved incidents (their summaries say what it was); default false
    resolved: Option<bool>,
}

/// Earlier incidents like this one (opened before it): 0.7 × text + 0.3 × service match, the
/// text compared by the embeddings of title and summary (word overlap of the titles without a
/// model).
#[utoipa::path(get, path = "/api/incidents/{id}/similar", tag = "incidents",
    params(("id" = Uuid, Path, description = "the incident"), SimilarParams),
    responses((status = 200, body = SimilarIncidents, description = "the similar earlier incidents, most similar first"),
              (status = 400, description = "a malformed id or parameter", body = ErrorBody),
              (status = 401, description = "not signed in", body = ErrorBody),
              (status = 404, description = "no such incident in the caller's organisation", body = ErrorBody)))]
pub async fn similar(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Result<Query<SimilarParams>, QueryRejection>,
) -> Result<Json<SimilarIncidents>, ApiError> {
    let id = parse_id(&id)?;
    let Query(p) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let limit = page::limit(p.limit, 5, 20)?;
    let query = SimilarQuery {
        incident: id,
        limit: limit as usize,
        resolved_only: p.resolved.unwrap_or(false),
    };
    similar::similar(
        &state.services.gateway_pool,
        state.knowledge.embedder.as_ref(),
        &caller.tenant,
        query,
    )
    .await?
    .map(Json)
    .ok_or_else(|| ApiError::NotFound(format!("incident {id} not found")))
}
