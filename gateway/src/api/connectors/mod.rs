//! Connectors (SPEC §7): an admin connects a cloud, Kubernetes or observability account; every
//! member sees what is connected and its status. The credential is checked with the provider
//! (when it can be reached), kept in the secret store, and only its reference is recorded; a
//! disconnect deletes it. GCP connectors also choose which projects the agent may use, and GCP
//! can be connected with a Google account through OAuth 2.0 ([`oauth`]).
//!
//! `POST /api/connectors/{connector}` takes a kind (`gcp`, `datadog`, …); the other routes on that
//! path take a connector's id (one path parameter, as the router needs).

mod oauth;
mod projects;
mod views;

use aurora_domain::connector::{
    ConnectorCommand, ConnectorError, ConnectorKind, ConnectorSettings,
};
use aurora_domain::organization::Role;
use aurora_handlers::connectors::connect::{self, Verified};
use aurora_handlers::connectors::ConnectError;
use aurora_nats::envelope::Context;
use aurora_nats::Executed;
use aurora_projections::queries;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::auth::Caller;
use super::{parse_uuid, ApiError, AppState, Body};

use views::{ConnectorList, ConnectorView};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(connect, detail, disconnect))
        .merge(projects::router())
        .merge(oauth::router())
}

/// The secret store's name of a connector's credential: `<kind>/<id>`.
fn secret_name(kind: &str, id: Uuid) -> String {
    aurora_handlers::secrets::name_of(kind, id)
}

/// Deletes a connector's credential: under its name, and under `connectors/<id>`, where
/// credentials connected before the name had the kind are (their references still resolve, so
/// they must not outlive a disconnect either). Deleting what is not there is not an error.
async fn delete_secret(
    state: &AppState,
    caller: &Caller,
    kind: &str,
    id: Uuid,
) -> Result<(), aurora_handlers::secrets::SecretError> {
    for name in [secret_name(kind, id), format!("connectors/{}", id.simple())] {
        state
            .services
            .secrets
            .delete(caller.tenant.as_str(), &name)
            .await?;
    }
    Ok(())
}

fn known_kind(text: &str) -> Result<ConnectorKind, ApiError> {
    ConnectorKind::parse(text).ok_or_else(|| {
        let known: Vec<&str> = ConnectorKind::ALL.iter().map(|k| k.as_str()).collect();
        ApiError::bad_request(
            "unknown_kind",
            format!(
                "{text:?} is not a kind of connector; known: {}",
                known.join(", ")
            ),
        )
    })
}

/// The answer to a connector's refusal.
pub(crate) fn refusal(refusal: ConnectorError) -> ApiError {
    use ConnectorError as E;
    let message = refusal.to_string();
    match refusal {
        E::NotConnected | E::Disconnected => ApiError::NotFound("connector not found".into()),
        E::AlreadyConnected => ApiError::conflict("already_connected", message),
        E::InvalidSetting { .. } | E::UnknownChoice { .. } | E::InvalidProject(_) => {
            ApiError::bad_request("invalid_settings", message)
        }
        E::EmptySecretRef => ApiError::unprocessable("invalid_secret", message),
        E::NotGcp => ApiError::unprocessable("not_gcp", message),
        E::UnknownProject(_) => ApiError::NotFound(message),
        E::ProjectDisabled(_) => ApiError::unprocessable("GCP_PROJECT_DISABLED", message),
    }
}

pub(crate) fn connect_error(error: ConnectError) -> ApiError {
    let message = error.to_string();
    match error {
        ConnectError::Malformed(_) => ApiError::bad_request("invalid_credentials", message),
        ConnectError::InvalidSettings(_) => ApiError::bad_request("invalid_settings", message),
        ConnectError::Settings(e) => refusal(e),
        ConnectError::Refused { .. }
        | ConnectError::OauthRefused { .. }
        | ConnectError::Unexpected { .. } => ApiError::BadGateway {
            code: "provider_error",
            message,
        },
        // `verify` records an unreachable provider as a failing check instead.
        ConnectError::Unreachable { .. } => ApiError::BadGateway {
            code: "provider_unreachable",
            message,
        },
        ConnectError::NotOffered(_) => ApiError::NotFound(message),
        ConnectError::NoAwsIdentity => ApiError::unprocessable("aws_not_configured", message),
        ConnectError::GcpOauthNotConfigured(_) => {
            ApiError::unprocessable("gcp_oauth_not_configured", message)
        }
    }
}

