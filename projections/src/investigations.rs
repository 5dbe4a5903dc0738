//! The investigations projector: `investigations` (one row per run of root-cause analysis, the
//! folded domain state plus the columns lists and metrics read) and `investigation_items` (its
//! thoughts, tool steps, findings, suggestions and context alerts, one row per item). Why items
//! share one table, and where a run's model calls are: `migrations/0007_investigations.sql`.

use std::collections::HashMap;

use aurora_domain::investigation::{
    Investigation, InvestigationEvent, InvestigationState, Trigger,
};
use aurora_domain::DomainEvent;
use chrono::{DateTime, SubsecRound, Utc};
use esrs::Aggregate;
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::error::ProjectionError;
use crate::fold::{state_row, Folded, Seen, Tables, Tx};
use crate::rows::upsert;
use crate::state_cache::Key;

/// The kinds of `investigation_items`.
pub mod kind {
    pub const THOUGHT: &str = "thought";
    pub const TOOL_STEP: &str = "tool_step";
    pub const FINDING: &str = "finding";
    pub const SUGGESTION: &str = "suggestion";
    pub const CONTEXT: &str = "context";
    /// A continuation after the run's worker stopped (see `investigation::Resume`).
    pub const RESUME: &str = "resume";
}

/// The rows of a batch: runs and their items.
#[derive(Default)]
pub struct InvestigationTables {
    runs: Vec<Value>,
    items: ItemRows,
}

impl Tables for InvestigationTables {
    type Aggregate = Investigation;
    const STATE_TABLE: &'static str = "investigations";
    const READS_DATA: bool = false;

    fn event(&mut self, seen: Seen<'_, Investigation>) -> Result<(), ProjectionError> {
        let Seen { event, before, .. } = seen;
        let mut items = Items {
            rows: &mut self.items,
            key: seen.key,
            position: seen.raw.stream_sequence,
            at: event.occurred_at(),
            next: 0,
        };
        match event {
            InvestigationEvent::ContextAdded { alert, .. } => {
                items.add(kind::CONTEXT, alert.alert_id.clone(), alert)?
            }
            InvestigationEvent::Thought { text, .. } => items.add(
                kind::THOUGHT,
                (before.thoughts.len() + 1).to_string(),
                &json!({ "text": text }),
            )?,
            InvestigationEvent::ToolStepStarted { step_id, .. }
            | InvestigationEvent::ToolStepFinished { step_id, .. } => {
                // The step as it stands after this event (a finished step keeps its row, with
                // its status, output and duration filled in), folded from the step alone.
                let base = InvestigationState {
                    tool_steps: before.step(step_id).cloned().into_iter().collect(),
                    ..InvestigationState::default()
                };
                if let Some(step) = applied(base, event).step(step_id) {
                    items.add(kind::TOOL_STEP, step_id.clone(), step)?;
                }
            }
            InvestigationEvent::FindingRecorded { finding_id, .. } => {
                if let Some(f) = applied(InvestigationState::default(), event)
                    .findings
                    .first()
                {
                    items.add(kind::FINDING, finding_id.to_string(), f)?;
                }
            }
            InvestigationEvent::SuggestionMade { suggestion_id, .. } => {
                let after = applied(InvestigationState::default(), event);
                if let Some(s) = after.suggestions.first() {
                    items.add(kind::SUGGESTION, suggestion_id.to_string(), s)?;
                }
            }
            InvestigationEvent::CarriedOver { .. } => {
                // Carried thoughts and findings continue the run's own numbering (rare: one
                // event per merge, so folding onto a copy of the whole run is affordable).
                let after = applied(before.clone(), event);
                for (n, text) in after
                    .thoughts
                    .iter()
                    .enumerate()
                    .skip(before.thoughts.len())
                {
                    items.add(kind::THOUGHT, (n + 1).to_string(), &json!({ "text": text }))?;
                }
                for f in after.findings.iter().skip(before.findings.len()) {
                    items.add(kind::FINDING, f.finding_id.to_string(), f)?;
                }
            }
            InvestigationEvent::Resumed { attempt, .. } => {
                if let Some(r) = applied(InvestigationState::default(), event)
                    .resumed
                    .first()
                {
                    items.add(kind::RESUME, attempt.to_string(), r)?;
                }
            }
            // Usage is summed on the run's row; its calls are the session's `llm_usage` rows.
            InvestigationEvent::UsageRecorded { .. }
            | InvestigationEvent::Requested { .. }
            | InvestigationEvent::Queued { .. }
            | InvestigationEvent::Started { .. }
            | InvestigationEvent::Completed { .. }
            | InvestigationEvent::Failed { .. }
            | InvestigationEvent::Cancelled { .. } => {}
        }
        Ok(())
    }

