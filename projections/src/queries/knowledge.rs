//! The knowledge base: documents, their chunks, and what search reads.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// A document as the API shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct KnowledgeDocumentRow {
    pub id: Uuid,
    /// As uploaded (shown only; the stored object's key is made of ids).
    pub filename: String,
    /// markdown, text or pdf.
    pub kind: String,
    pub size_bytes: i64,
    /// uploading, processing, ready or failed.
    pub status: String,
    /// Why it failed.
    pub reason: Option<String>,
    pub chunks: i32,
    /// Characters of text extracted.
    pub characters: i64,
    /// The model its chunks were embedded with; null: keyword search only.
    pub embedding_model: Option<String>,
    pub uploaded_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const DOCUMENT_COLUMNS: &str = "id, filename, kind, size_bytes, status, reason, chunks, \
     characters, embedding_model, uploaded_by, created_at, updated_at";

/// One chunk of a document.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct KnowledgeChunkRow {
    pub ordinal: i32,
    pub heading: Option<String>,
    pub text: String,
    /// Whether it has a vector (vector search finds it).
    pub embedded: bool,
}

/// A chunk found by search, with its document.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChunkHitRow {
    pub document_id: Uuid,
    pub ordinal: i32,
    pub filename: String,
    pub heading: Option<String>,
    pub text: String,
}

/// The tenant's documents (not deleted), newest first.
pub async fn knowledge_documents(
    conn: &mut PgConnection,
    tenant: &str,
) -> Result<Vec<KnowledgeDocumentRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {DOCUMENT_COLUMNS} FROM knowledge_documents
         WHERE tenant_id = $1 AND NOT deleted ORDER BY created_at DESC, id"
    ))
    .bind(tenant)
    .fetch_all(&mut *conn)
    .await
}

/// Document `id` of the tenant, unless deleted.
pub async fn knowledge_document(
    conn: &mut PgConnection,
    tenant: &str,
    id: Uuid,
) -> Result<Option<KnowledgeDocumentRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {DOCUMENT_COLUMNS} FROM knowledge_documents
         WHERE tenant_id = $1 AND id = $2 AND NOT deleted"
    ))
    .bind(tenant)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
}

/// The chunks of document `id`, in order.
pub async fn knowledge_chunks(
    conn: &mut PgConnection,
    tenant: &str,
    id: Uuid,
) -> Result<Vec<KnowledgeChunkRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT ordinal, heading, text, embedding IS NOT NULL AS embedded FROM knowledge_chunks
         WHERE tenant_id = $1 AND document_id = $2 ORDER BY ordinal",
    )
    .bind(tenant)
    .bind(id)
    .fetch_all(&mut *conn)
    .await
}

/// How many documents the tenant keeps and their bytes together (the limits count every
/// document not deleted, failed ones too: their files are still stored).
pub async fn knowledge_usage(
    conn: &mut PgConnection,
    tenant: &str,
) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT count(*), coalesce(sum(size_bytes), 0)::bigint FROM knowledge_documents
         WHERE tenant_id = $1 AND NOT deleted",
    )
    .bind(tenant)
    .fetch_one(&mut *conn)
    .await
}

/// Takes the tenant's knowledge-base upload lock for the rest of `conn`'s transaction, then reads
/// [`knowledge_usage`]: uploads of one tenant (in any process) check the limits and record their
/// document one at a time, so two cannot both pass on the same count. `conn` must be read
/// committed, to read what the previous holder's upload made of the read model.
pub async fn knowledge_usage_locked(
    conn: &mut PgConnection,
    tenant: &str,
) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtextextended('aurora.knowledge-upload.' || $1, 0))",
    )
    .bind(tenant)
    .execute(&mut *conn)
    .await?;
    knowledge_usage(conn, tenant).await
}

