//! Chat sessions over REST, in the shapes upstream's UI uses: list, create, reopen with full
//! history, rename, soft delete (one or many), and a session's messages ([`messages`]); the
//! organisation's LLM usage and the agent's command policy ([`usage`]).
//!
//! A session is its owner's: anyone else, admins included, gets 404 as for a random id.

mod messages;
mod usage;

use aurora_domain::chat::{ChatMessage, Confirmation, GateDecision, NewSession, ToolCall};
use aurora_domain::usage::ModelUsage;
use aurora_domain::{ChatCommand, ChatError, ChatMode, ChatSessionState, SessionId};
use aurora_nats::envelope::Context;
use aurora_projections::queries;
use aurora_projections::queries::{HistoryRow, SessionSummary};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{Postgres, Transaction};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::auth::Caller;
use super::responses::ErrorBody;
use super::{page, parse_uuid, ApiError, AppState, Body};

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;
/// How long a write waits for the read model, so the next read shows it.
const READ_OWN_WRITE: std::time::Duration = std::time::Duration::from_secs(5);
/// The title of a session made without one (upstream's too).
const DEFAULT_TITLE: &str = "New chat";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(detail, rename, delete))
        .routes(routes!(messages::list_messages, messages::post_message))
        .routes(routes!(messages::bulk_delete))
        .routes(routes!(usage::usage))
        .routes(routes!(usage::policy, usage::set_policy))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// `next_cursor` of the previous page
    cursor: Option<String>,
    /// 1 to 200; default 50
    limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    pub items: Vec<SessionSummary>,
    /// Give it as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// The caller's sessions, most recently active first (deleted ones are not listed).
