//! An incident's investigation (root-cause analysis) as `GET /api/incidents/{id}` shows it: built
//! from the read model (now) or from the investigation's events folded up to a time (`?at=`),
//! the same shape either way.

use aurora_domain::incident::{Alert, Feedback, IncidentState};
use aurora_domain::investigation::{
    Finding, InvestigationState, Resume, Suggestion, ToolStep, Trigger,
};
use aurora_projections::investigations::{column_time, kind, trigger_kind};
use aurora_projections::queries::{InvestigationItem, InvestigationRow};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

/// The incident's current investigation: its latest run.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RcaView {
    pub run_id: Uuid,
    /// The incident's n-th run (1: the one its opening started).
    pub episode: u32,
    /// `opened` (the incident's opening asked for it) or `manual`; null until the run's own
    /// first event is stored.
    pub trigger: Option<String>,
    pub requested_by: Option<String>,
    /// requested, queued, running, completed, failed or cancelled
    pub status: String,
    /// confirmed, likely or inconclusive: what the evidence supports.
    pub conclusion: Option<String>,
    /// What the agent claimed, when the evidence did not support it.
    pub asked_conclusion: Option<String>,
    pub summary: Option<String>,
    /// Why it failed or was cancelled.
    pub reason: Option<String>,
    /// The model that ran it; null without one (the deterministic evidence pass).
    pub model: Option<String>,
    /// The background chat session the agent ran in.
    pub session_id: Option<Uuid>,
    pub requested_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// When the run last recorded anything.
    pub last_progress_at: Option<DateTime<Utc>>,
    /// From start to end, once it ended.
    pub duration_ms: Option<i64>,
    pub usage: RcaUsage,
    /// The agent's reasoning, one sentence each.
    pub thoughts: Vec<String>,
    pub tool_steps: Vec<RcaToolStep>,
    pub findings: Vec<RcaFinding>,
    pub suggestions: Vec<RcaSuggestion>,
    /// Correlated alerts that arrived during the run and were handed to the agent.
    pub context_alerts: Vec<RcaContextAlert>,
    /// How many times the run was continued after its worker stopped.
    pub resume_count: u32,
    /// Each continuation, in order: which worker took the run over, the how-manieth.
    pub resumes: Vec<RcaResume>,
    /// The feedback given on this run (one per person, their latest).
    pub feedback: Vec<Feedback>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RcaResume {
    pub worker: String,
    pub attempt: u32,
    pub at: DateTime<Utc>,
}

