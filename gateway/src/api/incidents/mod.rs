//! Incidents: the list ([`list`]), one incident (now, or as it was at a time) with its
//! investigation, and its raw event history; asking for an investigation, cancelling it and
//! following it live ([`rca`], [`rca_stream`]). What else changes incidents is in `incident_commands`.

use aurora_domain::incident::{AttachedAlert, IncidentEvent, IncidentState};
use aurora_domain::{DomainEvent, Incident};
use aurora_nats::{subjects, RawEvent};
use aurora_projections::incidents::describe;
use aurora_projections::queries::{self, AlertRow, TimelineRow};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::{DateTime, Utc};
use esrs::event::Upcaster;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::auth::Caller;
use super::{parse_uuid, ApiError, AppState};

mod list;
mod rca;
mod rca_stream;
mod rca_view;
mod similar;
mod views;
pub use views::{
    CloudEventAttributes, EventItem, IncidentDetail, IncidentEvents, IncidentPage, IncidentView,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list::list))
        .routes(routes!(detail))
        .routes(routes!(events))
        .routes(routes!(rca::request, rca::cancel))
        .routes(routes!(rca_stream::stream))
        .routes(routes!(similar::similar))
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    parse_uuid(id, "incident")
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DetailParams {
    /// RFC 3339 time: the incident as Aurora knew it then
    at: Option<String>,
}

/// One incident with its alerts, timeline and current investigation, now or as it was at `?at=`.
#[utoipa::path(get, path = "/api/incidents/{id}", tag = "incidents",
    params(("id" = Uuid, Path, description = "the incident"), DetailParams),
    responses((status = 200, body = IncidentDetail, description = "the incident, its alerts, timeline and the changes of the hour before it started"),
              (status = 404, description = "no such incident in the caller's organisation")))]
async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Result<Query<DetailParams>, QueryRejection>,
) -> Result<Json<IncidentDetail>, ApiError> {
    let id = parse_id(&id)?;
    let Query(p) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    if let Some(at) = p.at {
        let at = super::query_time("at", &at)?;
        return as_of(&state, &caller.tenant, id, at).await;
    }
    let tenant = &caller.tenant;
    let mut tx = queries::scoped(&state.services.gateway_pool, tenant.as_str()).await?;
    let not_found = || ApiError::NotFound(format!("incident {id} not found"));
    let (stored, last_sequence) = queries::incident_state(&mut tx, tenant.as_str(), id)
        .await?
        .ok_or_else(not_found)?;
    let incident: IncidentState = serde_json::from_str(&stored)
        .map_err(|e| anyhow::Error::new(e).context("stored incident state does not load"))?;
    let alerts = queries::incident_alerts(&mut tx, tenant.as_str(), id).await?;
    let timeline = queries::incident_timeline(&mut tx, tenant.as_str(), id).await?;
    let changes_before =
        super::changes::before_incident(&mut tx, tenant.as_str(), &incident).await?;
    let rca = rca::live(&mut tx, tenant, &incident).await?;
    tx.commit().await?;
    Ok(Json(IncidentDetail {
        incident: IncidentView::new(id, incident),
        alerts,
        timeline,
        changes_before,
        rca,
        as_of: None,
        last_sequence,
    }))
}

