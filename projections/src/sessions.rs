//! The sessions projector: `chat_sessions` (one row per session, the folded domain state plus list
//! columns), `chat_messages` (every message, tool step, confirmation and usage record, in
//! order — the full history a reopened session shows) and `llm_usage` (one row per model call).

use aurora_domain::chat::{ChatEvent, ChatSession, FirstQuestion};
use aurora_domain::DomainEvent;
use serde_json::{json, Value};

use crate::error::ProjectionError;
use crate::fold::{state_row, Folded, Seen, Tables, Tx};
use crate::rows::{insert_new, upsert};
use aurora_domain::usage::ModelUsage;

/// The rows of a batch: sessions, history entries and usage records.
#[derive(Default)]
pub struct SessionTables {
    sessions: Vec<Value>,
    messages: Vec<Value>,
    usage: Vec<Value>,
}

impl Tables for SessionTables {
    type Aggregate = ChatSession;
    const STATE_TABLE: &'static str = "chat_sessions";
    const READS_DATA: bool = true;

    fn event(&mut self, seen: Seen<'_, ChatSession>) -> Result<(), ProjectionError> {
        let Seen {
            key, raw, event, ..
        } = seen;
        if let Some((message_id, text)) = message_of(event) {
            self.messages.push(json!({
                "tenant_id": key.tenant,
                "session_id": key.id,
                "stream_sequence": raw.stream_sequence,
                "message_id": message_id,
                // The question that opened a session reads as any other question.
                "kind": match event {
                    ChatEvent::Opened { .. } => "user_message_posted",
                    other => other.event_type().trim_start_matches("session."),
                },
                "at": event.occurred_at(),
                "text": text,
                "data": raw.data,
            }));
        }
        if let ChatEvent::UsageRecorded(ModelUsage {
            model,
            input_tokens,
            output_tokens,
            cost_micros,
            at,
        }) = event
        {
            self.usage.push(json!({
                "tenant_id": key.tenant,
                "stream_sequence": raw.stream_sequence,
                "session_id": key.id,
                "incident_id": null,
                "model": model,
                "at": at,
                "day": at.date_naive(),
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "cost_micros": cost_micros,
            }));
        }
        Ok(())
    }

    fn state(&mut self, folded: Folded<'_, ChatSession>) -> Result<(), ProjectionError> {
        let (key, s) = (folded.key, folded.state);
        let (Some(_), Some(created)) = (s.id, s.started_at) else {
            tracing::warn!(tenant = %key.tenant, session = %key.id, "events for a session that never started; no row written");
            return Ok(());
        };
        let columns = json!({
            "owner": s.owner,
            "title": s.title,
            "mode": s.mode.as_str(),
            "deleted": s.deleted,
            "created_at": created,
            "updated_at": s.updated_at.unwrap_or(created),
            "message_count": s.messages.len(),
            "input_tokens": s.total_input_tokens,
            "output_tokens": s.total_output_tokens,
            "cost_micros": s.total_cost_micros,
        });
        self.sessions.push(state_row(&folded, columns)?);
        Ok(())
    }

    async fn write(self, tx: &mut Tx<'_>, schema: &str) -> Result<(), ProjectionError> {
        let columns = "owner, title, mode, deleted, created_at, updated_at, message_count,
            input_tokens, output_tokens, cost_micros, last_sequence, state";
        upsert(
            tx,
            schema,
            "chat_sessions",
            "tenant_id, id",
            columns,
            self.sessions,
        )
        .await?;
        let event_key = "tenant_id, stream_sequence";
        insert_new(tx, schema, "chat_messages", event_key, self.messages).await?;
        insert_new(tx, schema, "llm_usage", event_key, self.usage).await
    }
}

/// The history entry an event adds: (message id, text shown), or `None` for session metadata.
fn message_of(event: &ChatEvent) -> Option<(String, Option<String>)> {
    Some(match event {
        ChatEvent::UserMessagePosted {
            message_id, text, ..
        }
        | ChatEvent::Opened(FirstQuestion {
            message_id, text, ..
        })
        | ChatEvent::AssistantMessageRecorded {
            message_id, text, ..
        } => (message_id.to_string(), Some(text.clone())),
        ChatEvent::ToolCallStarted {
            tool_call_id,
            tool_name,
            ..
        } => (tool_call_id.clone(), Some(tool_name.clone())),
        ChatEvent::ToolResultRecorded {
            tool_call_id,
            output,
            ..
        } => (tool_call_id.clone(), Some(output.clone())),
        ChatEvent::ToolCallFailed {
            tool_call_id,
            error,
            ..
        } => (tool_call_id.clone(), Some(error.clone())),
        ChatEvent::GateDecided {
            tool_call_id,
            verdict,
            ..
        } => (tool_call_id.clone(), Some(verdict.to_string())),
        ChatEvent::ConfirmationRequested {
            confirmation_id,
            command,
            ..
        } => (confirmation_id.to_string(), Some(command.clone())),
        ChatEvent::ConfirmationAnswered {
            confirmation_id,
            decision,
            ..
        } => (confirmation_id.to_string(), Some(decision.to_string())),
        ChatEvent::RunCancelled { at } => (format!("cancel-{}", at.timestamp_micros()), None),
        ChatEvent::UsageRecorded(ModelUsage { model, .. }) => (format!("usage-{model}"), None),
        ChatEvent::Started { .. }
        | ChatEvent::Renamed { .. }
        | ChatEvent::SessionDeleted { .. } => return None,
    })
}
