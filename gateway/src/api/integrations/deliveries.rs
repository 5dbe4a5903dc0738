//! An integration's recent deliveries: the alerts it brought in, newest first, each with the
//! incident it opened or joined and why (the `alert_deliveries` read model of the correlator's
//! decisions).

use aurora_projections::queries::{self, AlertDeliveryRow};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::row_of;
use crate::api::auth::Caller;
use crate::api::responses::ErrorBody;
use crate::api::{page, parse_uuid, ApiError, AppState};

const DEFAULT_LIMIT: i64 = 20;
const MAX_LIMIT: i64 = 200;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryParams {
    /// `next_cursor` of the previous page
    cursor: Option<String>,
    /// 1 to 200; default 20
    limit: Option<i64>,
}

/// A page of an integration's deliveries.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryPage {
    pub items: Vec<AlertDeliveryRow>,
    pub next_cursor: Option<String>,
}

/// The alerts an integration delivered, newest first, and what correlation made of each.
#[utoipa::path(get, path = "/api/integrations/{id}/deliveries", tag = "integrations",
    params(("id" = Uuid, Path, description = "the integration"), DeliveryParams),
    responses((status = 200, body = DeliveryPage, description = "a page of deliveries"),
              (status = 400, description = "a malformed id, cursor or limit", body = ErrorBody),
              (status = 404, description = "no such integration in the caller's organisation", body = ErrorBody)))]
pub(super) async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Result<Query<DeliveryParams>, QueryRejection>,
) -> Result<Json<DeliveryPage>, ApiError> {
    let id = parse_uuid(&id, "integration")?;
    let Query(p) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let limit = page::limit(p.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let before = p.cursor.as_deref().map(page::parse_cursor).transpose()?;
    row_of(&state, &caller, id).await?;
    let tenant = caller.tenant.as_str();
    let mut tx = queries::scoped(&state.services.gateway_pool, tenant).await?;
    let items = queries::alert_deliveries(&mut tx, tenant, id, before, limit).await?;
    tx.commit().await?;
    let next_cursor = page::next_cursor(&items, limit, |d| (d.received_at, d.id));
    Ok(Json(DeliveryPage { items, next_cursor }))
}
