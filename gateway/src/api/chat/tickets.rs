//! WebSocket tickets: `GET /api/ws-token` hands one out (120 s, single use); the socket takes it.
//! They live in a NATS KV bucket, so one gateway issues and another admits.

use std::time::Duration;

use async_nats::jetstream::kv;
use aurora_nats::buckets::{memory_bucket, take_once};
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::unavailable;
use crate::api::auth::credentials::{hash_token, new_token, TokenKind};
use crate::api::auth::Caller;
use crate::api::responses::ErrorBody;
use crate::api::{ApiError, AppState};

/// How long a ticket admits a socket.
pub const TICKET_SECS: i64 = 120;
const TICKETS_BUCKET: &str = "ws_tickets";

/// A ticket for `GET /ws/chat?token=…`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketResponse {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    /// Seconds.
    pub expires_in: i64,
}

/// Who a ticket was issued to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ticket {
    pub user_id: Uuid,
    pub email: String,
    pub tenant: String,
    pub organization_id: Uuid,
    pub expires_at: DateTime<Utc>,
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
            .map_err(|e| unavailable(e.to_string()))
        })
        .await
}

/// A ticket for one WebSocket connection, valid 120 s, usable once.
#[utoipa::path(get, path = "/api/ws-token", tag = "chat",
    responses((status = 200, description = "a ticket", body = TicketResponse),
              (status = 401, description = "not signed in", body = ErrorBody),
              (status = 503, description = "the ticket store is unavailable", body = ErrorBody)))]
pub async fn ws_token(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<TicketResponse>, ApiError> {
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
    Ok(Json(TicketResponse {
        token,
        expires_at,
        expires_in: TICKET_SECS,
    }))
}

/// Takes a ticket: it admits once, within its 120 s.
pub async fn admit(state: &AppState, token: &str) -> Result<Ticket, ApiError> {
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
    let value = take_once(store, &hash_token(token))
        .await
        .map_err(|e| unavailable(format!("the ticket store is unavailable: {e}")))?
        .ok_or_else(refused)?;
    let ticket: Ticket = serde_json::from_slice(&value).map_err(|_| refused())?;
    if ticket.expires_at < Utc::now() {
        return Err(refused());
    }
    Ok(ticket)
}
