//! How one open incident scores against a new alert: three components, their weighted sum, and
//! the strongest of them.
//!
//! - **time**: 1 when the alert arrives as the incident is updated, falling linearly to 0 at the
//!   end of the window; 0 for an alert older than the incident's last update.
//! - **topology**: 1 when the alert's service is one of the incident's; otherwise by the distance
//!   between them in the service graph (upstream 1.0 / 0.7 / 0.4, downstream 0.8 / 0.5 / 0.2 at 1,
//!   2 and 3 hops, the best over the incident's services).
//! - **similarity**: 0.7 × title similarity + 0.3 × service-name similarity.
//!
//! The numbers are upstream Aurora's, operation for operation, so a decision made here matches
//! the one the Python correlator made. One addition is Aurora's own: with no graph at all for the
//! tenant, topology falls back to comparing service names ([`topology_score`]).

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::breakdown::{PathDirection, TitleBasis, TopologyBasis, TopologyPath};
use super::graph::ServiceGraph;
use super::settings::CorrelationSettings;
use crate::ids::IncidentId;

/// Services further apart than this many hops are unrelated.
pub const MAX_TOPOLOGY_DEPTH: u32 = 3;
/// Topology score when the incident's service is upstream (the alert's service depends on it), at
/// 1, 2 and 3 hops.
pub const UPSTREAM_SCORES: [f64; 3] = [1.0, 0.7, 0.4];
/// Topology score when the incident's service is downstream (it depends on the alert's service),
/// at 1, 2 and 3 hops.
pub const DOWNSTREAM_SCORES: [f64; 3] = [0.8, 0.5, 0.2];
/// Share of the title in the similarity score.
pub const TITLE_WEIGHT: f64 = 0.7;
/// Share of the service names in the similarity score.
pub const SERVICE_WEIGHT: f64 = 0.3;
/// Words left out of title and service-name tokens (upstream's `_STOPWORDS`).
pub const STOP_WORDS: [&str; 10] = [
    "the", "a", "an", "is", "are", "was", "for", "in", "on", "at",
];

/// What correlation needs to know about the new, firing alert.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlertFacts<'a> {
    pub title: &'a str,
    pub service: &'a str,
    pub received_at: DateTime<Utc>,
    /// A title similarity worked out elsewhere (the cosine of two title embeddings), used instead
    /// of token Jaccard. Clamped to `0.0..=1.0`; NaN is ignored. It applies to every candidate;
    /// for one value per candidate see [`super::decide_with_title_similarity`].
    pub title_similarity_override: Option<f64>,
}

/// An open incident of the alert's tenant, as correlation sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Candidate {
    pub incident_id: IncidentId,
    pub title: String,
    /// The service of the alert that opened the incident.
    pub service: String,
    /// Every service the incident's alerts came from, in the order they joined.
    pub affected_services: Vec<String>,
    /// The incident's last change; the time window is measured from it.
    pub updated_at: DateTime<Utc>,
    /// Alerts attached after the opening one.
    pub correlated_alert_count: u32,
    /// False once the incident left `investigating`; such candidates are skipped.
    pub open: bool,
}

impl Candidate {
    /// The services the alert is compared with: the affected services, or else the incident's own
    /// service, or else none.
    pub fn incident_services(&self) -> Vec<&str> {
        if !self.affected_services.is_empty() {
            self.affected_services.iter().map(String::as_str).collect()
        } else if !self.service.is_empty() {
            vec![self.service.as_str()]
        } else {
            Vec::new()
        }
    }
}

/// One candidate's scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScoredCandidate {
    pub incident_id: IncidentId,
    /// The weighted sum the threshold is compared with.
    pub score: f64,
    pub topology: f64,
    pub time: f64,
    pub similarity: f64,
    /// What `topology` was measured on (absent in decisions stored before it was recorded, all
    /// made without a graph).
    #[serde(default)]
    pub topology_basis: TopologyBasis,
    /// The path in the service graph that gave `topology` (none for the same service or a
    /// name fallback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_path: Option<TopologyPath>,
    /// What the titles were compared with (absent in decisions stored before it was recorded,
    /// all made by word overlap).
    #[serde(default)]
    pub title_basis: TitleBasis,
    /// The strongest raw component: `topology`, `time_window` or `similarity` (see
    /// [`Strategy`]; decisions made before the label followed upstream say `time`).
    pub strategy: String,
}

/// The three components, in the order that settles ties between them. Their labels are
/// upstream's score keys (`topology`, `time_window`, `similarity`), so a breakdown reads the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strategy {
    Topology,
    Time,
    Similarity,
}

