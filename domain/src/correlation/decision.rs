//! The decision for one alert: attach it to the best open incident, or open a new one and say why.
//!
//! In order, as upstream: disabled → no candidate in the window → best score below the threshold
//! → shadow mode → best incident already full → correlate. The best candidate is the highest
//! weighted score, the newest on a tie. When the best one is full the alert opens a new incident;
//! the runner-up is not tried (upstream neither).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::breakdown::Correlation;
use super::graph::ServiceGraph;
use super::score::{score_candidate, AlertFacts, Candidate, ScoredCandidate};
use super::settings::CorrelationSettings;
use crate::ids::IncidentId;

/// What to do with the alert, with every candidate's scores so the decision can be explained.
/// `considered` is newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Decision {
    /// Attach the alert to this incident.
    Correlate {
        incident_id: IncidentId,
        correlation: Correlation,
        considered: Vec<ScoredCandidate>,
    },
    /// Open a new incident for the alert.
    Open {
        reason: OpenReason,
        considered: Vec<ScoredCandidate>,
    },
}

/// Why the alert opens a new incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum OpenReason {
    /// Correlation is switched off; nothing was scored.
    Disabled,
    /// No open incident was updated within the window.
    NoCandidates,
    BelowThreshold {
        best: ScoredCandidate,
        threshold: f64,
    },
    /// The best candidate already holds `count` correlated alerts, and `max` is the limit.
    GroupFull {
        best: ScoredCandidate,
        count: u32,
        max: u32,
    },
    /// The alert would have been correlated, but shadow mode only reports.
    Shadow {
        would_correlate_with: ScoredCandidate,
    },
}

impl Decision {
    /// The incident to attach the alert to, if any.
    pub fn incident(&self) -> Option<IncidentId> {
        match self {
            Self::Correlate { incident_id, .. } => Some(*incident_id),
            Self::Open { .. } => None,
        }
    }

    /// Every candidate scored, newest first.
    pub fn considered(&self) -> &[ScoredCandidate] {
        match self {
            Self::Correlate { considered, .. } | Self::Open { considered, .. } => considered,
        }
    }

    /// The decision in one line, scores to 2 decimals.
    pub fn explain(&self) -> String {
        match self {
            Self::Correlate {
                incident_id,
                correlation,
                ..
            } => format!(
                "correlated with {incident_id} at score {:.2}: {} ({})",
                correlation.score,
                correlation.breakdown(),
                candidates(correlation.candidates_considered),
            ),
            Self::Open { reason, .. } => match reason {
                OpenReason::Disabled => "opened a new incident: correlation is disabled".to_owned(),
                OpenReason::NoCandidates => "opened a new incident: no open incident updated \
                                             within the correlation window"
                    .to_owned(),
                OpenReason::BelowThreshold { best, threshold } => format!(
                    "opened a new incident: best score {:.2} ({}) below threshold {threshold:.2}",
                    best.score, best.incident_id,
                ),
                OpenReason::GroupFull { best, count, max } => format!(
                    "opened a new incident: the best candidate {} already holds {count} alerts \
                     (at most {max})",
                    best.incident_id,
                ),
                OpenReason::Shadow {
                    would_correlate_with: best,
                } => format!(
                    "shadow mode: would have correlated with {} at score {:.2}",
                    best.incident_id, best.score,
                ),
            },
        }
    }
}

fn candidates(count: u32) -> String {
    if count == 1 {
        "1 candidate".to_owned()
    } else {
        format!("{count} candidates")
    }
}

/// The candidates that are scored: open ones updated no earlier than `window_secs` before the
/// alert (later is fine), newest first, at most `max_candidates`. Candidates updated at the same
/// moment keep the caller's order.
pub fn select_candidates<'c>(
    received_at: DateTime<Utc>,
    candidates: &'c [Candidate],
    settings: &CorrelationSettings,
) -> Vec<&'c Candidate> {
    let cutoff = received_at
        .checked_sub_signed(settings.window())
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let mut selected: Vec<&Candidate> = candidates
        .iter()
        .filter(|candidate| candidate.open && candidate.updated_at >= cutoff)
        .collect();
    selected.sort_by_key(|candidate| std::cmp::Reverse(candidate.updated_at));
    selected.truncate(usize::try_from(settings.max_candidates).unwrap_or(usize::MAX));
    selected
}

/// Decides what to do with a new alert, given the tenant's open incidents, settings and service
/// graph. Pure: the caller loads everything first. Settings are trusted; validate them where they
/// are stored ([`CorrelationSettings::validate`]).
pub fn decide(
    alert: &AlertFacts<'_>,
    candidates: &[Candidate],
    settings: &CorrelationSettings,
    graph: &ServiceGraph,
) -> Decision {
    decide_with_title_similarity(alert, candidates, settings, graph, |_| None)
}

/// [`decide`], with a title similarity per candidate (say, the cosine of the alert's and the
/// incident's title embeddings). Where `title_similarity` gives `None`, the alert's
/// `title_similarity_override` applies, and where that is `None` too, the token Jaccard.
pub fn decide_with_title_similarity(
    alert: &AlertFacts<'_>,
    candidates: &[Candidate],
    settings: &CorrelationSettings,
    graph: &ServiceGraph,
    title_similarity: impl Fn(&Candidate) -> Option<f64>,
) -> Decision {
    let open = |reason, considered| Decision::Open { reason, considered };
    if !settings.enabled {
        return open(OpenReason::Disabled, Vec::new());
    }
    let selected = select_candidates(alert.received_at, candidates, settings);
    let considered: Vec<ScoredCandidate> = selected
        .iter()
        .map(|candidate| {
            let facts = AlertFacts {
                title_similarity_override: title_similarity(candidate)
                    .or(alert.title_similarity_override),
                ..*alert
            };
            score_candidate(&facts, candidate, settings, graph)
        })
        .collect();

    let mut best: Option<(&Candidate, &ScoredCandidate)> = None;
    for (candidate, scored) in selected.iter().zip(&considered) {
        // Strictly higher, so the newest wins a tie.
        let better = match best {
            None => true,
            Some((_, so_far)) => scored.score > so_far.score,
        };
        if better {
            best = Some((candidate, scored));
        }
    }
    let Some((best_candidate, best)) = best else {
        return open(OpenReason::NoCandidates, Vec::new());
    };

    if best.score < settings.threshold {
        let reason = OpenReason::BelowThreshold {
            best: best.clone(),
            threshold: settings.threshold,
        };
        return open(reason, considered);
    }
    if settings.shadow_mode {
        let reason = OpenReason::Shadow {
            would_correlate_with: best.clone(),
        };
        return open(reason, considered);
    }
    let count = best_candidate.correlated_alert_count;
    if count >= settings.max_group_size {
        let reason = OpenReason::GroupFull {
            best: best.clone(),
            count,
            max: settings.max_group_size,
        };
        return open(reason, considered);
    }

    let correlation = Correlation {
        strategy: best.strategy.clone(),
        score: best.score,
        topology: best.topology,
        time: best.time,
        similarity: best.similarity,
        candidates_considered: u32::try_from(considered.len()).unwrap_or(u32::MAX),
        topology_basis: best.topology_basis,
        topology_path: best.topology_path.clone(),
        title_basis: best.title_basis,
    };
    Decision::Correlate {
        incident_id: best.incident_id,
        correlation,
        considered,
    }
}
