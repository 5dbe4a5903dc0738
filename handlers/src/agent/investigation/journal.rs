//! What a background run records on its investigation besides the session's own events:
//! thoughts per sentence, tool steps, findings, suggestions, usage, the conclusion — and, when it
//! ends, the incident's RCA status and summary.

use aurora_domain::investigation::{
    Conclusion, Investigation, InvestigationCommand, InvestigationError, InvestigationState,
    StepStatus, ThoughtBuffer,
};
use aurora_domain::{Incident, IncidentCommand, IncidentId, TenantId};
use aurora_nats::envelope::Context;
use aurora_nats::{AggregateStore, StoreError};
use chrono::Utc;
use serde_json::Value;
use uuid::Uuid;

use super::prompt::{self, Recorded};
use super::{counted, resume};
use crate::exec;
use aurora_domain::usage::ModelUsage;

/// The most of a tool's output kept on the investigation (the session holds it whole).
pub const STEP_OUTPUT_CAP: usize = 16 * 1024;

/// A run's binding to its investigation.
pub struct Journal {
    pub run: Uuid,
    pub incident: IncidentId,
    tenant: TenantId,
    investigations: AggregateStore<Investigation>,
    incidents: AggregateStore<Incident>,
    thoughts: ThoughtBuffer,
    /// Context alerts already given to the model.
    context_seen: usize,
    concluded: bool,
}

/// How the run ended, as the journal needs to know it.
pub enum Ending<'a> {
    /// The model stopped calling tools; `text` is what it said last.
    Answered { text: &'a str },
    /// The model or its endpoint failed.
    Failed { reason: String },
    /// Someone else ends it (a cancel, a shutdown the sweep will see): nothing to record.
    Interrupted,
}

impl Journal {
    pub fn new(
        tenant: TenantId,
        run: Uuid,
        incident: IncidentId,
        investigations: AggregateStore<Investigation>,
        incidents: AggregateStore<Incident>,
        context_seen: usize,
    ) -> Self {
        Self {
            run,
            incident,
            tenant,
            investigations,
            incidents,
            thoughts: ThoughtBuffer::default(),
            context_seen,
            concluded: false,
        }
    }

    /// The same binding, as if the model had been handed no correlated alert yet.
    pub fn seen_none(self) -> Self {
        Self {
            context_seen: 0,
            ..self
        }
    }

    /// Whether the model called `conclude` (the run then ends).
    pub fn concluded(&self) -> bool {
        self.concluded
    }

    /// Records a command; a refusal is logged and returned, the store failing is an error.
    async fn record(
        &self,
        command: InvestigationCommand,
    ) -> Result<Result<(), InvestigationError>, StoreError> {
        let done = counted::execute(&self.investigations, &self.tenant, self.run, command).await?;
        if let Err(refusal) = &done {
            tracing::warn!(run = %self.run, %refusal, "an investigation step was refused");
        }
        Ok(done.map(|_| ()))
    }

    /// Records a step whose refusal changes nothing for the run (it is logged).
    async fn note(&self, command: InvestigationCommand) -> Result<(), StoreError> {
        self.record(command).await.map(|_| ())
    }

    async fn load(&self) -> Result<InvestigationState, StoreError> {
        Ok(self
            .investigations
            .load(&self.tenant, self.run)
            .await?
            .map(|s| s.into_inner())
            .unwrap_or_default())
    }

    /// Streamed model text: complete sentences become thoughts.
    pub async fn think(&mut self, chunk: &str) -> Result<(), StoreError> {
        for text in self.thoughts.push(chunk) {
            self.note(InvestigationCommand::Think {
                text,
                at: Utc::now(),
            })
            .await?;
        }
        Ok(())
    }

    /// The end of one model call's text: what is left is a thought too.
    pub async fn end_of_text(&mut self) -> Result<(), StoreError> {
        if let Some(text) = self.thoughts.finish() {
            self.note(InvestigationCommand::Think {
                text,
                at: Utc::now(),
            })
            .await?;
        }
        Ok(())
    }

    pub async fn usage(
        &self,
        model: &str,
        input_tokens: u64,
        output_tokens: u64,
        cost_micros: i64,
    ) -> Result<(), StoreError> {
        self.note(InvestigationCommand::RecordUsage(ModelUsage {
            model: model.to_owned(),
            input_tokens,
            output_tokens,
            cost_micros,
            at: Utc::now(),
        }))
        .await
    }

    pub async fn step_started(
        &self,
        step_id: &str,
        tool: &str,
        input: &Value,
    ) -> Result<(), StoreError> {
        self.note(InvestigationCommand::StartToolStep {
            step_id: step_id.to_owned(),
            tool: tool.to_owned(),
            input: input.clone(),
            at: Utc::now(),
        })
        .await
    }

    /// `outcome` as the session recorded it (already redacted and capped); a refusal by the
    /// gate is told apart from a failure.
    pub async fn step_finished(
        &self,
        step_id: &str,
        outcome: &Result<String, String>,
        duration_ms: u64,
    ) -> Result<(), StoreError> {
        let (status, output) = match outcome {
            Ok(output) => (StepStatus::Succeeded, output.as_str()),
            Err(e) if e.starts_with(crate::agent::tools::REFUSED_BY_GATE) => {
                (StepStatus::Refused, e.as_str())
            }
            Err(e) => (StepStatus::Failed, e.as_str()),
        };
        let kept = exec::char_floor(output, STEP_OUTPUT_CAP);
        let output = if kept.len() < output.len() {
            format!("{kept}\n{}", exec::TRUNCATION_NOTICE)
        } else {
            kept.to_owned()
        };
        self.note(InvestigationCommand::FinishToolStep {
            step_id: step_id.to_owned(),
            status,
            output,
            duration_ms,
            at: Utc::now(),
        })
        .await
    }