impl Strategy {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Topology => "topology",
            Self::Time => "time_window",
            Self::Similarity => "similarity",
        }
    }

    /// The component with the highest raw score (not weighted); ties go to topology, then time.
    pub fn dominant(topology: f64, time: f64, similarity: f64) -> Self {
        let mut best = (Self::Topology, topology);
        if time > best.1 {
            best = (Self::Time, time);
        }
        if similarity > best.1 {
            best = (Self::Similarity, similarity);
        }
        best.0
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Title tokens: the lower-cased text's runs of `a-z0-9`, at least two characters long, without
/// [`STOP_WORDS`].
pub fn tokenize(text: &str) -> BTreeSet<String> {
    text.to_lowercase()
        .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
        .filter(|token| token.len() >= 2 && !STOP_WORDS.contains(token))
        .map(str::to_owned)
        .collect()
}

/// Service-name tokens: the same rule as [`tokenize`], stop-words dropped too, as upstream's
/// `_service_similarity` does (`the-api` is `{api}`).
pub fn service_tokens(name: &str) -> BTreeSet<String> {
    tokenize(name)
}

/// |a ∩ b| / |a ∪ b|, and 0 when both are empty.
pub fn jaccard<T: Ord>(a: &BTreeSet<T>, b: &BTreeSet<T>) -> f64 {
    let shared = a.intersection(b).count();
    let union = a.len() + b.len() - shared;
    if union == 0 {
        return 0.0;
    }
    shared as f64 / union as f64
}

/// 1 − gap / window, where gap is how long after the incident's update the alert came (in
/// fractional seconds); 0 for a negative gap and from the end of the window on.
pub fn time_score(
    received_at: DateTime<Utc>,
    incident_updated_at: DateTime<Utc>,
    window_secs: u32,
) -> f64 {
    let gap = received_at.signed_duration_since(incident_updated_at);
    let gap = gap.num_seconds() as f64 + f64::from(gap.subsec_nanos()) / 1e9;
    let window = f64::from(window_secs);
    if gap < 0.0 || gap >= window {
        return 0.0;
    }
    (1.0 - gap / window).clamp(0.0, 1.0)
}

/// How close the alert's service is to the incident's services: [`topology_match`]'s score.
pub fn topology_score(
    alert_service: &str,
    incident_services: &[&str],
    graph: &ServiceGraph,
) -> f64 {
    topology_match(alert_service, incident_services, graph).score
}

/// A topology score, what it was measured on, and the path that gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct TopologyMatch {
    pub score: f64,
    pub basis: TopologyBasis,
    /// The shortest path between the alert's service and the incident's that scored.
    pub path: Option<TopologyPath>,
}

/// How close the alert's service is to the incident's services.
///
/// 0 when either side is empty, 1 when the alert's service is one of the incident's. Otherwise
/// the best over the incident's services of [`UPSTREAM_SCORES`] and [`DOWNSTREAM_SCORES`] by
/// shortest distance in the graph (SPEC §2), with the path. When the graph connects none of them
/// within [`MAX_TOPOLOGY_DEPTH`] hops — or there is no graph — Aurora falls back to
/// [`service_similarity`]: the token Jaccard of the service names. (Upstream scored 0 then.)
pub fn topology_match(
    alert_service: &str,
    incident_services: &[&str],
    graph: &ServiceGraph,
) -> TopologyMatch {
    let basis = if graph.is_empty() {
        TopologyBasis::ServiceNameFallback
    } else {
        TopologyBasis::ServiceGraph
    };
    let scored = |score, basis, path| TopologyMatch { score, basis, path };
    if alert_service.is_empty() || incident_services.is_empty() {
        return scored(0.0, basis, None);
    }
    if incident_services.contains(&alert_service) {
        return scored(1.0, basis, None);
    }
    let fallback = |basis| {
        scored(
            service_similarity(alert_service, incident_services),
            basis,
            None,
        )
    };
    if graph.is_empty() {
        return fallback(TopologyBasis::ServiceNameFallback);
    }
    // The graph is keyed as the service graph keys its nodes: trimmed, lower case.
    let node = |service: &str| service.trim().to_lowercase();
    let upstream = graph.upstream_paths(&node(alert_service), MAX_TOPOLOGY_DEPTH);
    let downstream = graph.downstream_paths(&node(alert_service), MAX_TOPOLOGY_DEPTH);
    let mut best: Option<TopologyMatch> = None;
    for service in incident_services {
        let service = node(service);
        let found = [
            (&upstream, &UPSTREAM_SCORES, PathDirection::Upstream),
            (&downstream, &DOWNSTREAM_SCORES, PathDirection::Downstream),
        ];
        for (paths, scores, direction) in found {
            let Some(path) = paths.get(&service) else {
                continue;
            };
            let hops = u32::try_from(path.len().saturating_sub(1)).unwrap_or(u32::MAX);
            let score = by_depth(scores, hops);
            if best.as_ref().is_none_or(|b| score > b.score) {
                let path = TopologyPath {
                    services: path.clone(),
                    direction,
                };
                best = Some(scored(score, TopologyBasis::ServiceGraph, Some(path)));
            }
        }
    }
    best.unwrap_or_else(|| fallback(TopologyBasis::NotConnected))
}

