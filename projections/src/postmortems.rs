//! The postmortems projector: one row per version of a postmortem. Every event of the aggregate
//! makes one version and carries its whole text, so there is no state to fold.

use aurora_domain::postmortem::{Change, PostmortemEvent};
use aurora_domain::DomainEvent;
use serde_json::json;

use crate::error::{upcast, ProjectionError};
use crate::fold::{Batch, Tx};
use crate::rows::insert_new;

pub async fn apply(tx: &mut Tx<'_>, schema: &str, events: Batch) -> Result<(), ProjectionError> {
    let mut rows = Vec::with_capacity(events.len());
    for (subject, raw) in events {
        let event: PostmortemEvent = upcast(&raw)?;
        let at = event.occurred_at();
        let (version, markdown, change, by) = match event {
            PostmortemEvent::Generated {
                version,
                markdown,
                origin,
                by,
                ..
            } => (version, markdown, Change::Generated { origin }, by),
            PostmortemEvent::Regenerated {
                version,
                markdown,
                origin,
                by,
                ..
            } => (version, markdown, Change::Regenerated { origin }, Some(by)),
            PostmortemEvent::Edited {
                version,
                base_version,
                markdown,
                by,
                ..
            } => (version, markdown, Change::Edited { base_version }, Some(by)),
            PostmortemEvent::Restored {
                version,
                from_version,
                markdown,
                by,
                ..
            } => (
                version,
                markdown,
                Change::Restored { from_version },
                Some(by),
            ),
        };
        rows.push(json!({
            "tenant_id": subject.tenant.to_string(),
            "postmortem_id": subject.id,
            "version": version,
            "kind": change.kind(),
            "change": change,
            "by": by,
            "at": at,
            "chars": markdown.chars().count(),
            "markdown": markdown,
            "stream_sequence": raw.stream_sequence,
        }));
    }
    insert_new(
        tx,
        schema,
        "postmortem_versions",
        "tenant_id, postmortem_id, version",
        rows,
    )
    .await
}
