//! The knowledge projector: one row per knowledge-base document of a tenant, its status and
//! what processing found. (Its chunks are written by the handler that makes them; see
//! `migrations/0010_knowledge.sql`.)

use aurora_domain::knowledge::{KnowledgeDocument, KnowledgeDocumentState, KnowledgeEvent};
use serde_json::{json, Value};

use crate::error::ProjectionError;
use crate::fold::{state_json, Folded, Tables, Tx};

/// The `knowledge_documents` rows of a batch.
#[derive(Default)]
pub struct KnowledgeTables {
    rows: Vec<Value>,
}

impl Tables for KnowledgeTables {
    type Aggregate = KnowledgeDocument;
    type State = KnowledgeDocumentState;
    type Event = KnowledgeEvent;
    const STATE_TABLE: &'static str = "knowledge_documents";
    const READS_DATA: bool = false;

    fn state(&mut self, folded: Folded<'_, KnowledgeDocument>) -> Result<(), ProjectionError> {
        let Folded {
            key,
            state: s,
            last_sequence,
        } = folded;
        let (Some(filename), Some(kind), Some(status), Some(created_at)) =
            (&s.filename, s.kind, s.status, s.created_at)
        else {
            tracing::warn!(tenant = %key.tenant, document = %key.id, "events for a document never uploaded; no row written");
            return Ok(());
        };
        self.rows.push(json!({
            "tenant_id": key.tenant,
            "id": key.id,
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
            "last_sequence": last_sequence,
            "state": state_json("knowledge", key, s)?,
        }));
        Ok(())
    }

    async fn write(self, tx: &mut Tx<'_>, schema: &str) -> Result<(), ProjectionError> {
        sqlx::query(&format!(
            "INSERT INTO {schema}.knowledge_documents
               SELECT * FROM jsonb_populate_recordset(NULL::{schema}.knowledge_documents, $1)
             ON CONFLICT (tenant_id, id) DO UPDATE SET
               filename = EXCLUDED.filename, kind = EXCLUDED.kind, size_bytes = EXCLUDED.size_bytes,
               object_key = EXCLUDED.object_key, status = EXCLUDED.status, reason = EXCLUDED.reason,
               chunks = EXCLUDED.chunks, characters = EXCLUDED.characters,
               embedding_model = EXCLUDED.embedding_model, uploaded_by = EXCLUDED.uploaded_by,
               deleted = EXCLUDED.deleted, created_at = EXCLUDED.created_at,
               updated_at = EXCLUDED.updated_at, processing_since = EXCLUDED.processing_since,
               last_sequence = EXCLUDED.last_sequence, state = EXCLUDED.state"
        ))
        .bind(Value::Array(self.rows))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}
