//! The changes projector: one row per recorded change (deployment, merged pull request,
//! successful build). A change is written once and never updated, so there is no state to fold.

use aurora_domain::change::ChangeRecordEvent;
use serde_json::json;

use crate::error::{upcast, ProjectionError};
use crate::fold::{Batch, Tx};
use crate::rows::insert_new;

pub async fn apply(tx: &mut Tx<'_>, schema: &str, events: Batch) -> Result<(), ProjectionError> {
    let mut rows = Vec::with_capacity(events.len());
    for (subject, raw) in events {
        let ChangeRecordEvent::Recorded {
            change,
            source,
            integration_id,
            ..
        } = upcast(&raw)?;
        rows.push(json!({
            "tenant_id": subject.tenant.to_string(),
            "id": subject.id,
            "source": source,
            "change_id": change.change_id,
            "kind": change.kind,
            "service": change.service,
            "environment": change.environment,
            "version": change.version,
            "title": change.title,
            "author": change.author,
            "at": change.at,
            "url": change.url,
            "integration_id": integration_id,
            "stream_sequence": raw.stream_sequence,
        }));
    }
    insert_new(tx, schema, "changes", "tenant_id, id", rows).await
}
