//! The chat socket, `GET /ws/chat?token=…[&session_id=…]`: [`relay`] is the loop (generic over
//! a `Sink`/`Stream` of messages, as axum's `testing-websockets` example, so it is tested on
//! channels), [`Socket`] what it relays to and from: the asker's requests on `CMD`, the
//! session's live frames from core NATS.
//!
//! Frames a client gets wrong are answered with an `error` frame and a code, never a dropped
//! connection.

use std::time::Duration;

use aurora_domain::chat::frames::{code, ClientFrame, ControlAction, ServerFrame};
use aurora_domain::chat::SessionRequest;
use aurora_domain::{ChatCommand, TenantId};
use aurora_nats::subjects;
use axum::extract::rejection::QueryRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use futures::{Sink, SinkExt, Stream, StreamExt};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;
use uuid::Uuid;

use super::ask::{self, Asked, Asker, NewSession, Refusal};
use super::tickets::{admit, Ticket};
use crate::api::responses::ErrorBody;
use crate::api::{ApiError, AppState};

/// How often the server pings an idle socket.
pub const PING_EVERY: Duration = Duration::from_secs(20);
/// Frames past this size end the connection (those between
/// [`aurora_domain::chat::frames::MAX_FRAME_BYTES`] and this get an `error` frame instead), so a
/// client cannot make the gateway buffer without bound.
const HARD_FRAME_LIMIT: usize = 16 * 1024 * 1024;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SocketParams {
    /// A ticket from `/api/ws-token`.
    token: Option<String>,
    /// Watch this session from the start (a reload): its live frames, and any confirmation still
    /// pending is sent again. An id no session has yet is watched for the session the first
    /// query will start.
    session_id: Option<String>,
}

/// The chat socket. Client frames: `query`, `confirmation_response`, `control`. Server frames:
/// `status`, `message`, `tool_call`, `tool_result`, `tool_error`, `execution_confirmation`,
/// `usage_info`, `error`.
#[utoipa::path(get, path = "/ws/chat", tag = "chat", params(SocketParams),
    responses((status = 101, description = "switching to the WebSocket protocol"),
              (status = 400, description = "not a WebSocket request, or a bad session id", body = ErrorBody),
              (status = 401, description = "the token is missing, unknown, used or expired", body = ErrorBody),
              (status = 404, description = "the session is someone else's or deleted", body = ErrorBody),
              (status = 503, description = "the ticket store or the event log is unavailable", body = ErrorBody)))]
pub async fn ws_chat(
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
    let asker = Asker {
        user_id: ticket.user_id,
        tenant,
        organization_id: ticket.organization_id,
    };
    let session = match params.session_id {
        Some(id) => {
            let id = crate::api::parse_uuid(&id, "session_id")?;
            ask::resolve(&state, &asker, id, NewSession::Allowed).await?;
            Some(id)
        }
        None => None,
    };
    let upgrade = upgrade.map_err(|e| ApiError::bad_request("not_websocket", e.body_text()))?;
    Ok(upgrade
        .max_message_size(HARD_FRAME_LIMIT)
        .max_frame_size(HARD_FRAME_LIMIT)
        .on_upgrade(move |socket| async move {
            let _open = state.services.metrics.websocket_opened();
            let (sink, stream) = socket.split();
            let socket = Socket {
                state,
                ticket,
                asker,
                session: None,
                live: None,
            };
            relay(sink, stream, socket, session).await;
        })
        .into_response())
}

/// What [`relay`] needs from the rest of Aurora. A trait only so that the loop can be tested
/// on channels with a recording stand-in; [`Socket`] is the one real implementation.
pub(crate) trait Frames {
    /// Follows session `id` from now on; with `resend` (a reload), the frames still waiting
    /// for an answer.
    async fn watch(&mut self, id: Uuid, resend: bool) -> Vec<ServerFrame>;
    /// The session whose live frames are relayed, if any.
    fn session(&self) -> Option<Uuid>;
    /// One client frame; the frames to answer it with right away.
    async fn on_frame(&mut self, frame: ClientFrame) -> Vec<ServerFrame>;
    /// The next live frame of the watched session, as JSON text (pending while there is none).
    async fn next_live(&mut self) -> String;
}