    fn state(&mut self, folded: Folded<'_, Investigation>) -> Result<(), ProjectionError> {
        let (key, s) = (folded.key, folded.state);
        let (Some(incident), Some(requested_at), Some(last_progress_at)) =
            (s.incident, s.requested_at, s.last_progress_at)
        else {
            tracing::warn!(tenant = %key.tenant, run = %key.id, "events for an investigation that was never requested; no row written");
            return Ok(());
        };
        let requested_by = match &s.trigger {
            Some(Trigger::Manual { by }) => Some(by.as_str()),
            Some(Trigger::Opened) | None => None,
        };
        let columns = json!({
            "incident_id": incident.0,
            "episode": s.episode,
            "trigger": s.trigger.as_ref().map_or("opened", trigger_kind),
            "requested_by": requested_by,
            "status": s.status.as_str(),
            "session_id": s.session,
            "model": s.model,
            "worker": s.worker,
            "requested_at": column_time(requested_at),
            "started_at": s.started_at.map(column_time),
            "ended_at": s.ended_at.map(column_time),
            "last_progress_at": column_time(last_progress_at),
            "conclusion": s.conclusion.map(|c| c.as_str()),
            "asked_conclusion": s.asked_conclusion.map(|c| c.as_str()),
            "summary": s.summary,
            "reason": s.reason,
            "model_calls": s.usage.model_calls,
            "input_tokens": s.usage.input_tokens,
            "output_tokens": s.usage.output_tokens,
            "cost_micros": s.usage.cost_micros,
        });
        self.runs.push(state_row(&folded, columns)?);
        Ok(())
    }

    async fn write(self, tx: &mut Tx<'_>, schema: &str) -> Result<(), ProjectionError> {
        let columns =
            "incident_id, episode, trigger, requested_by, status, session_id, model, worker,
            requested_at, started_at, ended_at, last_progress_at, conclusion, asked_conclusion,
            summary, reason, model_calls, input_tokens, output_tokens, cost_micros, last_sequence,
            state";
        upsert(
            tx,
            schema,
            "investigations",
            "tenant_id, id",
            columns,
            self.runs,
        )
        .await?;
        // An item keeps where and when it was added; what it holds follows its updates.
        let item_key = "tenant_id, run_id, kind, item_key";
        let items = self.items.into_rows();
        upsert(tx, schema, "investigation_items", item_key, "data", items).await
    }
}

/// A time as a column keeps it: Postgres holds microseconds, so times are cut to them here (it
/// would round) and a view built from the events cuts them the same way to show the same.
pub fn column_time(time: DateTime<Utc>) -> DateTime<Utc> {
    time.trunc_subsecs(6)
}

/// How the `trigger` column names why a run was requested.
pub fn trigger_kind(trigger: &Trigger) -> &'static str {
    match trigger {
        Trigger::Opened => "opened",
        Trigger::Manual { .. } => "manual",
    }
}

/// `base` with `event` applied by the aggregate itself, so an item reads as the domain made it.
fn applied(base: InvestigationState, event: &InvestigationEvent) -> InvestigationState {
    Investigation::apply_event(base, event.clone())
}

/// The `investigation_items` rows of a batch, one per item: an item changed twice in a batch (a
/// tool step started and finished) is one row, or the upsert would touch a row twice.
#[derive(Default)]
struct ItemRows {
    rows: Vec<Value>,
    by_key: HashMap<(String, Uuid, &'static str, String), usize>,
}

impl ItemRows {
    fn into_rows(self) -> Vec<Value> {
        self.rows
    }
}

/// The items one event adds or changes.
struct Items<'a> {
    rows: &'a mut ItemRows,
    key: &'a Key,
    position: u64,
    at: DateTime<Utc>,
    /// The place of the next item among this event's.
    next: u32,
}

impl Items<'_> {
    fn add(
        &mut self,
        kind: &'static str,
        item_key: String,
        item: &impl Serialize,
    ) -> Result<(), ProjectionError> {
        let data = serde_json::to_value(item).map_err(|e| ProjectionError::BadEvent {
            subject: format!("investigation {}/{}", self.key.tenant, self.key.id),
            stream_sequence: self.position,
            reason: format!("a {kind} does not serialise: {e}"),
        })?;
        let id = (self.key.tenant.clone(), self.key.id, kind, item_key);
        if let Some(&at) = self.rows.by_key.get(&id) {
            self.rows.rows[at]["data"] = data;
            return Ok(());
        }
        self.rows.rows.push(json!({
            "tenant_id": self.key.tenant,
            "run_id": self.key.id,
            "kind": kind,
            "item_key": id.3,
            "position": self.position,
            "idx": self.next,
            "at": self.at,
            "data": data,
        }));
        self.rows.by_key.insert(id, self.rows.rows.len() - 1);
        self.next += 1;
        Ok(())
    }
}
