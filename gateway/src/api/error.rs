//! `ApiError`: the one mapping from failures to HTTP answers. Internal errors are logged with
//! their cause and shown only as "internal error". Every answer has the body
//! `{"error":{"code","message"}}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed; `code` names what is wrong (e.g. `invalid_query`).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// No valid credential; `code` says which (`unauthenticated`, `invalid_token`, …).
    #[error("{message}")]
    Unauthorized { code: &'static str, message: String },
    /// Authenticated, but the role does not allow it.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The request conflicts with what exists (a registered email, the last admin, …).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// A well-formed request the domain refused.
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    #[error("the request body exceeds the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A rate limit was hit: `limit` names it; retry after `retry_after` seconds.
    #[error("rate limit {limit} exceeded")]
    RateLimited {
        limit: String,
        retry_after: u64,
        message: String,
    },
    /// A dependency (NATS, Postgres) is unreachable; try again after `retry_after` seconds.
    #[error("{message}")]
    Unavailable { message: String, retry_after: u32 },
    /// A provider Aurora asked on the caller's behalf refused or answered nonsense; `message`
    /// names the provider.
    #[error("{message}")]
    BadGateway { code: &'static str, message: String },
    #[error("the request took longer than {0} seconds")]
    Timeout(u64),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unauthorized {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unprocessable {
            code,
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::BadGateway { .. } => StatusCode::BAD_GATEWAY,
            Self::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `code` of the answer's body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. }
            | Self::Unauthorized { code, .. }
            | Self::Conflict { code, .. }
            | Self::Unprocessable { code, .. }
            | Self::BadGateway { code, .. } => code,
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable { .. } => "unavailable",
            Self::Timeout(_) => "timeout",
            Self::Internal(_) => "internal",
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                Self::Unavailable {
                    message: "the database is unavailable".into(),
                    retry_after: 1,
                }
            }
            other => Self::Internal(anyhow::Error::new(other).context("database query failed")),
        }
    }
}

impl From<aurora_nats::StoreError> for ApiError {
    fn from(e: aurora_nats::StoreError) -> Self {
        match e {
            aurora_nats::StoreError::Unavailable(cause) => {
                tracing::warn!(reason = %cause, "event store unavailable");
                Self::Unavailable {
                    message: "the event store is unavailable".into(),
                    retry_after: 1,
                }
            }
            // Contention, not a fault: every retry met another writer of the same aggregate.
            // The command was not applied; the client may send it again shortly.
            aurora_nats::StoreError::TooManyConflicts { subject, attempts } => {
                tracing::warn!(%subject, attempts, "gave up on a contended aggregate");
                Self::Unavailable {
                    message: "too many concurrent changes to this item; try again".into(),
                    retry_after: 1,
                }
            }
            other => Self::Internal(anyhow::Error::new(other).context("event store failed")),
        }
    }
}

impl From<aurora_handlers::secrets::SecretError> for ApiError {
    fn from(e: aurora_handlers::secrets::SecretError) -> Self {
        use aurora_handlers::secrets::SecretError;
        match e {
            SecretError::Unavailable(cause) => {
                tracing::warn!(reason = ?cause, "secret store unavailable");
                // Nothing was stored or recorded: the same request may simply be sent again.
                Self::Unavailable {
                    message: "the secret store is unavailable; nothing was changed".into(),
                    retry_after: 5,
                }
            }
            other => Self::Internal(anyhow::Error::new(other).context("secret store failed")),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = self.code();
        let message = match &self {
            Self::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                "internal error".to_owned()
            }
            Self::MethodNotAllowed => "this route does not accept that method".to_owned(),
            Self::RateLimited { message, .. } => message.clone(),
            other => other.to_string(),
        };
        let body = super::responses::ErrorBody {
            error: super::responses::ErrorDetail {
                code: code.to_owned(),
                message,
            },
        };
        let mut response = (status, Json(body)).into_response();
        // The body past the limit was never read, so the connection cannot carry another
        // request: say so, or a client reusing it sends its next request into a closed socket.
        if matches!(self, Self::PayloadTooLarge { .. }) {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        let retry_after = match self {
            Self::Unavailable { retry_after, .. } => Some(u64::from(retry_after)),
            Self::RateLimited { retry_after, .. } => Some(retry_after),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}

/// What a path no route answers gets (the web UI's fallback decides which paths those are).
pub fn no_route(path: &str) -> ApiError {
    ApiError::NotFound(format!("no route for {path}"))
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn running_out_of_conflict_retries_is_a_503_with_retry_after() {
        let error = ApiError::from(aurora_nats::StoreError::TooManyConflicts {
            subject: "evt.t.incident.1".into(),
            attempts: 32,
        });
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from_static("1"))
        );
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("body");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(body["error"]["code"], "unavailable");
        assert!(body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("try again")));
    }

    #[tokio::test]
    async fn a_conflict_the_store_did_not_retry_stays_an_internal_error() {
        let error = ApiError::from(aurora_nats::StoreError::Conflict {
            subject: "evt.t.incident.1".into(),
            expected: 3,
        });
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.headers().get(header::RETRY_AFTER).is_none());
    }
}
