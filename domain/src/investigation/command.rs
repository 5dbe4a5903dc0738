//! What may be asked of an investigation, and how it decides.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::error::InvestigationError;
use super::event::InvestigationEvent;
use super::state::InvestigationState;
use super::values::{Conclusion, InvestigationStatus, Risk, StepStatus, SuggestionKind, Trigger};
use super::TEXT_MAX_CHARS;
use crate::aggregate::text_within;
use crate::ids::IncidentId;
use crate::incident::Alert;
use crate::usage::ModelUsage;
use crate::values::Severity;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InvestigationCommand {
    Request {
        incident: IncidentId,
        episode: u32,
        trigger: Trigger,
        at: DateTime<Utc>,
    },
    Queue {
        at: DateTime<Utc>,
    },
    Start {
        session: Uuid,
        model: Option<String>,
        worker: String,
        at: DateTime<Utc>,
    },
    /// Continue a running run whose worker stopped; `attempt` is the resumption this worker
    /// means to make (the state's count + 1), so of two workers deciding at once one wins.
    Resume {
        worker: String,
        attempt: u32,
        at: DateTime<Utc>,
    },
    AddContext {
        alert: Alert,
        at: DateTime<Utc>,
    },
    Think {
        text: String,
        at: DateTime<Utc>,
    },
    StartToolStep {
        step_id: String,
        tool: String,
        input: Value,
        at: DateTime<Utc>,
    },
    FinishToolStep {
        step_id: String,
        status: StepStatus,
        output: String,
        duration_ms: u64,
        at: DateTime<Utc>,
    },
    RecordFinding {
        text: String,
        citations: Vec<String>,
        at: DateTime<Utc>,
    },
    Suggest {
        kind: SuggestionKind,
        risk: Risk,
        title: String,
        action: Option<String>,
        at: DateTime<Utc>,
    },
    RecordUsage(ModelUsage),
    CarryOver {
        from: Uuid,
        thoughts: Vec<String>,
        findings: Vec<String>,
        at: DateTime<Utc>,
    },
    /// `conclusion` is what the agent claims; the gate records what the evidence supports.
    Complete {
        conclusion: Conclusion,
        summary: String,
        /// The incident's severity as the run assessed it from its impact, if it did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        severity: Option<Severity>,
        at: DateTime<Utc>,
    },
    Fail {
        reason: String,
        at: DateTime<Utc>,
    },
    Cancel {
        by: String,
        reason: String,
        at: DateTime<Utc>,
    },
}

impl InvestigationCommand {
    /// Whether taking it moves the run to another status (what `/metrics` counts).
    pub fn changes_status(&self) -> bool {
        matches!(
            self,
            Self::Request { .. }
                | Self::Queue { .. }
                | Self::Start { .. }
                | Self::Resume { .. }
                | Self::Complete { .. }
                | Self::Fail { .. }
                | Self::Cancel { .. }
        )
    }
}

type Decision = Result<Vec<InvestigationEvent>, InvestigationError>;

pub(crate) fn decide(state: &InvestigationState, command: InvestigationCommand) -> Decision {
    match command {
        InvestigationCommand::Request {
            incident,
            episode,
            trigger,
            at,
        } => match state.incident {
            None => Ok(vec![InvestigationEvent::Requested {
                incident,
                episode,
                trigger,
                at,
            }]),
            // A redelivered request names the same run: nothing more happens.
            Some(known) if known == incident && state.episode == episode => Ok(vec![]),
            Some(known) => Err(InvestigationError::AlreadyRequested {
                run: super::run_id(known, state.episode),
            }),
        },
        other => decide_on_requested(state, other),
    }
}

