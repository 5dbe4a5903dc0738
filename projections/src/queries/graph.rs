//! The service graph: nodes filtered and paged, one node, its neighbourhood to a depth, its blast
//! radius (everything that depends on it, transitively), and the `DEPENDS_ON` edges correlation
//! scores with.
//!
//! Walks are recursive SQL whose `UNION` (not `UNION ALL`) drops a row already produced, so a
//! cycle ends the walk instead of looping it; edges to a removed node are left out by joining the
//! live nodes. The shortest path to each node found is worked out in memory from the edges among
//! them (a walk that carried its path in SQL would list every path, which grows without bound).

use std::collections::{HashMap, HashSet, VecDeque};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgConnection, QueryBuilder};
use uuid::Uuid;

const NODE_COLUMNS: &str = "n.id, n.key, n.name, n.node_type, n.provider, n.region, n.labels, \
     n.first_seen, n.last_seen, n.stale_since IS NOT NULL AS stale, n.stale_since";

/// One node of the graph.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct GraphNode {
    pub id: Uuid,
    /// The node's name within the tenant, lower case (what alerts and changes name it by).
    pub key: String,
    pub name: String,
    /// `service`, `workload`, `kubernetes_cluster`, `kubernetes_namespace`, `vm`, `database`,
    /// `cache`, `load_balancer`, `serverless_function`, `web_app`, `message_queue`,
    /// `storage_bucket`.
    pub node_type: String,
    /// `kubernetes`, `gcp`, `aws`, `azure`, or `observed` (named by alerts, changes or a person).
    pub provider: String,
    pub region: Option<String>,
    /// The labels or tags the provider gives the node (free-form: each provider has its own).
    #[schema(value_type = Object)]
    pub labels: Value,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Unseen for 7 days or more.
    pub stale: bool,
    pub stale_since: Option<DateTime<Utc>>,
}

/// One edge: `from` depends on (`DEPENDS_ON`) or runs in (`DEPLOYED_IN`) `to`.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct GraphEdge {
    pub from_id: Uuid,
    pub to_id: Uuid,
    pub kind: String,
    /// 0 to 1; 1 for a declared edge.
    pub confidence: f64,
    /// How it was found: `declared`, `env_var`, `ingress_backend`, `config`, `placement`,
    /// `selector`, `cloud_inventory`.
    pub origin: String,
    pub declared_by: Option<String>,
}

/// Filters and page position of the node list.
#[derive(Debug, Clone, Default)]
pub struct GraphFilter {
    pub node_type: Option<String>,
    pub provider: Option<String>,
    pub stale: Option<bool>,
    /// Part of the key or the name, any case.
    pub search: Option<String>,
    /// Nodes after this key (the list is in key order).
    pub after: Option<String>,
    pub limit: i64,
}

/// A node reached by a walk, `depth` hops away along `path` (node ids, the start first).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Reached {
    pub node: GraphNode,
    pub depth: u32,
    pub path: Vec<Uuid>,
}

/// The tenant's nodes matching `f`, in key order, at most `f.limit`.
pub async fn graph_nodes(
    conn: &mut PgConnection,
    tenant: &str,
    f: &GraphFilter,
) -> Result<Vec<GraphNode>, sqlx::Error> {
    let mut q = QueryBuilder::new(format!(
        "SELECT {NODE_COLUMNS} FROM service_nodes n WHERE n.tenant_id = "
    ));
    q.push_bind(tenant);
    if let Some(t) = &f.node_type {
        q.push(" AND n.node_type = ").push_bind(t);
    }
    if let Some(p) = &f.provider {
        q.push(" AND n.provider = ").push_bind(p);
    }
    if let Some(stale) = f.stale {
        q.push(if stale {
            " AND n.stale_since IS NOT NULL"
        } else {
            " AND n.stale_since IS NULL"
        });
    }
    if let Some(s) = &f.search {
        let pattern = format!("%{}%", like_escaped(&s.to_lowercase()));
        q.push(" AND (n.key LIKE ")
            .push_bind(pattern.clone())
            .push(" OR lower(n.name) LIKE ")
            .push_bind(pattern)
            .push(")");
    }
    if let Some(after) = &f.after {
        q.push(" AND n.key > ").push_bind(after);
    }
    q.push(" ORDER BY n.key LIMIT ").push_bind(f.limit);
    q.build_query_as().fetch_all(&mut *conn).await
}