pub(crate) async fn execute(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    command: ConnectorCommand,
) -> Result<Executed, ApiError> {
    let executed = state
        .services
        .connector_store
        .execute(&caller.tenant, id, command, Context::new_root())
        .await?
        .map_err(refusal)?;
    super::auth::read_own_write_of(state, "connectors", executed.stream_sequence).await;
    // The projection has the change now: this process's lookups see it at once (others on the
    // projector's notice).
    state.services.connectors.changed(&caller.tenant);
    Ok(executed)
}

pub(crate) async fn row_of(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> Result<queries::ConnectorRow, ApiError> {
    let mut tx = queries::scoped(&state.services.gateway_pool, caller.tenant.as_str()).await?;
    let row = queries::connector(&mut tx, caller.tenant.as_str(), id).await?;
    tx.commit().await?;
    row.ok_or_else(|| ApiError::NotFound(format!("connector {id} not found")))
}

async fn view_of(state: &AppState, caller: &Caller, id: Uuid) -> Result<ConnectorView, ApiError> {
    ConnectorView::of(row_of(state, caller, id).await?)
        .ok_or_else(|| ApiError::NotFound(format!("connector {id} not found")))
}

/// A connect request: the kind's non-secret settings and its credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectRequest {
    /// Per kind: datadog `{site: US1|US3|US5|EU}`, newrelic `{account_id, region: US|EU}`,
    /// splunk / grafana / elasticsearch `{url}`, sentry `{organization}`, tailscale `{tailnet}`,
    /// scaleway `{access_key, project_id, region}`, azure `{tenant_id, client_id,
    /// subscription_id?}`, aws `{role_arn, external_id, region}`, kubernetes `{context?}`, ovh
    /// `{region: EU|CA|US}`; gcp none (read from the key).
    #[schema(value_type = Object)]
    settings: Option<Value>,
    /// Per kind: datadog `{api_key, application_key}`, newrelic `{api_key}`, splunk / sentry /
    /// grafana `{token}`, elasticsearch / tailscale `{api_key}`, scaleway `{secret_key}`, azure
    /// `{client_secret}`, gcp `{service_account_key}` (the key file, as an object or its text),
    /// kubernetes `{kubeconfig}`, ovh `{client_id, client_secret}` (an OAuth 2.0 service account); aws
    /// none.
    #[schema(value_type = Object)]
    credentials: Option<Value>,
}

/// Connect an account (admin). The credential is checked with the provider when it can be
/// reached; if it cannot, the connector is kept with the status `failing` and says why.
#[utoipa::path(post, path = "/api/connectors/{connector}", tag = "connectors", request_body = ConnectRequest,
    params(("connector" = String, Path, description = "the kind: gcp, aws, azure, scaleway, tailscale, ovh, kubernetes, datadog, newrelic, splunk, sentry, grafana, elasticsearch")),
    responses((status = 201, body = ConnectorView, description = "the connector"),
              (status = 400, description = "unknown kind; credentials or settings malformed (the code and message say which)"),
              (status = 403, description = "not an admin"),
              (status = 404, description = "a kind this installation does not offer (OVH without its feature flag)"),
              (status = 409, description = "this account (of this kind and name) is already connected"),
              (status = 422, description = "AWS without Aurora's own AWS identity"),
              (status = 502, description = "the provider refused the credential or answered something else; the message names it")))]
async fn connect(
    State(state): State<AppState>,
    caller: Caller,
    Path(kind): Path<String>,
    Body(req): Body<ConnectRequest>,
) -> Result<(StatusCode, Json<ConnectorView>), ApiError> {
    caller
        .require(&state, Role::Admin, "connecting an account")
        .await?;
    let kind = known_kind(&kind)?;
    let verified = connect::verify(
        state.services.connectors.config(),
        kind,
        req.settings,
        req.credentials,
    )
    .await
    .map_err(connect_error)?;
    record(&state, &caller, verified).await
}

/// Refuses an account that is connected already: one of its kind with the same name (several
/// of one kind are fine — two clusters, two AWS accounts — but each once).
async fn ensure_new(
    state: &AppState,
    caller: &Caller,
    settings: &ConnectorSettings,
) -> Result<(), ApiError> {
    let (kind, name) = (settings.kind(), settings.account_name());
    let accounts = state
        .services
        .connectors
        .accounts(&caller.tenant)
        .await
        .map_err(lookup)?;
    match accounts.iter().find(|a| a.kind == kind && a.name == name) {
        Some(existing) => Err(ApiError::conflict(
            "already_connected",
            format!(
                "{} {name} is already connected (connector {}); disconnect it first",
                kind.title(),
                existing.id
            ),
        )),
        None => Ok(()),
    }
}