#[utoipa::path(get, path = "/chat_api/sessions", tag = "chat", params(ListParams),
    responses((status = 200, description = "a page of sessions", body = SessionList),
              (status = 400, description = "a bad cursor or limit", body = ErrorBody),
              (status = 401, description = "not signed in", body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<SessionList>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let limit = page::limit(p.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let after = p.cursor.as_deref().map(page::parse_cursor).transpose()?;
    let tenant = caller.tenant.as_str();
    let mut tx = queries::scoped(&state.services.gateway_pool, tenant).await?;
    let items =
        queries::list_sessions(&mut tx, tenant, &caller.user_id.to_string(), after, limit).await?;
    tx.commit().await?;
    let next_cursor = page::next_cursor(&items, limit, |s| (s.updated_at, s.id));
    Ok(Json(SessionList { items, next_cursor }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// Default "New chat"; the first query does not replace a title given here.
    #[serde(default)]
    title: Option<String>,
    /// `ask` (default) or `agent`.
    #[serde(default)]
    mode: Option<ChatMode>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedSession {
    pub id: Uuid,
    pub title: String,
    pub mode: ChatMode,
    pub created_at: DateTime<Utc>,
}

/// Start an empty session (upstream's `POST /chat_api/sessions`); its id is then given to
/// `query` frames or `POST /chat_api/sessions/{id}/messages`. (A `query` frame may also name an
/// id of its own choosing, which starts the session on the first message.)
#[utoipa::path(post, path = "/chat_api/sessions", tag = "chat", request_body = CreateRequest,
    responses((status = 201, description = "the session", body = CreatedSession),
              (status = 400, description = "a malformed body", body = ErrorBody),
              (status = 401, description = "not signed in", body = ErrorBody),
              (status = 413, description = "the body is too large", body = ErrorBody),
              (status = 415, description = "the body is not JSON", body = ErrorBody),
              (status = 422, description = "an empty or too long title", body = ErrorBody),
              (status = 503, description = "the event log is unavailable", body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(req): Body<CreateRequest>,
) -> Result<(StatusCode, Json<CreatedSession>), ApiError> {
    let id = Uuid::now_v7();
    let title = req
        .title
        .map_or_else(|| DEFAULT_TITLE.to_owned(), |t| t.trim().to_owned());
    let mode = req.mode.unwrap_or_default();
    let at = Utc::now();
    let command = ChatCommand::Start(NewSession {
        id: SessionId(id),
        owner: caller.user_id.to_string(),
        title: title.clone(),
        mode,
        at,
    });
    change(&state, &caller, id, command).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedSession {
            id,
            title,
            mode,
            created_at: at,
        }),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionTotals {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_micros: i64,
}

/// A session with its whole history. The parts are the session's own records (the domain's
/// types), as its events made them.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionDetail {
    pub id: Uuid,
    pub title: String,
    pub mode: ChatMode,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub messages: Vec<ChatMessage>,
    pub tool_calls: Vec<ToolCall>,
    pub gate_decisions: Vec<GateDecision>,
    pub confirmations: Vec<Confirmation>,
    /// The confirmations still waiting for an answer (what a reloaded page shows again).
    pub pending_confirmations: Vec<Confirmation>,
    /// When the user stopped a run, in order.
    pub cancelled_runs: Vec<DateTime<Utc>>,
    pub usage: Vec<ModelUsage>,
    pub totals: SessionTotals,
    pub last_sequence: i64,
    /// Every recorded step in log order.
    pub history: Vec<HistoryRow>,
}

/// One session with its whole history: messages, tool calls with inputs and results, gate
/// decisions, confirmations and usage, as the read model holds them.
#[utoipa::path(get, path = "/chat_api/sessions/{id}", tag = "chat",
    params(("id" = Uuid, Path, description = "the session")),
    responses((status = 200, description = "the session", body = SessionDetail),
              (status = 400, description = "a malformed id", body = ErrorBody),
              (status = 401, description = "not signed in", body = ErrorBody),
              (status = 404, description = "no such session of the caller", body = ErrorBody)))]
async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<SessionDetail>, ApiError> {
    let id = parse_uuid(&id, "session id")?;
    let Owned {
        session: s,
        last_sequence,
        mut tx,
    } = owned(&state, &caller, id).await?;
    let history = queries::session_history(&mut tx, caller.tenant.as_str(), id).await?;
    tx.commit().await?;
    let pending_confirmations = s
        .pending_confirmations(Utc::now())
        .into_iter()
        .cloned()
        .collect();
    Ok(Json(SessionDetail {
        id,
        title: s.title,
        mode: s.mode,
        created_at: s.started_at,
        updated_at: s.updated_at,
        messages: s.messages,
        tool_calls: s.tool_calls,
        gate_decisions: s.gate_decisions,
        confirmations: s.confirmations,
        pending_confirmations,
        cancelled_runs: s.cancelled_runs,
        usage: s.usage,
        totals: SessionTotals {
            input_tokens: s.total_input_tokens,
            output_tokens: s.total_output_tokens,
            cost_micros: s.total_cost_micros,
        },
        last_sequence,
        history,
    }))
}

/// One of the caller's sessions as the read model holds it.
struct Owned {
    session: ChatSessionState,
    /// The stream sequence of its last event.
    last_sequence: i64,
    /// The transaction it was read in (scoped to the caller's organisation), for more reads
    /// of the same snapshot; commit it when done.
    tx: Transaction<'static, Postgres>,
}

/// Session `id` from the read model if it is the caller's and not deleted; anyone else's, like
/// a deleted or unknown one, is 404.
async fn owned(state: &AppState, caller: &Caller, id: Uuid) -> Result<Owned, ApiError> {
    let tenant = caller.tenant.as_str();
    let mut tx = queries::scoped(&state.services.gateway_pool, tenant).await?;
    let found = queries::session_state(&mut tx, tenant, id).await?;
    let Some((owner, deleted, text, last_sequence)) = found else {
        return Err(not_found(id));
    };
    if deleted || owner != caller.user_id.to_string() {
        return Err(not_found(id));
    }
    let session: ChatSessionState = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("session {id} has an unreadable state: {e}"))?;
    Ok(Owned {
        session,
        last_sequence,
        tx,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameRequest {
    title: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Renamed {
    pub id: Uuid,
    pub title: String,
}

/// Rename a session.
#[utoipa::path(patch, path = "/chat_api/sessions/{id}", tag = "chat", request_body = RenameRequest,
    params(("id" = Uuid, Path, description = "the session")),
    responses((status = 200, description = "renamed", body = Renamed),
              (status = 400, description = "a malformed id or body", body = ErrorBody),
              (status = 401, description = "not signed in", body = ErrorBody),
              (status = 404, description = "no such session of the caller", body = ErrorBody),
              (status = 413, description = "the body is too large", body = ErrorBody),
              (status = 415, description = "the body is not JSON", body = ErrorBody),
              (status = 422, description = "an empty or too long title", body = ErrorBody),
              (status = 503, description = "the event log is unavailable", body = ErrorBody)))]
async fn rename(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(req): Body<RenameRequest>,
) -> Result<Json<Renamed>, ApiError> {
    let id = parse_uuid(&id, "session id")?;
    let title = req.title.trim().to_owned();
    change(
        &state,
        &caller,
        id,
        ChatCommand::Rename {
            by: caller.user_id.to_string(),
            title: title.clone(),
            at: Utc::now(),
        },
    )
    .await?;
    Ok(Json(Renamed { id, title }))
}

/// Delete a session (soft: its events stay; it no longer lists, opens or changes).
#[utoipa::path(delete, path = "/chat_api/sessions/{id}", tag = "chat",
    params(("id" = Uuid, Path, description = "the session")),
    responses((status = 204, description = "deleted"),
              (status = 400, description = "a malformed id", body = ErrorBody),
              (status = 401, description = "not signed in", body = ErrorBody),
              (status = 404, description = "no such session of the caller", body = ErrorBody),
              (status = 503, description = "the event log is unavailable", body = ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_uuid(&id, "session id")?;
    let command = ChatCommand::Delete {
        by: caller.user_id.to_string(),
        at: Utc::now(),
    };
    change(&state, &caller, id, command).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Runs `command` (which names the caller) on session `id` of the caller's organisation and
/// waits until the read model shows it. The session decides whether it is the caller's: someone
/// else's, like a deleted or unknown one, is 404.
async fn change(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    command: ChatCommand,
) -> Result<(), ApiError> {
    let sequence = execute(state, caller, id, command).await?;
    read_own_write(state, sequence).await
}

/// Runs `command` on session `id`; the stream sequence of what it appended (0: nothing).
async fn execute(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    command: ChatCommand,
) -> Result<u64, ApiError> {
    let executed = state
        .services
        .sessions
        .execute(&caller.tenant, id, command, Context::new_root())
        .await?
        .map_err(|refusal| match refusal {
            ChatError::NotOwner | ChatError::Deleted | ChatError::NotStarted => not_found(id),
            other => ApiError::unprocessable("invalid_title", other.to_string()),
        })?;
    Ok(executed.stream_sequence)
}

/// Waits until the sessions read model holds stream sequence `sequence`.
async fn read_own_write(state: &AppState, sequence: u64) -> Result<(), ApiError> {
    if sequence > 0 {
        queries::wait_for_checkpoint(&state.services.pool, "sessions", sequence, READ_OWN_WRITE)
            .await?;
    }
    Ok(())
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("session {id} not found"))
}
