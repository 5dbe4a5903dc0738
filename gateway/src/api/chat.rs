//! Chat over WebSocket (SPEC §5): `GET /api/ws-token` hands out a ticket (120 s, single use),
//! `GET /ws/chat?token=…[&session_id=…]` opens the socket.
//!
//! The gateway does not run the agent. A `query` becomes a command on
//! `cmd.<tenant>.session.<id>` (the handlers' `chat` consumer runs it); `confirmation_response`
//! and `control` become commands on the same subject. What the agent says arrives on
//! `live.<tenant>.session.<id>` (core NATS) and is relayed as it is, so any gateway can serve any
//! session. Tickets live in a NATS KV bucket for the same reason: one gateway issues, another
//! admits.
//!
//! Frames a client gets wrong are answered with an `error` frame and a code, never a dropped
//! connection.

use std::collections::HashMap;
use std::time::Duration;

use async_nats::jetstream::kv;
use aurora_domain::organization::Role;
use aurora_domain::{ChatCommand, ChatSession, TenantId};
use aurora_handlers::agent::frames::{code, ClientFrame, ControlAction, ServerFrame};
use aurora_handlers::agent::runner::no_model_text;
use aurora_handlers::agent::{
    estimate_tokens, Query as AgentQuery, SessionRequest, MAX_QUERY_TOKENS,
};
use aurora_nats::buckets::memory_bucket;
use aurora_nats::subjects;
use axum::extract::rejection::QueryRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, TimeDelta, Utc};
use esrs::Aggregate as _;
use futures::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::OnceCell;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::auth::credentials::{hash_token, new_token, TokenKind};
use super::auth::Caller;
use super::{ApiError, AppState};

/// How long a ticket admits a socket.
pub const TICKET_SECS: i64 = 120;
const TICKETS_BUCKET: &str = "ws_tickets";
/// How often the server pings an idle socket.
pub const PING_EVERY: Duration = Duration::from_secs(20);
/// Frames past this size end the connection (those between [`MAX_FRAME_BYTES`] and this get an
/// `error` frame instead), so a client cannot make the gateway buffer without bound.
const HARD_FRAME_LIMIT: usize = 16 * 1024 * 1024;
/// The longest title a new session gets from its first query.
const TITLE_CHARS: usize = 80;

const QUERIES_BUCKET: &str = "chat_queries";
/// The window of the query limit.
const QUERY_WINDOW_MS: i64 = 60_000;

/// What the chat routes share: the ticket bucket and the query-limit bucket (both NATS KV, so
/// every gateway sees the same tickets and counts the same queries).
pub struct ChatState {
    tickets: OnceCell<kv::Store>,
    queries: OnceCell<kv::Store>,
    /// The last entry of each user's window this gateway read or wrote: the next query tries
    /// its compare-and-set on that revision straight away (one round trip instead of two) and
    /// reads the bucket only when another gateway wrote since.
    windows: std::sync::Mutex<HashMap<Uuid, Window>>,
    /// 0: no limit.
    queries_per_minute: u32,
}

/// One user's query times as of a revision of their entry (`None`: no entry yet).
#[derive(Clone)]
struct Window {
    revision: Option<u64>,
    times: Vec<i64>,
}

/// Beyond this many users, windows with nothing in the last minute are forgotten.
const WINDOWS_KEPT: usize = 10_000;

impl ChatState {
    /// At most `queries_per_minute` queries per user in any 60 s (a sliding window).
    pub fn new(queries_per_minute: u32) -> Self {
        Self {
            tickets: OnceCell::new(),
            queries: OnceCell::new(),
            windows: std::sync::Mutex::new(HashMap::new()),
            queries_per_minute,
        }
    }
}

impl ChatState {
    fn remembered(&self, user: Uuid) -> Option<Window> {
        self.windows.lock().ok()?.get(&user).cloned()
    }

    fn remember(&self, user: Uuid, window: Window) {
        let Ok(mut windows) = self.windows.lock() else {
            return;
        };
        if windows.len() >= WINDOWS_KEPT && !windows.contains_key(&user) {
            let since = Utc::now().timestamp_millis() - QUERY_WINDOW_MS;
            windows.retain(|_, w| w.times.iter().any(|t| *t > since));
        }
        windows.insert(user, window);
    }
}