/// `%`, `_` and `\` taken literally in a `LIKE` pattern.
fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The edges leaving `ids` whose target exists.
pub async fn graph_edges_from(
    conn: &mut PgConnection,
    tenant: &str,
    ids: &[Uuid],
) -> Result<Vec<GraphEdge>, sqlx::Error> {
    sqlx::query_as(
        "SELECT e.from_id, e.to_id, e.kind, e.confidence, e.origin, e.declared_by
         FROM service_edges e JOIN service_nodes t ON t.tenant_id = e.tenant_id AND t.id = e.to_id
         WHERE e.tenant_id = $1 AND e.from_id = ANY($2)
         ORDER BY e.from_id, e.to_id, e.kind",
    )
    .bind(tenant)
    .bind(ids)
    .fetch_all(&mut *conn)
    .await
}

/// One node by id.
pub async fn graph_node(
    conn: &mut PgConnection,
    tenant: &str,
    id: Uuid,
) -> Result<Option<GraphNode>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {NODE_COLUMNS} FROM service_nodes n WHERE n.tenant_id = $1 AND n.id = $2"
    ))
    .bind(tenant)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
}

/// The nodes within `depth` hops of `id` along edges of any kind and either direction (the node
/// itself at depth 0), each with a shortest path, and the edges among them.
pub async fn neighbourhood(
    conn: &mut PgConnection,
    tenant: &str,
    id: Uuid,
    depth: u32,
) -> Result<(Vec<Reached>, Vec<GraphEdge>), sqlx::Error> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "WITH RECURSIVE near(id, depth) AS (
             SELECT $2::uuid, 0
             UNION
             SELECT x.id, near.depth + 1 FROM near
             CROSS JOIN LATERAL (
                 SELECT e.to_id AS id FROM service_edges e
                 WHERE e.tenant_id = $1 AND e.from_id = near.id
                 UNION ALL
                 SELECT e.from_id FROM service_edges e
                 WHERE e.tenant_id = $1 AND e.to_id = near.id
             ) x
             JOIN service_nodes n ON n.tenant_id = $1 AND n.id = x.id
             WHERE near.depth < $3
         )
         SELECT DISTINCT id FROM near",
    )
    .bind(tenant)
    .bind(id)
    .bind(i32::try_from(depth).unwrap_or(i32::MAX))
    .fetch_all(&mut *conn)
    .await?;
    let edges = edges_among(conn, tenant, &ids, None).await?;
    let adjacency = adjacency(&edges, Walk::Both);
    let reached = reach(conn, tenant, id, &adjacency, Some(depth)).await?;
    Ok((reached, edges))
}

/// Everything that depends on `id` (`DEPENDS_ON` followed backwards, transitively, at any
/// depth), nearest first, each with a shortest path from it to `id` (it first, `id` last).
pub async fn blast_radius(
    conn: &mut PgConnection,
    tenant: &str,
    id: Uuid,
) -> Result<Vec<Reached>, sqlx::Error> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "WITH RECURSIVE up(id) AS (
             SELECT $2::uuid
             UNION
             SELECT e.from_id FROM up
             JOIN service_edges e ON e.tenant_id = $1 AND e.to_id = up.id AND e.kind = 'DEPENDS_ON'
             JOIN service_nodes n ON n.tenant_id = $1 AND n.id = e.from_id
         )
         SELECT id FROM up",
    )
    .bind(tenant)
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let edges = edges_among(conn, tenant, &ids, Some("DEPENDS_ON")).await?;
    let adjacency = adjacency(&edges, Walk::Dependents);
    let mut reached = reach(conn, tenant, id, &adjacency, None).await?;
    reached.retain(|r| r.depth > 0);
    for r in &mut reached {
        // Walked from `id` outwards; shown from the dependent inwards.
        r.path.reverse();
    }
    Ok(reached)
}

/// The tenant's `DEPENDS_ON` edges between live nodes, as (dependent key, dependency key): what
/// correlation's topology score walks.
pub async fn dependency_keys(
    conn: &mut PgConnection,
    tenant: &str,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT f.key, t.key FROM service_edges e
         JOIN service_nodes f ON f.tenant_id = e.tenant_id AND f.id = e.from_id
         JOIN service_nodes t ON t.tenant_id = e.tenant_id AND t.id = e.to_id
         WHERE e.tenant_id = $1 AND e.kind = 'DEPENDS_ON'",
    )
    .bind(tenant)
    .fetch_all(&mut *conn)
    .await
}

