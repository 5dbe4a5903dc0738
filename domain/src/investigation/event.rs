//! What happened in an investigation. Events carry what the read model and the UI show, so the
//! projector looks nothing up.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::values::{Conclusion, Risk, StepStatus, SuggestionKind, Trigger};
use crate::event::DomainEvent;
use crate::ids::IncidentId;
use crate::incident::Alert;
use crate::usage::ModelUsage;
use crate::values::Severity;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InvestigationEvent {
    /// The incident's `episode`-th run was asked for.
    Requested {
        incident: IncidentId,
        episode: u32,
        trigger: Trigger,
        at: DateTime<Utc>,
    },
    /// The tenant's start limit was reached: it starts when a slot frees, in order.
    Queued { at: DateTime<Utc> },
    /// A worker began; the agent's own steps are in the background chat `session`.
    Started {
        session: Uuid,
        /// `None`: no model configured, the deterministic evidence pass runs.
        model: Option<String>,
        worker: String,
        at: DateTime<Utc>,
    },
    /// The run's worker stopped (no progress, no lease) and `worker` continues it from what the
    /// run recorded; `attempt` counts the resumptions (see [`super::MAX_RESUMES`]).
    Resumed {
        worker: String,
        attempt: u32,
        at: DateTime<Utc>,
    },
    /// A correlated alert that arrived during the run, handed to the agent.
    ContextAdded { alert: Alert, at: DateTime<Utc> },
    /// A sentence of the agent's reasoning.
    Thought { text: String, at: DateTime<Utc> },
    /// The agent ran tool `tool` with `input` (step `step_id`).
    ToolStepStarted {
        step_id: String,
        tool: String,
        input: Value,
        at: DateTime<Utc>,
    },
    /// `output` is redacted and capped; the whole output is the session's tool result of the
    /// same id.
    ToolStepFinished {
        step_id: String,
        status: StepStatus,
        output: String,
        duration_ms: u64,
        at: DateTime<Utc>,
    },
    /// The agent recorded a finding.
    FindingRecorded {
        finding_id: u32,
        text: String,
        /// Tool steps whose output shows it.
        citations: Vec<String>,
        at: DateTime<Utc>,
    },
    /// The agent suggested something to do.
    SuggestionMade {
        suggestion_id: u32,
        kind: SuggestionKind,
        risk: Risk,
        title: String,
        /// The command or diff that carries it out, if any.
        action: Option<String>,
        at: DateTime<Utc>,
    },
    /// A model call's tokens and cost (micro-units of the account currency).
    UsageRecorded(ModelUsage),
    /// Thoughts and findings of `from` (an incident merged into this run's), carried over.
    CarriedOver {
        from: Uuid,
        thoughts: Vec<String>,
        findings: Vec<String>,
        at: DateTime<Utc>,
    },
    /// The run ended with its summary. `conclusion` is what the evidence supports; `asked` what
    /// the agent claimed, when that was stronger.
    Completed {
        conclusion: Conclusion,
        asked: Option<Conclusion>,
        summary: String,
        /// The incident's severity as the run assessed it (absent: none, or an event written
        /// before runs assessed one).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        severity: Option<Severity>,
        at: DateTime<Utc>,
    },
    /// The run ended without a summary.
    Failed { reason: String, at: DateTime<Utc> },
    /// The run was stopped before it ended.
    Cancelled {
        by: String,
        reason: String,
        at: DateTime<Utc>,
    },
}

impl DomainEvent for InvestigationEvent {
    crate::event::event_types! {
        Requested => "investigation.requested",
        Queued => "investigation.queued",
        Started => "investigation.started",
        Resumed => "investigation.resumed",
        ContextAdded => "investigation.context_added",
        Thought => "investigation.thought",
        ToolStepStarted => "investigation.tool_step_started",
        ToolStepFinished => "investigation.tool_step_finished",
        FindingRecorded => "investigation.finding_recorded",
        SuggestionMade => "investigation.suggestion_made",
        UsageRecorded(ModelUsage) => "investigation.usage_recorded",
        CarriedOver => "investigation.carried_over",
        Completed => "investigation.completed",
        Failed => "investigation.failed",
        Cancelled => "investigation.cancelled",
    }
}

impl esrs::event::Upcaster for InvestigationEvent {
    fn current_version() -> Option<i32> {
        Some(1)
    }
}
