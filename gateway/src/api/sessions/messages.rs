//! A session's messages over REST, as upstream's UI and MCP clients use them: read them (after
//! a position, to poll for an answer), post a question, and delete many sessions at once.
//!
//! Posting runs the agent, as upstream's route does (it dispatches the same background chat the
//! socket uses): the question goes through the socket's own checks and request
//! ([`crate::api::chat::ask`]), and the answer is read back with `GET …/messages?after=`.

use std::collections::BTreeSet;

use aurora_domain::chat::ChatMessage;
use aurora_domain::{ChatCommand, ChatMode};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{execute, owned, parse_uuid, read_own_write, Owned};
use crate::api::auth::Caller;
use crate::api::chat::ask::{self, Asked, Asker, NewSession};
use crate::api::responses::ErrorBody;
use crate::api::{ApiError, AppState, Body};

/// The most sessions one bulk delete names.
const MAX_BULK: usize = 100;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MessagesParams {
    /// Only the messages after the first `after` (a `seq` of an earlier answer); default 0.
    after: Option<usize>,
}

/// Whether the agent is answering.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Nothing running.
    Active,
    /// A question is being answered (or waits for a confirmation).
    InProgress,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionMessages {
    pub session_id: Uuid,
    pub status: SessionStatus,
    /// How many messages the session holds: `after` for the next poll.
    pub seq: usize,
    pub messages: Vec<ChatMessage>,
}

/// The session's messages after the first `after`, and whether the agent is still answering.
#[utoipa::path(get, path = "/chat_api/sessions/{id}/messages", tag = "chat",
    params(("id" = Uuid, Path, description = "the session"), MessagesParams),
    responses((status = 200, description = "the messages", body = SessionMessages),
              (status = 400, description = "a malformed id or `after`", body = ErrorBody),
              (status = 401, description = "not signed in", body = ErrorBody),
              (status = 404, description = "no such session of the caller", body = ErrorBody)))]
pub async fn list_messages(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Result<Query<MessagesParams>, QueryRejection>,
) -> Result<Json<SessionMessages>, ApiError> {
    let id = parse_uuid(&id, "session id")?;
    let Query(p) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let Owned { session, tx, .. } = owned(&state, &caller, id).await?;
    tx.commit().await?;
    let status = if session.run_in_progress(Utc::now()) {
        SessionStatus::InProgress
    } else {
        SessionStatus::Active
    };
    let seq = session.messages.len();
    let messages = session
        .messages
        .into_iter()
        .skip(p.after.unwrap_or(0))
        .collect();
    Ok(Json(SessionMessages {
        session_id: id,
        status,
        seq,
        messages,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostMessage {
    message: String,
    /// `ask` (default, read-only) or `agent` (may change things; editors).
    #[serde(default)]
    mode: Option<ChatMode>,
    /// A model other than the configured one (`LLM_MODELS`).
    #[serde(default)]
    model: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostedMessage {
    pub session_id: Uuid,
    pub message_id: Uuid,
    /// The new message's position: `GET …/messages?after={seq}` shows it and the answer.
    pub seq: usize,
    pub status: SessionStatus,
}

/// Ask a question in one of the caller's sessions: the agent answers it (202), and the answer
/// is read with `GET …/messages?after={seq}` or followed on the socket.
#[utoipa::path(post, path = "/chat_api/sessions/{id}/messages", tag = "chat",
    params(("id" = Uuid, Path, description = "the session")), request_body = PostMessage,
    responses((status = 202, description = "taken in; the agent answers", body = PostedMessage),
              (status = 400, description = "a malformed id or body, an empty or too long message", body = ErrorBody),
              (status = 401, description = "not signed in", body = ErrorBody),
              (status = 403, description = "agent mode needs the editor role", body = ErrorBody),
              (status = 404, description = "no such session of the caller", body = ErrorBody),
              (status = 413, description = "the body is too large", body = ErrorBody),
              (status = 415, description = "the body is not JSON", body = ErrorBody),
              (status = 422, description = "a model that is not offered", body = ErrorBody),
              (status = 429, description = "over the query limit", body = ErrorBody),
              (status = 503, description = "no model is configured, or the event log is unavailable", body = ErrorBody)))]
pub async fn post_message(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(req): Body<PostMessage>,
) -> Result<(StatusCode, Json<PostedMessage>), ApiError> {
    let id = parse_uuid(&id, "session id")?;
    let asker = Asker {
        user_id: caller.user_id,
        tenant: caller.tenant.clone(),
        organization_id: caller.organization_id,
    };
    let asked = Asked {
        text: req.message,
        mode: req.mode.unwrap_or_default(),
        model: req.model,
        provider_preference: Vec::new(),
        selected_project_id: None,
    };
    let admitted = ask::admit(&state, &asker, asked, Some(id), NewSession::Refused).await?;
    ask::send(&state, &caller.tenant, id, &admitted.request).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(PostedMessage {
            session_id: id,
            message_id: admitted.message_id,
            seq: admitted.messages_before,
            status: SessionStatus::InProgress,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkDelete {
    /// 1 to 100 session ids.
    ids: Vec<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkDeleted {
    /// Sessions of the caller's now deleted.
    pub deleted: Vec<Uuid>,
    /// Ids that name no session of the caller (unknown, someone else's, or already deleted,
    /// alike): nothing happened to them.
    pub not_found: Vec<Uuid>,
}

/// Delete several of the caller's sessions at once (soft, as one by one).
#[utoipa::path(delete, path = "/chat_api/sessions/bulk-delete", tag = "chat", request_body = BulkDelete,
    responses((status = 200, description = "what was deleted and what was not found", body = BulkDeleted),
              (status = 400, description = "a malformed body, no ids or more than 100", body = ErrorBody),
              (status = 401, description = "not signed in", body = ErrorBody),
              (status = 413, description = "the body is too large", body = ErrorBody),
              (status = 415, description = "the body is not JSON", body = ErrorBody),
              (status = 503, description = "the event log is unavailable", body = ErrorBody)))]
pub async fn bulk_delete(
    State(state): State<AppState>,
    caller: Caller,
    Body(req): Body<BulkDelete>,
) -> Result<Json<BulkDeleted>, ApiError> {
    let ids: BTreeSet<Uuid> = req.ids.into_iter().collect();
    if ids.is_empty() || ids.len() > MAX_BULK {
        return Err(ApiError::bad_request(
            "invalid_ids",
            format!("give 1 to {MAX_BULK} session ids, got {}", ids.len()),
        ));
    }
    let tries = ids.iter().map(|&id| {
        let command = ChatCommand::Delete {
            by: caller.user_id.to_string(),
            at: Utc::now(),
        };
        let (state, caller) = (&state, &caller);
        async move { (id, execute(state, caller, id, command).await) }
    });
    let mut answer = BulkDeleted {
        deleted: Vec::new(),
        not_found: Vec::new(),
    };
    let mut last = 0;
    for (id, result) in futures::future::join_all(tries).await {
        match result {
            Ok(sequence) => {
                last = last.max(sequence);
                answer.deleted.push(id);
            }
            Err(ApiError::NotFound(_)) => answer.not_found.push(id),
            Err(other) => return Err(other),
        }
    }
    read_own_write(&state, last).await?;
    Ok(Json(answer))
}
