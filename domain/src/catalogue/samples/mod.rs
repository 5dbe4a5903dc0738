//! A value of every event variant, as the domain makes them (optional parts present, so their
//! schemas are checked too), serialised by serde: what the catalogue's schemas must accept.
//! The tests compare the event types here with the catalogue's, so a new variant without a sample
//! fails them.

mod lifecycle;
mod workspace;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::event::DomainEvent;
use crate::incident::{Alert, Correlation, TitleBasis, TopologyBasis};
use crate::values::Severity;

/// `(event type, body)` of every sample.
pub(super) fn all() -> Vec<(&'static str, Value)> {
    [
        bodies(workspace::organization()),
        bodies(lifecycle::incident()),
        bodies(lifecycle::investigation()),
        bodies(lifecycle::postmortem()),
        bodies(workspace::chat()),
        bodies(lifecycle::correlator()),
        bodies(workspace::integration()),
        bodies(workspace::change()),
        bodies(workspace::connector()),
        bodies(workspace::service()),
        bodies(workspace::knowledge()),
    ]
    .concat()
}

fn bodies<E: DomainEvent>(events: Vec<E>) -> Vec<(&'static str, Value)> {
    events
        .into_iter()
        .map(|event| {
            let body = serde_json::to_value(&event).expect("an event serialises");
            (event.event_type(), body)
        })
        .collect()
}

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 4, 18, 30, 0)
        .single()
        .expect("a valid time")
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn alert() -> Alert {
    Alert {
        alert_id: "grafana-1".into(),
        fingerprint: "checkout-latency".into(),
        title: "Checkout latency high".into(),
        service: "checkout".into(),
        severity: Severity::High,
        source: "grafana".into(),
        received_at: at(),
    }
}

fn correlation() -> Correlation {
    Correlation {
        strategy: "topology".into(),
        score: 0.82,
        topology: 1.0,
        time: 0.9,
        similarity: 0.4,
        candidates_considered: 2,
        topology_basis: TopologyBasis::ServiceGraph,
        topology_path: None,
        title_basis: TitleBasis::Embeddings,
    }
}
