//! The deliveries projector: one row per alert the correlator decided (`correlator.decided`),
//! with the integration it came through and what became of it — an integration's recent
//! deliveries. A decision is written once and never changes, so there is no state to fold.

use aurora_domain::correlation::CorrelatorEvent;
use serde_json::json;

use crate::error::ProjectionError;
use crate::fold::{Batch, Tx};
use crate::rows::insert_new;

pub async fn apply(tx: &mut Tx<'_>, schema: &str, events: Batch) -> Result<(), ProjectionError> {
    let mut rows = Vec::new();
    for (subject, raw) in events {
        // Only the decisions: the snapshot beside them is the bulk of each event.
        let decisions =
            CorrelatorEvent::decisions_in(&raw.body).map_err(|e| ProjectionError::BadEvent {
                subject: raw.subject.clone(),
                stream_sequence: raw.stream_sequence,
                reason: e.to_string(),
            })?;
        let tenant = subject.tenant.to_string();
        for d in decisions {
            let alert = &d.alert;
            // Decided before decisions named their integration: nothing to list it under.
            let Some(integration_id) = alert.integration_id else {
                continue;
            };
            rows.push(json!({
                "tenant_id": tenant,
                "id": alert.new_incident_id(&tenant).0,
                "integration_id": integration_id,
                "inbox_sequence": alert.inbox_sequence,
                "alert_index": alert.index,
                "alert_id": alert.alert_id,
                "title": alert.title,
                "service": alert.service,
                "received_at": alert.received_at,
                "incident_id": d.incident_id.0,
                "opened": d.opens(),
                "decision": d.decision.explain(),
                "stream_sequence": raw.stream_sequence,
            }));
        }
    }
    insert_new(tx, schema, "alert_deliveries", "tenant_id, id", rows).await
}
