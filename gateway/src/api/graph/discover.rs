//! `POST /api/graph/discover`: run the organisation's discovery now rather than at the next hour.
//! The request goes on `CMD` for the handlers' `discovery` consumer (a discovery runs the
//! providers' CLIs for minutes; it must not hold the request, nor die with the gateway).

use aurora_domain::organization::Role;
use aurora_domain::service::{DiscoveryRequest, DISCOVERY_SUBJECT_TYPE};
use aurora_nats::subjects;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use crate::api::auth::Caller;
use crate::api::ApiError;

/// A discovery asked for.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiscoveryRequested {
    request_id: Uuid,
    /// Always `requested`: the discovery runs in the background.
    status: &'static str,
}

/// Discover the organisation's services now (editor), for every connected provider.
#[utoipa::path(post, path = "/api/graph/discover", tag = "graph",
    responses((status = 202, body = DiscoveryRequested, description = "the discovery will run shortly"),
              (status = 403, description = "viewers cannot start a discovery"),
              (status = 503, description = "the command stream is unavailable; retry after Retry-After")))]
pub(super) async fn request(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<(StatusCode, Json<DiscoveryRequested>), ApiError> {
    caller
        .require(&state, Role::Editor, "starting a service discovery")
        .await?;
    let request = DiscoveryRequest {
        request_id: Uuid::now_v7(),
        requested_by: caller.email.clone(),
        at: Utc::now(),
    };
    let body = serde_json::to_vec(&request)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("a request does not serialise: {e}")))?;
    let subject = subjects::command(&caller.tenant, DISCOVERY_SUBJECT_TYPE, request.request_id);
    let unavailable = |e: String| ApiError::Unavailable {
        message: format!("the command stream is unavailable: {e}"),
        retry_after: 5,
    };
    state
        .js
        .publish(subject, body.into())
        .await
        .map_err(|e| unavailable(e.to_string()))?
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(DiscoveryRequested {
            request_id: request.request_id,
            status: "requested",
        }),
    ))
}
