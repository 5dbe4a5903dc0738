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
    /// only events of these aggregate types, comma-separated: incident, investigation,
    /// postmortem, session, integration, … (the web UI asks for
    /// `incident,investigation,postmortem`)
    aggregate: Option<String>,
    /// only events of this aggregate instance (its UUID; with one aggregate type)
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
    let aggregates = p.aggregate.as_deref().map(aggregate_types).transpose()?;
    let aggregates = aggregates.unwrap_or_default();
    let id =
        p.id.as_deref()
            .map(|id| parse_uuid(id, "aggregate"))
            .transpose()?;
    if id.is_some() && aggregates.len() > 1 {
        return Err(ApiError::bad_request(
            "invalid_aggregate",
            "id names one aggregate instance: give one aggregate type with it",
        ));
    }
    let from = p.from.as_deref().map(sequence).transpose()?;
    let start = match (sse::last_event_id(&headers)?, from) {
        (Some(last), _) => Start::After(last),
        (None, Some(from)) => Start::After(from - 1),
        (None, None) => Start::Now,
    };
    let filters: Vec<String> = if aggregates.is_empty() {
        vec![aurora_nats::subjects::events_of(&caller.tenant, None, id)]
    } else {
        aggregates
            .iter()
            .map(|a| aurora_nats::subjects::events_of(&caller.tenant, Some(a), id))
            .collect()
    };
    if id.is_some() && !state.services.log.holds_any(&filters[0]).await? {
        return Err(ApiError::NotFound(format!(
            "no {} {} in your organisation",
            aggregates.first().copied().unwrap_or("aggregate"),
            p.id.unwrap_or_default()
        )));
    }
    let events = state
        .follower
        .follow(&caller.tenant, filters, start)
        .await?;
    Ok(sse::deliver(&state, events, message))
}

/// Aggregate types as they appear in subjects (lower-case letters and `_`), comma-separated;
/// each once.
fn aggregate_types(text: &str) -> Result<Vec<&str>, ApiError> {
    let mut types: Vec<&str> = Vec::new();
    for name in text.split(',') {
        let valid = !name.is_empty()
            && name.len() <= 64
            && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        if !valid {
            return Err(ApiError::bad_request(
                "invalid_aggregate",
                format!("aggregate={text:?}: {name:?} is not an aggregate type (lower-case letters and _, e.g. incident; several are comma-separated)"),
            ));
        }
        if !types.contains(&name) {
            types.push(name);
        }
    }
    if types.len() > MAX_AGGREGATE_TYPES {
        return Err(ApiError::bad_request(
            "invalid_aggregate",
            format!(
                "aggregate= names {} types; at most {MAX_AGGREGATE_TYPES}",
                types.len()
            ),
        ));
    }
    Ok(types)
}

/// Aggregate types one stream may ask for (each is a filter of the consumer that catches up).
const MAX_AGGREGATE_TYPES: usize = 16;

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
    Event::default()
        .id(raw.stream_sequence.to_string())
        .event(raw.event_type.as_str())
        .data(cloud_event_json(raw))
}

/// [`CloudEvent`]'s writer: the attributes serialised, then the event's body as stored for
/// `data`, verbatim. The body is never parsed and written again per stream: a decision-log
/// event's holds hundreds of candidates, and every open stream writes it.
fn cloud_event_json(raw: &RawEvent) -> String {
    /// [`CloudEvent`] without its `data`.
    #[derive(Serialize)]
    struct Head<'a> {
        #[serde(flatten)]
        attributes: CloudEventAttributes,
        sequence: u64,
        aggregatetype: &'a str,
    }
    let parsed = parse_event_subject(&raw.subject);
    let head = Head {
        attributes: CloudEventAttributes::of(raw, parsed.as_ref().map_or(Uuid::nil(), |s| s.id)),
        sequence: raw.stream_sequence,
        aggregatetype: parsed.as_ref().map_or("", |s| s.aggregate.as_str()),
    };
    // A struct of strings and numbers always serialises, to an object: its closing brace gives
    // way to the `data` member.
    let head = serde_json::to_string(&head).unwrap_or_else(|_| "{}".into());
    // Borrowed, so each stream copies the body once, into its message.
    let data: std::borrow::Cow<'_, str> = match std::str::from_utf8(&raw.body) {
        Ok(body) if !body.trim().is_empty() => body.into(),
        _ => raw.data.to_string().into(),
    };
    let mut json = String::with_capacity(head.len() + data.len() + 9);
    json.push_str(head.strip_suffix('}').unwrap_or("{"));
    if json.len() > 1 {
        json.push(',');
    }
    json.push_str("\"data\":");
    json.push_str(&data);
    json.push('}');
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(body: &str) -> RawEvent {
        let subject = "evt.acme.correlator.6f1c0e52-3a8e-4e0b-9f57-1d2b3c4d5e6f";
        use aurora_nats::envelope::{
            AGGREGATE_SEQUENCE, CE_ID, CE_SOURCE, CE_TIME, CE_TYPE, TRACEPARENT,
        };
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(CE_ID, "0b7e7c1e-8f1a-4c39-9d0e-5f2a1b3c4d5e");
        headers.insert(CE_TYPE, "aurora.correlator.decided");
        headers.insert(CE_SOURCE, "aurora/handlers");
        headers.insert(CE_TIME, "2026-12-04T10:00:00.000001Z");
        headers.insert(AGGREGATE_SEQUENCE, "7");
        headers.insert(
            TRACEPARENT,
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        );
        RawEvent::decode(
            subject,
            42,
            Some(&headers),
            &axum::body::Bytes::copy_from_slice(body.as_bytes()),
            chrono::Utc::now(),
        )
        .expect("an event")
    }

    #[test]
    fn the_written_cloud_event_is_the_schemas_with_the_body_as_stored() {
        let raw =
            stored(r#"{"type":"decided","decisions":[{"n":1.5e3}],"title":"caf\u00e9 \"down\""}"#);
        let written: Value = serde_json::from_str(&cloud_event_json(&raw)).expect("JSON");
        let parsed = parse_event_subject(&raw.subject).expect("an event subject");
        let typed = CloudEvent {
            attributes: CloudEventAttributes::of(&raw, parsed.id),
            sequence: 42,
            aggregatetype: "correlator".into(),
            data: raw.data.clone(),
        };
        assert_eq!(written, serde_json::to_value(&typed).expect("serialises"));
        assert_eq!(written["data"]["decisions"][0]["n"], 1500.0);
        assert_eq!(
            written["traceparent"],
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        );
    }
}
