//! The integrations projector: one row per integration of a tenant, with its settings and the
//! reference to its secret (never the secret).

use std::collections::HashMap;

use aurora_domain::integration::{Integration, IntegrationEvent, IntegrationState};
use aurora_nats::subjects::EventSubject;
use aurora_nats::RawEvent;
use esrs::Aggregate;
use serde_json::{json, Value};
use sqlx::{Postgres, Transaction};

use crate::projector::{checked_schema, upcast, ProjectionError};
use crate::state_cache::{staged, Key, StateCache, Touched};

pub async fn apply(
    tx: &mut Transaction<'_, Postgres>,
    schema: &str,
    events: Vec<(EventSubject, RawEvent)>,
    cache: &mut StateCache<IntegrationState>,
) -> Result<Vec<(Key, u64, IntegrationState)>, ProjectionError> {
    let schema = checked_schema(schema);
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let mut touched = Touched::default();
    let mut decoded = Vec::with_capacity(events.len());
    for (subject, raw) in events {
        let event: IntegrationEvent = upcast(&raw)?;
        let key = (subject.tenant.to_string(), subject.id);
        touched.note(&key, raw.aggregate_sequence);
        decoded.push((key, raw.stream_sequence, event));
    }
    let mut states = cache
        .take(tx, schema, "integrations", &touched.order, &touched.new)
        .await?;
    let mut last_sequence: HashMap<Key, u64> = HashMap::new();
    for (key, sequence, event) in decoded {
        let state = states.remove(&key).unwrap_or_default();
        states.insert(key.clone(), Integration::apply_event(state, event));
        last_sequence.insert(key, sequence);
    }
    let mut rows = Vec::with_capacity(touched.order.len());
    for key in &touched.order {
        let Some(s) = states.get(key) else { continue };
        let (Some(_), Some(created_at)) = (s.id, s.created_at) else {
            tracing::warn!(tenant = %key.0, integration = %key.1, "events for an integration never created; no row written");
            continue;
        };
        rows.push(json!({
            "tenant_id": key.0,
            "id": key.1,
            "source": s.source,
            "name": s.name,
            "enabled": s.settings.enabled,
            "deleted": s.deleted,
            "settings": s.settings,
            "secret_ref": s.secret_ref,
            "pinned_topic": s.pinned_topic,
            "created_at": created_at,
            "updated_at": s.updated_at.unwrap_or(created_at),
            "last_sequence": last_sequence.get(key).copied().unwrap_or(0),
            "state": serde_json::to_string(s).map_err(|e| ProjectionError::BadEvent {
                subject: format!("integration {}/{}", key.0, key.1),
                stream_sequence: 0,
                reason: format!("state does not serialise: {e}"),
            })?,
        }));
    }
    sqlx::query(&format!(
        "INSERT INTO {schema}.integrations SELECT * FROM jsonb_populate_recordset(NULL::{schema}.integrations, $1)
         ON CONFLICT (tenant_id, id) DO UPDATE SET
           source = EXCLUDED.source, name = EXCLUDED.name, enabled = EXCLUDED.enabled,
           deleted = EXCLUDED.deleted, settings = EXCLUDED.settings, secret_ref = EXCLUDED.secret_ref,
           pinned_topic = EXCLUDED.pinned_topic, created_at = EXCLUDED.created_at,
           updated_at = EXCLUDED.updated_at, last_sequence = EXCLUDED.last_sequence, state = EXCLUDED.state"
    ))
    .bind(Value::Array(rows))
    .execute(&mut **tx)
    .await?;
    Ok(staged(touched.order, states, &last_sequence))
}
