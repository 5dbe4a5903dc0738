//! The graph around one service, as the agent's `service_graph` tool and an investigation's brief
//! show it: its neighbours to a depth (with the edges among them, named by key), its blast radius
//! (what depends on it, with paths) and what changed nearby lately.

use std::collections::HashMap;

use aurora_domain::service::{service_id, Depth, NodeKey, NodeKeyError};
use aurora_domain::TenantId;
use aurora_projections::queries;
use chrono::{TimeDelta, Utc};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

/// Changes listed per service nearby.
const CHANGES_PER_SERVICE: i64 = 10;

/// Why the graph around a service could not be read; its text is what the agent is told.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("Aurora's database could not answer: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Service(#[from] NodeKeyError),
    #[error("{0:?} is not in the service graph (no discovery, alert or change has named it)")]
    NotInGraph(String),
}

/// The graph around `service` of `tenant`; the error is what the model is told.
pub async fn around(
    pool: &PgPool,
    tenant: &TenantId,
    service: &str,
    depth: Depth,
    hours: i64,
) -> Result<Value, ContextError> {
    let key = NodeKey::parse(service)?;
    let t = tenant.as_str();
    let mut tx = queries::scoped(pool, t).await?;
    let Some(node) = queries::graph_node(&mut tx, t, service_id(t, &key)).await? else {
        return Err(ContextError::NotInGraph(service.to_owned()));
    };
    let (near, edges) = queries::neighbourhood(&mut tx, t, node.id, depth.get()).await?;
    let blast = queries::blast_radius(&mut tx, t, node.id).await?;
    let keys: HashMap<Uuid, String> = near
        .iter()
        .chain(&blast)
        .map(|r| (r.node.id, r.node.key.clone()))
        .collect();
    let named = |path: &[Uuid]| -> Vec<String> {
        path.iter().filter_map(|id| keys.get(id).cloned()).collect()
    };
    let since = Utc::now() - TimeDelta::hours(hours);
    let mut changed = Vec::new();
    for r in &near {
        let changes = queries::node_changes(&mut tx, t, &r.node.key, CHANGES_PER_SERVICE).await?;
        changed.extend(
            changes
                .into_iter()
                .filter(|c| c.at >= since)
                .map(|c| json!({"service": r.node.key, "change": c})),
        );
    }
    tx.commit().await?;
    Ok(json!({
        "service": {
            "key": node.key, "name": node.name, "type": node.node_type,
            "provider": node.provider, "region": node.region, "stale": node.stale,
        },
        "neighbours": near.iter().skip(1).map(|r| json!({
            "key": r.node.key, "type": r.node.node_type, "depth": r.depth, "path": named(&r.path),
        })).collect::<Vec<_>>(),
        "edges": edges.iter().map(|e| json!({
            "from": keys.get(&e.from_id), "to": keys.get(&e.to_id), "kind": e.kind,
            "confidence": e.confidence, "found_by": e.origin,
        })).collect::<Vec<_>>(),
        "blast_radius": blast.iter().map(|r| json!({
            "key": r.node.key, "depth": r.depth, "path": named(&r.path),
        })).collect::<Vec<_>>(),
        "changes_nearby": changed,
        "changes_since": since,
    }))
}
