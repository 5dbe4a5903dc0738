//! The agent's tools (SPEC §6): what the model is told it can call, how a call's arguments are
//! read, and the read-only tools over Aurora's own data. CLI tools (`cloud_exec`, `kubectl`) are
//! only *planned* here; the runner puts them through the [`gate`](aurora_domain::gate) and runs them with
//! [`exec`](crate::exec).

use serde_json::{json, Value};
use uuid::Uuid;

use aurora_domain::gate::Cli;

use super::query;
use super::tool_args::Args;

pub const CLOUD_EXEC: &str = "cloud_exec";
pub const KUBECTL: &str = "kubectl";
pub const INCIDENT_LOOKUP: &str = "incident_lookup";
pub const GET_ALERT_FIELD: &str = "get_alert_field";
pub const RECENT_CHANGES: &str = "recent_changes";
pub const SERVICE_GRAPH: &str = "service_graph";
pub const KNOWLEDGE_BASE_SEARCH: &str = "knowledge_base_search";

/// How a refused command's error begins (the model reads it; an investigation tells a refused
/// step from a failed one by it). Here, not in the run that writes it, so the investigation
/// journal reads it without importing the run.
pub const REFUSED_BY_GATE: &str = "refused by the command gate";

/// The most tool output the model is sent back, in bytes (the whole output is in the event).
pub const MODEL_OUTPUT_CAP: usize = 64 * 1024;

/// The tool definitions sent with a model call: `cloud_exec` for the `offered` clouds (none:
/// no `cloud_exec`), `kubectl` if it is offered, and the reads of Aurora's own data.
pub fn definitions(offered: &[Cli]) -> Vec<Value> {
    let providers: Vec<&str> = Cli::CLOUD
        .iter()
        .filter(|c| offered.contains(c))
        .map(|c| c.binary())
        .collect();
    let mut definitions = Vec::new();
    if !providers.is_empty() {
        definitions.push(function(
            CLOUD_EXEC,
            "Run one read-only (in ask mode) or approved (in agent mode) command of a cloud CLI, without a shell: no pipes, redirections, `;`, `&&` or `$`. The organisation's credentials are provided.",
            json!({
                "type": "object",
                "properties": {
                    "provider": {"type": "string", "enum": providers, "description": "which CLI"},
                    "command": {"type": "string", "description": "the command line, e.g. `gcloud compute instances list --format=json`"}
                },
                "required": ["provider", "command"]
            }),
        ));
    }
    if offered.contains(&Cli::Kubectl) {
        definitions.push(function(
            KUBECTL,
            "Run one kubectl command without a shell, e.g. `kubectl -n shop get pods -o json`, against the organisation's connected cluster.",
            json!({
                "type": "object",
                "properties": {"command": {"type": "string"}},
                "required": ["command"]
            }),
        ));
    }
    definitions.extend([
        function(
            INCIDENT_LOOKUP,
            "Look up incidents of this organisation: one incident in full (with `incident_id`), or a list filtered by status, service or severity.",
            json!({
                "type": "object",
                "properties": {
                    "incident_id": {"type": "string", "description": "an incident's UUID"},
                    "status": {"type": "string", "enum": ["investigating", "analyzed", "resolved", "merged"]},
                    "service": {"type": "string"},
                    "severity": {"type": "string", "enum": ["critical", "high", "medium", "low", "info"]},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 50}
                }
            }),
        ),
        function(
            GET_ALERT_FIELD,
            "Read one field of an alert as its source sent it (dotted path, e.g. `labels.pod` or `alerts.0.annotations.summary`). Without `alert_id`, the alert that opened the incident.",
            json!({
                "type": "object",
                "properties": {
                    "incident_id": {"type": "string"},
                    "field": {"type": "string"},
                    "alert_id": {"type": "string"}
                },
                "required": ["incident_id", "field"]
            }),
        ),
        function(
            KNOWLEDGE_BASE_SEARCH,
            "Search the organisation's runbooks and notes (keyword and meaning): the best passages with their document and heading.",
            json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "what to look for, in words"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 10}
                },
                "required": ["query"]
            }),
        ),
        function(
            RECENT_CHANGES,
            "Deployments, merged pull requests and successful builds reported to Aurora, newest first.",
            json!({
                "type": "object",
                "properties": {
                    "service": {"type": "string"},
                    "hours": {"type": "integer", "minimum": 1, "maximum": 720, "description": "how far back (default 24)"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 100}
                }
            }),
        ),
        function(
            SERVICE_GRAPH,
            "The service graph around a service: what it depends on and what depends on it (to `depth` hops, with how each edge was found), its blast radius (everything that depends on it, with paths), and changes to the services nearby.",
            json!({
                "type": "object",
                "properties": {
                    "service": {"type": "string", "description": "the service's name"},
                    "depth": {"type": "integer", "minimum": 1, "maximum": 3, "description": "how many hops around it (default 2)"},
                    "hours": {"type": "integer", "minimum": 1, "maximum": 720, "description": "how far back changes nearby are listed (default 24)"}
                },
                "required": ["service"]
            }),
        ),
    ]);
    definitions
}

