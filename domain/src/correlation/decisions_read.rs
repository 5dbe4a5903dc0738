//! The decisions of a stored decision-log event, read the cheap way, for readers that want what
//! was decided and not why each candidate lost: the deliveries projector and the graph's
//! `graph-alerts` consumer read every event of the log. The snapshot beside the decisions and
//! each decision's `considered` candidates (up to `max_candidates` scores each) are the bulk of
//! an event; they are skipped unread, and `Decision`'s internally tagged form (which serde
//! buffers whole before choosing a variant) is read as a plain struct instead.

use serde::Deserialize;

use super::alert_decision::{AlertDecision, PendingAlert};
use super::breakdown::Correlation;
use super::decision::{Decision, OpenReason};
use crate::ids::IncidentId;

/// The decisions `body` (a stored decision-log event of any version so far) holds, each without
/// its `considered` candidates; none for a settings change.
pub(super) fn decisions_without_candidates(
    body: &[u8],
) -> Result<Vec<AlertDecision>, serde_json::Error> {
    #[derive(Deserialize)]
    struct Decisions {
        #[serde(default)]
        decisions: Vec<Read>,
    }
    let read = serde_json::from_slice::<Decisions>(body)?.decisions;
    Ok(read
        .into_iter()
        .map(|r| AlertDecision {
            alert: r.alert,
            incident_id: r.incident_id,
            decision: r.decision.0,
        })
        .collect())
}

#[derive(Deserialize)]
struct Read {
    alert: PendingAlert,
    incident_id: IncidentId,
    decision: Outcome,
}

/// A [`Decision`] with `considered` left empty.
#[derive(Deserialize)]
#[serde(try_from = "Fields")]
struct Outcome(Decision);

/// Every field either variant of a stored [`Decision`] has but `considered`.
#[derive(Deserialize)]
struct Fields {
    outcome: Tag,
    incident_id: Option<IncidentId>,
    correlation: Option<Correlation>,
    reason: Option<OpenReason>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Tag {
    Correlate,
    Open,
}

impl TryFrom<Fields> for Outcome {
    type Error = &'static str;

    fn try_from(f: Fields) -> Result<Self, Self::Error> {
        Ok(Self(
            match (f.outcome, f.incident_id, f.correlation, f.reason) {
                (Tag::Correlate, Some(incident_id), Some(correlation), _) => Decision::Correlate {
                    incident_id,
                    correlation,
                    considered: Vec::new(),
                },
                (Tag::Correlate, ..) => return Err("a correlation without its incident or scores"),
                (Tag::Open, _, _, Some(reason)) => Decision::Open {
                    reason,
                    considered: Vec::new(),
                },
                (Tag::Open, ..) => return Err("an opening without its reason"),
            },
        ))
    }
}
