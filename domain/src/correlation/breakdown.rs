//! Why an alert was correlated with an incident: the score breakdown correlation hands the
//! incident (the [`Correlation`] of its `AttachAlert` command and `AlertCorrelated` event), and what
//! each part was measured on. These are correlation's output, so they live here and the incident
//! imports them; the incident re-exports them under `incident::` for callers of that older path.
//! Their serde names are those of events already stored.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why an alert was attached to an incident: the full score breakdown, so every correlation
/// decision can be explained later.
///
/// Scores are ratios in `0.0..=1.0`, not money, so `f64` is right here.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema,
)]
pub struct Correlation {
    /// The strongest component: `topology`, `time_window` or `similarity` (upstream's labels;
    /// events stored before they were adopted say `time`).
    pub strategy: String,
    /// The weighted total the threshold was compared with.
    pub score: f64,
    pub topology: f64,
    pub time: f64,
    pub similarity: f64,
    /// How many open incidents were scored before this one won.
    pub candidates_considered: u32,
    /// What the topology score was measured on. Absent in events stored before it was recorded,
    /// all of which were made without a service graph.
    #[serde(default)]
    pub topology_basis: TopologyBasis,
    /// The service-graph path that gave the topology score (absent for the same service, a
    /// name fallback, and events stored before paths were recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_path: Option<TopologyPath>,
    /// What the title part of `similarity` was measured with. Absent in events stored before it
    /// was recorded, all of which compared words.
    #[serde(default)]
    pub title_basis: TitleBasis,
}

impl Correlation {
    /// The breakdown in words, scores to 2 decimals, saying what topology was measured on and
    /// along which path, and what titles were compared with: `topology 1.00 (checkout →
    /// payments), time 0.42, similarity 0.35 (titles by embeddings)`.
    pub fn breakdown(&self) -> String {
        let path = self
            .topology_path
            .as_ref()
            .map(|p| format!(" ({p})"))
            .unwrap_or_default();
        format!(
            "{} {:.2}{path}, time {:.2}, similarity {:.2} ({})",
            self.topology_basis.label(),
            self.topology,
            self.time,
            self.similarity,
            self.title_basis.label(),
        )
    }
}

/// What two titles were compared with: the cosine of their embeddings (upstream's way), or,
/// when no embedding model is available, the Jaccard of their words (upstream's fallback).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TitleBasis {
    /// Cosine of the titles' all-MiniLM-L6-v2 (or endpoint) embeddings.
    Embeddings,
    /// Jaccard of the titles' words: no embedding model was available, or the dry run compares
    /// with what word overlap alone would decide.
    #[default]
    WordOverlap,
}

impl TitleBasis {
    /// How a breakdown names it.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Embeddings => "titles by embeddings",
            Self::WordOverlap => "titles by word overlap, without embeddings",
        }
    }
}

/// What a topology score was measured on. Until the tenant has a service graph, topology is the
/// similarity of service names (SPEC §2's graph distances need the graph), and every
/// explanation says so rather than claim a topology it did not see.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TopologyBasis {
    /// Distances in the tenant's service graph.
    ServiceGraph,
    /// No service graph yet: service-name similarity stood in for it.
    #[default]
    ServiceNameFallback,
    /// The graph connects neither service to the other within 3 hops: service-name similarity
    /// stood in for it.
    NotConnected,
}

impl TopologyBasis {
    /// How a breakdown names the topology component.
    pub const fn label(self) -> &'static str {
        match self {
            Self::ServiceGraph => "topology",
            Self::ServiceNameFallback => "topology (service-name fallback: no service graph yet)",
            Self::NotConnected => {
                "topology (service-name fallback: not connected in the service graph)"
            }
        }
    }
}

/// How two services are connected: `services` runs from the alert's service to the incident's.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema,
)]
pub struct TopologyPath {
    pub services: Vec<String>,
    /// `upstream`: each service depends on the next (the incident's service is a dependency of
    /// the alert's); `downstream`: each depends on the one before.
    pub direction: PathDirection,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PathDirection {
    Upstream,
    Downstream,
}

impl fmt::Display for TopologyPath {
    /// `checkout → payments → ledger` upstream (→ reads "depends on"), `checkout ← web` downstream.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let arrow = match self.direction {
            PathDirection::Upstream => " → ",
            PathDirection::Downstream => " ← ",
        };
        f.write_str(&self.services.join(arrow))
    }
}
