//! Hybrid search of a tenant's knowledge base: Postgres full-text rank and the cosine of the
//! query's embedding with each chunk's, blended by [`ranking::blend`] (alpha 0.5 by default, as
//! upstream). Without an embedder, keyword only. Vectors are scored here rather than in SQL:
//! this PostgreSQL has no pgvector. A tenant's vectors are read once and kept in memory
//! ([`crate::projected`]) until its documents change: reading 10 000 of them is ~15 MB a query.

use aurora_domain::knowledge::ranking;
use aurora_domain::TenantId;
use aurora_projections::queries;
use serde::Serialize;
use sqlx::PgPool;
use std::sync::Arc;

use uuid::Uuid;

use super::process::from_bytes;
use super::{KnowledgeBase, KnowledgeBaseError};
use crate::projected::Ticket;

/// Candidates taken from each side before blending.
const CANDIDATES: usize = 100;
/// Characters of a hit's text shown.
const SNIPPET_CHARS: usize = 300;

/// One searchable chunk's embedding.
#[derive(Debug)]
pub struct ChunkVector {
    document: Uuid,
    ordinal: i32,
    vector: Vec<f32>,
}

/// Which scores rank the hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchMode {
    /// Keyword and vector blended (vector falls away without an embedder).
    Hybrid,
    Keyword,
    Vector,
}

/// What a search found, and how it ranked it.
#[derive(Debug, Clone)]
pub struct Found {
    pub hits: Vec<SearchHit>,
    /// The mode asked for, except a hybrid search whose query could not be embedded (the model
    /// failing): it is ranked by keywords alone.
    pub ranked_by: SearchMode,
}

/// One chunk found.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchHit {
    pub document_id: Uuid,
    /// The document's name as uploaded.
    pub document: String,
    /// The heading the chunk sits under.
    pub heading: Option<String>,
    /// The chunk's text around the first query word found (at most 300 characters).
    pub snippet: String,
    /// Blended score, 0 to 1.
    pub score: f64,
    /// The chunk's place in its document.
    pub chunk: i32,
}

impl KnowledgeBase {
    /// The tenant's best `limit` chunks for `query`. `pool` is read through
    /// [`queries::scoped`], so only the tenant's rows are seen.
    pub async fn search(
        &self,
        pool: &PgPool,
        tenant: &TenantId,
        query: &str,
        limit: usize,
        mode: SearchMode,
    ) -> Result<Found, KnowledgeBaseError> {
        // Taken before the transaction's snapshot: vectors read in it are kept only if no change
        // was announced since.
        let ticket = self.vectors.ticket();
        let mut tx = queries::scoped(pool, tenant.as_str()).await?;
        let keyword = if mode == SearchMode::Vector {
            Vec::new()
        } else {
            queries::knowledge_keyword_hits(&mut tx, tenant.as_str(), query, CANDIDATES as i64)
                .await?
                .into_iter()
                .map(|(document, ordinal, rank)| ((document, ordinal), f64::from(rank)))
                .collect()
        };
        let asked = match (&self.embedder, mode) {
            (Some(embedder), SearchMode::Hybrid | SearchMode::Vector) => {
                match embedder.embed(&[query]).await {
                    Ok(asked) => Some(asked),
                    Err(e) if mode == SearchMode::Hybrid => {
                        tracing::warn!(error = %e, "the query was not embedded; ranking by keywords");
                        None
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            _ => None,
        };
        let ranked_by = match (mode, &asked) {
            (SearchMode::Hybrid, None) if self.embedder.is_some() => SearchMode::Keyword,
            _ => mode,
        };
        let vector = match asked {
            Some(asked) => {
                let asked = asked.first().map(Vec::as_slice).unwrap_or_default();
                let mut scored: Vec<((Uuid, i32), f64)> = self
                    .kept_vectors(&mut tx, tenant, ticket)
                    .await?
                    .iter()
                    .map(|chunk| {
                        let score = aurora_domain::vector::cosine(asked, &chunk.vector);
                        ((chunk.document, chunk.ordinal), score)
                    })
                    .collect();
                scored.sort_by(|a, b| b.1.total_cmp(&a.1));
                scored.truncate(CANDIDATES);
                scored
            }
            _ => Vec::new(),
        };
        let alpha = match mode {
            SearchMode::Hybrid if vector.is_empty() => 0.0,
            SearchMode::Hybrid => self.config.alpha,
            SearchMode::Keyword => 0.0,
            SearchMode::Vector => 1.0,
        };
        let ranked = ranking::blend(&keyword, &vector, alpha, limit);
        let keys: Vec<(Uuid, i32)> = ranked.iter().map(|(k, _)| *k).collect();
        let rows = queries::knowledge_chunks_at(&mut tx, tenant.as_str(), &keys).await?;
        tx.commit().await?;
        let hits = ranked
            .into_iter()
            .filter_map(|((document, ordinal), score)| {
                let row = rows
                    .iter()
                    .find(|r| r.document_id == document && r.ordinal == ordinal)?;
                Some(SearchHit {
                    document_id: document,
                    document: row.filename.clone(),
                    heading: row.heading.clone(),
                    snippet: snippet(&row.text, query),
                    score,
                    chunk: ordinal,
                })
            })
            .collect();
        Ok(Found { hits, ranked_by })
    }
}

impl KnowledgeBase {
    /// The tenant's searchable chunk vectors: kept, else read in `tx` (and kept unless a change
    /// was announced since `ticket`, taken before `tx`'s snapshot).
    async fn kept_vectors(
        &self,
        tx: &mut sqlx::PgConnection,
        tenant: &TenantId,
        ticket: Option<Ticket>,
    ) -> Result<Arc<[ChunkVector]>, KnowledgeBaseError> {
        if let Some(vectors) = self.vectors.get(tenant.as_str()) {
            return Ok(vectors);
        }
        let vectors: Arc<[ChunkVector]> = queries::knowledge_vectors(tx, tenant.as_str())
            .await?
            .into_iter()
            .map(|(document, ordinal, bytes)| ChunkVector {
                document,
                ordinal,
                vector: from_bytes(&bytes),
            })
            .collect();
        if let Some(ticket) = ticket {
            self.vectors.keep(tenant.as_str(), ticket, vectors.clone());
        }
        Ok(vectors)
    }

    /// Forgets the tenant's kept vectors: this process changed its documents.
    pub fn forget_vectors(&self, tenant: &TenantId) {
        self.vectors.drop_tenant(tenant.as_str());
    }
}

/// Up to [`SNIPPET_CHARS`] characters of `text`, starting a little before the first word of
/// `query` (three letters or more) found in it, else at its start.
fn snippet(text: &str, query: &str) -> String {
    let lower = text.to_lowercase();
    let found = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3)
        .filter_map(|w| lower.find(&w.to_lowercase()))
        .min();
    let chars: Vec<char> = text.chars().collect();
    // Byte offsets of the lower-cased text can differ from the original's: count characters.
    let at = found
        .map(|byte| lower[..byte].chars().count())
        .unwrap_or(0)
        .min(chars.len());
    let start = at.saturating_sub(60);
    let end = (start + SNIPPET_CHARS).min(chars.len());
    chars[start..end]
        .iter()
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::snippet;

    #[test]
    fn a_snippet_starts_near_the_first_query_word() {
        let text = format!("{}Restart the Redis primary with care.", "x ".repeat(200));
        let s = snippet(&text, "how to restart redis");
        assert!(s.contains("Restart the Redis"), "{s}");
        assert!(s.chars().count() <= 300);
        assert_eq!(snippet("short", "nothing here"), "short");
    }
}
