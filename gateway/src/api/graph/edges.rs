//! `PUT /api/graph/edges`: a person declares that one node depends on (or runs in) another.
//! Both nodes must exist; the edge has confidence 1.0 and is never taken back by a discovery.

use aurora_domain::organization::Role;
use aurora_domain::service::{Edge, EdgeKind, EdgeOrigin, NodeKey, ServiceCommand, ServiceError};
use aurora_nats::envelope::Context;
use aurora_projections::queries;
use axum::extract::State;
use axum::Json;
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{find, AppState};
use crate::api::auth::{read_own_write_of, Caller};
use crate::api::{ApiError, Body};

/// An edge to declare: `from` depends on (or runs in) `to`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclaredEdge {
    /// The dependent node: its id or its key.
    from: String,
    /// The node it depends on: its id or its key.
    to: String,
    /// `DEPENDS_ON` (the default) or `DEPLOYED_IN`.
    #[serde(default = "depends_on")]
    kind: EdgeKind,
}

fn depends_on() -> EdgeKind {
    EdgeKind::DependsOn
}

/// Declare an edge (editor). Declaring it again changes nothing.
#[utoipa::path(put, path = "/api/graph/edges", tag = "graph", request_body = DeclaredEdge,
    responses((status = 200, body = queries::GraphEdge, description = "the edge as the graph now holds it"),
              (status = 400, description = "the body is malformed or names a node invalidly"),
              (status = 403, description = "viewers cannot declare edges"),
              (status = 404, description = "`from` or `to` is no node of the caller's organisation"),
              (status = 415, description = "the body is not JSON"),
              (status = 422, description = "`from` and `to` are the same node"),
              (status = 503, description = "the event store is unavailable; retry after Retry-After")))]
pub(super) async fn declare(
    State(state): State<AppState>,
    caller: Caller,
    Body(req): Body<DeclaredEdge>,
) -> Result<Json<queries::GraphEdge>, ApiError> {
    caller
        .require(&state, Role::Editor, "declaring a service dependency")
        .await?;
    let tenant = caller.tenant.as_str();
    let mut tx = queries::scoped(&state.services.gateway_pool, tenant).await?;
    let from = find(&mut tx, tenant, &req.from).await?;
    let to = find(&mut tx, tenant, &req.to).await?;
    tx.commit().await?;
    let key = |k: &str| {
        NodeKey::parse(k)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("a stored key does not parse: {e}")))
    };
    let edge = Edge {
        to: to.id,
        to_key: key(&to.key)?,
        kind: req.kind,
        confidence: 1.0,
        origin: EdgeOrigin::Declared,
        declared_by: Some(caller.email.clone()),
    };
    let command = ServiceCommand::Connect {
        from: key(&from.key)?,
        edge: edge.clone(),
        target_exists: true,
        at: Utc::now(),
    };
    let executed = state
        .services
        .services
        .execute(&caller.tenant, from.id, command, Context::new_root())
        .await?
        .map_err(refusal)?;
    // Read your own write: the next GET shows the edge.
    read_own_write_of(&state, "services", executed.stream_sequence).await;
    Ok(Json(queries::GraphEdge {
        from_id: from.id,
        to_id: to.id,
        kind: edge.kind.as_str().to_owned(),
        confidence: edge.confidence,
        origin: "declared".to_owned(),
        declared_by: edge.declared_by,
    }))
}

fn refusal(e: ServiceError) -> ApiError {
    match e {
        ServiceError::SelfLoop(_) => ApiError::unprocessable("self_loop", e.to_string()),
        ServiceError::Unknown(_) | ServiceError::UnknownTarget(_) => {
            ApiError::NotFound(e.to_string())
        }
        ServiceError::BadConfidence(_) => ApiError::unprocessable("bad_confidence", e.to_string()),
    }
}
