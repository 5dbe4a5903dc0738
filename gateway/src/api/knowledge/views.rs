//! What the knowledge-base routes answer.

use aurora_handlers::knowledge::{SearchHit, SearchMode};
use aurora_projections::queries::{KnowledgeChunkRow, KnowledgeDocumentRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The organisation's documents and what they take of its limits.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentList {
    pub documents: Vec<KnowledgeDocumentRow>,
    pub usage: Usage,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Usage {
    pub documents: i64,
    pub bytes: i64,
    pub max_documents: u64,
    pub max_bytes: u64,
    /// The largest single file accepted.
    pub max_document_bytes: u64,
}

/// One document with its chunks.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentDetail {
    #[serde(flatten)]
    pub document: KnowledgeDocumentRow,
    pub chunk_list: Vec<KnowledgeChunkRow>,
}

/// A deletion recorded; the file and chunks are removed in the background.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deleted {
    pub id: uuid::Uuid,
    pub deleted: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// What to look for (1 to 1000 characters).
    pub query: String,
    /// Hits wanted, 1 to 20 (default 5).
    pub limit: Option<u32>,
    /// hybrid (default), keyword or vector.
    pub mode: Option<SearchMode>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    /// How they were ranked: `hybrid`, `keyword` (also when no embedding model is configured)
    /// or `vector`.
    pub ranked_by: &'static str,
}
