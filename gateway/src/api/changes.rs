//! Changes (deployments, merged pull requests, successful builds) reported by CI and source
//! control integrations: `GET /api/changes`, and the hour before an incident on its page.

use aurora_domain::incident::IncidentState;
use aurora_projections::queries;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::{ApiError, AppState};

const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 500;
/// The period shown before an incident started.
pub const BEFORE_INCIDENT: Duration = Duration::hours(1);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ChangeParams {
    /// Only changes of this service.
    service: Option<String>,
    /// RFC 3339; default: 24 hours before `to`.
    from: Option<DateTime<Utc>>,
    /// RFC 3339; default: now.
    to: Option<DateTime<Utc>>,
    /// 1 to 500; default 100.
    limit: Option<i64>,
}

/// Changes of the organisation, newest first.
#[utoipa::path(get, path = "/api/changes", tag = "changes", params(ChangeParams),
    responses((status = 200, body = ChangePage, description = "the changes of the period"),
              (status = 400, description = "a filter is invalid")))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<ChangeParams>, QueryRejection>,
) -> Result<Json<ChangePage>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let to = p.to.unwrap_or_else(Utc::now);
    let from = p.from.unwrap_or(to - Duration::hours(24));
    if from > to {
        return Err(ApiError::bad_request(
            "invalid_period",
            "`from` must not come after `to`",
        ));
    }
    let limit = super::page::limit(p.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let tenant = caller.tenant.as_str();
    let mut tx = queries::scoped(&state.services.gateway_pool, tenant).await?;
    let items = queries::changes(&mut tx, tenant, p.service.as_deref(), from, to, limit).await?;
    tx.commit().await?;
    Ok(Json(ChangePage { items, from, to }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChangePage {
    items: Vec<queries::ChangeRow>,
    /// The period listed (the defaults filled in).
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

/// A change shortly before an incident.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeBefore {
    #[serde(flatten)]
    change: queries::ChangeRow,
    /// Of the incident's service or one of its affected services.
    same_service: bool,
    minutes_before: i64,
}

/// The changes in the hour before `incident` started, those of its services first marked.
pub async fn before_incident(
    conn: &mut PgConnection,
    tenant: &str,
    incident: &IncidentState,
) -> Result<Vec<ChangeBefore>, ApiError> {
    let Some(started) = incident.started_at else {
        return Ok(Vec::new());
    };
    let rows = queries::changes(
        conn,
        tenant,
        None,
        started - BEFORE_INCIDENT,
        started,
        MAX_LIMIT,
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|c| {
            let same =
                c.service == incident.service || incident.affected_services.contains(&c.service);
            ChangeBefore {
                minutes_before: (started - c.at).num_minutes(),
                same_service: same,
                change: c,
            }
        })
        .collect())
}
