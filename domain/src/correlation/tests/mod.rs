//! Correlation, number by number: each score component with hand-computed values, then candidate
//! selection, the decision rules, explanations, settings and serialisation.
//!
//! The topology used throughout: `checkout` depends on `payments`, which depends on `ledger`, then
//! `postgres`, then `disk` (upstream of checkout, 1 to 4 hops); `web` depends on `checkout`, `cdn`
//! on `web`, `dns` on `cdn`, `edge` on `dns` (downstream of checkout, 1 to 4 hops).

#![allow(clippy::unwrap_used)]

mod candidates;
mod decisions;
mod explanations;
mod serialisation;
mod settings;
mod similarity;
mod strategy;
mod time;
mod topology;

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::*;
use crate::ids::IncidentId;

/// `seconds` after a fixed moment (2025-03-01T12:00:00Z); the alert arrives at 0.
fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_740_830_400, 0).unwrap() + TimeDelta::seconds(seconds)
}

fn id(n: u128) -> IncidentId {
    IncidentId(Uuid::from_u128(n))
}

fn alert<'a>(title: &'a str, service: &'a str) -> AlertFacts<'a> {
    AlertFacts {
        title,
        service,
        received_at: at(0),
        title_similarity_override: None,
    }
}

/// Open incident `n` on `service`, last updated `seconds_before` the alert.
fn candidate(n: u128, title: &str, service: &str, seconds_before: i64) -> Candidate {
    Candidate {
        incident_id: id(n),
        title: title.to_owned(),
        service: service.to_owned(),
        affected_services: vec![service.to_owned()],
        updated_at: at(-seconds_before),
        correlated_alert_count: 0,
        open: true,
    }
}

fn topology() -> ServiceGraph {
    [
        ("checkout", "payments"),
        ("payments", "ledger"),
        ("ledger", "postgres"),
        ("postgres", "disk"),
        ("web", "checkout"),
        ("cdn", "web"),
        ("dns", "cdn"),
        ("edge", "dns"),
    ]
    .into_iter()
    .collect()
}

fn no_graph() -> ServiceGraph {
    ServiceGraph::new()
}

fn assert_close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 1e-12,
        "expected {expected}, got {actual}"
    );
}

fn set(words: &[&str]) -> std::collections::BTreeSet<String> {
    words.iter().map(|word| (*word).to_owned()).collect()
}

fn ids(selected: &[&Candidate]) -> Vec<IncidentId> {
    selected.iter().map(|c| c.incident_id).collect()
}

/// Incident 1 on `ledger`, two hops upstream of checkout (topology 0.7), updated `seconds_before`
/// the alert; titles share 2 of 4 tokens and the service names nothing (similarity 0.35).
fn ledger_incident(seconds_before: i64) -> Candidate {
    candidate(1, "ledger writes failing", "ledger", seconds_before)
}

fn ledger_alert() -> AlertFacts<'static> {
    alert("Ledger writes slow", "checkout")
}

fn scored(n: u128, score: f64) -> ScoredCandidate {
    ScoredCandidate {
        incident_id: id(n),
        score,
        topology: 1.0,
        time: 0.42,
        similarity: 0.35,
        topology_basis: TopologyBasis::ServiceGraph,
        topology_path: None,
        title_basis: TitleBasis::WordOverlap,
        strategy: "topology".to_owned(),
    }
}

fn opened(reason: OpenReason) -> Decision {
    Decision::Open {
        reason,
        considered: vec![],
    }
}
