//! A GCP connector's projects: which of the projects its key reaches the agent may use, and the
//! root project it uses when a command names none (upstream's per-call override → root → the
//! key's own project; a disabled project is refused with `GCP_PROJECT_DISABLED`).

use aurora_domain::connector::ConnectorCommand;
use aurora_domain::organization::Role;
use axum::extract::{Path, State};
use axum::Json;
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::views::{ProjectList, ProjectView};
use super::{execute, row_of};
use crate::api::auth::Caller;
use crate::api::{parse_uuid, ApiError, AppState, Body};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(set_enabled))
        .routes(routes!(set_root))
}

async fn projects_of(
    state: &AppState,
    caller: &Caller,
    id: uuid::Uuid,
) -> Result<ProjectList, ApiError> {
    let row = row_of(state, caller, id).await?;
    if row.kind != "gcp" {
        return Err(ApiError::unprocessable(
            "not_gcp",
            format!(
                "connector {id} is a {} connector; projects are GCP's",
                row.kind
            ),
        ));
    }
    Ok(ProjectList {
        projects: serde_json::from_value::<Vec<ProjectView>>(row.projects).unwrap_or_default(),
        root_project: row.root_project,
    })
}

/// The projects a GCP connector's key reaches, each enabled or not, and the root project.
#[utoipa::path(get, path = "/api/connectors/{connector}/projects", tag = "connectors",
    params(("connector" = Uuid, Path, description = "a GCP connector's id")),
    responses((status = 200, body = ProjectList, description = "the projects"),
              (status = 404, description = "no such connector"),
              (status = 422, description = "not a GCP connector")))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ProjectList>, ApiError> {
    let id = parse_uuid(&id, "connector")?;
    Ok(Json(projects_of(&state, &caller, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnabledRequest {
    enabled: bool,
}

/// Enable or disable a project for the agent (admin). Disabling the root project unsets it.
#[utoipa::path(put, path = "/api/connectors/{connector}/projects/{project}", tag = "connectors",
    request_body = EnabledRequest,
    params(("connector" = Uuid, Path, description = "a GCP connector's id"),
           ("project" = String, Path, description = "one of its projects")),
    responses((status = 200, body = ProjectList, description = "the projects after the change"),
              (status = 403, description = "not an admin"),
              (status = 404, description = "no such connector, or a project its key does not reach"),
              (status = 422, description = "not a GCP connector")))]
async fn set_enabled(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, project)): Path<(String, String)>,
    Body(req): Body<EnabledRequest>,
) -> Result<Json<ProjectList>, ApiError> {
    caller
        .require(&state, Role::Admin, "choosing a connector's projects")
        .await?;
    let id = parse_uuid(&id, "connector")?;
    projects_of(&state, &caller, id).await?;
    let (by, at) = (caller.user_id, Utc::now());
    let command = if req.enabled {
        ConnectorCommand::EnableProject { project, by, at }
    } else {
        ConnectorCommand::DisableProject { project, by, at }
    };
    execute(&state, &caller, id, command).await?;
    Ok(Json(projects_of(&state, &caller, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RootRequest {
    project: String,
}

/// Make a project the root one: the agent's project when a command names none (admin).
#[utoipa::path(put, path = "/api/connectors/{connector}/root-project", tag = "connectors",
    request_body = RootRequest,
    params(("connector" = Uuid, Path, description = "a GCP connector's id")),
    responses((status = 200, body = ProjectList, description = "the projects after the change"),
              (status = 403, description = "not an admin"),
              (status = 404, description = "no such connector, or a project its key does not reach"),
              (status = 422, description = "not a GCP connector, or the project is disabled (GCP_PROJECT_DISABLED)")))]
async fn set_root(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(req): Body<RootRequest>,
) -> Result<Json<ProjectList>, ApiError> {
    caller
        .require(&state, Role::Admin, "choosing the root project")
        .await?;
    let id = parse_uuid(&id, "connector")?;
    projects_of(&state, &caller, id).await?;
    let command = ConnectorCommand::SetRootProject {
        project: req.project,
        by: caller.user_id,
        at: Utc::now(),
    };
    execute(&state, &caller, id, command).await?;
    Ok(Json(projects_of(&state, &caller, id).await?))
}
