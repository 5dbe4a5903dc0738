//! `aurora-domain`: the pure heart of Aurora — aggregates, their commands, events and errors, and the
//! value types they are made of.
//!
//! Nothing here does I/O: no tokio, sqlx, async-nats or axum (DESIGN §2). The types the API shows
//! (chat records, comments, settings, value names) derive `utoipa::ToSchema`, a compile-time
//! description of their serde shape, so `/openapi.json` describes them from the types themselves. Aggregates implement
//! [`esrs::Aggregate`]: `handle_command` decides (information from outside is looked up first and
//! put in the command), `apply_event` folds. Start reading at [`incident`], then [`chat`] and
//! [`organization`].
//!
//! Every event type implements [`DomainEvent`], which gives the event store what it needs to write a
//! CloudEvents message (type name, time) and, through [`esrs::event::Upcaster`], to load events
//! written by older versions of the code.

pub mod aggregate;
pub mod catalogue;
pub mod change;
pub mod chat;
pub mod connector;
pub mod correlation;
pub mod event;
pub mod gate;
pub mod ids;
pub mod incident;
pub mod intake;
pub mod integration;
pub mod investigation;
pub mod knowledge;
pub mod organization;
pub mod postmortem;
pub mod service;
pub mod usage;
pub mod values;
pub mod vector;

#[cfg(test)]
mod scenario;

pub use chat::{ChatCommand, ChatError, ChatEvent, ChatSession, ChatSessionState};
pub use correlation::{
    AlertFacts, Candidate, Correlation, CorrelationSettings, Decision, OpenReason, ScoredCandidate,
    ServiceGraph, SettingsError,
};
pub use event::DomainEvent;
pub use ids::{IdError, IncidentId, SessionId, TenantId};
pub use incident::{Alert, Incident, IncidentCommand, IncidentError, IncidentEvent, IncidentState};
pub use integration::{Integration, IntegrationCommand, IntegrationError, IntegrationEvent};
pub use organization::{
    Organization, OrganizationCommand, OrganizationError, OrganizationEvent, OrganizationState,
    Role,
};
pub use values::{
    ChatMode, ConfirmationDecision, GateVerdict, IncidentStatus, MessageRole, RcaStatus, Severity,
    ToolCallStatus, ValueError,
};