fn function(name: &str, description: &str, parameters: Value) -> Value {
    json!({
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters}
    })
}

/// What a tool call asks for, once its arguments are read.
#[derive(Debug, Clone, PartialEq)]
pub enum Planned {
    /// A CLI command; it goes through the gate before anything runs. `account` names which of
    /// several connected accounts (or clusters) it runs with.
    Command {
        cli: Cli,
        command: String,
        account: Option<String>,
    },
    /// A read of Aurora's own data; nothing to gate.
    Read(ReadTool),
    /// A read-only query of a connected observability account (`account` names which of
    /// several); nothing to gate.
    Query {
        tool: query::QueryTool,
        account: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum ReadTool {
    IncidentLookup {
        incident_id: Option<Uuid>,
        status: Option<String>,
        service: Option<String>,
        severity: Option<String>,
        limit: i64,
    },
    AlertField {
        incident_id: Uuid,
        field: String,
        alert_id: Option<String>,
    },
    RecentChanges {
        service: Option<String>,
        hours: i64,
        limit: i64,
    },
    ServiceGraph {
        service: String,
        depth: i64,
        hours: i64,
    },
    KnowledgeSearch {
        query: String,
        limit: i64,
    },
}

/// The tools besides the query tools ([`query::tool::NAMES`]): the arms of [`plan`].
const NAMES: &[&str] = &[
    CLOUD_EXEC,
    KUBECTL,
    INCIDENT_LOOKUP,
    GET_ALERT_FIELD,
    RECENT_CHANGES,
    SERVICE_GRAPH,
    KNOWLEDGE_BASE_SEARCH,
];

/// `name` as the agent spells it, if it is one of its tools (a metric's label: a name the
/// model made up must not make a series).
pub fn known_name(name: &str) -> Option<&'static str> {
    NAMES
        .iter()
        .chain(query::tool::NAMES)
        .copied()
        .find(|known| *known == name)
}

/// Reads a tool call's name and arguments; the error is what the model is told.
pub fn plan(name: &str, arguments: &str) -> Result<Planned, String> {
    let args = Args::parse(name, arguments)?;
    match name {
        CLOUD_EXEC => {
            let provider = args.required("provider")?;
            let cli = Cli::from_provider(&provider).ok_or_else(|| {
                let known: Vec<&str> = Cli::CLOUD.iter().map(|c| c.binary()).collect();
                format!(
                    "unknown provider {provider:?}: expected one of {}",
                    known.join(", ")
                )
            })?;
            Ok(Planned::Command {
                cli,
                command: args.required("command")?,
                account: args.text("account"),
            })
        }
        KUBECTL => Ok(Planned::Command {
            cli: Cli::Kubectl,
            command: args.required("command")?,
            account: args.text("cluster"),
        }),
        INCIDENT_LOOKUP => Ok(Planned::Read(ReadTool::IncidentLookup {
            incident_id: args.uuid("incident_id")?,
            status: args.text("status"),
            service: args.text("service"),
            severity: args.text("severity"),
            limit: args.number("limit", 20, 50)?,
        })),
        GET_ALERT_FIELD => Ok(Planned::Read(ReadTool::AlertField {
            incident_id: args.required_uuid("incident_id")?,
            field: args.required("field")?,
            alert_id: args.text("alert_id"),
        })),
        RECENT_CHANGES => Ok(Planned::Read(ReadTool::RecentChanges {
            service: args.text("service"),
            hours: args.number("hours", 24, 720)?,
            limit: args.number("limit", 20, 100)?,
        })),
        SERVICE_GRAPH => Ok(Planned::Read(ReadTool::ServiceGraph {
            service: args.required("service")?,
            depth: args.number("depth", 2, 3)?,
            hours: args.number("hours", 24, 720)?,
        })),
        KNOWLEDGE_BASE_SEARCH => Ok(Planned::Read(ReadTool::KnowledgeSearch {
            query: args.required("query")?,
            limit: args.number("limit", 5, 10)?,
        })),
        other => match query::plan(other, &args) {
            Some(planned) => Ok(Planned::Query {
                tool: planned?,
                account: args.text("account"),
            }),
            None => Err(format!("there is no tool {other:?}")),
        },
    }
}

/// At most [`MODEL_OUTPUT_CAP`] bytes of `output` (cut on a character boundary), with a note.
pub fn for_model(output: &str) -> String {
    let kept = crate::exec::char_floor(output, MODEL_OUTPUT_CAP);
    if kept.len() == output.len() {
        return output.to_owned();
    }
    format!(
        "{kept}\n[output cut at {} of {} bytes]",
        kept.len(),
        output.len()
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn every_tool_is_defined_with_a_schema() {
        let names: Vec<String> = definitions(&Cli::ALL)
            .iter()
            .map(|d| d["function"]["name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            names,
            [
                CLOUD_EXEC,
                KUBECTL,
                INCIDENT_LOOKUP,
                GET_ALERT_FIELD,
                KNOWLEDGE_BASE_SEARCH,
                RECENT_CHANGES,
                SERVICE_GRAPH
            ]
        );
        let cloud = &definitions(&Cli::ALL)[0]["function"]["parameters"];
        assert_eq!(
            cloud["properties"]["provider"]["enum"],
            json!(["gcloud", "aws", "az", "scw", "tailscale", "ovh"])
        );
    }

    #[test]
    fn only_the_offered_clis_are_defined() {
        let names = |offered: &[Cli]| -> Vec<String> {
            definitions(offered)
                .iter()
                .map(|d| d["function"]["name"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(
            names(&[]),
            [
                INCIDENT_LOOKUP,
                GET_ALERT_FIELD,
                KNOWLEDGE_BASE_SEARCH,
                RECENT_CHANGES,
                SERVICE_GRAPH
            ]
        );
        assert_eq!(names(&[Cli::Kubectl])[0], KUBECTL);
        let only_aws = definitions(&[Cli::Aws]);
        assert_eq!(
            only_aws[0]["function"]["parameters"]["properties"]["provider"]["enum"],
            json!(["aws"])
        );
        assert_ne!(only_aws[1]["function"]["name"], KUBECTL);
    }

    #[test]
    fn cli_tools_plan_a_gated_command() {
        assert_eq!(
            plan(
                CLOUD_EXEC,
                r#"{"provider":"aws","command":"aws ec2 describe-instances"}"#
            )
            .unwrap(),
            Planned::Command {
                cli: Cli::Aws,
                command: "aws ec2 describe-instances".into(),
                account: None,
            }
        );
        assert_eq!(
            plan(
                KUBECTL,
                r#"{"command":"get pods","cluster":"staging-cluster"}"#
            )
            .unwrap(),
            Planned::Command {
                cli: Cli::Kubectl,
                command: "get pods".into(),
                account: Some("staging-cluster".into()),
            }
        );
    }

    #[test]
    fn bad_arguments_are_explained_to_the_model() {
        let cases = [
            (CLOUD_EXEC, r#"{"provider":"aws"}"#, "needs `command`"),
            (
                CLOUD_EXEC,
                r#"{"provider":"heroku","command":"ps"}"#,
                "unknown provider",
            ),
            (KUBECTL, "not json", "not a JSON object"),
            (
                GET_ALERT_FIELD,
                r#"{"incident_id":"x","field":"a"}"#,
                "not a UUID",
            ),
            (RECENT_CHANGES, r#"{"hours":0}"#, "from 1 to 720"),
            (SERVICE_GRAPH, r#"{"depth":2}"#, "needs `service`"),
            (
                SERVICE_GRAPH,
                r#"{"service":"checkout","depth":4}"#,
                "from 1 to 3",
            ),
            (INCIDENT_LOOKUP, r#"{"limit":"many"}"#, "from 1 to 50"),
            ("rm_rf", "{}", "no tool"),
        ];
        for (name, args, mentions) in cases {
            let error = plan(name, args).unwrap_err();
            assert!(error.contains(mentions), "{name} {args}: {error}");
        }
    }

    #[test]
    fn read_tools_get_their_defaults() {
        assert_eq!(
            plan(RECENT_CHANGES, "").unwrap(),
            Planned::Read(ReadTool::RecentChanges {
                service: None,
                hours: 24,
                limit: 20
            })
        );
        let id = Uuid::from_u128(3);
        assert_eq!(
            plan(INCIDENT_LOOKUP, &format!(r#"{{"incident_id":"{id}"}}"#)).unwrap(),
            Planned::Read(ReadTool::IncidentLookup {
                incident_id: Some(id),
                status: None,
                service: None,
                severity: None,
                limit: 20
            })
        );
    }

    #[test]
    fn a_knowledge_base_search_needs_a_query_and_takes_at_most_ten_hits() {
        assert_eq!(
            plan(
                KNOWLEDGE_BASE_SEARCH,
                r#"{"query":"rotate redis password"}"#
            ),
            Ok(Planned::Read(ReadTool::KnowledgeSearch {
                query: "rotate redis password".into(),
                limit: 5
            }))
        );
        assert!(plan(KNOWLEDGE_BASE_SEARCH, "{}").is_err());
        assert!(plan(KNOWLEDGE_BASE_SEARCH, r#"{"query":"x","limit":11}"#).is_err());
    }

    #[test]
    fn output_for_the_model_is_cut_on_a_character_boundary() {
        let long = "é".repeat(MODEL_OUTPUT_CAP);
        let cut = for_model(&long);
        assert!(cut.len() < long.len());
        assert!(cut.contains("[output cut at"));
        assert_eq!(for_model("short"), "short");
    }
}
