//! GCP through a Google account (OAuth 2.0, authorization code with state and PKCE), the second
//! way beside a service-account key. An admin starts a flow and is given Google's authorization
//! URL; their browser comes back to the callback, which takes the flow's state (single use,
//! expiring, bound to the admin who started it), exchanges the code with the PKCE verifier,
//! keeps the refresh token in the secret store and records the connector.
//!
//! Pending flows live in a NATS KV bucket, so any gateway may answer the callback of a flow
//! another one started. The state is kept only as its hash, under the tenant and the user.

use std::time::Duration;

use async_nats::jetstream::kv;
use aurora_domain::organization::Role;
use aurora_handlers::connectors::gcp_oauth;
use aurora_nats::buckets::{memory_bucket, take_once};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::views::ConnectorView;
use super::{connect_error, record};
use crate::api::auth::credentials::hash_token;
use crate::api::auth::Caller;
use crate::api::{ApiError, AppState};

const STATES_BUCKET: &str = "gcp_oauth_states";
/// The bucket forgets a flow this long after it started, whatever its own expiry (which is at
/// most this).
const BUCKET_AGE: Duration = Duration::from_secs(30 * 60);
const CALLBACK_PATH: &str = "/api/connectors/gcp/oauth/callback";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start))
        .routes(routes!(callback))
}

/// A flow waiting for its callback.
#[derive(Serialize, Deserialize)]
struct Pending {
    verifier: String,
    expires_at: DateTime<Utc>,
}

/// Where the admin's browser goes next.
#[derive(Debug, Serialize, ToSchema)]
pub struct OauthStart {
    /// Google's authorization URL (client_id, redirect_uri, scope, state, code_challenge with
    /// code_challenge_method=S256, access_type=offline).
    pub authorization_url: String,
    /// Until when the callback accepts this flow.
    pub expires_at: DateTime<Utc>,
}

/// What Google sends the browser back with.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackParams {
    /// The authorization code (absent when Google answers an error).
    code: Option<String>,
    /// The flow's state, as Google was given it.
    state: String,
    /// Google's error, e.g. `access_denied` when the account refused consent.
    error: Option<String>,
}

/// Google's callback to this gateway (the redirect URI registered with Google's OAuth client).
fn redirect_uri(state: &AppState) -> String {
    format!(
        "{}{CALLBACK_PATH}",
        state.config.public_base().trim_end_matches('/')
    )
}

/// The flow's key: another tenant or another admin looks it up under their own name, so it is
/// unknown to them.
fn key_of(caller: &Caller, oauth_state: &str) -> String {
    format!(
        "{}.{}.{}",
        caller.tenant,
        caller.user_id.simple(),
        hash_token(oauth_state)
    )
}

fn unavailable(e: impl std::fmt::Display) -> ApiError {
    ApiError::Unavailable {
        message: format!("the OAuth state store is unavailable: {e}"),
        retry_after: 1,
    }
}

async fn states(state: &AppState) -> Result<&kv::Store, ApiError> {
    state
        .gcp_oauth_states
        .get_or_try_init(|| async {
            memory_bucket(
                &state.js,
                STATES_BUCKET,
                "Pending GCP OAuth flows (single use)",
                BUCKET_AGE,
            )
            .await
            .map_err(unavailable)
        })
        .await
}

/// Start connecting GCP with a Google account (admin): the answer's URL is where the browser
/// goes; Google sends it back to `/api/connectors/gcp/oauth/callback`.
#[utoipa::path(post, path = "/api/connectors/gcp/oauth", tag = "connectors",
    responses((status = 201, body = OauthStart, description = "the flow: Google's authorization URL"),
              (status = 403, description = "not an admin"),
              (status = 422, description = "Aurora has no OAuth client at Google (AURORA_GCP_OAUTH_CLIENT_ID / _SECRET)"),
              (status = 503, description = "the OAuth state store is unavailable")))]
async fn start(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<(StatusCode, Json<OauthStart>), ApiError> {
    caller
        .require(&state, Role::Admin, "connecting an account")
        .await?;
    let config = state.services.connectors.config();
    let flow = gcp_oauth::authorize(config, &redirect_uri(&state)).map_err(connect_error)?;
    let ttl = config
        .gcp_oauth
        .as_ref()
        .map_or(BUCKET_AGE, |c| c.state_ttl.min(BUCKET_AGE));
    let expires_at = Utc::now() + TimeDelta::from_std(ttl).unwrap_or(TimeDelta::minutes(10));
    let pending = Pending {
        verifier: flow.verifier,
        expires_at,
    };
    let body = serde_json::to_vec(&pending).map_err(|e| anyhow::anyhow!(e))?;
    states(&state)
        .await?
        .put(key_of(&caller, &flow.state), body.into())
        .await
        .map_err(unavailable)?;
    Ok((
        StatusCode::CREATED,
        Json(OauthStart {
            authorization_url: flow.url,
            expires_at,
        }),
    ))
}

/// Takes the caller's pending flow of `oauth_state`: once, before it expires.
async fn take(state: &AppState, caller: &Caller, oauth_state: &str) -> Result<Pending, ApiError> {
    let refused = || {
        ApiError::bad_request(
            "invalid_state",
            "the OAuth state is unknown, already used or expired; start again with POST /api/connectors/gcp/oauth",
        )
    };
    // Single use even with two gateways racing.
    let value = take_once(states(state).await?, &key_of(caller, oauth_state))
        .await
        .map_err(unavailable)?
        .ok_or_else(refused)?;
    let pending: Pending = serde_json::from_slice(&value).map_err(|_| refused())?;
    if pending.expires_at < Utc::now() {
        return Err(refused());
    }
    Ok(pending)
}

/// Google's redirect back (admin, in the browser that started the flow): the state is checked
/// and used up, the code exchanged with the PKCE verifier, the account's projects listed, and
/// the connector recorded.
#[utoipa::path(get, path = "/api/connectors/gcp/oauth/callback", tag = "connectors",
    params(CallbackParams),
    responses((status = 201, body = ConnectorView, description = "the connector"),
              (status = 400, description = "no state or code, or a state that is unknown, already used or expired (invalid_state)"),
              (status = 403, description = "not an admin"),
              (status = 409, description = "this Google account is connected already"),
              (status = 422, description = "Aurora has no OAuth client at Google"),
              (status = 502, description = "Google answered an error (a refused consent, a code it does not know) or could not be reached; the message names it"),
              (status = 503, description = "the OAuth state store is unavailable")))]
async fn callback(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<CallbackParams>, QueryRejection>,
) -> Result<(StatusCode, Json<ConnectorView>), ApiError> {
    caller
        .require(&state, Role::Admin, "connecting an account")
        .await?;
    let Query(params) =
        params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let pending = take(&state, &caller, &params.state).await?;
    if let Some(error) = params.error {
        let error: String = error.chars().take(100).collect();
        return Err(ApiError::BadGateway {
            code: "provider_error",
            message: format!("Google answered {error:?} instead of an authorization code"),
        });
    }
    let code = params
        .code
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| {
            ApiError::bad_request("invalid_query", "the callback has no authorization code")
        })?;
    let verified = gcp_oauth::connect(
        state.services.connectors.config(),
        &redirect_uri(&state),
        &code,
        &pending.verifier,
    )
    .await
    .map_err(connect_error)?;
    record(&state, &caller, verified).await
}
