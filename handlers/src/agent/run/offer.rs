//! What a run offers the model, and the refusal of anything else: the CLIs and query tools of the
//! tenant's connected accounts, narrowed to the query's preferred providers. The offer is what
//! the model is told it may use; a model that calls another tool anyway (models do) is told it
//! was not offered, and nothing runs.

use aurora_domain::connector::ConnectorKind;
use aurora_domain::gate::Cli;
use serde_json::Value;

use crate::agent::query::QueryError;
use crate::agent::tools::{self, Planned};
use crate::connectors::cli_env::{self, CliRefusal};

/// A call of a connected account's tool the query's provider preference left out.
#[derive(Debug, thiserror::Error)]
#[error("{tool} for {} was not offered to this run: the question asked for {}", .kind.title(), .preference.join(", "))]
pub(super) struct NotOffered {
    tool: String,
    kind: ConnectorKind,
    preference: Vec<String>,
}

/// What one run offers.
pub(super) struct Offer {
    connected: Vec<ConnectorKind>,
    clis: Vec<Cli>,
    queries: Vec<ConnectorKind>,
    preference: Vec<String>,
}

impl Offer {
    /// The offer of a tenant with `connected` accounts to a query preferring `preference`
    /// (empty: every connected one). Kubernetes is offered whatever the preference: clusters
    /// run on every cloud.
    pub(super) fn new(connected: Vec<ConnectorKind>, preference: &[String]) -> Self {
        let preferred = |kind: ConnectorKind| {
            preference.is_empty() || preference.iter().any(|p| kind.answers_to(p))
        };
        let clis = Cli::ALL
            .into_iter()
            .filter(|cli| connected.contains(&cli_env::kind_of(*cli)))
            .filter(|cli| *cli == Cli::Kubectl || preferred(cli_env::kind_of(*cli)))
            .collect();
        let queries = connected
            .iter()
            .copied()
            .filter(|k| preferred(*k))
            .collect();
        Self {
            connected,
            clis,
            queries,
            preference: preference.to_vec(),
        }
    }

    /// The definitions of the offered CLIs and query tools, as the model is given them.
    pub(super) fn definitions(&self) -> Vec<Value> {
        let mut definitions = tools::definitions(&self.clis);
        definitions.extend(crate::agent::query::definitions(&self.queries));
        definitions
    }

    /// Why the call `tool`, planned as `planned`, must not run (what the model is told), if it
    /// must not: its account is not connected, or the preference left it out.
    pub(super) fn refusal(&self, tool: &str, planned: &Planned) -> Option<String> {
        let (kind, offered, not_connected) = match planned {
            Planned::Read(_) => return None,
            Planned::Command { cli, .. } => {
                let kind = cli_env::kind_of(*cli);
                (
                    kind,
                    self.clis.contains(cli),
                    CliRefusal::NotConnected(kind).to_string(),
                )
            }
            Planned::Query(query) => {
                let kind = query.kind();
                (
                    kind,
                    self.queries.contains(&kind),
                    QueryError::NotConnected(kind).to_string(),
                )
            }
        };
        if offered {
            None
        } else if !self.connected.contains(&kind) {
            Some(not_connected)
        } else {
            Some(
                NotOffered {
                    tool: tool.to_owned(),
                    kind,
                    preference: self.preference.clone(),
                }
                .to_string(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(name: &str, arguments: Value) -> Planned {
        tools::plan(name, &arguments.to_string()).expect("a valid call")
    }

    #[test]
    fn a_preference_narrows_the_offer_and_refuses_what_it_left_out() {
        let offer = Offer::new(
            vec![
                ConnectorKind::Gcp,
                ConnectorKind::Aws,
                ConnectorKind::Kubernetes,
                ConnectorKind::Datadog,
            ],
            &["gcp".to_owned()],
        );
        let gcloud = planned(
            "cloud_exec",
            serde_json::json!({"provider": "gcloud", "command": "gcloud projects list"}),
        );
        assert_eq!(offer.refusal("cloud_exec", &gcloud), None);
        let kubectl = planned("kubectl", serde_json::json!({"command": "get pods"}));
        assert_eq!(
            offer.refusal("kubectl", &kubectl),
            None,
            "clusters run anywhere"
        );
        let aws = planned(
            "cloud_exec",
            serde_json::json!({"provider": "aws", "command": "aws s3 ls"}),
        );
        assert_eq!(
            offer.refusal("cloud_exec", &aws).as_deref(),
            Some("cloud_exec for AWS was not offered to this run: the question asked for gcp")
        );
        let logs = planned(
            "datadog_logs",
            serde_json::json!({"query": "service:checkout", "since_minutes": 30}),
        );
        assert_eq!(
            offer.refusal("datadog_logs", &logs).as_deref(),
            Some(
                "datadog_logs for Datadog was not offered to this run: the question asked for gcp"
            )
        );
        let names: Vec<String> = offer
            .definitions()
            .iter()
            .filter_map(|d| d["function"]["name"].as_str().map(str::to_owned))
            .collect();
        assert!(names.contains(&"cloud_exec".to_owned()), "{names:?}");
        assert!(!names.iter().any(|n| n.starts_with("datadog")), "{names:?}");
    }

    #[test]
    fn what_is_not_connected_is_refused_as_not_connected_whatever_the_preference() {
        let offer = Offer::new(vec![ConnectorKind::Datadog], &[]);
        let aws = planned(
            "cloud_exec",
            serde_json::json!({"provider": "aws", "command": "aws s3 ls"}),
        );
        assert_eq!(
            offer.refusal("cloud_exec", &aws).as_deref(),
            Some("AWS is not connected: an admin connects it under Connectors first")
        );
        let sentry = planned(
            "sentry_issues",
            serde_json::json!({"query": "is:unresolved"}),
        );
        assert_eq!(
            offer.refusal("sentry_issues", &sentry).as_deref(),
            Some("Sentry is not connected for this organisation")
        );
        let logs = planned(
            "datadog_logs",
            serde_json::json!({"query": "service:checkout", "since_minutes": 30}),
        );
        assert_eq!(offer.refusal("datadog_logs", &logs), None);
    }
}
