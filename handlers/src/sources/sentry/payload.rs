//! The shapes Sentry sends, per resource (`issue`, `event_alert`, `metric_alert`); only the
//! fields Aurora reads.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

/// An id Sentry sends as a string (documented) or, in older payloads, as a number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum Id {
    Text(String),
    Number(i64),
}

impl Id {
    pub(super) fn text(&self) -> String {
        match self {
            Id::Text(s) => s.clone(),
            Id::Number(n) => n.to_string(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct Project {
    #[serde(default)]
    pub(super) slug: Option<String>,
    #[serde(default)]
    pub(super) name: Option<String>,
}

// resource `issue`
#[derive(Debug, Deserialize)]
pub(super) struct IssueDelivery {
    pub(super) data: IssueData,
}

#[derive(Debug, Deserialize)]
pub(super) struct IssueData {
    pub(super) issue: Issue,
}

#[derive(Debug, Deserialize)]
pub(super) struct Issue {
    pub(super) id: Id,
    #[serde(default)]
    pub(super) title: Option<String>,
    #[serde(default, rename = "shortId")]
    pub(super) short_id: Option<String>,
    #[serde(default)]
    pub(super) culprit: Option<String>,
    #[serde(default)]
    pub(super) level: Option<String>,
    #[serde(default)]
    pub(super) project: Option<Project>,
    #[serde(default)]
    pub(super) web_url: Option<String>,
    #[serde(default)]
    pub(super) permalink: Option<String>,
    #[serde(default, rename = "firstSeen")]
    pub(super) first_seen: Option<DateTime<Utc>>,
    #[serde(default, rename = "lastSeen")]
    pub(super) last_seen: Option<DateTime<Utc>>,
}

// resource `event_alert`
#[derive(Debug, Deserialize)]
pub(super) struct EventAlertDelivery {
    pub(super) data: EventAlertData,
}

#[derive(Debug, Deserialize)]
pub(super) struct EventAlertData {
    pub(super) event: Event,
    #[serde(default)]
    pub(super) triggered_rule: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Event {
    pub(super) issue_id: Id,
    #[serde(default)]
    pub(super) event_id: Option<String>,
    #[serde(default)]
    pub(super) title: Option<String>,
    #[serde(default)]
    pub(super) message: Option<String>,
    #[serde(default)]
    pub(super) culprit: Option<String>,
    #[serde(default)]
    pub(super) level: Option<String>,
    #[serde(default)]
    pub(super) environment: Option<String>,
    /// `[["key", "value"], …]` (or `{key, value}` objects in some serialisations).
    #[serde(default)]
    pub(super) tags: Option<Vec<Value>>,
    #[serde(default)]
    pub(super) datetime: Option<DateTime<Utc>>,
    /// The event's API URL: `…/api/0/projects/<org>/<project>/events/<id>/`.
    #[serde(default)]
    pub(super) url: Option<String>,
    #[serde(default)]
    pub(super) web_url: Option<String>,
}

// resource `metric_alert`
#[derive(Debug, Deserialize)]
pub(super) struct MetricAlertDelivery {
    pub(super) data: MetricAlertData,
}

#[derive(Debug, Deserialize)]
pub(super) struct MetricAlertData {
    pub(super) metric_alert: MetricAlert,
    #[serde(default)]
    pub(super) description_title: Option<String>,
    #[serde(default)]
    pub(super) description_text: Option<String>,
    #[serde(default)]
    pub(super) web_url: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct MetricAlert {
    /// The Sentry incident the alert rule opened.
    pub(super) id: Id,
    #[serde(default)]
    pub(super) title: Option<String>,
    #[serde(default)]
    pub(super) projects: Option<Vec<String>>,
    #[serde(default)]
    pub(super) date_started: Option<DateTime<Utc>>,
    #[serde(default)]
    pub(super) date_closed: Option<DateTime<Utc>>,
    #[serde(default)]
    pub(super) alert_rule: Option<AlertRule>,
}

#[derive(Debug, Deserialize)]
pub(super) struct AlertRule {
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) environment: Option<String>,
    #[serde(default)]
    pub(super) projects: Option<Vec<String>>,
}
