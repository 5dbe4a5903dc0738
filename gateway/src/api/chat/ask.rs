//! Taking a question in, wherever it comes from (a socket's `query` frame or
//! `POST /chat_api/sessions/{id}/messages`): the checks it must pass, the session it goes to,
//! and its request on `CMD` for the handlers' `chat` consumer. One path, so both doors hold a
//! question to the same rules.

use aurora_domain::chat::frames::code;
use aurora_domain::chat::{
    estimate_tokens, Query, SessionRequest, MAX_QUERY_TOKENS, NO_MODEL_TEXT,
};
use aurora_domain::organization::Role;
use aurora_domain::{ChatMode, ChatSession, ChatSessionState, TenantId};
use aurora_nats::subjects;
use aurora_telemetry::trace;
use chrono::Utc;
use esrs::Aggregate as _;
use tracing::Instrument;
use uuid::Uuid;

use super::query_limit::allow_query;
use crate::api::{ApiError, AppState};

/// The longest title a new session gets from its first query.
const TITLE_CHARS: usize = 80;

/// Who asks, in which organisation.
#[derive(Debug, Clone)]
pub struct Asker {
    pub user_id: Uuid,
    pub tenant: TenantId,
    pub organization_id: Uuid,
}

/// A question's content.
#[derive(Debug, Clone)]
pub struct Asked {
    pub text: String,
    pub mode: ChatMode,
    pub model: Option<String>,
    pub provider_preference: Vec<String>,
    pub selected_project_id: Option<String>,
}

/// Whether a session id nobody has used yet may start a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewSession {
    /// The socket: the client picks the id of its next session (as upstream's frontend does).
    Allowed,
    /// REST: a session is made with `POST /chat_api/sessions` first.
    Refused,
}

/// A question taken in: the session it goes to, how many messages that session held before
/// it, and the request to put on `CMD`.
#[derive(Debug)]
pub struct Admitted {
    pub session: Uuid,
    /// The question's id.
    pub message_id: Uuid,
    pub messages_before: usize,
    pub request: SessionRequest,
}

/// Why a question was not taken in.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("the query is empty")]
    Empty,
    #[error("a query may hold about {MAX_QUERY_TOKENS} tokens; this one has about {tokens}")]
    TooLong { tokens: usize },
    #[error("session {0} not found")]
    SessionNotFound(Uuid),
    #[error("you are no longer a member of this organisation")]
    NotMember,
    #[error(
        "agent mode can change things; it needs the editor role (ask mode is open to viewers)"
    )]
    AgentNeedsEditor,
    #[error("{NO_MODEL_TEXT}")]
    NoModel,
    #[error("model {0:?} is not offered here; leave `model` out for the configured one")]
    ModelNotAllowed(String),
    #[error("at most {0} queries per minute; wait a little")]
    RateLimited(u32),
    #[error("the request could not be taken in ({0}); send it again")]
    Unavailable(String),
}

impl Refusal {
    /// The `error` frame's code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => code::EMPTY_QUERY,
            Self::TooLong { .. } => code::QUERY_TOO_LONG,
            Self::SessionNotFound(_) => code::SESSION_NOT_FOUND,
            Self::NotMember | Self::AgentNeedsEditor => code::FORBIDDEN,
            Self::NoModel => code::NO_MODEL,
            Self::ModelNotAllowed(_) => code::MODEL_NOT_ALLOWED,
            Self::RateLimited(_) => code::RATE_LIMITED,
            Self::Unavailable(_) => code::UNAVAILABLE,
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        let message = refusal.to_string();
        match refusal {
            Refusal::Empty => ApiError::bad_request("empty_message", message),
            Refusal::TooLong { .. } => ApiError::bad_request("message_too_long", message),
            Refusal::SessionNotFound(_) => ApiError::NotFound(message),
            Refusal::NotMember | Refusal::AgentNeedsEditor => ApiError::Forbidden(message),
            Refusal::ModelNotAllowed(_) => ApiError::unprocessable("model_not_allowed", message),
            Refusal::RateLimited(_) => ApiError::RateLimited {
                limit: "chat_queries".into(),
                retry_after: 60,
                message,
            },
            Refusal::NoModel | Refusal::Unavailable(_) => ApiError::Unavailable {
                message,
                retry_after: 1,
            },
        }
    }
}

/// The session `id` if it exists, is not deleted, and is `user`'s.
pub async fn owned_session(
    state: &AppState,
    tenant: &TenantId,
    user: Uuid,
    id: Uuid,
) -> Result<Option<ChatSessionState>, ApiError> {
    let loaded = state.services.sessions.load(tenant, id).await?;
    Ok(loaded
        .map(|s| s.into_inner())
        .filter(|s| s.is_started() && !s.deleted && s.owner == user.to_string()))
}

/// Where a question naming session `id` goes: the asker's own session (`Some`), or a new one
/// (`None`) when `new` allows it and the id is nobody's in any organisation. Someone else's
/// session, a deleted one, or (with `new` refused) an unknown one is `SessionNotFound`, worded
/// alike so that an answer does not tell which.
pub async fn resolve(
    state: &AppState,
    asker: &Asker,
    id: Uuid,
    new: NewSession,
) -> Result<Option<ChatSessionState>, Refusal> {
    let unavailable = |e: ApiError| Refusal::Unavailable(e.to_string());
    let loaded = state
        .services
        .sessions
        .load(&asker.tenant, id)
        .await
        .map_err(|e| unavailable(e.into()))?
        .map(|s| s.into_inner())
        .filter(|s| s.is_started());
    match loaded {
        Some(s) if !s.deleted && s.owner == asker.user_id.to_string() => Ok(Some(s)),
        Some(_) => Err(Refusal::SessionNotFound(id)),
        None if new == NewSession::Refused => Err(Refusal::SessionNotFound(id)),
        None => {
            // Sessions are per organisation, so another's id would open a second, separate
            // session here; it is refused all the same, so that an id names one session.
            let anywhere = subjects::aggregate_in_any_tenant(ChatSession::NAME, id);
            let taken = state
                .services
                .log
                .holds_any(&anywhere)
                .await
                .map_err(|e| unavailable(e.into()))?;
            if taken {
                Err(Refusal::SessionNotFound(id))
            } else {
                Ok(None)
            }
        }
    }
}

