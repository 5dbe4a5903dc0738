//! Similar past incidents: the ones whose title and services resemble this one's, scored as
//! correlation scores an alert's similarity (SPEC §2: 0.7 × title word overlap + 0.3 × service),
//! so what was done then is one click away.

use serde::Serialize;

use crate::correlation::{service_similarity, title_similarity, SERVICE_WEIGHT, TITLE_WEIGHT};

/// Below this an incident is not called similar: the same service alone (0.3) is not enough,
/// it takes some shared title words too.
pub const MIN_SIMILARITY: f64 = 0.35;

/// How alike two incidents are, and why.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Similarity {
    /// [`TITLE_WEIGHT`] × `title` + [`SERVICE_WEIGHT`] × `service`, 0 to 1.
    pub score: f64,
    /// Word overlap (Jaccard) of the titles.
    pub title: f64,
    /// The best match of this incident's services against the other's (1: a shared service).
    pub service: f64,
}

/// One incident as compared: its title and its services (its own first).
#[derive(Debug, Clone, Copy)]
pub struct Compared<'a> {
    pub title: &'a str,
    pub services: &'a [&'a str],
}

pub fn similarity(this: Compared<'_>, other: Compared<'_>) -> Similarity {
    let title = title_similarity(this.title, other.title);
    let service = this
        .services
        .iter()
        .map(|s| service_similarity(s, other.services))
        .fold(0.0, f64::max);
    Similarity {
        score: TITLE_WEIGHT * title + SERVICE_WEIGHT * service,
        title,
        service,
    }
}

/// The indexes of `others` similar to `this` (at least [`MIN_SIMILARITY`]) with their
/// similarity, most similar first (ties: the earlier in `others`), at most `limit`.
pub fn rank(this: Compared<'_>, others: &[Compared<'_>], limit: usize) -> Vec<(usize, Similarity)> {
    let mut ranked: Vec<(usize, Similarity)> = others
        .iter()
        .enumerate()
        .map(|(i, other)| (i, similarity(this, *other)))
        .filter(|(_, s)| s.score >= MIN_SIMILARITY)
        .collect();
    ranked.sort_by(|a, b| b.1.score.total_cmp(&a.1.score).then(a.0.cmp(&b.0)));
    ranked.truncate(limit);
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c<'a>(title: &'a str, services: &'a [&'a str]) -> Compared<'a> {
        Compared { title, services }
    }

    #[test]
    fn shared_words_and_a_shared_service_rank_first() {
        let this = c("Checkout latency high", &["checkout"]);
        let others = [
            c("Payments down", &["payments"]),
            c("Checkout latency high again", &["checkout"]),
            c("Checkout errors", &["checkout"]),
            c("Latency high on search and payments", &["search"]),
        ];
        let ranked = rank(this, &others, 10);
        let order: Vec<usize> = ranked.iter().map(|(i, _)| *i).collect();
        assert_eq!(order, [1, 2]);
        let (_, best) = ranked[0];
        assert!((best.title - 0.75).abs() < 1e-9, "{best:?}");
        assert_eq!(best.service, 1.0);
        assert!((best.score - (0.7 * 0.75 + 0.3)).abs() < 1e-9);
        // Two of six words shared, on another service: 0.7 × 1/3 ≈ 0.23, not similar.
        assert!(similarity(this, others[3]).score < MIN_SIMILARITY);
    }

    #[test]
    fn the_same_service_alone_is_not_similar_and_the_limit_holds() {
        let this = c("Disk full", &["db"]);
        assert!(rank(this, &[c("Slow queries", &["db"])], 10).is_empty());
        let same = [c("Disk full", &["db"]), c("Disk full", &["db"])];
        assert_eq!(rank(this, &same, 1).len(), 1);
        assert_eq!(rank(this, &same, 0).len(), 0);
    }

    #[test]
    fn any_of_the_incidents_services_counts() {
        let this = c("Errors rising", &["web", "checkout"]);
        let s = similarity(this, c("Errors rising", &["checkout"]));
        assert_eq!(s.service, 1.0);
    }
}
