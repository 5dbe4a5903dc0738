//! The change aggregate: one change to a service (a deployment, a merged pull request, a
//! successful build), reported by a CI or source-control integration. Each change is its own
//! aggregate with a single event: recording it again (a redelivered webhook) changes nothing.
//!
//! Changes are what an on-call engineer asks about first: "what shipped in the hour before this
//! started?"

use chrono::{DateTime, Utc};
use esrs::event::Upcaster;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::event::DomainEvent;
use crate::intake::ChangeEvent;

crate::aggregate::aggregate!(
    /// The change aggregate (stored under the name `change`).
    Change = "change", decide,
    ChangeState, ChangeCommand, ChangeRecordEvent, ChangeError
);

/// The id of the change `change_id` of `source` for `tenant`: the same for every redelivery.
pub fn change_aggregate_id(tenant: &str, source: &str, change_id: &str) -> Uuid {
    Uuid::new_v5(
        &Uuid::NAMESPACE_OID,
        format!("aurora:{tenant}:change:{source}:{change_id}").as_bytes(),
    )
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChangeCommand {
    Record {
        change: ChangeEvent,
        source: String,
        integration_id: Uuid,
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChangeRecordEvent {
    /// A change (a deployment, a merged pull request, a build) reported by a CI or
    /// source-control integration.
    Recorded {
        change: ChangeEvent,
        source: String,
        integration_id: Uuid,
        /// When Aurora learnt of it (the change's own time is `change.at`).
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChangeError {
    #[error("a change needs a service")]
    NoService,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChangeState {
    pub recorded: Option<ChangeEvent>,
    pub source: String,
}

impl DomainEvent for ChangeRecordEvent {
    crate::event::event_types! {
        Recorded => "change.recorded",
    }
}

impl Upcaster for ChangeRecordEvent {
    fn current_version() -> Option<i32> {
        Some(1)
    }
}

fn decide(
    state: &ChangeState,
    command: ChangeCommand,
) -> Result<Vec<ChangeRecordEvent>, ChangeError> {
    match command {
        ChangeCommand::Record {
            change,
            source,
            integration_id,
            at,
        } => {
            if change.service.trim().is_empty() {
                return Err(ChangeError::NoService);
            }
            if state.recorded.is_some() {
                return Ok(vec![]);
            }
            Ok(vec![ChangeRecordEvent::Recorded {
                change,
                source,
                integration_id,
                at,
            }])
        }
    }
}

impl ChangeState {
    fn apply(mut self, event: ChangeRecordEvent) -> Self {
        match event {
            ChangeRecordEvent::Recorded { change, source, .. } => {
                self.recorded = Some(change);
                self.source = source;
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::scenario::given;

    fn change(service: &str) -> ChangeEvent {
        ChangeEvent {
            change_id: "deployment-42".into(),
            kind: "deployment".into(),
            service: service.into(),
            environment: Some("production".into()),
            version: Some("9fceb02".into()),
            title: "Deploy main to production".into(),
            author: Some("octocat".into()),
            at: Utc
                .with_ymd_and_hms(2026, 11, 23, 9, 30, 0)
                .single()
                .expect("time"),
            url: None,
        }
    }

    fn record(service: &str) -> ChangeCommand {
        ChangeCommand::Record {
            change: change(service),
            source: "github".into(),
            integration_id: Uuid::from_u128(1),
            at: Utc
                .with_ymd_and_hms(2026, 11, 23, 9, 30, 5)
                .single()
                .expect("time"),
        }
    }

    fn recorded() -> ChangeRecordEvent {
        ChangeRecordEvent::Recorded {
            change: change("checkout"),
            source: "github".into(),
            integration_id: Uuid::from_u128(1),
            at: Utc
                .with_ymd_and_hms(2026, 11, 23, 9, 30, 5)
                .single()
                .expect("time"),
        }
    }

    #[test]
    fn a_change_is_recorded_once() {
        given::<Change>([])
            .when(record("checkout"))
            .then(vec![recorded()]);
        given::<Change>([recorded()])
            .when(record("checkout"))
            .then_nothing();
    }

    #[test]
    fn a_change_needs_a_service() {
        given::<Change>([])
            .when(record("  "))
            .then_error(ChangeError::NoService);
    }

    #[test]
    fn the_id_is_the_same_for_every_redelivery_and_differs_per_tenant_and_source() {
        let a = change_aggregate_id("acme", "github", "deployment-42");
        assert_eq!(a, change_aggregate_id("acme", "github", "deployment-42"));
        assert_ne!(a, change_aggregate_id("globex", "github", "deployment-42"));
        assert_ne!(a, change_aggregate_id("acme", "bitbucket", "deployment-42"));
    }
}
