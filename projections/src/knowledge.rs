//! The knowledge projector: one row per knowledge-base document of a tenant, its status and
//! what processing found. (Its chunks are written by the handler that makes them; see
//! `migrations/0010_knowledge.sql`.)

use aurora_domain::knowledge::KnowledgeDocument;
use serde_json::{json, Value};

use crate::error::ProjectionError;
use crate::fold::{state_row, Folded, Tables, Tx};
use crate::rows::upsert;

/// The `knowledge_documents` rows of a batch.
#[derive(Default)]
pub struct KnowledgeTables {
    rows: Vec<Value>,
}

impl Tables for KnowledgeTables {
    type Aggregate = KnowledgeDocument;
    const STATE_TABLE: &'static str = "knowledge_documents";
    const READS_DATA: bool = false;

    fn state(&mut self, folded: Folded<'_, KnowledgeDocument>) -> Result<(), ProjectionError> {
        let (key, s) = (folded.key, folded.state);
        let (Some(filename), Some(kind), Some(status), Some(created_at)) =
            (&s.filename, s.kind, s.status, s.created_at)
        else {
            tracing::warn!(tenant = %key.tenant, document = %key.id, "events for a document never uploaded; no row written");
            return Ok(());
        };
        let columns = json!({
            "filename": filename,
            "kind": kind,
            "size_bytes": s.size_bytes,
            "object_key": s.object_key,
            "status": status,
            "reason": s.reason,
            "chunks": s.chunks,
            "characters": s.characters,
            "embedding_model": s.embedding_model,
            "uploaded_by": s.uploaded_by,
            "deleted": s.deleted,
            "created_at": created_at,
            "updated_at": s.updated_at.unwrap_or(created_at),
            "processing_since": s.processing_since,
        });
        self.rows.push(state_row(&folded, columns)?);
        Ok(())
    }

    async fn write(self, tx: &mut Tx<'_>, schema: &str) -> Result<(), ProjectionError> {
        let columns = "filename, kind, size_bytes, object_key, status, reason, chunks,
            characters, embedding_model, uploaded_by, deleted, created_at, updated_at,
            processing_since, last_sequence, state";
        upsert(
            tx,
            schema,
            "knowledge_documents",
            "tenant_id, id",
            columns,
            self.rows,
        )
        .await
    }
}
