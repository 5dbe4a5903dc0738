//! What a run offers the model, and the refusal of anything else: the CLIs and query tools of the
//! tenant's connected accounts, narrowed to the query's preferred providers. The offer is what
//! the model is told it may use; a model that calls another tool anyway (models do) is told it
//! was not offered, and nothing runs.

use std::collections::BTreeMap;

use aurora_domain::connector::ConnectorKind;
use aurora_domain::gate::Cli;
use serde_json::{json, Value};

use crate::agent::query::QueryError;
use crate::agent::tools::{self, Planned};
use crate::connectors::cli_env::{self, CliRefusal};
use crate::connectors::{account_argument, AccountName};

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
    /// The names of the accounts of each kind, oldest first.
    names: BTreeMap<ConnectorKind, Vec<String>>,
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
            names: BTreeMap::new(),
        }
    }

    /// The offer of a tenant with `accounts` (oldest first): a tool of a kind with several
    /// accounts takes the argument naming one (`account`, kubectl's `cluster`), their names
    /// listed in its schema.
    pub(super) fn of_accounts(accounts: &[AccountName], preference: &[String]) -> Self {
        let mut names: BTreeMap<ConnectorKind, Vec<String>> = BTreeMap::new();
        for account in accounts {
            names
                .entry(account.kind)
                .or_default()
                .push(account.name.clone());
        }
        let mut kinds: Vec<ConnectorKind> = names.keys().copied().collect();
        kinds.sort_unstable_by_key(|k| k.as_str());
        Self {
            names,
            ..Self::new(kinds, preference)
        }
    }

    /// The kinds with several accounts and their names.
    fn several(&self, kind: ConnectorKind) -> Option<&[String]> {
        self.names
            .get(&kind)
            .filter(|names| names.len() > 1)
            .map(Vec::as_slice)
    }

    /// The definitions of the offered CLIs and query tools, as the model is given them.
    pub(super) fn definitions(&self) -> Vec<Value> {
        let mut definitions = tools::definitions(&self.clis);
        // A tool of a kind with several accounts takes the argument naming one.
        let clouds: Vec<String> = self
            .clis
            .iter()
            .filter(|cli| **cli != Cli::Kubectl)
            .filter_map(|cli| {
                self.several(cli_env::kind_of(*cli))
                    .map(|names| format!("{}: {}", cli.binary(), names.join(", ")))
            })
            .collect();
        for definition in &mut definitions {
            match definition["function"]["name"].as_str() {
                Some(tools::CLOUD_EXEC) if !clouds.is_empty() => with_argument(
                    definition,
                    "account",
                    json!({"type": "string", "description": format!("which account of the provider, where several are connected ({}); required there", clouds.join("; "))}),
                ),
                Some(tools::KUBECTL) => {
                    if let Some(names) = self.several(ConnectorKind::Kubernetes) {
                        with_argument(
                            definition,
                            account_argument(ConnectorKind::Kubernetes),
                            json!({"type": "string", "enum": names, "description": "which connected cluster"}),
                        );
                    }
                }
                _ => {}
            }
        }
        definitions.extend(crate::agent::query::definitions(&self.queries));
        for kind in &self.queries {
            let Some(names) = self.several(*kind) else {
                continue;
            };
            let tools: Vec<Value> = crate::agent::query::definitions(&[*kind])
                .iter()
                .map(|d| d["function"]["name"].clone())
                .collect();
            for definition in &mut definitions {
                if tools.contains(&definition["function"]["name"]) {
                    with_argument(
                        definition,
                        account_argument(*kind),
                        json!({"type": "string", "enum": names, "description": format!("which connected {} account", kind.title())}),
                    );
                }
            }
        }
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
            Planned::Query { tool: query, .. } => {
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

/// Adds the optional argument `name` to a tool definition's parameters.
fn with_argument(definition: &mut Value, name: &str, schema: Value) {
    if let Some(properties) = definition["function"]["parameters"]["properties"].as_object_mut() {
        properties.insert(name.to_owned(), schema);
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

    #[test]
    fn a_kind_with_several_accounts_takes_their_name_and_one_with_one_does_not() {
        let account = |kind, name: &str| AccountName {
            id: uuid::Uuid::new_v4(),
            kind,
            name: name.to_owned(),
        };
        let offer = Offer::of_accounts(
            &[
                account(ConnectorKind::Datadog, "US1"),
                account(
                    ConnectorKind::Gcp,
                    "aurora@shop-prod.iam.gserviceaccount.com",
                ),
                account(ConnectorKind::Datadog, "EU"),
            ],
            &[],
        );
        let definitions = offer.definitions();
        let properties = |name: &str| {
            definitions
                .iter()
                .find(|d| d["function"]["name"] == name)
                .map(|d| d["function"]["parameters"]["properties"].clone())
                .expect("offered")
        };
        assert_eq!(
            properties("datadog_logs")["account"]["enum"],
            json!(["US1", "EU"])
        );
        assert_eq!(
            properties("datadog_metrics")["account"]["enum"],
            json!(["US1", "EU"])
        );
        assert!(properties("cloud_exec").get("account").is_none());
        let names: Vec<&str> = definitions
            .iter()
            .filter_map(|d| d["function"]["name"].as_str())
            .collect();
        assert_eq!(
            names.iter().filter(|n| **n == "datadog_logs").count(),
            1,
            "each tool once: {names:?}"
        );
    }
}
