//! Integrations (SPEC §1): an admin connects a webhook source and gets its URL, its secret (shown
//! once, when Aurora generates it) and what to paste where in the source tool.

use aurora_domain::integration::{
    IntegrationCommand, IntegrationError, IntegrationSettings, NewIntegration,
};
use aurora_domain::organization::Role;
use aurora_handlers::sources::{self, SecretOrigin, Source};
use aurora_nats::envelope::Context;
use aurora_nats::Executed;
use aurora_projections::queries;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::auth::Caller;
use super::{parse_uuid, ApiError, AppState, Body};

mod deliveries;
mod views;
pub use views::{
    IntegrationCreated, IntegrationList, IntegrationView, SecretRotated, SourceList, SourceView,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(list_sources))
        .routes(routes!(detail, update, delete))
        .routes(routes!(rotate_secret))
        .routes(routes!(deliveries::deliveries))
}

/// The URL a source posts to.
fn webhook_url(state: &AppState, source: &str, id: Uuid) -> String {
    let base = state.config.public_base();
    format!("{}/webhooks/{source}/{id}", base.trim_end_matches('/'))
}

/// The source called `name`, or 400 `unknown_source` naming the known ones (also the incident
/// list's `source` filter).
pub(super) fn known_source(name: &str) -> Result<&'static dyn Source, ApiError> {
    sources::source(name).ok_or_else(|| {
        let known: Vec<&str> = sources::SOURCES
            .iter()
            .map(|s| s.descriptor().name)
            .collect();
        ApiError::bad_request(
            "unknown_source",
            format!(
                "{name:?} is not a source Aurora accepts; known: {}",
                known.join(", ")
            ),
        )
    })
}

/// A fresh secret for a source whose secret Aurora makes.
fn generated_secret() -> Result<String, ApiError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("the system random source failed: {e}"))?;
    Ok(format!("aurora_wh_{}", hex::encode(bytes)))
}

/// The secret to store: generated, or given by the user for sources that make their own.
/// The secret store's name of an integration's webhook secret: `<source>/<id>`.
fn secret_name(source: &str, id: Uuid) -> String {
    aurora_handlers::secrets::name_of(source, id)
}

fn secret_for(source: &dyn Source, given: Option<String>) -> Result<(String, bool), ApiError> {
    match (source.descriptor().secret_origin, given) {
        (SecretOrigin::Aurora, None) => Ok((generated_secret()?, true)),
        (SecretOrigin::Aurora, Some(_)) => Err(ApiError::bad_request(
            "invalid_body",
            format!(
                "Aurora generates the secret for {}; do not send one",
                source.descriptor().title
            ),
        )),
        (SecretOrigin::Source, Some(secret)) if !secret.trim().is_empty() => {
            Ok((secret.trim().to_owned(), false))
        }
        (SecretOrigin::Source, _) => Err(ApiError::bad_request(
            "secret_required",
            format!(
                "{} signs its webhooks with a secret it generates: give it as \"secret\"",
                source.descriptor().title
            ),
        )),
    }
}

fn refusal(refusal: IntegrationError) -> ApiError {
    use IntegrationError as E;
    let message = refusal.to_string();
    match refusal {
        E::NotCreated | E::Deleted => ApiError::NotFound("integration not found".into()),
        E::AlreadyCreated => ApiError::conflict("already_created", message),
        E::EmptyName | E::NameTooLong { .. } => ApiError::unprocessable("invalid_name", message),
        E::InvalidSource(_) => ApiError::unprocessable("unknown_source", message),
        E::EmptySecretRef => ApiError::unprocessable("invalid_secret", message),
        E::TopicMismatch { .. } => ApiError::conflict("topic_mismatch", message),
    }
}

async fn execute(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    command: IntegrationCommand,
) -> Result<Executed, ApiError> {
    let executed = state
        .services
        .integrations
        .execute(&caller.tenant, id, command, Context::new_root())
        .await?
        .map_err(refusal)?;
    super::auth::read_own_write_of(state, "integrations", executed.stream_sequence).await;
    state.intake.forget(id);
    Ok(executed)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// One of `GET /api/integrations/sources`.
    source: String,
    name: String,
    settings: Option<IntegrationSettings>,
    /// Only for sources that make their own signing secret (PagerDuty, Sentry).
    secret: Option<String>,
}

