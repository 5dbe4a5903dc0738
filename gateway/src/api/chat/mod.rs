//! Chat over WebSocket (SPEC §5): `GET /api/ws-token` hands out a ticket ([`tickets`]),
//! `GET /ws/chat?token=…[&session_id=…]` opens the socket ([`socket`]).
//!
//! The gateway does not run the agent. A question ([`ask`], which also serves
//! `POST /chat_api/sessions/{id}/messages`) becomes a request on `cmd.<tenant>.session.<id>`
//! (the handlers' `chat` consumer runs it), counted against the [`query_limit`];
//! `confirmation_response` and `control` become commands on the same subject. What the agent
//! says arrives on `live.<tenant>.session.<id>` (core NATS) and is relayed as it is, so any
//! gateway can serve any session. The frames themselves are the domain's
//! ([`aurora_domain::chat::frames`]).

pub mod ask;
pub mod models;
pub mod query_limit;
pub mod socket;
pub mod tickets;

use async_nats::jetstream::kv;
use tokio::sync::OnceCell;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, AppState};

/// What the chat routes share: the ticket bucket and the query limit (both NATS KV, so every
/// gateway sees the same tickets and counts the same queries).
pub struct ChatState {
    tickets: OnceCell<kv::Store>,
    pub limit: query_limit::QueryLimit,
}

impl ChatState {
    /// At most `queries_per_minute` queries per user in any 60 s (0: no limit).
    pub fn new(queries_per_minute: u32) -> Self {
        Self {
            tickets: OnceCell::new(),
            limit: query_limit::QueryLimit::new(queries_per_minute),
        }
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(tickets::ws_token))
        .routes(routes!(socket::ws_chat))
        .routes(routes!(models::models))
}

fn unavailable(message: String) -> ApiError {
    ApiError::Unavailable {
        message,
        retry_after: 1,
    }
}