fn decide_on_requested(state: &InvestigationState, command: InvestigationCommand) -> Decision {
    let Some(incident) = state.incident else {
        return Err(InvestigationError::NotRequested);
    };
    let status = state.status;
    if status.has_ended() {
        return Err(InvestigationError::Ended { status });
    }
    let running = status == InvestigationStatus::Running;
    match command {
        InvestigationCommand::Request { .. } => Err(InvestigationError::AlreadyRequested {
            run: super::run_id(incident, state.episode),
        }),
        InvestigationCommand::Queue { at } => match status {
            InvestigationStatus::Requested => Ok(vec![InvestigationEvent::Queued { at }]),
            InvestigationStatus::Queued => Ok(vec![]),
            _ => Err(InvestigationError::AlreadyStarted { status }),
        },
        InvestigationCommand::Start {
            session,
            model,
            worker,
            at,
        } => {
            if running {
                return Err(InvestigationError::AlreadyStarted { status });
            }
            Ok(vec![InvestigationEvent::Started {
                session,
                model,
                worker,
                at,
            }])
        }
        InvestigationCommand::Resume {
            worker,
            attempt,
            at,
        } => {
            if !running {
                return Err(InvestigationError::NotRunning { status });
            }
            if attempt <= state.resumes {
                return Err(InvestigationError::AlreadyResumed {
                    attempt: state.resumes,
                });
            }
            if attempt > super::MAX_RESUMES {
                return Err(InvestigationError::ResumedTooOften {
                    max: super::MAX_RESUMES,
                });
            }
            Ok(vec![InvestigationEvent::Resumed {
                worker,
                attempt,
                at,
            }])
        }
        InvestigationCommand::AddContext { alert, at } => {
            if state.context.iter().any(|a| a.alert_id == alert.alert_id) {
                return Ok(vec![]);
            }
            Ok(vec![InvestigationEvent::ContextAdded { alert, at }])
        }
        InvestigationCommand::CarryOver { from, .. } if state.carried_from.contains(&from) => {
            Ok(vec![])
        }
        InvestigationCommand::CarryOver {
            from,
            thoughts,
            findings,
            at,
        } => Ok(vec![InvestigationEvent::CarriedOver {
            from,
            thoughts,
            findings,
            at,
        }]),
        InvestigationCommand::Cancel { by, reason, at } => {
            Ok(vec![InvestigationEvent::Cancelled { by, reason, at }])
        }
        InvestigationCommand::Fail { reason, at } => {
            Ok(vec![InvestigationEvent::Failed { reason, at }])
        }
        // Everything below is the run's own progress.
        _ if !running => Err(InvestigationError::NotRunning { status }),
        InvestigationCommand::Think { text, at } => {
            let text = checked_text("a thought", text)?;
            Ok(vec![InvestigationEvent::Thought { text, at }])
        }
        InvestigationCommand::StartToolStep {
            step_id,
            tool,
            input,
            at,
        } => {
            if state.step(&step_id).is_some() {
                return Ok(vec![]);
            }
            Ok(vec![InvestigationEvent::ToolStepStarted {
                step_id,
                tool,
                input,
                at,
            }])
        }
        InvestigationCommand::FinishToolStep {
            step_id,
            status,
            output,
            duration_ms,
            at,
        } => match state.step(&step_id) {
            None => Err(InvestigationError::UnknownToolStep { step_id }),
            Some(step) if step.status.is_some() => Ok(vec![]),
            Some(_) => Ok(vec![InvestigationEvent::ToolStepFinished {
                step_id,
                status,
                output,
                duration_ms,
                at,
            }]),
        },
        InvestigationCommand::RecordFinding {
            text,
            citations,
            at,
        } => {
            let text = checked_text("a finding", text)?;
            if let Some(unknown) = citations.iter().find(|c| state.step(c).is_none()) {
                return Err(InvestigationError::UnknownToolStep {
                    step_id: unknown.clone(),
                });
            }
            Ok(vec![InvestigationEvent::FindingRecorded {
                finding_id: state.findings.len() as u32 + 1,
                text,
                citations,
                at,
            }])
        }
        InvestigationCommand::Suggest {
            kind,
            risk,
            title,
            action,
            at,
        } => {
            let title = checked_text("a suggestion", title)?;
            Ok(vec![InvestigationEvent::SuggestionMade {
                suggestion_id: state.suggestions.len() as u32 + 1,
                kind,
                risk,
                title,
                action: action.filter(|a| !a.trim().is_empty()),
                at,
            }])
        }
        InvestigationCommand::RecordUsage(usage) => {
            if usage.cost_micros < 0 {
                return Err(InvestigationError::NegativeCost {
                    cost_micros: usage.cost_micros,
                });
            }
            Ok(vec![InvestigationEvent::UsageRecorded(usage)])
        }
        InvestigationCommand::Complete {
            conclusion,
            summary,
            severity,
            at,
        } => {
            let summary = checked_text("a summary", summary)?;
            let supported = Conclusion::supported_by(
                conclusion,
                state.cited_findings(),
                state.findings.len(),
                state.succeeded_steps(),
            );
            Ok(vec![InvestigationEvent::Completed {
                conclusion: supported,
                asked: (supported != conclusion).then_some(conclusion),
                summary,
                severity: severity.filter(|s| s.is_known()),
                at,
            }])
        }
    }
}

fn checked_text(what: &'static str, text: String) -> Result<String, InvestigationError> {
    let blank = InvestigationError::Empty { what };
    let trimmed = text_within(text.trim(), TEXT_MAX_CHARS, blank, |len, max| {
        InvestigationError::TooLong { what, len, max }
    })?;
    Ok(trimmed.to_owned())
}
