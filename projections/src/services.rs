//! The services projector: the service graph. One `service_nodes` row per node that exists (a
//! removed node's row goes) and its outgoing edges in `service_edges`, rewritten from the folded
//! state each time the node changes, so the rows always equal the node's state.

use std::collections::BTreeMap;

use aurora_domain::service::Service;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::error::ProjectionError;
use crate::fold::{state_row, Folded, Tables, Tx};
use crate::investigations::column_time;
use crate::rows::insert;

/// The graph's rows of a batch.
#[derive(Default)]
pub struct ServiceTables {
    nodes: Vec<Value>,
    edges: Vec<Value>,
    /// Nodes whose rows (and edges) are replaced or, when removed, deleted.
    touched: Vec<(String, Uuid)>,
}

impl Tables for ServiceTables {
    type Aggregate = Service;
    const STATE_TABLE: &'static str = "service_nodes";
    const READS_DATA: bool = false;

    fn state(&mut self, folded: Folded<'_, Service>) -> Result<(), ProjectionError> {
        let (key, s) = (folded.key, folded.state);
        self.touched.push((key.tenant.clone(), key.id));
        let (Some(facts), Some(first_seen), Some(last_seen)) =
            (&s.facts, s.first_seen, s.last_seen)
        else {
            return Ok(());
        };
        let columns = json!({
            "key": facts.key,
            "name": facts.name,
            "node_type": facts.node_type.as_str(),
            "provider": facts.provider.as_str(),
            "region": facts.region,
            "labels": facts.labels,
            "first_seen": column_time(first_seen),
            "last_seen": column_time(last_seen),
            "stale_since": s.stale_since.map(column_time),
        });
        self.nodes.push(state_row(&folded, columns)?);
        for edge in &s.edges {
            self.edges.push(json!({
                "tenant_id": key.tenant,
                "from_id": key.id,
                "to_id": edge.to,
                "kind": edge.kind.as_str(),
                "confidence": edge.confidence,
                "origin": edge.origin,
                "declared_by": edge.declared_by,
            }));
        }
        Ok(())
    }

    async fn write(self, tx: &mut Tx<'_>, schema: &str) -> Result<(), ProjectionError> {
        // One delete per tenant and table by the primary key's prefix, planned at each run
        // (not a prepared statement): a plan cached while the table was nearly empty scanned it
        // whole (seen in a perf profile as the bulk of Postgres's CPU once a burst of alerts
        // had made tens of thousands of nodes).
        let mut by_tenant: BTreeMap<String, Vec<Uuid>> = BTreeMap::new();
        for (tenant, id) in self.touched {
            by_tenant.entry(tenant).or_default().push(id);
        }
        for (tenant, ids) in &by_tenant {
            for (table, column) in [("service_edges", "from_id"), ("service_nodes", "id")] {
                sqlx::query(&format!(
                    "DELETE FROM {schema}.{table} WHERE tenant_id = $1 AND {column} = ANY($2)"
                ))
                .persistent(false)
                .bind(tenant)
                .bind(ids)
                .execute(&mut **tx)
                .await?;
            }
        }
        insert(tx, schema, "service_nodes", self.nodes).await?;
        insert(tx, schema, "service_edges", self.edges).await
    }
}
