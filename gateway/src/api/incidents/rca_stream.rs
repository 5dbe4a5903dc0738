//! `GET /api/incidents/{id}/rca/stream`: the incident's current investigation as it happens, as
//! Server-Sent Events: each stored event of the run one message (`id:` its stream sequence,
//! `event:` its CloudEvents type, `data:` the event as JSON), read from JetStream with an
//! ordered consumer, from the start or after `Last-Event-ID`. A comment line every 15 s keeps
//! idle connections open; the stream ends after the run's last event (completed, failed or
//! cancelled), or when the server stops.

use std::convert::Infallible;
use std::time::Duration;

use aurora_domain::investigation::InvestigationEvent;
use aurora_nats::follow::follow;
use aurora_nats::RawEvent;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, KeepAliveStream, Sse};
use esrs::event::Upcaster;
use futures::stream::{self, BoxStream};
use futures::StreamExt;

use super::rca::subject;
use super::{parse_id, ApiError, AppState};
use crate::api::auth::Caller;
use crate::api::incident_commands::existing;

/// How long a stream may stay silent before a comment line is sent.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

const LAST_EVENT_ID: &str = "last-event-id";

/// Follow the incident's current investigation as it happens (any member).
#[utoipa::path(get, path = "/api/incidents/{id}/rca/stream", tag = "incidents",
    params(("id" = Uuid, Path, description = "the incident"),
           ("Last-Event-ID" = Option<u64>, Header, description = "resume after this event (its `id:`, a stream sequence)")),
    responses((status = 200, content_type = "text/event-stream", body = String,
               description = "the run's events from the start (or after `Last-Event-ID`), then each as it is stored; `event:` is the CloudEvents type (`aurora.investigation.…`), `data:` the event as JSON; ends after the run completed, failed or was cancelled"),
              (status = 404, description = "no such incident in the caller's organisation, or none of its runs was ever requested")))]
pub(super) async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Sse<KeepAliveStream<BoxStream<'static, Result<Event, Infallible>>>>, ApiError> {
    let id = parse_id(&id)?;
    let after = last_event_id(&headers)?;
    let incident = existing(&state, &caller, id).await?;
    let run = incident.rca_run.ok_or_else(|| {
        ApiError::NotFound(format!(
            "no root-cause analysis of incident {id} was ever requested"
        ))
    })?;
    let subject = subject(&caller.tenant, run);
    // A run that ended where the client already is: nothing more will come, and an ordered
    // consumer would wait for it forever.
    let seen_the_end = match state.services.log.last_event(&subject).await? {
        Some(last) => ends_run(&last) && after >= last.stream_sequence,
        None => false,
    };
    let events: BoxStream<'static, Result<Event, Infallible>> = if seen_the_end {
        stream::empty().boxed()
    } else {
        let events = follow(&state.services.log, &subject, after).await?.boxed();
        // Sends each event, and stops after the run's last.
        stream::unfold((events, false), |(mut events, ended)| async move {
            if ended {
                return None;
            }
            match events.next().await? {
                Ok(raw) => {
                    let ended = ends_run(&raw);
                    Some((Ok(message(&raw)), (events, ended)))
                }
                Err(e) => {
                    // The client reconnects with Last-Event-ID and misses nothing.
                    tracing::warn!(error = %e, "an investigation stream stopped");
                    None
                }
            }
        })
        .boxed()
    };
    // The server stopping ends the stream (the client reconnects to another gateway).
    let mut stop = state.shutdown.clone();
    let events = events
        .take_until(async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        })
        .boxed();
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(HEARTBEAT).text("keep-alive")))
}

/// The `Last-Event-ID` a reconnecting client sends (0 when none).
fn last_event_id(headers: &HeaderMap) -> Result<u64, ApiError> {
    let Some(value) = headers.get(LAST_EVENT_ID) else {
        return Ok(0);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_last_event_id",
                format!(
                    "Last-Event-ID {value:?} is not an event id of this stream (a stream sequence)"
                ),
            )
        })
}

fn message(raw: &RawEvent) -> Event {
    Event::default()
        .id(raw.stream_sequence.to_string())
        .event(raw.event_type.as_str())
        .data(raw.data.to_string())
}

/// Whether `raw` is a run's last event.
fn ends_run(raw: &RawEvent) -> bool {
    match InvestigationEvent::upcast(raw.data.clone(), raw.version) {
        Ok(event) => matches!(
            event,
            InvestigationEvent::Completed { .. }
                | InvestigationEvent::Failed { .. }
                | InvestigationEvent::Cancelled { .. }
        ),
        Err(e) => {
            tracing::warn!(error = %e, sequence = raw.stream_sequence, "an investigation event does not load");
            false
        }
    }
}
