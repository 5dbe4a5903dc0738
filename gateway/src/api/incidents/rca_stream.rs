//! `GET /api/incidents/{id}/rca/stream`: the incident's current investigation as it happens, as
//! Server-Sent Events: each stored event of the run one message (`id:` its stream sequence,
//! `event:` its CloudEvents type, `data:` the event as JSON), from the start or after
//! `Last-Event-ID` ([`aurora_nats::follow`]), delivered as [`crate::api::sse`]
//! says (heartbeats, slow clients dropped); the stream ends after the run's last event
//! (completed, failed or cancelled), or when the server stops.

use aurora_domain::investigation::InvestigationEvent;
use aurora_nats::follow::Start;
use aurora_nats::RawEvent;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::Event;
use esrs::event::Upcaster;
use futures::stream::{self, BoxStream};
use futures::StreamExt;

use super::rca::subject;
use super::{parse_id, ApiError, AppState};
use crate::api::auth::Caller;
use crate::api::incident_commands::existing;
use crate::api::sse::{self as sse, EventStream};

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
) -> Result<EventStream, ApiError> {
    let id = parse_id(&id)?;
    let after = sse::last_event_id(&headers)?.unwrap_or(0);
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
    let events: BoxStream<'static, _> = if seen_the_end {
        stream::empty().boxed()
    } else {
        let events = state
            .follower
            .follow(&caller.tenant, vec![subject], Start::After(after))
            .await?;
        // Sends each event, and stops after the run's last.
        stream::unfold((events, false), |(mut events, ended)| async move {
            if ended {
                return None;
            }
            let next = events.next().await?;
            let ended = next.as_ref().is_ok_and(|event| ends_run(event));
            Some((next, (events, ended)))
        })
        .boxed()
    };
    Ok(sse::deliver(&state, events, message))
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