    /// A call of an investigation tool: recorded, and what the model is told. `None` when the
    /// call is not one (it is one of the agent's own tools).
    pub async fn tool(
        &mut self,
        name: &str,
        arguments: &str,
    ) -> Option<Result<String, StoreError>> {
        let read = prompt::read(name, arguments)?;
        Some(self.recorded(read).await)
    }

    async fn recorded(&mut self, read: Result<Recorded, String>) -> Result<String, StoreError> {
        let recorded = match read {
            Ok(recorded) => recorded,
            Err(e) => return Ok(e),
        };
        let at = Utc::now();
        let (command, conclusion) = match recorded {
            Recorded::Finding { text, citations } => (
                InvestigationCommand::RecordFinding {
                    text,
                    citations,
                    at,
                },
                false,
            ),
            Recorded::Suggestion {
                kind,
                risk,
                title,
                action,
            } => (
                InvestigationCommand::Suggest {
                    kind,
                    risk,
                    title,
                    action,
                    at,
                },
                false,
            ),
            Recorded::Conclusion {
                conclusion,
                summary,
                severity,
            } => (
                InvestigationCommand::Complete {
                    conclusion,
                    summary,
                    severity,
                    at,
                },
                true,
            ),
        };
        self.end_of_text().await?;
        match self.record(command).await? {
            Err(refusal) => Ok(format!("not recorded: {refusal}")),
            Ok(()) if conclusion => {
                self.concluded = true;
                let state = self.load().await?;
                self.conclude_incident(&state).await?;
                Ok(match (state.conclusion, state.asked_conclusion) {
                    (Some(recorded), Some(asked)) => format!(
                        "Recorded as {recorded}, not {asked}: {asked} needs {}. The investigation is over.",
                        asked.requirement()
                    ),
                    _ => "Recorded. The investigation is over.".to_owned(),
                })
            }
            Ok(()) => Ok("recorded".to_owned()),
        }
    }

    /// What follows the question when the run continues one whose worker stopped (empty for a
    /// fresh run): see [`resume`].
    pub async fn resumed(
        &self,
        session: &aurora_domain::chat::ChatSessionState,
    ) -> Result<Vec<Value>, StoreError> {
        Ok(resume::messages(session, &self.load().await?))
    }

    /// Alerts correlated with the incident since the model last heard, as a message to it.
    pub async fn new_context(&mut self) -> Result<Option<String>, StoreError> {
        let state = self.load().await?;
        let fresh = state.context.get(self.context_seen..).unwrap_or_default();
        if fresh.is_empty() {
            return Ok(None);
        }
        self.context_seen = state.context.len();
        let alerts: Vec<Value> = fresh
            .iter()
            .map(|a| serde_json::to_value(a).unwrap_or(Value::Null))
            .collect();
        Ok(Some(format!(
            "New alerts were correlated with this incident while you worked; take them into account:\n{}",
            Value::Array(alerts)
        )))
    }

    /// Records how the run ended, if the model did not conclude it itself.
    pub async fn finish(&mut self, ending: Ending<'_>) -> Result<(), StoreError> {
        self.end_of_text().await?;
        if self.concluded {
            return Ok(());
        }
        match ending {
            Ending::Interrupted => Ok(()),
            Ending::Answered { text } => {
                let summary = if text.trim().is_empty() {
                    "The investigation ended without a conclusion.".to_owned()
                } else {
                    text.trim().to_owned()
                };
                let completed = self
                    .record(InvestigationCommand::Complete {
                        conclusion: Conclusion::Inconclusive,
                        summary,
                        // It stopped without concluding: it assessed nothing.
                        severity: None,
                        at: Utc::now(),
                    })
                    .await?;
                if completed.is_ok() {
                    let state = self.load().await?;
                    self.conclude_incident(&state).await?;
                }
                Ok(())
            }
            Ending::Failed { reason } => fail(
                &self.investigations,
                &self.incidents,
                &self.tenant,
                self.run,
                self.incident,
                reason,
            )
            .await
            .map(|_| ()),
        }
    }

    async fn conclude_incident(&self, state: &InvestigationState) -> Result<(), StoreError> {
        let Some(summary) = &state.summary else {
            return Ok(());
        };
        let done = self
            .incidents
            .execute(
                &self.tenant,
                self.incident.0,
                IncidentCommand::ConcludeRca {
                    run: self.run,
                    summary: summary.clone(),
                    severity: state.severity,
                    at: Utc::now(),
                },
                Context::new_root(),
            )
            .await?;
        if let Err(refusal) = done {
            tracing::info!(run = %self.run, %refusal, "the incident did not take the conclusion");
        }
        Ok(())
    }
}

/// Fails investigation `run` and the incident's RCA with it (both idempotent: a run that ended
/// meanwhile is left as it is). Whether the investigation took it.
pub async fn fail(
    investigations: &AggregateStore<Investigation>,
    incidents: &AggregateStore<Incident>,
    tenant: &TenantId,
    run: Uuid,
    incident: IncidentId,
    reason: String,
) -> Result<bool, StoreError> {
    let failed = counted::execute(
        investigations,
        tenant,
        run,
        InvestigationCommand::Fail {
            reason,
            at: Utc::now(),
        },
    )
    .await?;
    if let Err(refusal) = &failed {
        tracing::info!(%run, %refusal, "investigation not failed");
        return Ok(false);
    }
    let done = incidents
        .execute(
            tenant,
            incident.0,
            IncidentCommand::FailRca {
                run,
                at: Utc::now(),
            },
            Context::new_root(),
        )
        .await?;
    if let Err(refusal) = done {
        tracing::info!(%run, %refusal, "the incident did not take the failure");
    }
    Ok(true)
}
