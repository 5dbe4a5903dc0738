//! The service graph (SPEC §8): `GET /api/graph` (nodes and the edges leaving them, filtered and
//! paged), one node, its neighbourhood to a depth of at most 3, its blast radius (everything that
//! depends on it, with the path), its incidents and changes; declared edges ([`edges`]) and
//! discovery on demand ([`discover`]). Reads come from the `service_nodes` and
//! `service_edges` read models; a node is named in the path by its id or its key.

mod discover;
mod edges;

use aurora_domain::service::{service_id, Depth, NodeKey, NodeType, Provider};
use aurora_projections::queries;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::auth::Caller;
use super::{ApiError, AppState};

const DEFAULT_LIMIT: i64 = 200;
const MAX_LIMIT: i64 = 1000;
/// Incidents and changes listed per node.
const RELATED_LIMIT: i64 = 100;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(node))
        .routes(routes!(neighbourhood))
        .routes(routes!(blast_radius))
        .routes(routes!(incidents))
        .routes(routes!(changes))
        .routes(routes!(edges::declare))
        .routes(routes!(discover::request))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct GraphParams {
    /// Only nodes of this type (`service`, `workload`, `database`, …).
    #[serde(rename = "type")]
    node_type: Option<String>,
    /// Only nodes of this provider (`kubernetes`, `gcp`, `aws`, `azure`, `observed`).
    provider: Option<String>,
    /// Only stale (`true`) or only fresh (`false`) nodes.
    stale: Option<bool>,
    /// Part of a node's key or name, any case.
    search: Option<String>,
    /// 1 to 1000; default 200.
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A page of nodes and the edges leaving them.
#[derive(Debug, Serialize, ToSchema)]
pub struct GraphPage {
    nodes: Vec<queries::GraphNode>,
    /// Edges leaving the page's nodes (their targets may be on other pages).
    edges: Vec<queries::GraphEdge>,
    /// Present when there may be more nodes: pass it as `cursor`.
    next_cursor: Option<String>,
}

/// The organisation's service graph: nodes in key order, with the edges leaving them.
#[utoipa::path(get, path = "/api/graph", tag = "graph", params(GraphParams),
    responses((status = 200, body = GraphPage, description = "a page of nodes and their edges"),
              (status = 400, description = "a filter, the limit or the cursor is invalid")))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<GraphParams>, QueryRejection>,
) -> Result<Json<GraphPage>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    if let Some(t) = p
        .node_type
        .as_deref()
        .filter(|t| NodeType::parse(t).is_none())
    {
        let known: Vec<&str> = NodeType::ALL.iter().map(|t| t.as_str()).collect();
        return Err(ApiError::bad_request(
            "invalid_type",
            format!("type {t:?} is not one of {}", known.join(", ")),
        ));
    }
    if let Some(v) = p
        .provider
        .as_deref()
        .filter(|v| Provider::parse(v).is_none())
    {
        let known: Vec<&str> = Provider::ALL.iter().map(|p| p.as_str()).collect();
        return Err(ApiError::bad_request(
            "invalid_provider",
            format!("provider {v:?} is not one of {}", known.join(", ")),
        ));
    }
    let limit = super::page::limit(p.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let filter = queries::GraphFilter {
        node_type: p.node_type,
        provider: p.provider,
        stale: p.stale,
        search: p.search.filter(|s| !s.trim().is_empty()),
        after: p.cursor,
        limit,
    };
    let tenant = caller.tenant.as_str();
    let mut tx = queries::scoped(&state.services.gateway_pool, tenant).await?;
    let nodes = queries::graph_nodes(&mut tx, tenant, &filter).await?;
    let ids: Vec<Uuid> = nodes.iter().map(|n| n.id).collect();
    let edges = queries::graph_edges_from(&mut tx, tenant, &ids).await?;
    tx.commit().await?;
    let next_cursor = (nodes.len() as i64 == limit)
        .then(|| nodes.last().map(|n| n.key.clone()))
        .flatten();
    Ok(Json(GraphPage {
        nodes,
        edges,
        next_cursor,
    }))
}

/// The node a path names: its id, or its key (a service's name, any case).
fn node_id(tenant: &str, text: &str) -> Result<Uuid, ApiError> {
    if let Ok(id) = Uuid::parse_str(text) {
        return Ok(id);
    }
    let key = NodeKey::parse(text)
        .map_err(|e| ApiError::bad_request("invalid_id", format!("{text:?}: {e}")))?;
    Ok(service_id(tenant, &key))
}

fn unknown(text: &str) -> ApiError {
    ApiError::NotFound(format!(
        "there is no service {text:?} in the organisation's graph"
    ))
}

/// The node, or 404.
async fn find(
    conn: &mut PgConnection,
    tenant: &str,
    text: &str,
) -> Result<queries::GraphNode, ApiError> {
    let id = node_id(tenant, text)?;
    queries::graph_node(conn, tenant, id)
        .await?
        .ok_or_else(|| unknown(text))
}

/// A node with the edges around it.
#[derive(Debug, Serialize, ToSchema)]
pub struct NodeView {
    node: queries::GraphNode,
    /// Edges leaving it (what it depends on, where it runs).
    edges: Vec<queries::GraphEdge>,
}

