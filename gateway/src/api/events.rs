//! `GET /api/events/stream`: every event of the caller's organisation as Server-Sent Events, for
//! the web UI's live updates and any HTTP consumer (SPEC §13). Each message is one CloudEvent in
//! structured mode (`data:` the attributes, `sequence`, `aggregatetype` and `data`), `id:` its
//! `EVENTS` stream sequence and `event:` its type.
//!
//! The subject filter `evt.<tenant>.<aggregate|*>.<id|*>` is what keeps other organisations
//! out: the tenant is the caller's, never the client's. Where it starts: after `Last-Event-ID`
//! (a reconnect), else at `?from=` (a replay), else at what is stored next.

use aurora_nats::follow::Start;
use aurora_nats::subjects::parse_event_subject;
use aurora_nats::RawEvent;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::Event;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::auth::Caller;
use super::incidents::CloudEventAttributes;
use super::sse::{self, EventStream};
use super::{parse_uuid, ApiError, AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stream))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StreamParams {
    /// only events of this aggregate type: incident, investigation, session, integration, …
    aggregate: Option<String>,
    /// only events of this aggregate instance (its UUID)
    id: Option<String>,
    /// replay from this stream sequence (1 is the first event); ignored when `Last-Event-ID`
    /// is sent
    from: Option<String>,
}

/// One event as a CloudEvent (structured mode): what each `data:` line of the stream holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct CloudEvent {
    #[serde(flatten)]
    pub attributes: CloudEventAttributes,
    /// Extension attribute: the event's position in the log, the message's `id:`.
    pub sequence: u64,
    /// Extension attribute: the kind of thing the event happened to (`incident`, …).
    pub aggregatetype: String,
    /// The event as stored: `type` names it, the other fields are that event's.
    pub data: Value,
}

/// Follow the organisation's events as they are stored (any member).
#[utoipa::path(get, path = "/api/events/stream", tag = "events", params(StreamParams,
        ("Last-Event-ID" = Option<u64>, Header, description = "resume after this event (its `id:`, a stream sequence)")),
    responses((status = 200, content_type = "text/event-stream", body = String,
               description = "Server-Sent Events: `id:` the stream sequence, `event:` the CloudEvents type (`aurora.incident.opened`, …), `data:` a `CloudEvent` as JSON; a `: keep-alive` comment when idle. Never ends by itself; a client that stops reading is dropped and resumes with `Last-Event-ID`"),
              (status = 400, description = "a filter, `from` or `Last-Event-ID` is invalid"),
              (status = 404, description = "`id` names nothing of the caller's organisation")))]
async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<StreamParams>, QueryRejection>,
    headers: HeaderMap,
) -> Result<EventStream, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let aggregate = p.aggregate.as_deref().map(aggregate_type).transpose()?;
    let id =
        p.id.as_deref()
            .map(|id| parse_uuid(id, "aggregate"))
            .transpose()?;
    let from = p.from.as_deref().map(sequence).transpose()?;
    let start = match (sse::last_event_id(&headers)?, from) {
        (Some(last), _) => Start::After(last),
        (None, Some(from)) => Start::After(from - 1),
        (None, None) => Start::Now,
    };
    let filter = aurora_nats::subjects::events_of(&caller.tenant, aggregate, id);
    if id.is_some() && !state.services.log.holds_any(&filter).await? {
        return Err(ApiError::NotFound(format!(
            "no {} {} in your organisation",
            aggregate.unwrap_or("aggregate"),
            p.id.unwrap_or_default()
        )));
    }
    let events = state
        .follower
        .follow(&caller.tenant, aggregate, id, start)
        .await?;
    Ok(sse::deliver(&state, events, message))
}

/// An aggregate type as it appears in a subject: lower-case letters and `_`.
fn aggregate_type(text: &str) -> Result<&str, ApiError> {
    let valid = !text.is_empty()
        && text.len() <= 64
        && text.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if valid {
        Ok(text)
    } else {
        Err(ApiError::bad_request(
            "invalid_aggregate",
            format!("aggregate={text:?} is not an aggregate type (lower-case letters and _, e.g. incident)"),
        ))
    }
}

/// `from`: a stream sequence, 1 or more.
fn sequence(text: &str) -> Result<u64, ApiError> {
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_from",
                format!("from={text:?} is not a stream sequence (a whole number, 1 or more)"),
            )
        })
}

fn message(raw: &RawEvent) -> Event {
    let (aggregatetype, subject) = parse_event_subject(&raw.subject)
        .map_or((String::new(), Uuid::nil()), |s| (s.aggregate, s.id));
    let event = CloudEvent {
        attributes: CloudEventAttributes::of(raw, subject),
        sequence: raw.stream_sequence,
        aggregatetype,
        data: raw.data.clone(),
    };
    // A struct of strings, numbers and a JSON value always serializes.
    let data = serde_json::to_string(&event).unwrap_or_default();
    Event::default()
        .id(raw.stream_sequence.to_string())
        .event(raw.event_type.as_str())
        .data(data)
}