/// The model calls of a run and what they cost.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct RcaUsage {
    pub model_calls: u32,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// In micro-dollars.
    pub cost_micros: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RcaToolStep {
    pub step_id: String,
    pub tool: String,
    /// The tool's arguments, as the agent gave them (free-form: each tool has its own).
    #[schema(value_type = Object)]
    pub input: Value,
    /// running, succeeded, failed or refused (by the command gate)
    pub status: String,
    /// Redacted and capped; null while running.
    pub output: Option<String>,
    pub duration_ms: Option<u64>,
    pub started_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RcaFinding {
    pub finding_id: u32,
    pub text: String,
    /// The tool steps whose output shows it.
    pub citations: Vec<RcaCitation>,
}

/// A tool step a finding cites.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RcaCitation {
    pub step_id: String,
    /// The cited step's tool and status (null if the run holds no such step).
    pub tool: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RcaSuggestion {
    pub suggestion_id: u32,
    /// diagnostic, mitigation, remediate, prevent or fix
    pub kind: String,
    /// safe, low, medium or high
    pub risk: String,
    pub title: String,
    /// The command or diff that carries it out.
    pub action: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RcaContextAlert {
    pub alert_id: String,
    pub title: String,
    pub service: String,
    pub severity: String,
    pub source: String,
    pub received_at: DateTime<Utc>,
}

/// What a run produced, as the domain holds it.
#[derive(Default)]
struct Produced {
    thoughts: Vec<String>,
    tool_steps: Vec<ToolStep>,
    findings: Vec<Finding>,
    suggestions: Vec<Suggestion>,
    context: Vec<Alert>,
    resumes: Vec<Resume>,
}

/// A thought as `investigation_items` holds it.
#[derive(Deserialize)]
struct Thought {
    text: String,
}

impl RcaView {
    /// Run `run` as these events left it (`s`); `episode` names it while `s` is still empty (the
    /// incident asked for it, the run has stored nothing yet). Its own times are cut to the read
    /// model's precision, so both sources show the same.
    pub fn from_state(run: Uuid, episode: u32, s: &InvestigationState) -> Self {
        let requested_by = match &s.trigger {
            Some(Trigger::Manual { by }) => Some(by.clone()),
            Some(Trigger::Opened) | None => None,
        };
        let produced = Produced {
            thoughts: s.thoughts.clone(),
            tool_steps: s.tool_steps.clone(),
            findings: s.findings.clone(),
            suggestions: s.suggestions.clone(),
            context: s.context.clone(),
            resumes: s.resumed.clone(),
        };
        let mut view = Self {
            run_id: run,
            episode: if s.incident.is_some() {
                s.episode
            } else {
                episode
            },
            trigger: s.trigger.as_ref().map(|t| trigger_kind(t).to_owned()),
            requested_by,
            status: s.status.as_str().to_owned(),
            conclusion: s.conclusion.map(|c| c.as_str().to_owned()),
            asked_conclusion: s.asked_conclusion.map(|c| c.as_str().to_owned()),
            summary: s.summary.clone(),
            reason: s.reason.clone(),
            model: s.model.clone(),
            session_id: s.session,
            requested_at: s.requested_at.map(column_time),
            started_at: s.started_at.map(column_time),
            ended_at: s.ended_at.map(column_time),
            last_progress_at: s.last_progress_at.map(column_time),
            duration_ms: None,
            usage: RcaUsage {
                model_calls: s.usage.model_calls,
                input_tokens: s.usage.input_tokens,
                output_tokens: s.usage.output_tokens,
                cost_micros: s.usage.cost_micros,
            },
            thoughts: Vec::new(),
            tool_steps: Vec::new(),
            findings: Vec::new(),
            suggestions: Vec::new(),
            context_alerts: Vec::new(),
            resume_count: 0,
            resumes: Vec::new(),
            feedback: Vec::new(),
        };
        view.fill(produced);
        view
    }

    /// The run as the read model holds it: its row and its items in the order they were added.
    pub fn from_read_model(
        row: InvestigationRow,
        items: Vec<InvestigationItem>,
    ) -> Result<Self, serde_json::Error> {
        let mut produced = Produced::default();
        for item in items {
            match item.kind.as_str() {
                kind::THOUGHT => produced
                    .thoughts
                    .push(serde_json::from_value::<Thought>(item.data)?.text),
                kind::TOOL_STEP => produced.tool_steps.push(serde_json::from_value(item.data)?),
                kind::FINDING => produced.findings.push(serde_json::from_value(item.data)?),
                kind::SUGGESTION => produced
                    .suggestions
                    .push(serde_json::from_value(item.data)?),
                kind::CONTEXT => produced.context.push(serde_json::from_value(item.data)?),
                kind::RESUME => produced.resumes.push(serde_json::from_value(item.data)?),
                other => {
                    tracing::warn!(kind = other, run = %row.id, "an investigation item of an unknown kind")
                }
            }
        }
        let mut view = Self {
            run_id: row.id,
            episode: u32::try_from(row.episode).unwrap_or_default(),
            trigger: Some(row.trigger),
            requested_by: row.requested_by,
            status: row.status,
            conclusion: row.conclusion,
            asked_conclusion: row.asked_conclusion,
            summary: row.summary,
            reason: row.reason,
            model: row.model,
            session_id: row.session_id,
            requested_at: Some(row.requested_at),
            started_at: row.started_at,
            ended_at: row.ended_at,
            last_progress_at: Some(row.last_progress_at),
            duration_ms: None,
            usage: RcaUsage {
                model_calls: u32::try_from(row.model_calls).unwrap_or_default(),
                input_tokens: u64::try_from(row.input_tokens).unwrap_or_default(),
                output_tokens: u64::try_from(row.output_tokens).unwrap_or_default(),
                cost_micros: row.cost_micros,
            },
            thoughts: Vec::new(),
            tool_steps: Vec::new(),
            findings: Vec::new(),
            suggestions: Vec::new(),
            context_alerts: Vec::new(),
            resume_count: 0,
            resumes: Vec::new(),
            feedback: Vec::new(),
        };
        view.fill(produced);
        Ok(view)
    }

    /// The lists and what is derived from the scalars, the same for both sources.
    fn fill(&mut self, p: Produced) {
        self.duration_ms = match (self.started_at, self.ended_at) {
            (Some(start), Some(end)) => Some((end - start).num_milliseconds().max(0)),
            _ => None,
        };
        self.findings = p
            .findings
            .into_iter()
            .map(|f| RcaFinding {
                finding_id: f.finding_id,
                citations: f
                    .citations
                    .into_iter()
                    .map(|step_id| {
                        let step = p.tool_steps.iter().find(|s| s.step_id == step_id);
                        RcaCitation {
                            tool: step.map(|s| s.tool.clone()),
                            status: step.map(step_status),
                            step_id,
                        }
                    })
                    .collect(),
                text: f.text,
            })
            .collect();
        self.tool_steps = p
            .tool_steps
            .into_iter()
            .map(|s| RcaToolStep {
                status: step_status(&s),
                step_id: s.step_id,
                tool: s.tool,
                input: s.input,
                output: s.output,
                duration_ms: s.duration_ms,
                started_at: s.started_at,
            })
            .collect();
        self.suggestions = p
            .suggestions
            .into_iter()
            .map(|s| RcaSuggestion {
                suggestion_id: s.suggestion_id,
                kind: s.kind.as_str().to_owned(),
                risk: s.risk.as_str().to_owned(),
                title: s.title,
                action: s.action,
            })
            .collect();
        self.context_alerts = p
            .context
            .into_iter()
            .map(|a| RcaContextAlert {
                alert_id: a.alert_id,
                title: a.title,
                service: a.service,
                severity: a.severity.as_str().to_owned(),
                source: a.source,
                received_at: a.received_at,
            })
            .collect();
        self.thoughts = p.thoughts;
        self.resume_count = u32::try_from(p.resumes.len()).unwrap_or(u32::MAX);
        self.resumes = p
            .resumes
            .into_iter()
            .map(|r| RcaResume {
                worker: r.worker,
                attempt: r.attempt,
                at: column_time(r.at),
            })
            .collect();
    }

    /// The feedback `incident` holds on this run.
    pub fn rated(mut self, incident: &IncidentState) -> Self {
        self.feedback = incident
            .feedback
            .iter()
            .filter(|f| f.run == Some(self.run_id))
            .cloned()
            .collect();
        self
    }
}

fn step_status(step: &ToolStep) -> String {
    step.status.map_or("running", |s| s.as_str()).to_owned()
}