/// One node and the edges leaving it.
#[utoipa::path(get, path = "/api/graph/services/{id}", tag = "graph",
    params(("id" = String, Path, description = "the node's id, or its key")),
    responses((status = 200, body = NodeView, description = "the node"),
              (status = 400, description = "the id is neither a UUID nor a valid key"),
              (status = 404, description = "no such node in the caller's organisation")))]
async fn node(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<NodeView>, ApiError> {
    let tenant = caller.tenant.as_str();
    let mut tx = queries::scoped(&state.services.gateway_pool, tenant).await?;
    let node = find(&mut tx, tenant, &id).await?;
    let edges = queries::graph_edges_from(&mut tx, tenant, &[node.id]).await?;
    tx.commit().await?;
    Ok(Json(NodeView { node, edges }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DepthParams {
    /// 1 to 3; default 1.
    depth: Option<i64>,
}

/// The nodes around one, with the edges among them.
#[derive(Debug, Serialize, ToSchema)]
pub struct Neighbourhood {
    /// The node itself (depth 0) and every node within `depth` hops, either direction, nearest
    /// first, each with a shortest path from the node.
    nodes: Vec<queries::Reached>,
    edges: Vec<queries::GraphEdge>,
}

/// The node's neighbourhood: every node within `depth` hops along edges of either direction.
#[utoipa::path(get, path = "/api/graph/services/{id}/neighbourhood", tag = "graph",
    params(("id" = String, Path, description = "the node's id, or its key"), DepthParams),
    responses((status = 200, body = Neighbourhood, description = "the nodes around it and the edges among them"),
              (status = 400, description = "depth is not from 1 to 3, or the id is invalid"),
              (status = 404, description = "no such node in the caller's organisation")))]
async fn neighbourhood(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Result<Query<DepthParams>, QueryRejection>,
) -> Result<Json<Neighbourhood>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let depth = Depth::parse(p.depth.unwrap_or(1))
        .map_err(|e| ApiError::bad_request("invalid_depth", e.to_string()))?;
    let tenant = caller.tenant.as_str();
    let mut tx = queries::scoped(&state.services.gateway_pool, tenant).await?;
    let node = find(&mut tx, tenant, &id).await?;
    let (nodes, edges) = queries::neighbourhood(&mut tx, tenant, node.id, depth.get()).await?;
    tx.commit().await?;
    Ok(Json(Neighbourhood { nodes, edges }))
}

/// What an outage of a node reaches.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlastRadius {
    node: queries::GraphNode,
    /// Every node that depends on it, directly or through others, nearest first, each with a
    /// shortest path from it to the node (it first).
    affected: Vec<queries::Reached>,
}

/// The node's blast radius: everything that depends on it, transitively, with the path.
#[utoipa::path(get, path = "/api/graph/services/{id}/blast-radius", tag = "graph",
    params(("id" = String, Path, description = "the node's id, or its key")),
    responses((status = 200, body = BlastRadius, description = "the nodes that depend on it"),
              (status = 400, description = "the id is invalid"),
              (status = 404, description = "no such node in the caller's organisation")))]
async fn blast_radius(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<BlastRadius>, ApiError> {
    let tenant = caller.tenant.as_str();
    let mut tx = queries::scoped(&state.services.gateway_pool, tenant).await?;
    let node = find(&mut tx, tenant, &id).await?;
    let affected = queries::blast_radius(&mut tx, tenant, node.id).await?;
    tx.commit().await?;
    Ok(Json(BlastRadius { node, affected }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NodeIncidents {
    items: Vec<queries::IncidentSummary>,
}

/// Incidents of the node (its key as their service or one of their affected services), newest
/// first, at most 100.
#[utoipa::path(get, path = "/api/graph/services/{id}/incidents", tag = "graph",
    params(("id" = String, Path, description = "the node's id, or its key")),
    responses((status = 200, body = NodeIncidents, description = "the node's incidents"),
              (status = 400, description = "the id is invalid"),
              (status = 404, description = "no such node in the caller's organisation")))]
async fn incidents(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<NodeIncidents>, ApiError> {
    let tenant = caller.tenant.as_str();
    let mut tx = queries::scoped(&state.services.gateway_pool, tenant).await?;
    let node = find(&mut tx, tenant, &id).await?;
    let items = queries::node_incidents(&mut tx, tenant, &node.key, RELATED_LIMIT).await?;
    tx.commit().await?;
    Ok(Json(NodeIncidents { items }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NodeChanges {
    items: Vec<queries::ChangeRow>,
}

/// Changes (deployments, merges, builds) of the node, newest first, at most 100.
#[utoipa::path(get, path = "/api/graph/services/{id}/changes", tag = "graph",
    params(("id" = String, Path, description = "the node's id, or its key")),
    responses((status = 200, body = NodeChanges, description = "the node's changes"),
              (status = 400, description = "the id is invalid"),
              (status = 404, description = "no such node in the caller's organisation")))]
async fn changes(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<NodeChanges>, ApiError> {
    let tenant = caller.tenant.as_str();
    let mut tx = queries::scoped(&state.services.gateway_pool, tenant).await?;
    let node = find(&mut tx, tenant, &id).await?;
    let items = queries::node_changes(&mut tx, tenant, &node.key, RELATED_LIMIT).await?;
    tx.commit().await?;
    Ok(Json(NodeChanges { items }))
}