/// Records a checked account (unless it is connected already): its credential into the secret store, the connect event (and a
/// failing check when the provider could not be reached); answers the new connector.
pub(crate) async fn record(
    state: &AppState,
    caller: &Caller,
    verified: Verified,
) -> Result<(StatusCode, Json<ConnectorView>), ApiError> {
    let Verified {
        settings,
        credentials,
        projects,
        reached,
    } = verified;
    ensure_new(state, caller, &settings).await?;
    let id = Uuid::now_v7();
    let kind = settings.kind();
    let secret_ref = match &credentials {
        Some(credentials) => {
            let bytes = serde_json::to_vec(credentials)
                .map_err(|e| anyhow::anyhow!("credentials do not serialise: {e}"))?;
            Some(
                state
                    .services
                    .secrets
                    .put(
                        caller.tenant.as_str(),
                        &secret_name(kind.as_str(), id),
                        &bytes,
                    )
                    .await?,
            )
        }
        None => None,
    };
    let at = Utc::now();
    let command = ConnectorCommand::Connect {
        id,
        settings,
        secret_ref,
        projects,
        by: caller.user_id,
        at,
    };
    if let Err(e) = execute(state, caller, id, command).await {
        forget_secret(state, caller, kind.as_str(), id).await;
        return Err(e);
    }
    if let Err(why) = reached {
        let check = ConnectorCommand::RecordCheck {
            ok: false,
            detail: Some(why),
            at,
        };
        execute(state, caller, id, check).await?;
    }
    Ok((StatusCode::CREATED, Json(view_of(state, caller, id).await?)))
}

pub(crate) fn lookup(e: aurora_handlers::connectors::LookupError) -> ApiError {
    use aurora_handlers::connectors::LookupError as L;
    match e {
        L::Database(e) => e.into(),
        L::Secret(e) => e.into(),
        other => ApiError::Internal(anyhow::Error::new(other)),
    }
}

async fn forget_secret(state: &AppState, caller: &Caller, kind: &str, id: Uuid) {
    if let Err(e) = delete_secret(state, caller, kind, id).await {
        tracing::warn!(error = %e, connector = %id, "a connector's credential was not removed");
    }
}

/// The organisation's connected accounts, their status and last check.
#[utoipa::path(get, path = "/api/connectors", tag = "connectors",
    responses((status = 200, body = ConnectorList, description = "the connectors")))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ConnectorList>, ApiError> {
    let mut tx = queries::scoped(&state.services.gateway_pool, caller.tenant.as_str()).await?;
    let rows = queries::connectors(&mut tx, caller.tenant.as_str()).await?;
    tx.commit().await?;
    Ok(Json(ConnectorList {
        items: rows.into_iter().filter_map(ConnectorView::of).collect(),
    }))
}

/// One connector.
#[utoipa::path(get, path = "/api/connectors/{connector}", tag = "connectors",
    params(("connector" = Uuid, Path, description = "the connector's id")),
    responses((status = 200, body = ConnectorView, description = "the connector"),
              (status = 400, description = "not a UUID"),
              (status = 404, description = "no such connector in the caller's organisation")))]
async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ConnectorView>, ApiError> {
    let id = parse_uuid(&id, "connector")?;
    Ok(Json(view_of(&state, &caller, id).await?))
}

/// Disconnect (admin): the credential is deleted from the secret store and the agent's tools
/// answer "not connected" from now on.
#[utoipa::path(delete, path = "/api/connectors/{connector}", tag = "connectors",
    params(("connector" = Uuid, Path, description = "the connector's id")),
    responses((status = 204, description = "disconnected"),
              (status = 400, description = "not a UUID"),
              (status = 403, description = "not an admin"),
              (status = 404, description = "no such connector"),
              (status = 503, description = "the secret store is unreachable: nothing was changed; retry after Retry-After")))]
async fn disconnect(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller
        .require(&state, Role::Admin, "disconnecting an account")
        .await?;
    let id = parse_uuid(&id, "connector")?;
    let row = row_of(&state, &caller, id).await?;
    // The credential goes first: with the secret store down the caller hears 503 and the account
    // stays connected, rather than a disconnect that leaves the credential behind. (Deleting is
    // idempotent, so a retry after a failed append deletes nothing twice.)
    delete_secret(&state, &caller, &row.kind, id).await?;
    let command = ConnectorCommand::Disconnect {
        by: caller.user_id,
        at: Utc::now(),
    };
    execute(&state, &caller, id, command).await?;
    state.services.connectors.forget(&caller.tenant, id);
    Ok(StatusCode::NO_CONTENT)
}
