//! An incident's postmortem: the latest version (or any one), its versions, a person's edit
//! (optimistic: it names the version it was written on), a restore, a regeneration, and the
//! Markdown export. Reads come from the `postmortem_versions` read model; writes run on the
//! `Postmortem` aggregate in the request, as the incident's short commands do, except a
//! regeneration, which takes a model call: it is recorded on the incident
//! (`incident.postmortem_requested`) and the handlers' `rca` consumer, which already follows
//! the incidents and writes the postmortem on resolve, writes it.

mod views;

use aurora_domain::organization::Role;
use aurora_domain::postmortem::{postmortem_id, PostmortemCommand, PostmortemError};
use aurora_domain::{IncidentCommand, IncidentId};
use aurora_nats::envelope::Context;
use aurora_projections::queries;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub use views::{PostmortemEdit, PostmortemVersions, PostmortemView, RegenerationRequested};

use super::auth::Caller;
use super::{incident_commands, parse_uuid, ApiError, AppState, Body};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(latest, edit))
        .routes(routes!(versions))
        .routes(routes!(restore))
        .routes(routes!(regenerate))
        .routes(routes!(export))
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    parse_uuid(id, "incident")
}

fn none_yet(id: Uuid) -> ApiError {
    ApiError::NotFound(format!(
        "incident {id} has no postmortem yet: it is written when the incident resolves"
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VersionParams {
    /// a version number; the latest when absent
    version: Option<i32>,
}

/// The version `params` ask for (the latest by default), from the read model.
async fn read(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    params: Result<Query<VersionParams>, QueryRejection>,
) -> Result<PostmortemView, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let tenant = caller.tenant.as_str();
    let postmortem = postmortem_id(IncidentId(id));
    let mut tx = queries::scoped(&state.services.gateway_pool, tenant).await?;
    let latest = queries::postmortem_version(&mut tx, tenant, postmortem, None)
        .await?
        .ok_or_else(|| none_yet(id))?;
    let latest_version = latest.summary.version;
    let version = match p.version {
        None => latest,
        Some(n) => queries::postmortem_version(&mut tx, tenant, postmortem, Some(n))
            .await?
            .ok_or_else(|| {
                ApiError::NotFound(format!(
                    "the postmortem of incident {id} has no version {n} (the latest is {latest_version})"
                ))
            })?,
    };
    tx.commit().await?;
    Ok(PostmortemView {
        incident_id: id,
        latest_version,
        version,
    })
}

/// The incident's postmortem: its latest version, or `?version=`.
#[utoipa::path(get, path = "/api/incidents/{id}/postmortem", tag = "incidents",
    params(("id" = Uuid, Path, description = "the incident"), VersionParams),
    responses((status = 200, body = PostmortemView, description = "the version with its text"),
              (status = 404, description = "no such incident in the caller's organisation, no postmortem yet, or no such version")))]
async fn latest(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Result<Query<VersionParams>, QueryRejection>,
) -> Result<Json<PostmortemView>, ApiError> {
    let id = parse_id(&id)?;
    Ok(Json(read(&state, &caller, id, params).await?))
}

/// The postmortem as Markdown, to download: its latest version, or `?version=`.
#[utoipa::path(get, path = "/api/incidents/{id}/postmortem.md", tag = "incidents",
    params(("id" = Uuid, Path, description = "the incident"), VersionParams),
    responses((status = 200, content_type = "text/markdown", body = String, description = "the postmortem's Markdown text"),
              (status = 404, description = "no such incident in the caller's organisation, no postmortem yet, or no such version")))]
async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Result<Query<VersionParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let view = read(&state, &caller, id, params).await?;
    let file = format!(
        "attachment; filename=\"postmortem-{id}-v{}.md\"",
        view.version.summary.version
    );
    let disposition = HeaderValue::from_str(&file)
        .map_err(|e| anyhow::Error::new(e).context("a file name does not make a header"))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/markdown; charset=utf-8"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        view.version.markdown,
    )
        .into_response())
}

/// Every version of the incident's postmortem, oldest first, without their texts.
#[utoipa::path(get, path = "/api/incidents/{id}/postmortem/versions", tag = "incidents",
    params(("id" = Uuid, Path, description = "the incident")),
    responses((status = 200, body = PostmortemVersions, description = "the versions"),
              (status = 404, description = "no such incident in the caller's organisation, or no postmortem yet")))]
async fn versions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<PostmortemVersions>, ApiError> {
    let id = parse_id(&id)?;
    let tenant = caller.tenant.as_str();
    let mut tx = queries::scoped(&state.services.gateway_pool, tenant).await?;
    let versions =
        queries::postmortem_versions(&mut tx, tenant, postmortem_id(IncidentId(id))).await?;
    tx.commit().await?;
    let latest_version = versions
        .last()
        .map(|v| v.version)
        .ok_or_else(|| none_yet(id))?;
    Ok(Json(PostmortemVersions {
        incident_id: id,
        latest_version,
        versions,
    }))
}

