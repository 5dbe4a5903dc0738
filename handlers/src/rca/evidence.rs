//! What an investigation starts from, and what it records without a model: the opening alert
//! (long fields cut at [`FIELD_CAP`] characters, whole through `get_alert_field`), the alerts
//! correlated with it, the changes of the hour before, the service's incidents of the last
//! seven days, and its neighbourhood in the service graph (for the brief) — each read through the
//! agent's own read tools.

use aurora_domain::investigation::{Conclusion, InvestigationCommand, StepStatus};
use aurora_domain::{IncidentId, IncidentState, TenantId};
use chrono::{TimeDelta, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{Investigator, RcaError};
use crate::agent::reader::Reader;
use crate::agent::tools::{self, ReadTool};

/// Alert fields longer than this many characters are cut in the brief.
pub const FIELD_CAP: usize = 1000;

/// One read of the evidence: the tool, its input, and what it gave.
pub struct Read {
    pub tool: &'static str,
    pub input: Value,
    pub output: Result<String, String>,
}

/// Everything read before the run begins.
pub struct Evidence {
    pub incident: IncidentId,
    pub alert: Read,
    pub changes: Read,
    pub incidents: Read,
    /// The service's neighbourhood in the service graph (`service_graph`, depth 2).
    pub neighbourhood: Read,
    /// The knowledge base's best passages for the incident's title.
    pub runbooks: Read,
    /// The closest resolved incidents before this one, with their summaries.
    pub similar: Read,
}

/// What the brief calls the read of similar resolved incidents (not a tool of the agent's).
pub const SIMILAR_INCIDENTS: &str = "similar_incidents";
/// Similar resolved incidents the brief shows.
const SIMILAR_SHOWN: usize = 3;

pub(super) async fn gather(
    reader: &Reader,
    tenant: &TenantId,
    incident: IncidentId,
    state: &IncidentState,
) -> Evidence {
    let read = |tool: &'static str, input: Value, planned: ReadTool| async move {
        let output = reader
            .read(tenant, &planned)
            .await
            .map(|out| tools::for_model(&out))
            .map_err(|e| e.to_string());
        Read {
            tool,
            input,
            output,
        }
    };
    let service = (!state.service.is_empty()).then(|| state.service.clone());
    let alert = read(
        tools::GET_ALERT_FIELD,
        json!({"incident_id": incident.0, "field": ""}),
        ReadTool::AlertField {
            incident_id: incident.0,
            field: String::new(),
            alert_id: None,
        },
    )
    .await;
    let changes = read(
        tools::RECENT_CHANGES,
        json!({"hours": 1, "limit": 20}),
        ReadTool::RecentChanges {
            service: None,
            hours: 1,
            limit: 20,
        },
    )
    .await;
    let neighbourhood = read(
        tools::SERVICE_GRAPH,
        json!({"service": service, "depth": 2, "hours": 24}),
        ReadTool::ServiceGraph {
            service: service.clone().unwrap_or_default(),
            depth: 2,
            hours: 24,
        },
    )
    .await;
    let incidents = read(
        tools::INCIDENT_LOOKUP,
        json!({"service": service, "limit": 20}),
        ReadTool::IncidentLookup {
            incident_id: None,
            status: None,
            service,
            severity: None,
            limit: 20,
        },
    )
    .await;
    let runbooks = read(
        tools::KNOWLEDGE_BASE_SEARCH,
        json!({"query": state.title, "limit": 3}),
        ReadTool::KnowledgeSearch {
            query: state.title.clone(),
            limit: 3,
        },
    )
    .await;
    let similar = Read {
        tool: SIMILAR_INCIDENTS,
        input: json!({"resolved": true, "limit": SIMILAR_SHOWN}),
        output: similar_resolved(reader, tenant, incident, state).await,
    };
    Evidence {
        incident,
        runbooks,
        similar,
        alert: Read {
            output: alert.output.map(|out| truncate_fields(&out)),
            ..alert
        },
        changes,
        incidents,
        neighbourhood,
    }
}