/// The sliding window: the times (ms) of the user's queries in the last minute, with `now`
/// added, or `None` if `limit` of them are already there.
fn admit_at(mut times: Vec<i64>, now: i64, limit: u32) -> Option<Vec<i64>> {
    times.retain(|t| now - t < QUERY_WINDOW_MS);
    if times.len() >= limit as usize {
        return None;
    }
    times.push(now);
    Some(times)
}

/// Counts a query of `user` against the limit, shared by every gateway: `false` when over it.
async fn allow_query(state: &AppState, user: Uuid) -> Result<bool, ApiError> {
    let limit = state.chat.queries_per_minute;
    if limit == 0 {
        return Ok(true);
    }
    let store = state
        .chat
        .queries
        .get_or_try_init(|| async {
            memory_bucket(
                &state.js,
                QUERIES_BUCKET,
                "Chat queries of each user in the last minute",
                Duration::from_millis(2 * QUERY_WINDOW_MS as u64),
            )
            .await
            .map_err(unavailable)
        })
        .await?;
    let key = user.simple().to_string();
    // Compare-and-set: two gateways counting at once retry rather than both admit. The first
    // attempt trusts this gateway's last view of the entry; a stale one only fails the write.
    let mut known = state.chat.remembered(user);
    for _ in 0..5 {
        let window = match known.take() {
            Some(window) => window,
            None => {
                let entry = store
                    .entry(key.clone())
                    .await
                    .map_err(|e| unavailable(format!("the query counter is unavailable: {e}")))?;
                Window {
                    revision: entry.as_ref().map(|e| e.revision),
                    times: entry
                        .as_ref()
                        .filter(|e| e.operation == kv::Operation::Put)
                        .and_then(|e| serde_json::from_slice(&e.value).ok())
                        .unwrap_or_default(),
                }
            }
        };
        let Some(times) = admit_at(window.times, Utc::now().timestamp_millis(), limit) else {
            return Ok(false);
        };
        let body = serde_json::to_vec(&times).map_err(|e| anyhow::anyhow!(e))?;
        let written = match window.revision {
            Some(revision) => store.update(&key, body.into(), revision).await.ok(),
            None => store.create(&key, body.into()).await.ok(),
        };
        if let Some(revision) = written {
            state.chat.remember(
                user,
                Window {
                    revision: Some(revision),
                    times,
                },
            );
            return Ok(true);
        }
    }
    Ok(false)
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ws_token))
        .routes(routes!(ws_chat))
}

/// Who a ticket was issued to.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Ticket {
    user_id: Uuid,
    email: String,
    tenant: String,
    organization_id: Uuid,
    expires_at: DateTime<Utc>,
}

fn unavailable(message: String) -> ApiError {
    ApiError::Unavailable {
        message,
        retry_after: 1,
    }
}

async fn tickets(state: &AppState) -> Result<&kv::Store, ApiError> {
    state
        .chat
        .tickets
        .get_or_try_init(|| async {
            memory_bucket(
                &state.js,
                TICKETS_BUCKET,
                "WebSocket tickets (single use)",
                Duration::from_secs(TICKET_SECS as u64 + 60),
            )
            .await
            .map_err(unavailable)
        })
        .await
}

/// A ticket for one WebSocket connection, valid 120 s, usable once.
#[utoipa::path(get, path = "/api/ws-token", tag = "chat",
    responses((status = 200, description = "`{token, expires_at, expires_in}`"),
              (status = 401, description = "not signed in")))]
async fn ws_token(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let (token, hash) = new_token(TokenKind::WebSocket)?;
    let expires_at = Utc::now() + TimeDelta::seconds(TICKET_SECS);
    let ticket = Ticket {
        user_id: caller.user_id,
        email: caller.email.clone(),
        tenant: caller.tenant.to_string(),
        organization_id: caller.organization_id,
        expires_at,
    };
    let body = serde_json::to_vec(&ticket).map_err(|e| anyhow::anyhow!(e))?;
    tickets(&state)
        .await?
        .put(hash, body.into())
        .await
        .map_err(|e| unavailable(format!("the ticket store is unavailable: {e}")))?;
    Ok(Json(json!({
        "token": token,
        "expires_at": expires_at,
        "expires_in": TICKET_SECS,
    })))
}

