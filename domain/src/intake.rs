//! What a webhook delivery means, once a source has read it: the normalised signals that
//! correlation and the incident aggregate work with, whatever tool sent them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::values::Severity;

/// One thing a delivery says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Signal {
    /// A problem is firing (or firing again).
    Firing(FiringAlert),
    /// The problem with this fingerprint is over.
    Resolved {
        fingerprint: String,
        source_alert_id: String,
        at: DateTime<Utc>,
    },
    /// Someone acknowledged it at the source. Recorded; it changes no incident.
    Acknowledged {
        fingerprint: String,
        source_alert_id: String,
        at: DateTime<Utc>,
    },
    /// Something changed (a deployment, a merged pull request, a successful build): not a
    /// problem, but the first thing an on-call engineer asks about.
    Change(ChangeEvent),
    /// Nothing to do (a test ping, an event kind Aurora does not act on), and why.
    Ignored { reason: String },
}

/// A change to a service: who shipped what, when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeEvent {
    /// The source's id of this change (unique per source and integration).
    pub change_id: String,
    /// `deployment`, `build`, `pull_request`, `workflow_run`, `pipeline`…
    pub kind: String,
    /// The service (repository, application, job) it changed.
    pub service: String,
    pub environment: Option<String>,
    /// Version, tag or commit SHA.
    pub version: Option<String>,
    pub title: String,
    /// Who made it.
    pub author: Option<String>,
    pub at: DateTime<Utc>,
    pub url: Option<String>,
}

/// A firing alert in Aurora's terms (SPEC §1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FiringAlert {
    /// The source's id of this alert (unique per source and integration).
    pub alert_id: String,
    /// "The same problem" across firings; resolves find their incident by it.
    pub fingerprint: String,
    pub title: String,
    /// The service it is about, when the payload says.
    pub service: Option<String>,
    pub environment: Option<String>,
    pub severity: Severity,
    /// When the source says it started firing.
    pub fired_at: DateTime<Utc>,
    pub description: Option<String>,
    /// A link back to the alert in the source tool.
    pub url: Option<String>,
}