/// Runs `command` on the caller's postmortem of incident `id`: its latest version after it.
async fn execute(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    command: PostmortemCommand,
) -> Result<Json<PostmortemView>, ApiError> {
    let (_, postmortem) = state
        .services
        .postmortems
        .execute_with_state(
            &caller.tenant,
            postmortem_id(IncidentId(id)),
            command,
            Context::new_root(),
        )
        .await?
        .map_err(|refusal| postmortem_refusal(id, refusal))?;
    let latest = postmortem.latest().ok_or_else(|| none_yet(id))?;
    let version = views::row(latest)?;
    Ok(Json(PostmortemView {
        incident_id: id,
        latest_version: version.summary.version,
        version,
    }))
}

/// Save a person's text as the postmortem's new version (editor). It names the version it was
/// written on: if another one was saved since, it is refused (409) rather than overwriting it.
/// Saving the latest text unchanged makes no version.
#[utoipa::path(put, path = "/api/incidents/{id}/postmortem", tag = "incidents", request_body = PostmortemEdit,
    params(("id" = Uuid, Path, description = "the incident")),
    responses((status = 200, body = PostmortemView, description = "the latest version after the edit"),
              (status = 403, description = "viewers cannot edit postmortems"),
              (status = 404, description = "no such incident in the caller's organisation, or no postmortem yet"),
              (status = 409, description = "`base_version` is not the latest version any more: reload and edit again"),
              (status = 422, description = "the text is empty or longer than 200 000 characters"),
              (status = 503, description = "the event store is unavailable, or too many concurrent changes; retry after Retry-After")))]
async fn edit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(req): Body<PostmortemEdit>,
) -> Result<Json<PostmortemView>, ApiError> {
    caller
        .require(&state, Role::Editor, "editing a postmortem")
        .await?;
    let id = parse_id(&id)?;
    let command = PostmortemCommand::Edit {
        markdown: req.markdown,
        base_version: req.base_version,
        by: caller.email.clone(),
        at: Utc::now(),
    };
    execute(&state, &caller, id, command).await
}

/// Make an earlier version's text the latest again (editor): a new version, the others kept.
#[utoipa::path(post, path = "/api/incidents/{id}/postmortem/versions/{version}/restore", tag = "incidents",
    params(("id" = Uuid, Path, description = "the incident"), ("version" = u32, Path, description = "the version to restore")),
    responses((status = 200, body = PostmortemView, description = "the latest version after the restore (unchanged when its text already was that version's)"),
              (status = 403, description = "viewers cannot restore postmortem versions"),
              (status = 404, description = "no such incident in the caller's organisation, no postmortem yet, or no such version"),
              (status = 503, description = "the event store is unavailable, or too many concurrent changes; retry after Retry-After")))]
async fn restore(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, version)): Path<(String, String)>,
) -> Result<Json<PostmortemView>, ApiError> {
    caller
        .require(&state, Role::Editor, "restoring a postmortem version")
        .await?;
    let id = parse_id(&id)?;
    let version: u32 = version.parse().map_err(|_| {
        ApiError::bad_request(
            "invalid_version",
            format!("{version:?} is not a version number"),
        )
    })?;
    let command = PostmortemCommand::Restore {
        version,
        by: caller.email.clone(),
        at: Utc::now(),
    };
    execute(&state, &caller, id, command).await
}

/// Have the postmortem written again (editor), by the model when one is configured, else by the
/// template: recorded on the incident now (202), written by the handlers as a new version.
#[utoipa::path(post, path = "/api/incidents/{id}/postmortem/regenerate", tag = "incidents",
    params(("id" = Uuid, Path, description = "the incident")),
    responses((status = 202, body = RegenerationRequested, description = "asked for; the new version follows"),
              (status = 403, description = "viewers cannot regenerate postmortems"),
              (status = 404, description = "no such incident in the caller's organisation"),
              (status = 409, description = "the incident is not resolved, or was merged into another"),
              (status = 503, description = "the event store is unavailable, or too many concurrent changes to this incident; retry after Retry-After")))]
async fn regenerate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<RegenerationRequested>), ApiError> {
    caller
        .require(&state, Role::Editor, "regenerating a postmortem")
        .await?;
    let id = parse_id(&id)?;
    let request_id = Uuid::now_v7();
    let command = IncidentCommand::RequestPostmortem {
        request: request_id,
        by: caller.email.clone(),
        at: Utc::now(),
    };
    incident_commands::execute(&state, &caller, id, command).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(RegenerationRequested {
            incident_id: id,
            request_id,
        }),
    ))
}

/// The answer to a postmortem's refusal.
fn postmortem_refusal(id: Uuid, refusal: PostmortemError) -> ApiError {
    let message = refusal.to_string();
    match refusal {
        PostmortemError::NotGenerated => none_yet(id),
        PostmortemError::UnknownVersion { .. } => ApiError::NotFound(message),
        PostmortemError::StaleBase { .. } => ApiError::conflict("stale_version", message),
        PostmortemError::Empty | PostmortemError::TooLong { .. } => {
            ApiError::unprocessable("invalid_postmortem", message)
        }
    }
}
