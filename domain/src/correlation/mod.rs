//! Alert correlation: should a new firing alert join an open incident, and which one?
//!
//! A port of upstream Aurora's correlator. The caller loads the tenant's open incidents
//! ([`Candidate`]), its settings ([`CorrelationSettings`]) and its service graph
//! ([`ServiceGraph`]); [`decide`] scores the candidates updated within the window, newest first,
//! and returns a [`Decision`]: correlate with the best one (its score breakdown becomes the
//! [`Correlation`] of the `AttachAlert` command), or open a new incident, with the reason.
//! [`Decision::explain`] says it in one line.
//!
//! The breakdown an incident is given is in `breakdown.rs`, the scoring in `score.rs`, the decision
//! in `decision.rs`, the alert a decision places and where it went in `alert_decision.rs`, the
//! tenant's decision log of those in `log.rs` (read without the candidates in `decisions_read.rs`),
//! and what the log says about fingerprints (for resolves) in `fingerprints.rs`. Nothing here does
//! I/O, and the numbers match upstream's operation for operation; where Aurora differs (topology
//! without a graph, a title similarity per candidate) the item says so.

mod alert_decision;
mod breakdown;
mod decision;
mod decisions_read;
mod fingerprints;
mod graph;
mod log;
mod score;
mod settings;

#[cfg(test)]
mod tests;

pub use alert_decision::{AlertDecision, PendingAlert};
pub use breakdown::{Correlation, PathDirection, TitleBasis, TopologyBasis, TopologyPath};
pub use decision::{decide, decide_with_title_similarity, select_candidates, Decision, OpenReason};
pub use fingerprints::{FingerprintIndex, HOLDERS_PER_FINGERPRINT};
pub use graph::ServiceGraph;
pub use log::{correlator_id, CorrelatorEvent, CorrelatorSnapshot};
pub use score::{
    jaccard, score_candidate, service_similarity, service_tokens, similarity_score, time_score,
    title_similarity, tokenize, topology_match, topology_score, weighted_score, AlertFacts,
    Candidate, ScoredCandidate, Strategy, TopologyMatch, DOWNSTREAM_SCORES, MAX_TOPOLOGY_DEPTH,
    SERVICE_WEIGHT, STOP_WORDS, TITLE_WEIGHT, UPSTREAM_SCORES,
};
pub use settings::{
    CorrelationSettings, SettingsError, MAX_CANDIDATES, MAX_GROUP_SIZE, MAX_WINDOW_SECS,
    WEIGHT_SUM_TOLERANCE,
};
