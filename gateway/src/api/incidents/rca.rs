//! An incident's investigation (root-cause analysis): the `rca` of its detail (now or as of a
//! time), and asking for one or cancelling it (`POST`/`DELETE /api/incidents/{id}/rca`).
//!
//! Asking runs on the incident right here, like the other short commands a person issues: the
//! incident records `RcaRequested` with the run's id, and the handlers' process manager starts
//! the run itself (it takes long and must outlive the gateway). Cancelling records
//! `RcaCancelled`, on which that process manager stops the agent.

use aurora_domain::incident::IncidentState;
use aurora_domain::investigation::{self, Investigation, InvestigationEvent, InvestigationState};
use aurora_domain::organization::Role;
use aurora_domain::{IncidentCommand, IncidentId, TenantId};
use aurora_nats::subjects;
use aurora_projections::queries;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use esrs::event::Upcaster;
use esrs::Aggregate;
use serde::Serialize;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::rca_view::RcaView;
use super::{parse_id, ApiError, AppState};
use crate::api::auth::Caller;
use crate::api::incident_commands::{execute, existing};

/// The subject of run `run`'s events.
pub(super) fn subject(tenant: &TenantId, run: Uuid) -> String {
    subjects::aggregate(tenant, Investigation::NAME, run)
}

/// The incident's current run from the read model; `None` when none was ever requested.
pub(super) async fn live(
    conn: &mut PgConnection,
    tenant: &TenantId,
    incident: &IncidentState,
) -> Result<Option<RcaView>, ApiError> {
    let Some(run) = incident.rca_run else {
        return Ok(None);
    };
    let Some(row) = queries::investigation(conn, tenant.as_str(), run).await? else {
        // Asked for, but the run has stored nothing yet (or the projector has not reached it).
        return Ok(Some(
            RcaView::from_state(run, incident.rca_runs, &InvestigationState::default())
                .rated(incident),
        ));
    };
    let items = queries::investigation_items(conn, tenant.as_str(), run).await?;
    let view = RcaView::from_read_model(row, items).map_err(|e| {
        anyhow::Error::new(e).context(format!("the items of investigation {run} do not load"))
    })?;
    Ok(Some(view.rated(incident)))
}

/// The incident's run as it stood at `at` (`incident` is the incident folded up to then): its
/// events stored up to then, folded by the aggregate.
pub(super) async fn as_of(
    state: &AppState,
    tenant: &TenantId,
    incident: &IncidentState,
    at: DateTime<Utc>,
) -> Result<Option<RcaView>, ApiError> {
    let Some(run) = incident.rca_run else {
        return Ok(None);
    };
    let raw = state
        .services
        .log
        .read_subject(&subject(tenant, run), 1)
        .await?;
    let mut events = Vec::with_capacity(raw.len());
    for event in raw {
        // Stored time, as for the incident itself (see `incidents::as_of`).
        if event.time > at {
            break;
        }
        events.push(
            InvestigationEvent::upcast(event.data, event.version).map_err(|e| {
                anyhow::Error::new(e).context(format!(
                    "event {} of investigation {run} does not load",
                    event.stream_sequence
                ))
            })?,
        );
    }
    Ok(Some(
        RcaView::from_state(run, incident.rca_runs, &investigation::fold(events)).rated(incident),
    ))
}

/// What was accepted: the run concerned and what became of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RcaAccepted {
    pub run_id: Uuid,
    /// `requested` (it starts when the organisation has a free slot) or `cancelled`
    pub status: &'static str,
}

/// Ask for a root-cause analysis of the incident (editor): a new run, when none is under way.
#[utoipa::path(post, path = "/api/incidents/{id}/rca", tag = "incidents",
    params(("id" = Uuid, Path, description = "the incident")),
    responses((status = 202, body = RcaAccepted, description = "the run is requested; `GET /api/incidents/{id}` and `…/rca/stream` follow it"),
              (status = 403, description = "viewers cannot ask for an analysis"),
              (status = 404, description = "no such incident in the caller's organisation"),
              (status = 409, description = "the incident was merged, or one of its runs is under way (the message names it)"),
              (status = 503, description = "the event store is unavailable, or too many concurrent changes to this incident; retry after Retry-After")))]
pub(super) async fn request(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<RcaAccepted>), ApiError> {
    let (run, _) = on_incident(
        &state,
        &caller,
        &id,
        "asking for a root-cause analysis",
        |id, incident| {
            let run = investigation::run_id(IncidentId(id), incident.rca_runs + 1);
            let by = Some(caller.email.clone());
            (
                run,
                IncidentCommand::RequestRca {
                    run,
                    by,
                    at: Utc::now(),
                },
            )
        },
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(RcaAccepted {
            run_id: run,
            status: "requested",
        }),
    ))
}

/// Cancel the incident's run under way (editor).
#[utoipa::path(delete, path = "/api/incidents/{id}/rca", tag = "incidents",
    params(("id" = Uuid, Path, description = "the incident")),
    responses((status = 202, body = RcaAccepted, description = "the run is cancelled; its agent is being stopped"),
              (status = 403, description = "viewers cannot cancel an analysis"),
              (status = 404, description = "no such incident in the caller's organisation"),
              (status = 409, description = "no run of this incident is under way, or the incident was merged"),
              (status = 503, description = "the event store is unavailable, or too many concurrent changes to this incident; retry after Retry-After")))]
pub(super) async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<RcaAccepted>), ApiError> {
    let (_, after) = on_incident(
        &state,
        &caller,
        &id,
        "cancelling a root-cause analysis",
        |_, _| {
            let by = caller.email.clone();
            ((), IncidentCommand::CancelRca { by, at: Utc::now() })
        },
    )
    .await?;
    // The run it cancelled (a cancel records which).
    let run = after
        .rca_run
        .ok_or_else(|| anyhow::anyhow!("a cancelled RCA of incident {id} names no run"))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(RcaAccepted {
            run_id: run,
            status: "cancelled",
        }),
    ))
}

/// An editor's command on incident `id` (the path segment), made from its state by `command`
/// (which also names what the answer needs): that, and the incident after it. Viewers get 403,
/// an incident not in the caller's tenant 404, a refusal its own answer.
async fn on_incident<T>(
    state: &AppState,
    caller: &Caller,
    id: &str,
    what: &str,
    command: impl FnOnce(Uuid, &IncidentState) -> (T, IncidentCommand),
) -> Result<(T, IncidentState), ApiError> {
    caller.require(state, Role::Editor, what).await?;
    let id = parse_id(id)?;
    let incident = existing(state, caller, id).await?;
    let (answer, command) = command(id, &incident);
    let (_, after) = execute(state, caller, id, command).await?;
    Ok((answer, after))
}