/// Takes a ticket: it admits once, within its 120 s.
async fn admit(state: &AppState, token: &str) -> Result<Ticket, ApiError> {
    let refused = || {
        ApiError::unauthorized(
            "invalid_token",
            "the WebSocket token is unknown, used or expired; get a new one from /api/ws-token",
        )
    };
    if TokenKind::of(token) != Some(TokenKind::WebSocket) {
        return Err(refused());
    }
    let store = tickets(state).await?;
    let key = hash_token(token);
    let entry = store
        .entry(key.clone())
        .await
        .map_err(|e| unavailable(format!("the ticket store is unavailable: {e}")))?;
    let Some(entry) = entry.filter(|e| e.operation == kv::Operation::Put) else {
        return Err(refused());
    };
    // Deleting at the revision read makes the ticket single use even with two gateways racing.
    store
        .delete_expect_revision(&key, Some(entry.revision))
        .await
        .map_err(|_| refused())?;
    let ticket: Ticket = serde_json::from_slice(&entry.value).map_err(|_| refused())?;
    if ticket.expires_at < Utc::now() {
        return Err(refused());
    }
    Ok(ticket)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct SocketParams {
    /// A ticket from `/api/ws-token`.
    token: Option<String>,
    /// Watch this session from the start (a reload): its live frames, and any confirmation still
    /// pending is sent again.
    session_id: Option<String>,
}

/// The chat socket. Client frames: `query`, `confirmation_response`, `control`. Server frames:
/// `status`, `message`, `tool_call`, `tool_result`, `tool_error`, `execution_confirmation`,
/// `usage_info`, `error`.
#[utoipa::path(get, path = "/ws/chat", tag = "chat", params(SocketParams),
    responses((status = 101, description = "switching to the WebSocket protocol"),
              (status = 400, description = "not a WebSocket request, or a bad session id"),
              (status = 401, description = "the token is missing, unknown, used or expired"),
              (status = 404, description = "no such session of the caller")))]
async fn ws_chat(
    State(state): State<AppState>,
    params: Result<Query<SocketParams>, QueryRejection>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let Query(params) =
        params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let token = params.token.ok_or_else(|| {
        ApiError::unauthorized("missing_token", "give ?token= from /api/ws-token")
    })?;
    let ticket = admit(&state, &token).await?;
    let tenant = TenantId::parse(ticket.tenant.clone()).map_err(|e| anyhow::anyhow!(e))?;
    let session = match params.session_id {
        Some(id) => {
            let id = super::parse_uuid(&id, "session_id")?;
            if owned_session(&state, &tenant, &ticket, id).await?.is_none() {
                return Err(ApiError::NotFound(format!("session {id} not found")));
            }
            Some(id)
        }
        None => None,
    };
    let upgrade = upgrade.map_err(|e| ApiError::bad_request("not_websocket", e.body_text()))?;
    Ok(upgrade
        .max_message_size(HARD_FRAME_LIMIT)
        .max_frame_size(HARD_FRAME_LIMIT)
        .on_upgrade(move |socket| async move {
            Socket {
                state,
                ticket,
                tenant,
                session: None,
                live: None,
            }
            .serve(socket, session)
            .await
        })
        .into_response())
}

/// The session `id` if it exists, is not deleted, and is the ticket holder's.
async fn owned_session(
    state: &AppState,
    tenant: &TenantId,
    ticket: &Ticket,
    id: Uuid,
) -> Result<Option<aurora_domain::ChatSessionState>, ApiError> {
    let loaded = state.services.sessions.load(tenant, id).await?;
    Ok(loaded
        .map(|s| s.into_inner())
        .filter(|s| !s.deleted && s.owner == ticket.user_id.to_string()))
}

/// One connected client.
struct Socket {
    state: AppState,
    ticket: Ticket,
    tenant: TenantId,
    /// The session whose live frames this socket relays.
    session: Option<Uuid>,
    live: Option<async_nats::Subscriber>,
}