/// Connect a webhook source (admin). The answer holds the URL, the secret when Aurora made it
/// (shown only now) and `setup`: exactly what to paste where in the source.
#[utoipa::path(post, path = "/api/integrations", tag = "integrations", request_body = CreateRequest,
    responses((status = 201, body = IntegrationCreated, description = "the integration, its URL and setup"),
              (status = 400, description = "unknown source, or a secret missing or not expected"),
              (status = 403, description = "not an admin")))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(req): Body<CreateRequest>,
) -> Result<(StatusCode, Json<IntegrationCreated>), ApiError> {
    caller
        .require(&state, Role::Admin, "connecting an integration")
        .await?;
    let source = known_source(&req.source)?;
    let (secret, generated) = secret_for(source, req.secret)?;
    let id = Uuid::now_v7();
    let secret_ref = state
        .services
        .secrets
        .put(
            caller.tenant.as_str(),
            &secret_name(source.descriptor().name, id),
            secret.as_bytes(),
        )
        .await?;
    let settings = req.settings.unwrap_or_default();
    let command = IntegrationCommand::Create(NewIntegration {
        id,
        source: source.descriptor().name.to_owned(),
        name: req.name,
        settings: settings.clone(),
        secret_ref,
        by: caller.user_id,
        at: Utc::now(),
    });
    execute(&state, &caller, id, command).await?;
    let url = webhook_url(&state, source.descriptor().name, id);
    let shown = generated.then_some(secret.as_str());
    let rca_on_new_incidents = settings
        .rca_on_new_incidents
        .unwrap_or(source.descriptor().rca_by_default);
    Ok((
        StatusCode::CREATED,
        Json(IntegrationCreated {
            id,
            source: source.descriptor().name.to_owned(),
            name: state_name(&state, &caller, id).await?,
            setup: source.setup(&url, shown),
            secret: shown.map(str::to_owned),
            webhook_url: url,
            settings,
            rca_on_new_incidents,
        }),
    ))
}

async fn state_name(state: &AppState, caller: &Caller, id: Uuid) -> Result<String, ApiError> {
    let mut tx = queries::scoped(&state.services.gateway_pool, caller.tenant.as_str()).await?;
    let row = queries::integration(&mut tx, caller.tenant.as_str(), id).await?;
    tx.commit().await?;
    Ok(row.map(|r| r.name).unwrap_or_default())
}

fn view(state: &AppState, row: &queries::IntegrationRow) -> IntegrationView {
    let source = sources::source(&row.source);
    let url = webhook_url(state, &row.source, row.id);
    let rca_default = source.is_some_and(|s| s.descriptor().rca_by_default);
    IntegrationView {
        id: row.id,
        source: row.source.clone(),
        name: row.name.clone(),
        enabled: row.enabled,
        settings: row.settings.clone(),
        rca_on_new_incidents: row.settings["rca_on_new_incidents"]
            .as_bool()
            .unwrap_or(rca_default),
        setup: source.map(|s| s.setup(&url, None)),
        webhook_url: url,
        pinned_topic: row.pinned_topic.clone(),
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// The organisation's integrations.
#[utoipa::path(get, path = "/api/integrations", tag = "integrations",
    responses((status = 200, body = IntegrationList, description = "the integrations")))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<IntegrationList>, ApiError> {
    let mut tx = queries::scoped(&state.services.gateway_pool, caller.tenant.as_str()).await?;
    let rows = queries::integrations(&mut tx, caller.tenant.as_str()).await?;
    tx.commit().await?;
    let items = rows.iter().map(|r| view(&state, r)).collect();
    Ok(Json(IntegrationList { items }))
}

/// Every source Aurora accepts, how it authenticates and what the user must paste where.
#[utoipa::path(get, path = "/api/integrations/sources", tag = "integrations",
    responses((status = 200, body = SourceList, description = "the sources")))]
async fn list_sources(State(state): State<AppState>, _caller: Caller) -> Json<SourceList> {
    let items = sources::SOURCES
        .iter()
        .map(|s| {
            let d = s.descriptor();
            let url = format!(
                "{}/webhooks/{}/<integration id>",
                state.config.public_base().trim_end_matches('/'),
                d.name
            );
            SourceView {
                name: d.name,
                title: d.title,
                auth: d.auth,
                secret_origin: d.secret_origin,
                rca_by_default: d.rca_by_default,
                setup: s.setup(&url, None),
            }
        })
        .collect();
    Json(SourceList { items })
}

async fn row_of(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> Result<queries::IntegrationRow, ApiError> {
    let mut tx = queries::scoped(&state.services.gateway_pool, caller.tenant.as_str()).await?;
    let row = queries::integration(&mut tx, caller.tenant.as_str(), id).await?;
    tx.commit().await?;
    row.ok_or_else(|| ApiError::NotFound(format!("integration {id} not found")))
}

/// One integration, with its setup instructions (the secret is never shown again).
#[utoipa::path(get, path = "/api/integrations/{id}", tag = "integrations",
    params(("id" = Uuid, Path, description = "the integration")),
    responses((status = 200, body = IntegrationView, description = "the integration"), (status = 404, description = "no such integration in the caller's organisation")))]
