//! What can go wrong applying events, and the two decoding steps every projector shares: where an
//! event belongs ([`locate`]) and what it says ([`upcast`]).

use aurora_nats::subjects::{parse_event_subject, EventSubject};
use aurora_nats::RawEvent;

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("event {stream_sequence} on {subject} does not load: {reason}")]
    BadEvent {
        subject: String,
        stream_sequence: u64,
        reason: String,
    },
    #[error("JetStream: {0}")]
    Nats(#[source] async_nats::Error),
    /// A batch's write task ended without an answer (it panicked or was cancelled).
    #[error("a projection write task failed")]
    Task(#[from] tokio::task::JoinError),
    #[error(
        "unknown projector {0:?}; known: incidents, sessions, organizations, integrations, changes, investigations"
    )]
    Unknown(String),
}

/// Splits an event's subject into tenant, aggregate and id.
pub fn locate(event: RawEvent) -> Result<(EventSubject, RawEvent), ProjectionError> {
    match parse_event_subject(&event.subject) {
        Some(subject) => Ok((subject, event)),
        None => Err(ProjectionError::BadEvent {
            subject: event.subject.clone(),
            stream_sequence: event.stream_sequence,
            reason: "not an evt.<tenant>.<aggregate>.<id> subject".into(),
        }),
    }
}

/// Decodes an event body with the domain type's upcaster.
pub fn upcast<E: aurora_domain::DomainEvent>(event: &RawEvent) -> Result<E, ProjectionError> {
    upcast_owned(event, event.data.clone())
}

/// [`upcast`] for a caller that no longer needs `event.data` (saves a copy of the JSON tree).
pub fn upcast_owned<E: aurora_domain::DomainEvent>(
    event: &RawEvent,
    data: serde_json::Value,
) -> Result<E, ProjectionError> {
    E::upcast(data, event.version).map_err(|e| ProjectionError::BadEvent {
        subject: event.subject.clone(),
        stream_sequence: event.stream_sequence,
        reason: e.to_string(),
    })
}