fn by_depth(scores: &[f64; 3], depth: u32) -> f64 {
    depth
        .checked_sub(1)
        .and_then(|index| usize::try_from(index).ok())
        .and_then(|index| scores.get(index))
        .copied()
        .unwrap_or(0.0)
}

/// Token Jaccard of two titles (see [`tokenize`]).
pub fn title_similarity(alert_title: &str, incident_title: &str) -> f64 {
    jaccard(&tokenize(alert_title), &tokenize(incident_title))
}

/// 0 when either side is empty, 1 when the alert's service is one of the incident's, else the
/// Jaccard of the alert service's tokens and the union of the incident services' tokens (see
/// [`service_tokens`]).
pub fn service_similarity(alert_service: &str, incident_services: &[&str]) -> f64 {
    if alert_service.is_empty() || incident_services.is_empty() {
        return 0.0;
    }
    if incident_services.contains(&alert_service) {
        return 1.0;
    }
    let alert_tokens = service_tokens(alert_service);
    let incident_tokens: BTreeSet<String> = incident_services
        .iter()
        .flat_map(|service| service_tokens(service))
        .collect();
    if alert_tokens.is_empty() || incident_tokens.is_empty() {
        return 0.0;
    }
    jaccard(&alert_tokens, &incident_tokens)
}

/// [`TITLE_WEIGHT`] × title similarity + [`SERVICE_WEIGHT`] × [`service_similarity`]; 0 when
/// either title is empty. `title_similarity_override` (clamped, NaN ignored) replaces the token
/// Jaccard of the titles.
pub fn similarity_score(
    alert_title: &str,
    alert_service: &str,
    incident_title: &str,
    incident_services: &[&str],
    title_similarity_override: Option<f64>,
) -> f64 {
    if alert_title.is_empty() || incident_title.is_empty() {
        return 0.0;
    }
    let title = match title_similarity_override.filter(|value| !value.is_nan()) {
        Some(value) => value.clamp(0.0, 1.0),
        None => title_similarity(alert_title, incident_title),
    };
    let service = service_similarity(alert_service, incident_services);
    TITLE_WEIGHT * title + SERVICE_WEIGHT * service
}

/// What [`similarity_score`] compares titles with, given the same override.
pub fn title_basis(title_similarity_override: Option<f64>) -> TitleBasis {
    match title_similarity_override.filter(|value| !value.is_nan()) {
        Some(_) => TitleBasis::Embeddings,
        None => TitleBasis::WordOverlap,
    }
}

/// The weighted sum of the three components, added in upstream's order.
pub fn weighted_score(
    topology: f64,
    time: f64,
    similarity: f64,
    settings: &CorrelationSettings,
) -> f64 {
    settings.topology_weight * topology
        + settings.time_weight * time
        + settings.similarity_weight * similarity
}

/// Scores one candidate against the alert (whether it is open or in the window is not checked
/// here; see [`super::select_candidates`]).
pub fn score_candidate(
    alert: &AlertFacts<'_>,
    candidate: &Candidate,
    settings: &CorrelationSettings,
    graph: &ServiceGraph,
) -> ScoredCandidate {
    let services = candidate.incident_services();
    let TopologyMatch {
        score: topology,
        basis: topology_basis,
        path: topology_path,
    } = topology_match(alert.service, &services, graph);
    let time = time_score(
        alert.received_at,
        candidate.updated_at,
        settings.window_secs,
    );
    let similarity = similarity_score(
        alert.title,
        alert.service,
        &candidate.title,
        &services,
        alert.title_similarity_override,
    );
    ScoredCandidate {
        incident_id: candidate.incident_id,
        score: weighted_score(topology, time, similarity, settings),
        topology,
        time,
        similarity,
        topology_basis,
        topology_path,
        title_basis: title_basis(alert.title_similarity_override),
        strategy: Strategy::dominant(topology, time, similarity)
            .as_str()
            .to_owned(),
    }
}
