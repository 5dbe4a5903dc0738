//! The integrations projector: one row per integration of a tenant, with its settings and the
//! reference to its secret (never the secret).

use aurora_domain::integration::{Integration, IntegrationEvent, IntegrationState};
use serde_json::{json, Value};

use crate::error::ProjectionError;
use crate::fold::{state_json, Folded, Tables, Tx};

/// The `integrations` rows of a batch.
#[derive(Default)]
pub struct IntegrationTables {
    rows: Vec<Value>,
}

impl Tables for IntegrationTables {
    type Aggregate = Integration;
    type State = IntegrationState;
    type Event = IntegrationEvent;
    const STATE_TABLE: &'static str = "integrations";
    const READS_DATA: bool = false;

    fn state(&mut self, folded: Folded<'_, Integration>) -> Result<(), ProjectionError> {
        let Folded {
            key,
            state: s,
            last_sequence,
        } = folded;
        let (Some(_), Some(created_at)) = (s.id, s.created_at) else {
            tracing::warn!(tenant = %key.tenant, integration = %key.id, "events for an integration never created; no row written");
            return Ok(());
        };
        self.rows.push(json!({
            "tenant_id": key.tenant,
            "id": key.id,
            "source": s.source,
            "name": s.name,
            "enabled": s.settings.enabled,
            "deleted": s.deleted,
            "settings": s.settings,
            "secret_ref": s.secret_ref,
            "pinned_topic": s.pinned_topic,
            "created_at": created_at,
            "updated_at": s.updated_at.unwrap_or(created_at),
            "last_sequence": last_sequence,
            "state": state_json("integration", key, s)?,
        }));
        Ok(())
    }

    async fn write(self, tx: &mut Tx<'_>, schema: &str) -> Result<(), ProjectionError> {
        sqlx::query(&format!(
            "INSERT INTO {schema}.integrations SELECT * FROM jsonb_populate_recordset(NULL::{schema}.integrations, $1)
             ON CONFLICT (tenant_id, id) DO UPDATE SET
               source = EXCLUDED.source, name = EXCLUDED.name, enabled = EXCLUDED.enabled,
               deleted = EXCLUDED.deleted, settings = EXCLUDED.settings, secret_ref = EXCLUDED.secret_ref,
               pinned_topic = EXCLUDED.pinned_topic, created_at = EXCLUDED.created_at,
               updated_at = EXCLUDED.updated_at, last_sequence = EXCLUDED.last_sequence, state = EXCLUDED.state"
        ))
        .bind(Value::Array(self.rows))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}
