//! The knowledge base's part of `aurora audit verify`. `knowledge_documents` is a read model
//! like the others (the replay rebuilds it and the audit compares it row by row), but
//! `knowledge_chunks` is derived from each stored file, not from events, by design (a large
//! PDF's chunks and vectors are tens of megabytes; `migrations/0012_knowledge.sql`). So the
//! audit derives every ready document's chunks again from its file, as processing does, and
//! compares them with the table: the same number as the document says, the same headings and
//! texts in order, a vector on each when a model made them — equal to 1e-4 cosine when the same
//! model is loaded — and no chunks for a document that failed or was deleted (one still being
//! processed may have them or not). Run it on a quiet system, as the rest of the audit: a
//! document deleted a moment ago may keep its chunks until the `knowledge` consumer removes them.

use std::collections::BTreeMap;

use aurora_domain::knowledge::{DocumentKind, DocumentStatus};
use aurora_domain::vector::cosine;
use sqlx::PgPool;
use uuid::Uuid;

use super::process::{from_bytes, Derived};
use super::{KnowledgeBase, KnowledgeBaseError};

/// Stored vectors agree with fresh ones to this cosine (the model is deterministic; this
/// leaves room for float summation order).
const VECTOR_AGREEMENT: f64 = 1.0 - 1e-4;

/// What the audit found wrong with one document's chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkDifference {
    pub tenant: String,
    pub document: Uuid,
    pub what: String,
}

impl std::fmt::Display for ChunkDifference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "knowledge_chunks (tenant {}, document {}): {}",
            self.tenant, self.document, self.what
        )
    }
}

#[derive(sqlx::FromRow)]
struct Document {
    tenant_id: String,
    id: Uuid,
    kind: String,
    object_key: String,
    status: String,
    chunks: i32,
    embedding_model: Option<String>,
    deleted: bool,
}

#[derive(sqlx::FromRow)]
struct StoredChunk {
    tenant_id: String,
    document_id: Uuid,
    heading: Option<String>,
    text: String,
    embedding: Option<Vec<u8>>,
}

impl KnowledgeBase {
    /// Every way `knowledge_chunks` differs from what the stored files give (all tenants).
    pub async fn verify_chunks(
        &self,
        pool: &PgPool,
    ) -> Result<Vec<ChunkDifference>, KnowledgeBaseError> {
        let documents: Vec<Document> = sqlx::query_as(
            "SELECT tenant_id, id, kind, object_key, status, chunks, embedding_model, deleted
             FROM knowledge_documents ORDER BY tenant_id, id",
        )
        .fetch_all(pool)
        .await?;
        let rows: Vec<StoredChunk> = sqlx::query_as(
            "SELECT tenant_id, document_id, heading, text, embedding FROM knowledge_chunks
             ORDER BY tenant_id, document_id, ordinal",
        )
        .fetch_all(pool)
        .await?;
        let mut stored: BTreeMap<(String, Uuid), Vec<StoredChunk>> = BTreeMap::new();
        for row in rows {
            stored
                .entry((row.tenant_id.clone(), row.document_id))
                .or_default()
                .push(row);
        }
        let mut differences = Vec::new();
        for doc in documents {
            let chunks = stored
                .remove(&(doc.tenant_id.clone(), doc.id))
                .unwrap_or_default();
            let mut differ = |what: String| {
                differences.push(ChunkDifference {
                    tenant: doc.tenant_id.clone(),
                    document: doc.id,
                    what,
                })
            };
            // Chunks are written before their document completes: one being processed may
            // have them or not.
            if DocumentStatus::Processing.as_str() == doc.status && !doc.deleted {
                continue;
            }
            let ready = DocumentStatus::Ready.as_str() == doc.status && !doc.deleted;
            if !ready {
                if !chunks.is_empty() {
                    let state = if doc.deleted { "deleted" } else { &doc.status };
                    differ(format!("{} chunks of a {state} document", chunks.len()));
                }
                continue;
            }
            for what in self.compare(&doc, &chunks).await? {
                differ(what);
            }
        }
        for ((tenant, document), chunks) in stored {
            differences.push(ChunkDifference {
                tenant,
                document,
                what: format!("{} chunks of no document", chunks.len()),
            });
        }
        Ok(differences)
    }

    /// How a ready document's stored chunks differ from its file's.
    async fn compare(
        &self,
        doc: &Document,
        stored: &[StoredChunk],
    ) -> Result<Vec<String>, KnowledgeBaseError> {
        let kind = DocumentKind::parse(&doc.kind).unwrap_or(DocumentKind::Text);
        let derived = match self.derive(kind, &doc.object_key).await {
            Ok(Ok(derived)) => derived,
            Ok(Err(reason)) => return Ok(vec![format!("its file no longer reads: {reason}")]),
            Err(KnowledgeBaseError::Objects(object_store::Error::NotFound { .. })) => {
                return Ok(vec![format!("its file {} is gone", doc.object_key)])
            }
            Err(e) => return Err(e),
        };
        let Derived { chunks, .. } = derived;
        let mut found = Vec::new();
        if usize::try_from(doc.chunks).ok() != Some(chunks.len()) {
            found.push(format!(
                "the document says {} chunks, its file gives {}",
                doc.chunks,
                chunks.len()
            ));
        }
        if stored.len() != chunks.len() {
            found.push(format!(
                "{} chunks stored, its file gives {}",
                stored.len(),
                chunks.len()
            ));
        }
        for (ordinal, (row, chunk)) in stored.iter().zip(&chunks).enumerate() {
            if row.heading != chunk.heading || row.text != chunk.text {
                found.push(format!(
                    "chunk {ordinal}'s heading or text is not its file's"
                ));
            }
            if doc.embedding_model.is_some() != row.embedding.is_some() {
                found.push(format!(
                    "chunk {ordinal} {} a vector, the document says {}",
                    if row.embedding.is_some() {
                        "has"
                    } else {
                        "lacks"
                    },
                    doc.embedding_model
                        .as_deref()
                        .unwrap_or("no model made one")
                ));
            }
        }
        // The vectors again, when the model that made them is the one loaded.
        let same_model = self
            .embedder
            .as_ref()
            .is_some_and(|e| doc.embedding_model.as_deref() == Some(e.describe().as_str()));
        if same_model && found.is_empty() {
            if let Some(fresh) = self.vectors(&chunks, None).await? {
                for (ordinal, (row, vector)) in stored.iter().zip(&fresh).enumerate() {
                    let agreement = row
                        .embedding
                        .as_deref()
                        .map_or(0.0, |bytes| cosine(&from_bytes(bytes), vector));
                    if agreement < VECTOR_AGREEMENT {
                        found.push(format!(
                            "chunk {ordinal}'s vector is not its text's (cosine {agreement:.6})"
                        ));
                    }
                }
            }
        }
        Ok(found)
    }
}