/// The incident as it was at `at`: its own events stored up to then, folded by the aggregate.
async fn as_of(
    state: &AppState,
    tenant: &aurora_domain::TenantId,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<Json<IncidentDetail>, ApiError> {
    let raw = read_events(state, tenant, id).await?;
    let mut incident = IncidentState::default();
    let mut timeline = Vec::new();
    let mut last_sequence = 0;
    for event in raw {
        let decoded = IncidentEvent::upcast(event.data.clone(), event.version).map_err(|e| {
            anyhow::Error::new(e).context(format!("event {} does not load", event.stream_sequence))
        })?;
        // "As it was then" means as Aurora knew it then: the stored time, which follows the
        // order of the log (domain times need not: a retried command lands after the winner
        // with an earlier time, and folding a later event onto a state it was not decided on
        // would show a history that never existed).
        if event.time > at {
            break;
        }
        last_sequence = sequence(event.stream_sequence)?;
        timeline.push(TimelineRow {
            stream_sequence: last_sequence,
            event_type: decoded.event_type().to_owned(),
            at: decoded.occurred_at(),
            description: describe(&decoded),
            data: event.data,
        });
        incident = <Incident as esrs::Aggregate>::apply_event(incident, decoded);
    }
    if incident.id.is_none() {
        return Err(ApiError::NotFound(format!(
            "incident {id} did not exist at {}",
            at.to_rfc3339()
        )));
    }
    let alerts = incident
        .alerts
        .iter()
        .map(alert_row)
        .collect::<Result<Vec<_>, _>>()?;
    let mut tx = queries::scoped(&state.services.gateway_pool, tenant.as_str()).await?;
    let changes_before =
        super::changes::before_incident(&mut tx, tenant.as_str(), &incident).await?;
    tx.commit().await?;
    let rca = rca::as_of(state, tenant, &incident, at).await?;
    Ok(Json(IncidentDetail {
        incident: IncidentView::new(id, incident),
        alerts,
        timeline,
        changes_before,
        rca,
        as_of: Some(at),
        last_sequence,
    }))
}

/// Stream sequences are stored as Postgres BIGINT elsewhere; one past that is a broken log.
fn sequence(stream_sequence: u64) -> Result<i64, ApiError> {
    i64::try_from(stream_sequence).map_err(|e| {
        anyhow::Error::new(e)
            .context(format!("stream sequence {stream_sequence} is out of range"))
            .into()
    })
}

/// An alert of the folded state, in the shape the read model lists it.
fn alert_row(a: &AttachedAlert) -> Result<AlertRow, ApiError> {
    let correlation = a
        .correlation
        .as_ref()
        .map(serde_json::to_value)
        .transpose()
        .map_err(|e| anyhow::Error::new(e).context("a correlation does not serialise"))?;
    Ok(AlertRow {
        alert_id: a.alert.alert_id.clone(),
        fingerprint: a.alert.fingerprint.clone(),
        title: a.alert.title.clone(),
        service: a.alert.service.clone(),
        severity: a.alert.severity.as_str().to_owned(),
        source: a.alert.source.clone(),
        received_at: a.alert.received_at,
        correlation,
    })
}

async fn read_events(
    state: &AppState,
    tenant: &aurora_domain::TenantId,
    id: Uuid,
) -> Result<Vec<RawEvent>, ApiError> {
    let subject = subjects::aggregate(tenant, "incident", id);
    let events = state.services.log.read_subject(&subject, 1).await?;
    if events.is_empty() {
        return Err(ApiError::NotFound(format!("incident {id} not found")));
    }
    Ok(events)
}

/// The raw event history: what JetStream holds, with CloudEvents attributes.
#[utoipa::path(get, path = "/api/incidents/{id}/events", tag = "incidents",
    params(("id" = Uuid, Path, description = "the incident")),
    responses((status = 200, body = IncidentEvents, description = "the incident's events, oldest first"),
              (status = 404, description = "no such incident in the caller's organisation")))]
async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<IncidentEvents>, ApiError> {
    let id = parse_id(&id)?;
    let events = read_events(&state, &caller.tenant, id).await?;
    let events = events
        .into_iter()
        .map(|e| EventItem {
            sequence: e.stream_sequence,
            aggregate_sequence: e.aggregate_sequence,
            cloudevents: CloudEventAttributes::of(&e, id),
            event_type: e.event_type,
            time: e.time,
            version: e.version,
            subject: e.subject,
            data: e.data,
        })
        .collect();
    Ok(Json(IncidentEvents {
        incident_id: id,
        events,
    }))
}