async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<IntegrationView>, ApiError> {
    let id = parse_uuid(&id, "integration")?;
    Ok(Json(view(&state, &row_of(&state, &caller, id).await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    name: Option<String>,
    /// The whole settings object: fields left out take their defaults.
    settings: Option<IntegrationSettings>,
    /// A new signing secret, for sources that make their own.
    secret: Option<String>,
}

/// Rename, change settings (e.g. turn it off, or "RCA on new incidents"), or give the source's
/// new signing secret (admin).
#[utoipa::path(patch, path = "/api/integrations/{id}", tag = "integrations", request_body = UpdateRequest,
    params(("id" = Uuid, Path, description = "the integration")),
    responses((status = 200, body = IntegrationView, description = "the integration"), (status = 404, description = "no such integration")))]
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(req): Body<UpdateRequest>,
) -> Result<Json<IntegrationView>, ApiError> {
    const ACTION: &str = "changing an integration";
    caller.require(&state, Role::Admin, ACTION).await?;
    let id = parse_uuid(&id, "integration")?;
    let row = row_of(&state, &caller, id).await?;
    if let Some(secret) = req.secret {
        let source = known_source(&row.source)?;
        let (secret, _) = secret_for(source, Some(secret))?;
        rotate_to(&state, &caller, &row.source, id, &secret).await?;
    }
    let command = IntegrationCommand::Update {
        name: req.name,
        settings: req.settings,
        by: caller.user_id,
        at: Utc::now(),
    };
    execute(&state, &caller, id, command).await?;
    Ok(Json(view(&state, &row_of(&state, &caller, id).await?)))
}

async fn rotate_to(
    state: &AppState,
    caller: &Caller,
    source: &str,
    id: Uuid,
    secret: &str,
) -> Result<(), ApiError> {
    let secret_ref = state
        .services
        .secrets
        .put(
            caller.tenant.as_str(),
            &secret_name(source, id),
            secret.as_bytes(),
        )
        .await?;
    let command = IntegrationCommand::RotateSecret {
        secret_ref,
        by: caller.user_id,
        at: Utc::now(),
    };
    execute(state, caller, id, command).await?;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    /// Only for sources that make their own signing secret.
    secret: Option<String>,
}

/// Replace the secret (admin). Deliveries with the old one are refused from now on; the new one
/// is shown once.
#[utoipa::path(post, path = "/api/integrations/{id}/rotate-secret", tag = "integrations",
    params(("id" = Uuid, Path, description = "the integration")),
    request_body(content = Option<RotateRequest>, description = "`{secret}` for sources that make their own"),
    responses((status = 200, body = SecretRotated, description = "the new secret and setup"), (status = 404, description = "no such integration")))]
async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<SecretRotated>, ApiError> {
    caller
        .require(&state, Role::Admin, "rotating an integration secret")
        .await?;
    let id = parse_uuid(&id, "integration")?;
    let row = row_of(&state, &caller, id).await?;
    let source = known_source(&row.source)?;
    // The body is optional: only sources that make their own secret send one.
    let given = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<RotateRequest>(&body)
            .map_err(|e| {
                ApiError::bad_request("invalid_body", format!("not a rotate request: {e}"))
            })?
            .secret
    };
    let (secret, generated) = secret_for(source, given)?;
    rotate_to(&state, &caller, &row.source, id, &secret).await?;
    let url = webhook_url(&state, source.descriptor().name, id);
    let shown = generated.then_some(secret.as_str());
    Ok(Json(SecretRotated {
        secret: shown.map(str::to_owned),
        setup: source.setup(&url, shown),
    }))
}

/// Delete an integration (admin): later deliveries to its URL answer 404.
#[utoipa::path(delete, path = "/api/integrations/{id}", tag = "integrations",
    params(("id" = Uuid, Path, description = "the integration")),
    responses((status = 204, description = "deleted"), (status = 404, description = "no such integration")))]
async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller
        .require(&state, Role::Admin, "deleting an integration")
        .await?;
    let id = parse_uuid(&id, "integration")?;
    let row = row_of(&state, &caller, id).await?;
    let command = IntegrationCommand::Delete {
        by: caller.user_id,
        at: Utc::now(),
    };
    execute(&state, &caller, id, command).await?;
    // Under its name, and under `integrations/<id>`, where secrets made before the name had
    // the source are (their references still resolve).
    for name in [
        secret_name(&row.source, id),
        format!("integrations/{}", id.simple()),
    ] {
        if let Err(e) = state
            .services
            .secrets
            .delete(caller.tenant.as_str(), &name)
            .await
        {
            tracing::warn!(error = %e, integration = %id, "the deleted integration's secret was not removed");
        }
    }
    Ok(StatusCode::NO_CONTENT)
}