/// The closest resolved incidents opened before `incident`, as JSON. The incident is compared as
/// its events leave it: the incidents read model may not hold it yet when its run starts.
async fn similar_resolved(
    reader: &Reader,
    tenant: &TenantId,
    incident: IncidentId,
    state: &IncidentState,
) -> Result<String, String> {
    let embedder = reader.knowledge.as_ref().and_then(|k| k.embedder.as_ref());
    let target = crate::similar::Target::of_state(incident.0, state);
    match crate::similar::similar_to(&reader.pool, embedder, tenant, &target, SIMILAR_SHOWN, true)
        .await
    {
        Ok(found) => serde_json::to_string(&found).map_err(|e| e.to_string()),
        Err(e) => Err(format!("the read model could not be read: {e}")),
    }
}

/// `output` (JSON) with every string longer than [`FIELD_CAP`] characters cut, saying so.
pub fn truncate_fields(output: &str) -> String {
    fn cut(value: &mut Value) {
        match value {
            Value::String(text) if text.chars().count() > FIELD_CAP => {
                let kept: String = text.chars().take(FIELD_CAP).collect();
                *text = format!(
                    "{kept}… (cut at {FIELD_CAP} characters; get_alert_field reads it whole)"
                );
            }
            Value::Array(items) => items.iter_mut().for_each(cut),
            Value::Object(map) => map.values_mut().for_each(cut),
            _ => {}
        }
    }
    match serde_json::from_str::<Value>(output) {
        Ok(mut value) => {
            cut(&mut value);
            value.to_string()
        }
        Err(_) => output.to_owned(),
    }
}

impl Evidence {
    /// The question an investigation's agent is asked.
    pub fn brief(&self, state: &IncidentState) -> String {
        let correlated: Vec<Value> = state
            .alerts
            .iter()
            .skip(1)
            .map(|a| {
                json!({
                    "alert": a.alert,
                    "why": a.correlation.as_ref().map(|c| c.breakdown()),
                })
            })
            .collect();
        format!(
            "Investigate incident {id}: {title:?} on service {service:?} ({environment}), severity {severity}, from {source}.\n\n\
The alert that opened it:\n{alert}\n\n\
Alerts correlated with it ({n}):\n{correlated}\n\n\
Changes reported in the hour before:\n{changes}\n\n\
Other incidents of the service:\n{incidents}\n\n\
The service's neighbourhood in the service graph (what it depends on, what depends on it, changes nearby):\n{neighbourhood}\n\n\
Runbooks of the knowledge base that may apply:\n{runbooks}\n\n\
Resolved incidents most like this one, with what they turned out to be:\n{similar}\n\n\
Find the root cause, record your findings with their citations, suggest next steps, and conclude.",
            id = self.incident,
            title = state.title,
            service = state.service,
            environment = state.environment,
            severity = state.severity,
            source = state.source,
            alert = shown(&self.alert),
            n = correlated.len(),
            correlated = Value::Array(correlated),
            changes = shown(&self.changes),
            incidents = shown(&self.incidents),
            neighbourhood = shown(&self.neighbourhood),
            runbooks = shown(&self.runbooks),
            similar = shown(&self.similar),
        )
    }
}

fn shown(read: &Read) -> String {
    match &read.output {
        Ok(output) => output.clone(),
        Err(e) => format!("(not available: {e})"),
    }
}

/// How many items a read's JSON output lists under `key`.
fn count(read: &Read, key: &str) -> usize {
    read.output
        .as_ref()
        .ok()
        .and_then(|o| serde_json::from_str::<Value>(o).ok())
        .and_then(|v| v.get(key).and_then(Value::as_array).map(Vec::len))
        .unwrap_or(0)
}

