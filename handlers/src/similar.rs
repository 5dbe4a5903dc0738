//! Past incidents like one incident, for `GET /api/incidents/{id}/similar` and the RCA's brief:
//! the organisation's most recent other incidents scored by the domain's rule
//! ([`aurora_domain::incident::similar`]), their texts compared by embedding (each text embedded
//! once and cached, so a second look costs only the reads) or by word overlap without a model.

use aurora_domain::incident::similar::{self, Compared, Similarity, TextBasis};
use aurora_domain::TenantId;
use aurora_projections::queries::{self, IncidentSummary};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::embeddings::Embedder;

/// One other incident and how alike it is.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SimilarIncident {
    pub incident: IncidentSummary,
    pub similarity: Similarity,
}

/// The incidents found, and how their texts were compared.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SimilarIncidents {
    /// How `similarity.title` was measured.
    pub basis: TextBasis,
    /// Most similar first; none under the basis's least score (0.6 by embedding, 0.35 by words).
    pub items: Vec<SimilarIncident>,
    /// How many other incidents were compared (the most recent, at most 1000).
    pub compared: usize,
}

/// Which incidents are compared, and how many are kept.
#[derive(Debug, Clone, Copy)]
pub struct SimilarQuery {
    pub incident: Uuid,
    pub limit: usize,
    /// Only resolved incidents (what the RCA learns from: their summaries say what it was).
    pub resolved_only: bool,
}

/// The incidents of `tenant` most like `query.incident`; `None` when the tenant has no such
/// incident. An embedder that fails falls back to word overlap (and says so in `basis`).
pub async fn similar(
    pool: &PgPool,
    embedder: Option<&Embedder>,
    tenant: &TenantId,
    query: SimilarQuery,
) -> Result<Option<SimilarIncidents>, sqlx::Error> {
    let mut tx = queries::scoped(pool, tenant.as_str()).await?;
    let Some(this) = queries::incident_summary(&mut tx, tenant.as_str(), query.incident).await?
    else {
        return Ok(None);
    };
    let mut others =
        queries::recent_incidents_except(&mut tx, tenant.as_str(), this.id, similar::COMPARED)
            .await?;
    tx.commit().await?;
    if query.resolved_only {
        others.retain(|o| o.status == "resolved");
    }

    let (basis, texts) = match embedder {
        Some(embedder) => match by_embedding(embedder, &this, &others).await {
            Some(scores) => (TextBasis::Embedding, scores),
            None => (TextBasis::WordOverlap, by_words(&this, &others)),
        },
        None => (TextBasis::WordOverlap, by_words(&this, &others)),
    };
    let this_services = services(&this);
    let other_services: Vec<Vec<&str>> = others.iter().map(services).collect();
    let compared: Vec<Compared<'_>> = other_services
        .iter()
        .zip(&texts)
        .map(|(services, text)| Compared {
            services,
            text: *text,
        })
        .collect();
    let ranked = similar::rank(&this_services, &compared, basis, query.limit);
    let items = ranked
        .into_iter()
        .map(|(i, similarity)| SimilarIncident {
            incident: others[i].clone(),
            similarity,
        })
        .collect();
    Ok(Some(SimilarIncidents {
        basis,
        items,
        compared: others.len(),
    }))
}

/// An incident's services, its own first.
fn services(incident: &IncidentSummary) -> Vec<&str> {
    std::iter::once(incident.service.as_str())
        .chain(incident.affected_services.iter().map(String::as_str))
        .filter(|s| !s.is_empty())
        .collect()
}

fn by_words(this: &IncidentSummary, others: &[IncidentSummary]) -> Vec<f64> {
    others
        .iter()
        .map(|o| similar::word_overlap(&this.title, &o.title))
        .collect()
}

/// The cosine of the embedding of `this`'s title and summary with each other's, in order;
/// `None` when the embedder fails.
async fn by_embedding(
    embedder: &Embedder,
    this: &IncidentSummary,
    others: &[IncidentSummary],
) -> Option<Vec<f64>> {
    let text = |i: &IncidentSummary| similar::text_of(&i.title, i.summary.as_deref());
    let target = text(this);
    let texts: Vec<String> = others.iter().map(text).collect();
    let mut all: Vec<&str> = vec![&target];
    all.extend(texts.iter().map(String::as_str));
    match embedder.embed_cached(&all).await {
        Ok(vectors) => {
            let target = vectors.get(&target)?;
            texts
                .iter()
                .map(|t| {
                    vectors
                        .get(t)
                        .map(|v| aurora_domain::vector::cosine(target, v))
                })
                .collect()
        }
        Err(error) => {
            tracing::warn!(%error, "similar incidents compared by word overlap: the embedder failed");
            None
        }
    }
}
