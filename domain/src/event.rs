//! What every domain event offers the event store.

use chrono::{DateTime, Utc};
use esrs::event::Upcaster;
use schemars::JsonSchema;
use serde::{de::DeserializeOwned, Serialize};

/// An event of one aggregate, as the event store needs to see it.
///
/// The JSON form (`serde`) is the message body; [`DomainEvent::event_type`] becomes the CloudEvents
/// `ce-type` (prefixed with `aurora.`); [`Upcaster::current_version`] is written beside it so that
/// [`Upcaster::upcast`] can turn an old body into today's type. [`JsonSchema`] describes that body
/// to consumers outside Aurora ([`crate::catalogue`]), so no event type exists without a schema.
pub trait DomainEvent:
    Serialize + DeserializeOwned + JsonSchema + Upcaster + Clone + Send + Sync + 'static
{
    /// Stable dotted name, e.g. `incident.opened`. Never rename one: stored events keep it.
    fn event_type(&self) -> &'static str;

    /// When the fact happened in the domain (not when it was stored).
    fn occurred_at(&self) -> DateTime<Utc>;
}

/// The body of an `impl DomainEvent for E` whose every variant has an `at` (when it happened):
/// a struct variant's own field, or that of the struct a newtype variant holds (named after the
/// variant, for the variants whose body is also a command's), from one stable name per variant:
///
/// ```text
/// impl DomainEvent for KnowledgeEvent {
///     crate::event::event_types! {
///         Uploaded(Upload) => "knowledge.uploaded",
///         Deleted => "knowledge.deleted",
///     }
/// }
/// ```
macro_rules! event_types {
    ($($variant:ident $(($body:ident))? => $name:literal),+ $(,)?) => {
        fn event_type(&self) -> &'static str {
            match self {
                $(Self::$variant { .. } => $name,)+
            }
        }

        fn occurred_at(&self) -> chrono::DateTime<chrono::Utc> {
            match self {
                $($crate::event::event_types!(@at at $variant $($body)?))|+ => *at,
            }
        }
    };
    (@at $at:ident $variant:ident) => { Self::$variant { $at, .. } };
    (@at $at:ident $variant:ident $body:ident) => { Self::$variant($body { $at, .. }) };
}

pub(crate) use event_types;
