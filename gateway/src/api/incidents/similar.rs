//! `GET /api/incidents/{id}/similar`: past incidents whose title and services resemble this
//! one's (the domain's [`similar`] rule), so the responder sees what happened before.

use aurora_domain::incident::similar::{self, Compared, Similarity};
use aurora_projections::queries::{self, IncidentSummary};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::parse_id;
use crate::api::auth::Caller;
use crate::api::responses::ErrorBody;
use crate::api::{page, ApiError, AppState};

/// How many recent incidents are compared (newest first): a bound on the work per request.
const COMPARED: i64 = 1000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SimilarParams {
    /// 1 to 20; default 5
    limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SimilarIncident {
    pub incident: IncidentSummary,
    pub similarity: Similarity,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SimilarIncidents {
    /// Most similar first; only those scoring at least 0.35.
    pub items: Vec<SimilarIncident>,
    /// How many other incidents were compared (the most recent, at most 1000).
    pub compared: usize,
}

/// Incidents like this one: 0.7 × title word overlap + 0.3 × service match, at least 0.35.
#[utoipa::path(get, path = "/api/incidents/{id}/similar", tag = "incidents",
    params(("id" = Uuid, Path, description = "the incident"), SimilarParams),
    responses((status = 200, body = SimilarIncidents, description = "the similar incidents, most similar first"),
              (status = 400, description = "a malformed id or limit", body = ErrorBody),
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
    let tenant = caller.tenant.as_str();
    let mut tx = queries::scoped(&state.services.gateway_pool, tenant).await?;
    let this = queries::incident_summary(&mut tx, tenant, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("incident {id} not found")))?;
    let others = queries::recent_incidents_except(&mut tx, tenant, id, COMPARED).await?;
    tx.commit().await?;

    let services = |i: &IncidentSummary| -> Vec<String> {
        std::iter::once(i.service.clone())
            .chain(i.affected_services.iter().cloned())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let this_services = services(&this);
    let this_refs: Vec<&str> = this_services.iter().map(String::as_str).collect();
    let other_services: Vec<Vec<String>> = others.iter().map(services).collect();
    let other_refs: Vec<Vec<&str>> = other_services
        .iter()
        .map(|s| s.iter().map(String::as_str).collect())
        .collect();
    let compared: Vec<Compared<'_>> = others
        .iter()
        .zip(&other_refs)
        .map(|(o, s)| Compared {
            title: &o.title,
            services: s,
        })
        .collect();
    let ranked = similar::rank(
        Compared {
            title: &this.title,
            services: &this_refs,
        },
        &compared,
        limit as usize,
    );
    let items = ranked
        .into_iter()
        .map(|(i, similarity)| SimilarIncident {
            incident: others[i].clone(),
            similarity,
        })
        .collect();
    Ok(Json(SimilarIncidents {
        items,
        compared: others.len(),
    }))
}