impl Socket {
    async fn serve(mut self, socket: WebSocket, session: Option<Uuid>) {
        let (mut sink, mut stream) = socket.split();
        if let Some(id) = session {
            let resent = self.watch(id, true).await;
            for frame in resent {
                if sink.send(text(&frame)).await.is_err() {
                    return;
                }
            }
        }
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        loop {
            tokio::select! {
                incoming = stream.next() => {
                    let Some(Ok(message)) = incoming else { break };
                    let replies = match message {
                        Message::Text(body) => self.on_frame(body.as_str()).await,
                        Message::Binary(body) => match std::str::from_utf8(&body) {
                            Ok(body) => self.on_frame(body).await,
                            Err(_) => vec![ServerFrame::error(None, code::BAD_FRAME, "frames are UTF-8 JSON text")],
                        },
                        Message::Close(_) => break,
                        Message::Ping(_) | Message::Pong(_) => Vec::new(),
                    };
                    for frame in replies {
                        if sink.send(text(&frame)).await.is_err() {
                            return;
                        }
                    }
                }
                live = next_live(&mut self.live) => {
                    let Some(message) = live else {
                        self.live = None;
                        continue;
                    };
                    let Ok(body) = std::str::from_utf8(&message.payload) else { continue };
                    if sink.send(Message::Text(body.into())).await.is_err() {
                        return;
                    }
                }
                _ = ping.tick() => {
                    if sink.send(Message::Ping(Default::default())).await.is_err() {
                        return;
                    }
                }
            }
        }
    }

    /// Relays `id` from now on; with `resend` (a reload) returns the confirmations still waiting
    /// for an answer.
    async fn watch(&mut self, id: Uuid, resend: bool) -> Vec<ServerFrame> {
        if self.session != Some(id) || self.live.is_none() {
            let subject = subjects::live_session(&self.tenant, id);
            match self.state.services.nats.subscribe(subject).await {
                Ok(subscriber) => {
                    self.live = Some(subscriber);
                    self.session = Some(id);
                }
                Err(e) => {
                    return vec![ServerFrame::error(
                        Some(id),
                        code::UNAVAILABLE,
                        format!("cannot follow the session: {e}"),
                    )]
                }
            }
        }
        if !resend {
            return Vec::new();
        }
        match owned_session(&self.state, &self.tenant, &self.ticket, id).await {
            Ok(Some(session)) => session
                .pending_confirmations(Utc::now())
                .into_iter()
                .map(|c| ServerFrame::ExecutionConfirmation {
                    session_id: id,
                    confirmation_id: c.confirmation_id,
                    command: c.command.clone(),
                    reason: c.reason.clone(),
                    expires_at: c.expires_at,
                })
                .collect(),
            Ok(None) => Vec::new(),
            Err(e) => vec![ServerFrame::error(
                Some(id),
                code::UNAVAILABLE,
                e.to_string(),
            )],
        }
    }

    /// One client frame; the frames to answer it with right away.
    async fn on_frame(&mut self, body: &str) -> Vec<ServerFrame> {
        let frame = match ClientFrame::parse(body) {
            Ok(frame) => frame,
            Err(e) => return vec![ServerFrame::error(self.session, e.code, e.text)],
        };
        let result = match frame {
            ClientFrame::Query {
                query,
                session_id,
                mode,
                model,
                provider_preference,
                selected_project_id,
                attachments,
            } => {
                let asked = Asked {
                    text: with_attachments(query, &attachments),
                    mode,
                    model,
                    provider_preference,
                    selected_project_id,
                };
                self.on_query(asked, session_id).await
            }
            ClientFrame::ConfirmationResponse {
                confirmation_id,
                decision,
                session_id,
            } => {
                let command = ChatCommand::RespondToConfirmation {
                    by: self.ticket.user_id.to_string(),
                    confirmation_id,
                    decision,
                    at: Utc::now(),
                };
                self.on_command(session_id, command).await
            }
            ClientFrame::Control {
                action: ControlAction::Cancel,
                session_id,
            } => {
                let command = ChatCommand::Cancel {
                    by: self.ticket.user_id.to_string(),
                    at: Utc::now(),
                };
                self.on_command(session_id, command).await
            }
        };
        result.unwrap_or_else(|frame| vec![frame])
    }

