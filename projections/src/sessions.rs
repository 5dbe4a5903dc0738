//! The sessions projector: `chat_sessions` (one row per session, the folded domain state plus list
//! columns), `chat_messages` (every message, tool step, confirmation and usage record, in
//! order — the full history a reopened session shows) and `llm_usage` (one row per model call).

use std::collections::HashMap;

use aurora_domain::chat::{ChatEvent, ChatSession, ChatSessionState};
use aurora_domain::DomainEvent;
use aurora_nats::subjects::EventSubject;
use aurora_nats::RawEvent;
use esrs::Aggregate;
use serde_json::{json, Value};
use sqlx::{Postgres, Transaction};

use crate::projector::{checked_schema, upcast, ProjectionError};
use crate::state_cache::{staged, Key, StateCache, Touched};

pub async fn apply(
    tx: &mut Transaction<'_, Postgres>,
    schema: &str,
    events: Vec<(EventSubject, RawEvent)>,
    cache: &mut StateCache<ChatSessionState>,
) -> Result<Vec<(Key, u64, ChatSessionState)>, ProjectionError> {
    let schema = checked_schema(schema);
    if events.is_empty() {
        return Ok(Vec::new());
    }
    // Aggregates whose first event in this batch is their very first start empty: nothing to read.
    let mut touched = Touched::default();
    let mut decoded = Vec::with_capacity(events.len());
    for (subject, raw) in events {
        let event: ChatEvent = upcast(&raw)?;
        let key = (subject.tenant.to_string(), subject.id);
        touched.note(&key, raw.aggregate_sequence);
        decoded.push((key, raw, event));
    }
    let mut states = cache
        .take(tx, schema, "chat_sessions", &touched.order, &touched.new)
        .await?;
    let mut messages = Vec::with_capacity(decoded.len());
    let mut usage = Vec::new();
    let mut last_sequence: HashMap<Key, u64> = HashMap::new();
    for (key, raw, event) in decoded {
        if let Some((message_id, text)) = message_of(&event) {
            messages.push(json!({
                "tenant_id": key.0,
                "session_id": key.1,
                "stream_sequence": raw.stream_sequence,
                "message_id": message_id,
                // The question that opened a session reads as any other question.
                "kind": match &event {
                    ChatEvent::Opened { .. } => "user_message_posted",
                    other => other.event_type().trim_start_matches("session."),
                },
                "at": event.occurred_at(),
                "text": text,
                "data": raw.data,
            }));
        }
        if let ChatEvent::UsageRecorded {
            model,
            input_tokens,
            output_tokens,
            cost_micros,
            at,
        } = &event
        {
            usage.push(json!({
                "tenant_id": key.0,
                "stream_sequence": raw.stream_sequence,
                "session_id": key.1,
                "incident_id": null,
                "model": model,
                "at": at,
                "day": at.date_naive(),
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "cost_micros": cost_micros,
            }));
        }
        let state = states.remove(&key).unwrap_or_default();
        states.insert(key.clone(), ChatSession::apply_event(state, event));
        last_sequence.insert(key, raw.stream_sequence);
    }
    let mut rows = Vec::with_capacity(touched.order.len());
    for key in &touched.order {
        let Some(s) = states.get(key) else { continue };
        let (Some(_), Some(created)) = (s.id, s.started_at) else {
            tracing::warn!(tenant = %key.0, session = %key.1, "events for a session that never started; no row written");
            continue;
        };
        let message_count = s.messages.len();
        rows.push(json!({
            "tenant_id": key.0,
            "id": key.1,
            "owner": s.owner,
            "title": s.title,
            "mode": s.mode.as_str(),
            "deleted": s.deleted,
            "created_at": created,
            "updated_at": s.updated_at.unwrap_or(created),
            "message_count": message_count,
            "input_tokens": s.total_input_tokens,
            "output_tokens": s.total_output_tokens,
            "cost_micros": s.total_cost_micros,
            "last_sequence": last_sequence.get(key).copied().unwrap_or(0),
            // JSON text in a text column (see the incidents projector).
            "state": serde_json::to_string(s).map_err(|e| ProjectionError::BadEvent {
                subject: format!("session {}/{}", key.0, key.1),
                stream_sequence: 0,
                reason: format!("state does not serialise: {e}"),
            })?,
        }));
    }
    sqlx::query(&format!(
        "INSERT INTO {schema}.chat_sessions SELECT * FROM jsonb_populate_recordset(NULL::{schema}.chat_sessions, $1)
         ON CONFLICT (tenant_id, id) DO UPDATE SET
           owner = EXCLUDED.owner, title = EXCLUDED.title, mode = EXCLUDED.mode, deleted = EXCLUDED.deleted,
           created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at,
           message_count = EXCLUDED.message_count, input_tokens = EXCLUDED.input_tokens,
           output_tokens = EXCLUDED.output_tokens, cost_micros = EXCLUDED.cost_micros,
           last_sequence = EXCLUDED.last_sequence, state = EXCLUDED.state"
    ))
    .bind(Value::Array(rows))
    .execute(&mut **tx)
    .await?;
    if !messages.is_empty() {
        sqlx::query(&format!(
            "INSERT INTO {schema}.chat_messages SELECT * FROM jsonb_populate_recordset(NULL::{schema}.chat_messages, $1)
             ON CONFLICT (tenant_id, stream_sequence) DO NOTHING"
        ))
        .bind(Value::Array(messages))
        .execute(&mut **tx)
        .await?;
    }
    if !usage.is_empty() {
        sqlx::query(&format!(
            "INSERT INTO {schema}.llm_usage SELECT * FROM jsonb_populate_recordset(NULL::{schema}.llm_usage, $1)
             ON CONFLICT (tenant_id, stream_sequence) DO NOTHING"
        ))
        .bind(Value::Array(usage))
        .execute(&mut **tx)
        .await?;
    }
    Ok(staged(touched.order, states, &last_sequence))
}

/// The history entry an event adds: (message id, text shown), or `None` for session metadata.
fn message_of(event: &ChatEvent) -> Option<(String, Option<String>)> {
    Some(match event {
        ChatEvent::UserMessagePosted {
            message_id, text, ..
        }
        | ChatEvent::Opened {
            message_id, text, ..
        }
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
        ChatEvent::UsageRecorded { model, .. } => (format!("usage-{model}"), None),
        ChatEvent::Started { .. }
        | ChatEvent::Renamed { .. }
        | ChatEvent::SessionDeleted { .. } => return None,
    })
}
