//! Earlier incidents like one incident, for `GET /api/incidents/{id}/similar` and the RCA's
//! brief: the organisation's most recent incidents opened before it, scored by the domain's rule
//! ([`aurora_domain::incident::similar`]), their texts compared by embedding (each text embedded
//! once and cached, so a second look costs only the reads) or by word overlap without a model.

use aurora_domain::incident::similar::{self, Compared, Similarity, TextBasis};
use aurora_domain::{IncidentState, TenantId};
use aurora_projections::queries::{self, IncidentSummary};
use chrono::{DateTime, Utc};
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
    /// How many earlier incidents were compared (the most recent opened before it, at most 1000).
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

/// The incident similar ones are looked for: what it is compared by, and when it opened (only
/// incidents opened before it are compared).
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub id: Uuid,
    pub title: &'a str,
    pub summary: Option<&'a str>,
    /// Its own service first, then the affected ones.
    pub services: Vec<&'a str>,
    pub started_at: DateTime<Utc>,
}

impl<'a> Target<'a> {
    /// An incident as the read model lists it.
    pub fn of_summary(incident: &'a IncidentSummary) -> Self {
        Self {
            id: incident.id,
            title: &incident.title,
            summary: incident.summary.as_deref(),
            services: services(&incident.service, &incident.affected_services),
            started_at: incident.started_at,
        }
    }

    /// An incident as its events leave it (the RCA has it before the read model may).
    pub fn of_state(id: Uuid, incident: &'a IncidentState) -> Self {
        Self {
            id,
            title: &incident.title,
            summary: incident.summary.as_deref(),
            services: services(&incident.service, &incident.affected_services),
            // Opened incidents have a start; one without is compared with everything before now.
            started_at: incident.started_at.unwrap_or_else(Utc::now),
        }
    }
}

/// The incidents of `tenant` opened before `query.incident` most like it; `None` when the
/// tenant has no such incident. An embedder that fails falls back to word overlap (and says so
/// in `basis`).
pub async fn similar(
    pool: &PgPool,
    embedder: Option<&Embedder>,
    tenant: &TenantId,
    query: SimilarQuery,
) -> Result<Option<SimilarIncidents>, sqlx::Error> {
    let this = {
        let mut tx = queries::scoped(pool, tenant.as_str()).await?;
        let this = queries::incident_summary(&mut tx, tenant.as_str(), query.incident).await?;
        tx.commit().await?;
        this
    };
    let Some(this) = this else {
        return Ok(None);
    };
    let target = Target::of_summary(&this);
    similar_to(
        pool,
        embedder,
        tenant,
        &target,
        query.limit,
        query.resolved_only,
    )
    .await
    .map(Some)
}

/// The incidents of `tenant` opened before `target` most like it, at most `limit`, resolved ones
/// only when `resolved_only`.
pub async fn similar_to(
    pool: &PgPool,
    embedder: Option<&Embedder>,
    tenant: &TenantId,
    target: &Target<'_>,
    limit: usize,
    resolved_only: bool,
) -> Result<SimilarIncidents, sqlx::Error> {
    let mut tx = queries::scoped(pool, tenant.as_str()).await?;
    let mut others = queries::incidents_opened_before(
        &mut tx,
        tenant.as_str(),
        target.started_at,
        target.id,
        similar::COMPARED,
    )
    .await?;
    tx.commit().await?;
    if resolved_only {
        others.retain(|o| o.status == "resolved");
    }

    let (basis, texts) = match embedder {
        Some(embedder) => match by_embedding(embedder, target, &others).await {
            Some(scores) => (TextBasis::Embedding, scores),
            None => (TextBasis::WordOverlap, by_words(target, &others)),
        },
        None => (TextBasis::WordOverlap, by_words(target, &others)),
    };
    let other_services: Vec<Vec<&str>> = others
        .iter()
        .map(|o| services(&o.service, &o.affected_services))
        .collect();
    let compared: Vec<Compared<'_>> = other_services
        .iter()
        .zip(&texts)
        .map(|(services, text)| Compared {
            services,
            text: *text,
        })
        .collect();
    let ranked = similar::rank(&target.services, &compared, basis, limit);
    let items = ranked
        .into_iter()
        .map(|(i, similarity)| SimilarIncident {
            incident: others[i].clone(),
            similarity,
        })
        .collect();
    Ok(SimilarIncidents {
        basis,
        items,
        compared: others.len(),
    })
}

/// An incident's services, its own first.
fn services<'a>(service: &'a str, affected: &'a [String]) -> Vec<&'a str> {
    std::iter::once(service)
        .chain(affected.iter().map(String::as_str))
        .filter(|s| !s.is_empty())
        .collect()
}

fn by_words(this: &Target<'_>, others: &[IncidentSummary]) -> Vec<f64> {
    others
        .iter()
        .map(|o| similar::word_overlap(this.title, &o.title))
        .collect()
}

/// The cosine of the embedding of `this`'s title and summary with each other's, in order;
/// `None` when the embedder fails.
async fn by_embedding(
    embedder: &Embedder,
    this: &Target<'_>,
    others: &[IncidentSummary],
) -> Option<Vec<f64>> {
    let target = similar::text_of(this.title, this.summary);
    let texts: Vec<String> = others
        .iter()
        .map(|i| similar::text_of(&i.title, i.summary.as_deref()))
        .collect();
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