/// Checks a question of `asker` for session `session` (a new one when `None`) and makes its
/// request. The role is read now, not when the socket opened: a member removed or demoted since
/// loses what they lost.
pub async fn admit(
    state: &AppState,
    asker: &Asker,
    asked: Asked,
    session: Option<Uuid>,
    new: NewSession,
) -> Result<Admitted, Refusal> {
    if asked.text.trim().is_empty() {
        return Err(Refusal::Empty);
    }
    let tokens = estimate_tokens(&asked.text);
    if tokens > MAX_QUERY_TOKENS {
        return Err(Refusal::TooLong { tokens });
    }
    // Three round trips at once rather than in turn; the query is counted against the limit
    // even when refused for another reason, as a try.
    let resolved = async {
        match session {
            Some(id) => resolve(state, asker, id, new).await.map(|s| (id, s)),
            None => Ok((Uuid::now_v7(), None)),
        }
    };
    let (resolved, role, allowed) = tokio::join!(
        resolved,
        state
            .services
            .organizations
            .load(&asker.tenant, asker.organization_id),
        allow_query(state, asker.user_id)
    );
    let (id, existing) = resolved?;
    let role = role
        .map_err(|e| Refusal::Unavailable(e.to_string()))?
        .and_then(|o| o.inner().role_of(asker.user_id));
    let allowed = allowed.map_err(|e| Refusal::Unavailable(e.to_string()))?;
    let Some(role) = role else {
        return Err(Refusal::NotMember);
    };
    if asked.mode == ChatMode::Agent && role < Role::Editor {
        return Err(Refusal::AgentNeedsEditor);
    }
    if state.agent.llm.is_none() {
        return Err(Refusal::NoModel);
    }
    let model = asked.model.filter(|m| !m.trim().is_empty());
    if let Some(model) = &model {
        if !state.agent.allows_model(model) {
            return Err(Refusal::ModelNotAllowed(model.clone()));
        }
    }
    if !allowed {
        return Err(Refusal::RateLimited(state.chat.limit.per_minute));
    }
    let message_id = Uuid::now_v7();
    let request = SessionRequest::Query(Query {
        message_id,
        owner: asker.user_id.to_string(),
        title: title_of(&asked.text),
        text: asked.text,
        mode: asked.mode,
        model,
        provider_preference: asked.provider_preference,
        selected_project_id: asked.selected_project_id.filter(|p| !p.trim().is_empty()),
        at: Utc::now(),
    });
    Ok(Admitted {
        session: id,
        message_id,
        messages_before: existing.map_or(0, |s| s.messages.len()),
        request,
    })
}

/// Puts a request for session `id` on `CMD` and waits for JetStream to hold it.
pub async fn send(
    state: &AppState,
    tenant: &TenantId,
    id: Uuid,
    request: &SessionRequest,
) -> Result<(), Refusal> {
    let unavailable = |e: String| Refusal::Unavailable(e);
    let body = serde_json::to_vec(request).map_err(|e| unavailable(e.to_string()))?;
    let subject = subjects::command(tenant, ChatSession::NAME, id);
    // With spans exported, the command carries the publishing span's trace to the agent's run.
    let (publish, traceparent) =
        trace::producer_span(|| tracing::info_span!("cmd.publish", %subject));
    async {
        let published = match traceparent {
            Some(traceparent) => {
                let mut headers = async_nats::HeaderMap::new();
                aurora_nats::traceparent::insert(&mut headers, traceparent);
                state
                    .js
                    .publish_with_headers(subject, headers, body.into())
                    .await
            }
            None => state.js.publish(subject, body.into()).await,
        };
        published
            .map_err(|e| unavailable(e.to_string()))?
            .await
            .map_err(|e| unavailable(e.to_string()))
    }
    .instrument(publish)
    .await?;
    Ok(())
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
    fn each_refusal_has_its_frame_code_and_http_status() {
        let id = Uuid::from_u128(3);
        let cases = [
            (Refusal::Empty, code::EMPTY_QUERY, 400),
            (Refusal::TooLong { tokens: 1 }, code::QUERY_TOO_LONG, 400),
            (Refusal::SessionNotFound(id), code::SESSION_NOT_FOUND, 404),
            (Refusal::NotMember, code::FORBIDDEN, 403),
            (Refusal::AgentNeedsEditor, code::FORBIDDEN, 403),
            (Refusal::NoModel, code::NO_MODEL, 503),
            (
                Refusal::ModelNotAllowed("m".into()),
                code::MODEL_NOT_ALLOWED,
                422,
            ),
            (Refusal::RateLimited(5), code::RATE_LIMITED, 429),
            (Refusal::Unavailable("x".into()), code::UNAVAILABLE, 503),
        ];
        for (refusal, code, status) in cases {
            assert_eq!(refusal.code(), code, "{refusal:?}");
            assert_eq!(ApiError::from(refusal).status().as_u16(), status, "{code}");
        }
    }
}
