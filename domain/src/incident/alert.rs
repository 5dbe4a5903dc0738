//! Alerts as an incident holds them, with why one was correlated (a
//! [`crate::correlation::Correlation`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::correlation::Correlation;
use crate::values::Severity;

/// One normalised alert (built by a webhook source from its own payload).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Alert {
    /// The source's own id of this alert. Attaching is idempotent on it, so a redelivered webhook
    /// never counts twice; sources whose ids are not unique on their own prefix them.
    pub alert_id: String,
    /// Identifies "the same problem" across firings; a resolve notification finds its incident by it.
    pub fingerprint: String,
    pub title: String,
    pub service: String,
    pub severity: Severity,
    /// The integration kind, e.g. `grafana`, `pagerduty`.
    pub source: String,
    pub received_at: DateTime<Utc>,
}

/// An alert attached to an incident. The alert that opened the incident, and alerts moved in by a
/// merge, have no correlation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttachedAlert {
    pub alert: Alert,
    pub correlation: Option<Correlation>,
}

/// A "this alert is resolved" notice from a source, attached to the incident holding its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolveNotification {
    pub fingerprint: String,
    pub source_alert_id: String,
    pub at: DateTime<Utc>,
}
