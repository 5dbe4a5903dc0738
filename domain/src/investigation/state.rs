//! An investigation as its events made it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::event::InvestigationEvent;
use super::values::{Conclusion, InvestigationStatus, Risk, StepStatus, SuggestionKind, Trigger};
use crate::ids::IncidentId;
use crate::incident::Alert;
use crate::usage::ModelUsage;
use crate::values::Severity;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InvestigationState {
    /// `None` until requested; every other field is meaningless until then.
    pub incident: Option<IncidentId>,
    pub episode: u32,
    pub trigger: Option<Trigger>,
    pub status: InvestigationStatus,
    pub requested_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// The background chat session the agent runs in.
    pub session: Option<Uuid>,
    pub model: Option<String>,
    pub worker: Option<String>,
    /// How many times the run was continued after its worker stopped.
    #[serde(default)]
    pub resumes: u32,
    /// Each continuation, in order (states stored before they were kept have none).
    #[serde(default)]
    pub resumed: Vec<Resume>,
    /// When the run last recorded anything: the sweep's measure of liveness.
    pub last_progress_at: Option<DateTime<Utc>>,
    pub context: Vec<Alert>,
    /// Runs whose thoughts and findings were carried into this one.
    pub carried_from: Vec<Uuid>,
    pub thoughts: Vec<String>,
    pub tool_steps: Vec<ToolStep>,
    pub findings: Vec<Finding>,
    pub suggestions: Vec<Suggestion>,
    pub usage: Usage,
    pub conclusion: Option<Conclusion>,
    /// What the agent claimed when the evidence did not support it.
    pub asked_conclusion: Option<Conclusion>,
    pub summary: Option<String>,
    /// The incident's severity as the run assessed it.
    #[serde(default)]
    pub severity: Option<Severity>,
    /// Why it failed or was cancelled.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolStep {
    pub step_id: String,
    pub tool: String,
    pub input: Value,
    /// `None` while running.
    pub status: Option<StepStatus>,
    pub output: Option<String>,
    pub duration_ms: Option<u64>,
    pub started_at: DateTime<Utc>,
}

/// A continuation of a run by `worker` after its previous worker stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    pub worker: String,
    pub attempt: u32,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub finding_id: u32,
    pub text: String,
    pub citations: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    pub suggestion_id: u32,
    pub kind: SuggestionKind,
    pub risk: Risk,
    pub title: String,
    pub action: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub model_calls: u32,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_micros: i64,
}

impl InvestigationState {
    pub fn step(&self, step_id: &str) -> Option<&ToolStep> {
        self.tool_steps.iter().find(|s| s.step_id == step_id)
    }

    /// Whether `step_id` names a tool step that succeeded (what a citation must point at to
    /// count as evidence).
    pub fn step_succeeded(&self, step_id: &str) -> bool {
        self.step(step_id)
            .is_some_and(|s| s.status == Some(StepStatus::Succeeded))
    }

    pub fn succeeded_steps(&self) -> usize {
        self.tool_steps
            .iter()
            .filter(|s| s.status == Some(StepStatus::Succeeded))
            .count()
    }

    /// Findings that cite at least one successful tool step.
    pub fn cited_findings(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.citations.iter().any(|c| self.step_succeeded(c)))
            .count()
    }

    pub(crate) fn apply(mut self, event: InvestigationEvent) -> Self {
        let at = crate::event::DomainEvent::occurred_at(&event);
        self.last_progress_at = Some(at);
        match event {
            InvestigationEvent::Requested {
                incident,
                episode,
                trigger,
                at,
            } => {
                self.incident = Some(incident);
                self.episode = episode;
                self.trigger = Some(trigger);
                self.status = InvestigationStatus::Requested;
                self.requested_at = Some(at);
            }
            InvestigationEvent::Queued { .. } => self.status = InvestigationStatus::Queued,
            InvestigationEvent::Started {
                session,
                model,
                worker,
                at,
            } => {
                self.status = InvestigationStatus::Running;
                self.session = Some(session);
                self.model = model;
                self.worker = Some(worker);
                self.started_at = Some(at);
            }
            InvestigationEvent::Resumed {
                worker,
                attempt,
                at,
            } => {
                self.worker = Some(worker.clone());
                self.resumes = attempt;
                self.resumed.push(Resume {
                    worker,
                    attempt,
                    at,
                });
            }
            InvestigationEvent::ContextAdded { alert, .. } => self.context.push(alert),
            InvestigationEvent::Thought { text, .. } => self.thoughts.push(text),
            InvestigationEvent::ToolStepStarted {
                step_id,
                tool,
                input,
                at,
            } => self.tool_steps.push(ToolStep {
                step_id,
                tool,
                input,
                status: None,
                output: None,
                duration_ms: None,
                started_at: at,
            }),
            InvestigationEvent::ToolStepFinished {
                step_id,
                status,
                output,
                duration_ms,
                ..
            } => {
                if let Some(step) = self.tool_steps.iter_mut().find(|s| s.step_id == step_id) {
                    step.status = Some(status);
                    step.output = Some(output);
                    step.duration_ms = Some(duration_ms);
                }
            }
            InvestigationEvent::FindingRecorded {
                finding_id,
                text,
                citations,
                ..
            } => self.findings.push(Finding {
                finding_id,
                text,
                citations,
            }),
            InvestigationEvent::SuggestionMade {
                suggestion_id,
                kind,
                risk,
                title,
                action,
                ..
            } => self.suggestions.push(Suggestion {
                suggestion_id,
                kind,
                risk,
                title,
                action,
            }),
            InvestigationEvent::UsageRecorded(ModelUsage {
                model,
                input_tokens,
                output_tokens,
                cost_micros,
                ..
            }) => {
                self.model.get_or_insert(model);
                self.usage.model_calls += 1;
                self.usage.input_tokens += input_tokens;
                self.usage.output_tokens += output_tokens;
                self.usage.cost_micros += cost_micros;
            }
            InvestigationEvent::CarriedOver {
                from,
                thoughts,
                findings,
                ..
            } => {
                self.carried_from.push(from);
                self.thoughts.extend(thoughts);
                for text in findings {
                    let finding_id = self.findings.len() as u32 + 1;
                    self.findings.push(Finding {
                        finding_id,
                        text,
                        citations: Vec::new(),
                    });
                }
            }
            InvestigationEvent::Completed {
                conclusion,
                asked,
                summary,
                severity,
                at,
            } => {
                self.status = InvestigationStatus::Completed;
                self.severity = severity;
                self.conclusion = Some(conclusion);
                self.asked_conclusion = asked;
                self.summary = Some(summary);
                self.ended_at = Some(at);
            }
            InvestigationEvent::Failed { reason, at } => {
                self.status = InvestigationStatus::Failed;
                self.reason = Some(reason);
                self.ended_at = Some(at);
            }
            InvestigationEvent::Cancelled { reason, at, .. } => {
                self.status = InvestigationStatus::Cancelled;
                self.reason = Some(reason);
                self.ended_at = Some(at);
            }
        }
        self
    }
}