    async fn on_query(
        &mut self,
        asked: Asked,
        session_id: Option<Uuid>,
    ) -> Result<Vec<ServerFrame>, ServerFrame> {
        let Asked {
            text: query,
            mode,
            model,
            provider_preference,
            selected_project_id,
        } = asked;
        let refuse = |code: &str, text: String| ServerFrame::error(session_id, code, text);
        if query.trim().is_empty() {
            return Err(refuse(code::EMPTY_QUERY, "the query is empty".into()));
        }
        let tokens = estimate_tokens(&query);
        if tokens > MAX_QUERY_TOKENS {
            return Err(refuse(
                code::QUERY_TOO_LONG,
                format!(
                    "a query may hold about {MAX_QUERY_TOKENS} tokens; this one has about {tokens}"
                ),
            ));
        }
        // The role now, not when the socket opened: a member removed or demoted since loses
        // what they lost. The query limit is counted at the same time (two round trips in
        // parallel rather than in turn).
        let (role, allowed) = tokio::join!(
            self.state
                .services
                .organizations
                .load(&self.tenant, self.ticket.organization_id),
            allow_query(&self.state, self.ticket.user_id)
        );
        let role = role
            .map_err(|e| refuse(code::UNAVAILABLE, e.to_string()))?
            .and_then(|o| o.inner().role_of(self.ticket.user_id));
        let allowed = allowed.map_err(|e| refuse(code::UNAVAILABLE, e.to_string()))?;
        let Some(role) = role else {
            return Err(refuse(
                code::FORBIDDEN,
                "you are no longer a member of this organisation".into(),
            ));
        };
        if mode == aurora_domain::ChatMode::Agent && role < Role::Editor {
            return Err(refuse(
                code::FORBIDDEN,
                "agent mode can change things; it needs the editor role (ask mode is open to viewers)".into(),
            ));
        }
        if self.state.agent.llm.is_none() {
            return Err(refuse(code::NO_MODEL, no_model_text()));
        }
        let model = model.filter(|m| !m.trim().is_empty());
        if let Some(model) = &model {
            if !self.state.agent.allows_model(model) {
                return Err(refuse(
                    code::MODEL_NOT_ALLOWED,
                    format!("model {model:?} is not offered here; leave `model` out for the configured one"),
                ));
            }
        }
        if !allowed {
            return Err(refuse(
                code::RATE_LIMITED,
                format!(
                    "at most {} queries per minute; wait a little",
                    self.state.chat.queries_per_minute
                ),
            ));
        }
        let (id, mut replies) = match session_id {
            Some(id) => {
                let owned = owned_session(&self.state, &self.tenant, &self.ticket, id)
                    .await
                    .map_err(|e| refuse(code::UNAVAILABLE, e.to_string()))?;
                if owned.is_none() {
                    return Err(refuse(
                        code::SESSION_NOT_FOUND,
                        format!("session {id} not found"),
                    ));
                }
                (id, Vec::new())
            }
            None => (Uuid::now_v7(), Vec::new()),
        };
        // Watch before asking, so the first frames of the answer cannot be missed.
        replies.extend(self.watch(id, false).await);
        let request = SessionRequest::Query(AgentQuery {
            message_id: Uuid::now_v7(),
            owner: self.ticket.user_id.to_string(),
            title: title_of(&query),
            text: query,
            mode,
            model,
            provider_preference,
            selected_project_id: selected_project_id.filter(|p| !p.trim().is_empty()),
            at: Utc::now(),
        });
        self.publish(id, &request).await?;
        Ok(replies)
    }

    async fn on_command(
        &mut self,
        session_id: Option<Uuid>,
        command: ChatCommand,
    ) -> Result<Vec<ServerFrame>, ServerFrame> {
        let Some(id) = session_id.or(self.session) else {
            return Err(ServerFrame::error(
                None,
                code::BAD_FRAME,
                "which session? give session_id (no session is open on this socket)",
            ));
        };
        let owned = owned_session(&self.state, &self.tenant, &self.ticket, id)
            .await
            .map_err(|e| ServerFrame::error(Some(id), code::UNAVAILABLE, e.to_string()))?;
        if owned.is_none() {
            return Err(ServerFrame::error(
                Some(id),
                code::SESSION_NOT_FOUND,
                format!("session {id} not found"),
            ));
        }
        let replies = if self.session == Some(id) {
            Vec::new()
        } else {
            self.watch(id, false).await
        };
        self.publish(id, &SessionRequest::Command { command })
            .await?;
        Ok(replies)
    }