/// The edges (of `kind`, if given) with both ends among `ids`.
async fn edges_among(
    conn: &mut PgConnection,
    tenant: &str,
    ids: &[Uuid],
    kind: Option<&str>,
) -> Result<Vec<GraphEdge>, sqlx::Error> {
    sqlx::query_as(
        "SELECT e.from_id, e.to_id, e.kind, e.confidence, e.origin, e.declared_by
         FROM service_edges e
         WHERE e.tenant_id = $1 AND e.from_id = ANY($2) AND e.to_id = ANY($2)
           AND ($3::text IS NULL OR e.kind = $3)
         ORDER BY e.from_id, e.to_id, e.kind",
    )
    .bind(tenant)
    .bind(ids)
    .bind(kind)
    .fetch_all(&mut *conn)
    .await
}

#[derive(Clone, Copy)]
enum Walk {
    Both,
    /// From a node to those that depend on it.
    Dependents,
}

fn adjacency(edges: &[GraphEdge], walk: Walk) -> HashMap<Uuid, Vec<Uuid>> {
    let mut next: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for e in edges {
        next.entry(e.to_id).or_default().push(e.from_id);
        if let Walk::Both = walk {
            next.entry(e.from_id).or_default().push(e.to_id);
        }
    }
    next
}

/// Breadth first from `start` over `adjacency` (to `max_depth`, if given): each node once, at
/// its shortest distance, with the path that reached it; the nodes read at the end.
async fn reach(
    conn: &mut PgConnection,
    tenant: &str,
    start: Uuid,
    adjacency: &HashMap<Uuid, Vec<Uuid>>,
    max_depth: Option<u32>,
) -> Result<Vec<Reached>, sqlx::Error> {
    let mut paths: HashMap<Uuid, Vec<Uuid>> = HashMap::from([(start, vec![start])]);
    let mut order = vec![start];
    let mut seen = HashSet::from([start]);
    let mut queue = VecDeque::from([start]);
    while let Some(at) = queue.pop_front() {
        let path = paths.get(&at).cloned().unwrap_or_default();
        let depth = u32::try_from(path.len().saturating_sub(1)).unwrap_or(u32::MAX);
        if max_depth.is_some_and(|max| depth >= max) {
            continue;
        }
        for next in adjacency.get(&at).into_iter().flatten() {
            if seen.insert(*next) {
                let mut reached = path.clone();
                reached.push(*next);
                paths.insert(*next, reached);
                order.push(*next);
                queue.push_back(*next);
            }
        }
    }
    let nodes: Vec<GraphNode> = sqlx::query_as(&format!(
        "SELECT {NODE_COLUMNS} FROM service_nodes n WHERE n.tenant_id = $1 AND n.id = ANY($2)"
    ))
    .bind(tenant)
    .bind(&order)
    .fetch_all(&mut *conn)
    .await?;
    let mut by_id: HashMap<Uuid, GraphNode> = nodes.into_iter().map(|n| (n.id, n)).collect();
    Ok(order
        .into_iter()
        .filter_map(|id| {
            let node = by_id.remove(&id)?;
            let path = paths.remove(&id)?;
            let depth = u32::try_from(path.len() - 1).unwrap_or(u32::MAX);
            Some(Reached { node, depth, path })
        })
        .collect())
}

/// Incidents whose service or affected services name the node `key` (any case), newest first.
pub async fn node_incidents(
    conn: &mut PgConnection,
    tenant: &str,
    key: &str,
    limit: i64,
) -> Result<Vec<super::IncidentSummary>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {} FROM incidents
         WHERE tenant_id = $1
           AND (lower(service) = $2 OR EXISTS (SELECT 1 FROM unnest(affected_services) s WHERE lower(s) = $2))
         ORDER BY started_at DESC, id DESC LIMIT $3",
        super::incidents::SUMMARY_COLUMNS
    ))
    .bind(tenant)
    .bind(key)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
}

/// Changes naming the node `key` (any case), newest first.
pub async fn node_changes(
    conn: &mut PgConnection,
    tenant: &str,
    key: &str,
    limit: i64,
) -> Result<Vec<super::ChangeRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, source, kind, service, environment, version, title, author, at, url FROM changes
         WHERE tenant_id = $1 AND lower(service) = $2
         ORDER BY at DESC, id LIMIT $3",
    )
    .bind(tenant)
    .bind(key)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
}

/// Every tenant (organisation), for the jobs that run for each. Read as the connecting role:
/// no tenant is known yet.
pub async fn all_tenants(pool: &sqlx::PgPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT tenant_id FROM organizations ORDER BY tenant_id")
        .fetch_all(pool)
        .await
}

/// The ids of every node of the tenant (stale or not), for the staleness sweep.
pub async fn node_ids(conn: &mut PgConnection, tenant: &str) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM service_nodes WHERE tenant_id = $1 ORDER BY id")
        .bind(tenant)
        .fetch_all(&mut *conn)
        .await
}
