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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// Where in Kubernetes it fires, when its labels or tags say.
    #[serde(default)]
    pub placement: Placement,
}

/// The service an alert names when neither it nor its integration names one.
pub const UNKNOWN_SERVICE: &str = "unknown";

/// Where in Kubernetes an alert fires: its cluster, namespace and pod labels (SPEC §8: alert
/// labels add nodes to the service graph, so a tenant without a connector still has one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Placement {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
}

/// The labels (Prometheus, OpenTelemetry) and tags (Datadog) that say each part, first found wins.
const CLUSTER_LABELS: [&str; 5] = [
    "cluster",
    "cluster_name",
    "kube_cluster_name",
    "k8s_cluster_name",
    "k8s.cluster.name",
];
const NAMESPACE_LABELS: [&str; 5] = [
    "namespace",
    "kubernetes_namespace",
    "kube_namespace",
    "k8s_namespace_name",
    "k8s.namespace.name",
];
const POD_LABELS: [&str; 5] = [
    "pod",
    "pod_name",
    "kubernetes_pod_name",
    "k8s_pod_name",
    "k8s.pod.name",
];

/// The longest part kept (a label is not a document).
const MAX_PART_CHARS: usize = 253;

impl Placement {
    /// The placement `label` (a label's or a `key:value` tag's value by name) says.
    pub fn from_labels<S: AsRef<str>>(label: impl Fn(&str) -> Option<S>) -> Self {
        let first = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| label(n))
                .map(|v| v.as_ref().trim().to_owned())
                .filter(|v| !v.is_empty() && v.len() <= MAX_PART_CHARS)
        };
        Self {
            cluster: first(&CLUSTER_LABELS),
            namespace: first(&NAMESPACE_LABELS),
            pod: first(&POD_LABELS),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.cluster.is_none() && self.namespace.is_none() && self.pod.is_none()
    }
}