impl Investigator {
    /// The run without a model: each read recorded as a tool step, then an INCONCLUSIVE summary
    /// that says why and lists what was found.
    pub(super) async fn without_model(
        &self,
        tenant: &TenantId,
        run: Uuid,
        incident: IncidentId,
        evidence: Evidence,
    ) -> Result<(), RcaError> {
        let state = self.incident(tenant, incident).await?.unwrap_or_default();
        let since = Utc::now() - TimeDelta::days(7);
        for (n, read) in [&evidence.alert, &evidence.changes, &evidence.incidents]
            .into_iter()
            .enumerate()
        {
            let step_id = format!("evidence-{}", n + 1);
            self.on_run(
                tenant,
                run,
                InvestigationCommand::StartToolStep {
                    step_id: step_id.clone(),
                    tool: read.tool.to_owned(),
                    input: read.input.clone(),
                    at: Utc::now(),
                },
            )
            .await?;
            let (status, output) = match &read.output {
                Ok(output) => (StepStatus::Succeeded, output.clone()),
                Err(e) => (StepStatus::Failed, e.clone()),
            };
            self.on_run(
                tenant,
                run,
                InvestigationCommand::FinishToolStep {
                    step_id,
                    status,
                    output,
                    duration_ms: 0,
                    at: Utc::now(),
                },
            )
            .await?;
        }
        let recent_incidents = evidence
            .incidents
            .output
            .as_ref()
            .ok()
            .and_then(|o| serde_json::from_str::<Value>(o).ok())
            .and_then(|v| v.get("incidents").and_then(Value::as_array).cloned())
            .unwrap_or_default()
            .into_iter()
            .filter(|i| i["id"] != json!(incident.0))
            .filter(|i| {
                i["started_at"]
                    .as_str()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .is_some_and(|t| t >= since)
            })
            .count();
        let summary = format!(
            "No model is configured (set LLM_BASE_URL and LLM_MODEL), so Aurora gathered the evidence \
without analysing it. Evidence: {alerts} alert(s) on the incident ({correlated} correlated with the \
first); {changes} change(s) reported in the hour before it opened; {incidents} other incident(s) of \
service {service:?} in the last 7 days. The tool steps of this investigation hold each of them.",
            alerts = state.alerts.len(),
            correlated = state.alerts.len().saturating_sub(1),
            changes = count(&evidence.changes, "changes"),
            incidents = recent_incidents,
            service = state.service,
        );
        self.on_run(
            tenant,
            run,
            InvestigationCommand::Complete {
                conclusion: Conclusion::Inconclusive,
                summary: summary.clone(),
                // Nothing analysed the impact; guessing it from the alert's words is what the
                // upstream's own severity prompt forbids.
                severity: None,
                at: Utc::now(),
            },
        )
        .await?;
        self.on_incident(
            tenant,
            incident,
            aurora_domain::IncidentCommand::ConcludeRca {
                run,
                summary,
                severity: None,
                at: Utc::now(),
            },
        )
        .await?;
        self.buckets().await?.ended(tenant, run).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_fields_are_cut_and_say_how_to_read_them_whole() {
        let long = "x".repeat(FIELD_CAP + 5);
        let out = truncate_fields(&json!({"a": {"b": [long.clone(), "short"]}}).to_string());
        let value: Value = serde_json::from_str(&out).unwrap_or_default();
        let cut = value["a"]["b"][0].as_str().unwrap_or_default();
        assert!(cut.starts_with(&"x".repeat(FIELD_CAP)));
        assert!(!cut.starts_with(&long));
        assert!(cut.contains("get_alert_field"));
        assert_eq!(value["a"]["b"][1], "short");
        assert_eq!(truncate_fields("not json"), "not json");
    }

    #[test]
    fn the_brief_carries_the_services_neighbourhood() {
        let read = |tool: &'static str, output: &str| Read {
            tool,
            input: json!({}),
            output: Ok(output.to_owned()),
        };
        let evidence = Evidence {
            incident: IncidentId(Uuid::from_u128(1)),
            alert: read(tools::GET_ALERT_FIELD, "{}"),
            changes: read(tools::RECENT_CHANGES, "{}"),
            incidents: read(tools::INCIDENT_LOOKUP, "{}"),
            neighbourhood: read(tools::SERVICE_GRAPH, r#"{"blast_radius":[{"key":"web"}]}"#),
            runbooks: read(tools::KNOWLEDGE_BASE_SEARCH, r#"{"hits":[]}"#),
            similar: read(
                SIMILAR_INCIDENTS,
                r#"{"basis":"embedding","items":[{"title":"db pool exhausted","summary":"the 2.3 deploy"}]}"#,
            ),
        };
        let brief = evidence.brief(&IncidentState::default());
        assert!(brief.contains(
            "neighbourhood in the service graph (what it depends on, what depends on it, changes nearby):\n{\"blast_radius\":[{\"key\":\"web\"}]}"
        ), "{brief}");
        assert!(
            brief.contains("Resolved incidents most like this one, with what they turned out to be:\n{\"basis\":\"embedding\",\"items\":[{\"title\":\"db pool exhausted\""),
            "{brief}"
        );
    }
}