/// The socket loop: client frames in, answers and live frames out, a ping when idle; ends when
/// the client closes or goes away.
pub(crate) async fn relay<W, R, E, F>(
    mut sink: W,
    mut stream: R,
    mut frames: F,
    watch: Option<Uuid>,
) where
    W: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, E>> + Unpin,
    F: Frames,
{
    if let Some(id) = watch {
        for frame in frames.watch(id, true).await {
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
                let body = match &message {
                    Message::Text(body) => Ok(body.as_str()),
                    Message::Binary(body) => std::str::from_utf8(body)
                        .map_err(|_| ServerFrame::error(frames.session(), code::BAD_FRAME, "frames are UTF-8 JSON text")),
                    Message::Close(_) => break,
                    Message::Ping(_) | Message::Pong(_) => continue,
                };
                let replies = match body.map(ClientFrame::parse) {
                    Ok(Ok(frame)) => frames.on_frame(frame).await,
                    Ok(Err(e)) => vec![ServerFrame::error(frames.session(), e.code, e.text)],
                    Err(refused) => vec![refused],
                };
                for frame in replies {
                    if sink.send(text(&frame)).await.is_err() {
                        return;
                    }
                }
            }
            live = frames.next_live() => {
                if sink.send(Message::Text(live.into())).await.is_err() {
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

fn text(frame: &ServerFrame) -> Message {
    Message::Text(frame.to_json().into())
}

/// One connected client.
struct Socket {
    state: AppState,
    ticket: Ticket,
    asker: Asker,
    /// The session whose live frames this socket relays.
    session: Option<Uuid>,
    live: Option<async_nats::Subscriber>,
}

impl Frames for Socket {
    #[tracing::instrument(skip_all, fields(session = %id, tenant = %self.asker.tenant))]
    async fn watch(&mut self, id: Uuid, resend: bool) -> Vec<ServerFrame> {
        if self.session != Some(id) || self.live.is_none() {
            let subject = subjects::live_session(&self.asker.tenant, id);
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
        match ask::owned_session(&self.state, &self.asker.tenant, self.ticket.user_id, id).await {
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

    fn session(&self) -> Option<Uuid> {
        self.session
    }

    #[tracing::instrument(skip_all, fields(tenant = %self.asker.tenant, user = %self.ticket.user_id))]
    async fn on_frame(&mut self, frame: ClientFrame) -> Vec<ServerFrame> {
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

    async fn next_live(&mut self) -> String {
        loop {
            let Some(subscriber) = &mut self.live else {
                return std::future::pending().await;
            };
            match subscriber.next().await {
                None => self.live = None,
                Some(message) => {
                    if let Ok(body) = std::str::from_utf8(&message.payload) {
                        return body.to_owned();
                    }
                }
            }
        }
    }
}

impl Socket {
    async fn on_query(
        &mut self,
        asked: Asked,
        session_id: Option<Uuid>,
    ) -> Result<Vec<ServerFrame>, ServerFrame> {
        let refused =
            |id: Option<Uuid>, r: Refusal| ServerFrame::error(id, r.code(), r.to_string());
        let admitted = ask::admit(
            &self.state,
            &self.asker,
            asked,
            session_id,
            NewSession::Allowed,
        )
        .await
        .map_err(|r| refused(session_id, r))?;
        let id = admitted.session;
        // Watch before asking, so the first frames of the answer cannot be missed.
        let replies = self.watch(id, false).await;
        ask::send(&self.state, &self.asker.tenant, id, &admitted.request)
            .await
            .map_err(|r| refused(Some(id), r))?;
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
        let owned = ask::owned_session(&self.state, &self.asker.tenant, self.ticket.user_id, id)
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
        ask::send(
            &self.state,
            &self.asker.tenant,
            id,
            &SessionRequest::Command { command },
        )
        .await
        .map_err(|r| ServerFrame::error(Some(id), r.code(), r.to_string()))?;
        Ok(replies)
    }
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

#[cfg(test)]
mod tests;
