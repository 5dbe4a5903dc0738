//! The projectors and what they share.

use aurora_nats::subjects::{parse_event_subject, EventSubject};
use aurora_nats::RawEvent;
use sqlx::{Postgres, Transaction};

use aurora_domain::integration::IntegrationState;
use aurora_domain::organization::OrganizationState;
use aurora_domain::{ChatSessionState, IncidentState};

use crate::state_cache::{Key, StateCache};
use crate::{changes, incidents, integrations, organizations, sessions};

/// One projector: a durable consumer of `EVENTS` and the tables it owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projector {
    Incidents,
    Sessions,
    Organizations,
    Integrations,
    Changes,
}

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
    Nats(String),
    #[error(
        "unknown projector {0:?}; known: incidents, sessions, organizations, integrations, changes"
    )]
    Unknown(String),
}

impl Projector {
    pub const ALL: [Projector; 5] = [
        Projector::Incidents,
        Projector::Sessions,
        Projector::Organizations,
        Projector::Integrations,
        Projector::Changes,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Incidents => "incidents",
            Self::Sessions => "sessions",
            Self::Organizations => "organizations",
            Self::Integrations => "integrations",
            Self::Changes => "changes",
        }
    }

    pub fn parse(name: &str) -> Result<Self, ProjectionError> {
        Self::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| ProjectionError::Unknown(name.to_owned()))
    }

    /// The durable consumer in `streams.yaml`.
    pub fn consumer(self) -> &'static str {
        match self {
            Self::Incidents => "proj-incidents",
            Self::Sessions => "proj-sessions",
            Self::Organizations => "proj-organizations",
            Self::Integrations => "proj-integrations",
            Self::Changes => "proj-changes",
        }
    }

    pub fn filter(self) -> &'static str {
        match self {
            Self::Incidents => "evt.*.incident.*",
            Self::Sessions => "evt.*.session.*",
            Self::Organizations => "evt.*.organization.*",
            Self::Integrations => "evt.*.integration.*",
            Self::Changes => "evt.*.change.*",
        }
    }

    /// The tables it writes, in the order readers that join them take their locks.
    pub fn tables(self) -> &'static [&'static str] {
        match self {
            Self::Incidents => &["incidents", "incident_alerts", "incident_timeline"],
            Self::Sessions => &["chat_sessions", "chat_messages", "llm_usage"],
            // In the order readers lock them (a token's owner is found through api_tokens, then
            // org_members, then organizations): a replay swap locks them in this order too.
            Self::Organizations => &[
                "api_tokens",
                "org_invitations",
                "org_members",
                "organizations",
                "audit_log",
            ],
            Self::Integrations => &["integrations"],
            Self::Changes => &["changes"],
        }
    }

    /// Applies `events` (already past the checkpoint, in stream order) inside `tx`, writing to the
    /// tables of `schema`.
    pub async fn apply(
        self,
        tx: &mut Transaction<'_, Postgres>,
        schema: &str,
        events: Vec<(EventSubject, RawEvent)>,
        cache: &mut ProjectionCache,
    ) -> Result<Staged, ProjectionError> {
        Ok(match self {
            Self::Incidents => {
                Staged::Incidents(incidents::apply(tx, schema, events, &mut cache.incidents).await?)
            }
            Self::Sessions => {
                Staged::Sessions(sessions::apply(tx, schema, events, &mut cache.sessions).await?)
            }
            Self::Organizations => Staged::Organizations(
                organizations::apply(tx, schema, events, &mut cache.organizations).await?,
            ),
            Self::Integrations => Staged::Integrations(
                integrations::apply(tx, schema, events, &mut cache.integrations).await?,
            ),
            Self::Changes => {
                changes::apply(tx, schema, events).await?;
                Staged::Nothing
            }
        })
    }
}

/// The states a projector folded, kept between batches (see [`crate::state_cache`]). One per
/// running projector or replay: it describes the tables that one writes.
#[derive(Default)]
pub struct ProjectionCache {
    incidents: StateCache<IncidentState>,
    sessions: StateCache<ChatSessionState>,
    organizations: StateCache<OrganizationState>,
    integrations: StateCache<IntegrationState>,
    /// The checkpoint row's generation these states belong to (a replay swap bumps it).
    generation: i64,
}

/// States written by a batch, to give back to the cache once its transaction committed.
pub enum Staged {
    Incidents(Vec<(Key, u64, IncidentState)>),
    Sessions(Vec<(Key, u64, ChatSessionState)>),
    Organizations(Vec<(Key, u64, OrganizationState)>),
    Integrations(Vec<(Key, u64, IntegrationState)>),
    /// A projector that keeps no states.
    Nothing,
}

impl ProjectionCache {
    /// Forgets every state if the tables were swapped by a replay since they were cached: the
    /// rebuilt rows may differ (that is often why one replays) at the same sequence numbers.
    pub fn sync_generation(&mut self, generation: i64) {
        if generation != self.generation {
            self.incidents.clear();
            self.sessions.clear();
            self.organizations.clear();
            self.integrations.clear();
            self.generation = generation;
        }
    }

    pub fn give_back(&mut self, staged: Staged) {
        match staged {
            Staged::Incidents(states) => self.incidents.give_back(states),
            Staged::Sessions(states) => self.sessions.give_back(states),
            Staged::Organizations(states) => self.organizations.give_back(states),
            Staged::Integrations(states) => self.integrations.give_back(states),
            Staged::Nothing => {}
        }
    }
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

/// A schema name we generated or validated (SQL identifiers cannot be bound as parameters).
pub fn checked_schema(schema: &str) -> &str {
    assert!(
        !schema.is_empty()
            && schema
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
        "schema names are generated by Aurora and must be [a-z0-9_]+, got {schema:?}"
    );
    schema
}
