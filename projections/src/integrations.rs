//! The integrations projector: one row per integration of a tenant, with its settings and the
//! reference to its secret (never the secret).

use aurora_domain::integration::Integration;
use serde_json::{json, Value};

use crate::error::ProjectionError;
use crate::fold::{state_row, Folded, Tables, Tx};
use crate::rows::upsert;

/// The `integrations` rows of a batch.
#[derive(Default)]
pub struct IntegrationTables {
    rows: Vec<Value>,
}

impl Tables for IntegrationTables {
    type Aggregate = Integration;
    const STATE_TABLE: &'static str = "integrations";
    const READS_DATA: bool = false;

    fn state(&mut self, folded: Folded<'_, Integration>) -> Result<(), ProjectionError> {
        let (key, s) = (folded.key, folded.state);
        let (Some(_), Some(created_at)) = (s.id, s.created_at) else {
            tracing::warn!(tenant = %key.tenant, integration = %key.id, "events for an integration never created; no row written");
            return Ok(());
        };
        let columns = json!({
            "source": s.source,
            "name": s.name,
            "enabled": s.settings.enabled,
            "deleted": s.deleted,
            "settings": s.settings,
            "secret_ref": s.secret_ref,
            "pinned_topic": s.pinned_topic,
            "created_at": created_at,
            "updated_at": s.updated_at.unwrap_or(created_at),
        });
        self.rows.push(state_row(&folded, columns)?);
        Ok(())
    }

    async fn write(self, tx: &mut Tx<'_>, schema: &str) -> Result<(), ProjectionError> {
        let columns = "source, name, enabled, deleted, settings, secret_ref, pinned_topic,
            created_at, updated_at, last_sequence, state";
        upsert(
            tx,
            schema,
            "integrations",
            "tenant_id, id",
            columns,
            self.rows,
        )
        .await
    }
}
