//! Similar past incidents: the ones whose text and services resemble this one's, scored as
//! correlation scores an alert's similarity (SPEC §2: 0.7 × text + 0.3 × service), so what was
//! done then is one click away and the RCA starts from what earlier incidents turned out to be.
//!
//! The text part is the cosine of the embeddings of title + summary when a model is configured
//! (upstream's way), otherwise the word overlap of the titles.

use serde::Serialize;

use crate::correlation::{service_similarity, title_similarity, SERVICE_WEIGHT, TITLE_WEIGHT};

/// Earlier incidents compared with one incident: the most recent this many.
pub const COMPARED: i64 = 1000;

/// How the texts of two incidents were compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TextBasis {
    /// The cosine of the embeddings of title + summary (all-MiniLM-L6-v2 or the configured
    /// endpoint).
    Embedding,
    /// The word overlap (Jaccard) of the titles: no embedding model, or it failed.
    WordOverlap,
}

impl TextBasis {
    /// Below this an incident is not called similar. By word overlap the same service alone
    /// (0.3) is not enough, it takes shared title words too. Embeddings of unrelated operational
    /// texts still have cosines up to ~0.3 (they share "error", "service", "high"), so with them
    /// a shared service needs a cosine of ~0.43, another service ~0.86.
    pub fn least_score(self) -> f64 {
        match self {
            Self::Embedding => 0.6,
            Self::WordOverlap => 0.35,
        }
    }
}

/// How alike two incidents are, and why.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Similarity {
    /// [`TITLE_WEIGHT`] × `title` + [`SERVICE_WEIGHT`] × `service`, 0 to 1.
    pub score: f64,
    /// How alike the texts are (see the answer's basis): the cosine of the embeddings of title
    /// and summary, or the word overlap of the titles.
    pub title: f64,
    /// The best match of this incident's services against the other's (1: a shared service).
    pub service: f64,
}

/// One incident as compared with this one: its services (its own first), and how alike its
/// text is to this one's (by the basis in use).
#[derive(Debug, Clone, Copy)]
pub struct Compared<'a> {
    pub services: &'a [&'a str],
    pub text: f64,
}

/// The text an incident is compared by when embeddings are used: its title, then its summary
/// when it has one.
pub fn text_of(title: &str, summary: Option<&str>) -> String {
    match summary.map(str::trim).filter(|s| !s.is_empty()) {
        Some(summary) => format!("{title}\n{summary}"),
        None => title.to_owned(),
    }
}

/// The text part by word overlap: the titles' tokens, as correlation compares titles.
pub fn word_overlap(this_title: &str, other_title: &str) -> f64 {
    title_similarity(this_title, other_title)
}

pub fn similarity(this_services: &[&str], other: Compared<'_>) -> Similarity {
    let title = other.text.clamp(0.0, 1.0);
    let service = this_services
        .iter()
        .map(|s| service_similarity(s, other.services))
        .fold(0.0, f64::max);
    Similarity {
        score: TITLE_WEIGHT * title + SERVICE_WEIGHT * service,
        title,
        service,
    }
}

/// The indexes of `others` similar to this incident (at least the basis's least score) with
/// their similarity, most similar first (ties: the earlier in `others`), at most `limit`.
pub fn rank(
    this_services: &[&str],
    others: &[Compared<'_>],
    basis: TextBasis,
    limit: usize,
) -> Vec<(usize, Similarity)> {
    let mut ranked: Vec<(usize, Similarity)> = others
        .iter()
        .enumerate()
        .map(|(i, other)| (i, similarity(this_services, *other)))
        .filter(|(_, s)| s.score >= basis.least_score())
        .collect();
    ranked.sort_by(|a, b| b.1.score.total_cmp(&a.1.score).then(a.0.cmp(&b.0)));
    ranked.truncate(limit);
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_words<'a>(this: &str, title: &str, services: &'a [&'a str]) -> Compared<'a> {
        Compared {
            services,
            text: word_overlap(this, title),
        }
    }

    #[test]
    fn shared_words_and_a_shared_service_rank_first() {
        let this = "Checkout latency high";
        let others = [
            by_words(this, "Payments down", &["payments"]),
            by_words(this, "Checkout latency high again", &["checkout"]),
            by_words(this, "Checkout errors", &["checkout"]),
            by_words(this, "Latency high on search and payments", &["search"]),
        ];
        let ranked = rank(&["checkout"], &others, TextBasis::WordOverlap, 10);
        let order: Vec<usize> = ranked.iter().map(|(i, _)| *i).collect();
        assert_eq!(order, [1, 2]);
        let (_, best) = ranked[0];
        assert!((best.title - 0.75).abs() < 1e-9, "{best:?}");
        assert_eq!(best.service, 1.0);
        assert!((best.score - (0.7 * 0.75 + 0.3)).abs() < 1e-9);
        // Two of six words shared, on another service: 0.7 × 1/3 ≈ 0.23, not similar.
        assert!(similarity(&["checkout"], others[3]).score < TextBasis::WordOverlap.least_score());
    }

    #[test]
    fn the_same_service_alone_is_not_similar_and_the_limit_holds() {
        let this = "Disk full";
        let slow = [by_words(this, "Slow queries", &["db"])];
        assert!(rank(&["db"], &slow, TextBasis::WordOverlap, 10).is_empty());
        let same = [
            by_words(this, "Disk full", &["db"]),
            by_words(this, "Disk full", &["db"]),
        ];
        assert_eq!(rank(&["db"], &same, TextBasis::WordOverlap, 1).len(), 1);
        assert_eq!(rank(&["db"], &same, TextBasis::WordOverlap, 0).len(), 0);
    }

    #[test]
    fn any_of_the_incidents_services_counts() {
        let other = by_words("Errors rising", "Errors rising", &["checkout"]);
        let s = similarity(&["web", "checkout"], other);
        assert_eq!(s.service, 1.0);
    }

    #[test]
    fn embeddings_need_a_close_text_and_more_so_on_another_service() {
        let at = |text: f64, services: &'static [&'static str]| Compared { services, text };
        let others = [
            at(0.30, &["checkout"]),
            at(0.50, &["checkout"]),
            at(0.80, &["payments"]),
            at(0.90, &["payments"]),
        ];
        let ranked = rank(&["checkout"], &others, TextBasis::Embedding, 10);
        let order: Vec<usize> = ranked.iter().map(|(i, _)| *i).collect();
        assert_eq!(order, [1, 3], "{ranked:?}");
        // A cosine below zero counts as nothing alike.
        assert_eq!(similarity(&["x"], at(-0.2, &["y"])).title, 0.0);
    }

    #[test]
    fn the_summary_joins_the_title_when_there_is_one() {
        assert_eq!(text_of("Checkout down", None), "Checkout down");
        assert_eq!(text_of("Checkout down", Some("  ")), "Checkout down");
        assert_eq!(
            text_of("Checkout down", Some("The deploy broke it.")),
            "Checkout down\nThe deploy broke it."
        );
    }
}
