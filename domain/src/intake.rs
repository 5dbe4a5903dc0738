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
    /// Nothing to do (a test ping, an event kind Aurora does not act on), and why.
    Ignored { reason: String },
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