    /// Puts a request on `CMD` and waits for JetStream to hold it.
    async fn publish(&self, id: Uuid, request: &SessionRequest) -> Result<(), ServerFrame> {
        let unavailable = |e: String| {
            ServerFrame::error(
                Some(id),
                code::UNAVAILABLE,
                format!("the request could not be taken in ({e}); send it again"),
            )
        };
        let body = serde_json::to_vec(request).map_err(|e| unavailable(e.to_string()))?;
        let subject = subjects::command(&self.tenant, ChatSession::NAME, id);
        self.state
            .js
            .publish(subject, body.into())
            .await
            .map_err(|e| unavailable(e.to_string()))?
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        Ok(())
    }
}

async fn next_live(live: &mut Option<async_nats::Subscriber>) -> Option<async_nats::Message> {
    match live {
        Some(subscriber) => subscriber.next().await,
        None => std::future::pending().await,
    }
}

fn text(frame: &ServerFrame) -> Message {
    Message::Text(frame.to_json().into())
}

/// A query frame's content.
struct Asked {
    text: String,
    mode: aurora_domain::ChatMode,
    model: Option<String>,
    provider_preference: Vec<String>,
    selected_project_id: Option<String>,
}

/// The query with its text attachments (`{name, content}`) appended, so they are part of the
/// recorded question and count against its size; others are named as not read.
fn with_attachments(query: String, attachments: &[Value]) -> String {
    let mut text = query;
    for (i, attachment) in attachments.iter().enumerate() {
        let name = attachment
            .get("name")
            .and_then(Value::as_str)
            .map_or_else(|| format!("attachment {}", i + 1), str::to_owned);
        match attachment.get("content").and_then(Value::as_str) {
            Some(content) => {
                text.push_str(&format!("\n\n--- attached: {name} ---\n{content}"));
            }
            None => text.push_str(&format!(
                "\n\n(attached: {name}, not read: only text content can be attached)"
            )),
        }
    }
    text
}

/// A new session's title: the first line of its first query, shortened.
fn title_of(query: &str) -> String {
    let line = query
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("Chat");
    let mut title: String = line.chars().take(TITLE_CHARS).collect();
    if line.chars().count() > TITLE_CHARS {
        title.push('…');
    }
    title
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_attachments_join_the_question() {
        let text = with_attachments(
            "why?".into(),
            &[
                json!({"name": "error.log", "content": "panic at checkout"}),
                json!({"name": "graph.png", "url": "https://x"}),
            ],
        );
        assert!(text.starts_with("why?"));
        assert!(text.contains("--- attached: error.log ---\npanic at checkout"));
        assert!(text.contains("graph.png, not read"));
        assert_eq!(with_attachments("plain".into(), &[]), "plain");
    }

    #[test]
    fn a_title_is_the_first_line_shortened() {
        assert_eq!(
            title_of("\n  why is checkout slow?\nmore"),
            "why is checkout slow?"
        );
        let long = "x".repeat(200);
        assert_eq!(title_of(&long).chars().count(), TITLE_CHARS + 1);
        assert_eq!(title_of("   "), "Chat");
    }

    #[test]
    fn the_query_window_admits_five_in_any_sixty_seconds() {
        let mut times = Vec::new();
        for second in 0..5 {
            times = admit_at(times, second * 1000, 5).expect("admitted");
        }
        assert_eq!(
            admit_at(times.clone(), 30_000, 5),
            None,
            "a sixth within the minute"
        );
        assert_eq!(admit_at(times.clone(), 59_999, 5), None);
        // At 60 s the first query leaves the window, and only that one.
        let later = admit_at(times.clone(), 60_000, 5).expect("one slot freed");
        assert_eq!(later, [1000, 2000, 3000, 4000, 60_000]);
        assert_eq!(admit_at(later, 60_500, 5), None);
    }
}