/// The best `limit` chunks of the tenant's ready documents for `query` by Postgres full-text
/// rank (any of its words, as BM25 would: `plainto_tsquery`'s terms joined by OR), with rank.
pub async fn knowledge_keyword_hits(
    conn: &mut PgConnection,
    tenant: &str,
    query: &str,
    limit: i64,
) -> Result<Vec<(Uuid, i32, f32)>, sqlx::Error> {
    sqlx::query_as(
        "WITH q AS (SELECT nullif(replace(plainto_tsquery('english', $2)::text, '&', '|'), '')
                             ::tsquery AS query)
         SELECT c.document_id, c.ordinal, ts_rank_cd(c.search, q.query) AS rank
         FROM knowledge_chunks c
         JOIN knowledge_documents d ON d.tenant_id = c.tenant_id AND d.id = c.document_id
         CROSS JOIN q
         WHERE c.tenant_id = $1 AND d.status = 'ready' AND NOT d.deleted
           AND q.query IS NOT NULL AND c.search @@ q.query
         ORDER BY rank DESC, c.document_id, c.ordinal LIMIT $3",
    )
    .bind(tenant)
    .bind(query)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
}

/// Every embedded chunk of the tenant's ready documents: (document, ordinal, vector bytes).
pub async fn knowledge_vectors(
    conn: &mut PgConnection,
    tenant: &str,
) -> Result<Vec<(Uuid, i32, Vec<u8>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.document_id, c.ordinal, c.embedding FROM knowledge_chunks c
         JOIN knowledge_documents d ON d.tenant_id = c.tenant_id AND d.id = c.document_id
         WHERE c.tenant_id = $1 AND d.status = 'ready' AND NOT d.deleted
           AND c.embedding IS NOT NULL",
    )
    .bind(tenant)
    .fetch_all(&mut *conn)
    .await
}

/// The chunks at `keys` (document, ordinal) of the tenant's ready documents, with their names,
/// in no order (a key of a document deleted since it was scored finds nothing).
pub async fn knowledge_chunks_at(
    conn: &mut PgConnection,
    tenant: &str,
    keys: &[(Uuid, i32)],
) -> Result<Vec<ChunkHitRow>, sqlx::Error> {
    let (documents, ordinals): (Vec<Uuid>, Vec<i32>) = keys.iter().copied().unzip();
    sqlx::query_as(
        "SELECT c.document_id, c.ordinal, d.filename, c.heading, c.text
         FROM unnest($2::uuid[], $3::integer[]) AS k(document_id, ordinal)
         JOIN knowledge_chunks c ON c.tenant_id = $1 AND c.document_id = k.document_id
                                 AND c.ordinal = k.ordinal
         JOIN knowledge_documents d ON d.tenant_id = c.tenant_id AND d.id = c.document_id
         WHERE d.status = 'ready' AND NOT d.deleted",
    )
    .bind(tenant)
    .bind(documents)
    .bind(ordinals)
    .fetch_all(&mut *conn)
    .await
}

/// A document the sweep fails: its process stopped.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StuckDocument {
    pub tenant_id: String,
    pub id: Uuid,
    /// `processing` or `uploading`.
    pub status: String,
}

/// Documents of every tenant in `processing` whose last progress (or start, before any) is
/// before `before`, and those in `uploading` since before `before` (for the sweep; read as the
/// owner role, across tenants).
pub async fn knowledge_stuck(
    pool: &PgPool,
    before: DateTime<Utc>,
) -> Result<Vec<StuckDocument>, sqlx::Error> {
    sqlx::query_as(
        "SELECT d.tenant_id, d.id, d.status FROM knowledge_documents d
         LEFT JOIN knowledge_progress p ON p.tenant_id = d.tenant_id AND p.document_id = d.id
         WHERE NOT d.deleted
           AND ((d.status = 'processing' AND greatest(d.processing_since, p.at) < $1)
             OR (d.status = 'uploading' AND d.created_at < $1))",
    )
    .bind(before)
    .fetch_all(pool)
    .await
}

/// Processing of document `id` got as far as `chunks` embedded, at `at` (its heartbeat).
pub async fn record_knowledge_progress(
    pool: &PgPool,
    tenant: &str,
    id: Uuid,
    chunks: i64,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO knowledge_progress (tenant_id, document_id, chunks_embedded, at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, document_id)
         DO UPDATE SET chunks_embedded = EXCLUDED.chunks_embedded, at = EXCLUDED.at",
    )
    .bind(tenant)
    .bind(id)
    .bind(chunks)
    .bind(at)
    .execute(pool)
    .await?;
    Ok(())
}

/// Document `id`'s heartbeat, done with (its chunks are written, or it is deleted).
pub async fn forget_knowledge_progress(
    conn: &mut PgConnection,
    tenant: &str,
    id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM knowledge_progress WHERE tenant_id = $1 AND document_id = $2")
        .bind(tenant)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
