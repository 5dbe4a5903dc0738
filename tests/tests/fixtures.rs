//! Commands and ids the tests share.

use aurora_domain::correlation::{Correlation, TopologyBasis};
use aurora_domain::incident::{Alert, Opening};
use aurora_domain::{IncidentCommand, IncidentId, Severity, TenantId};
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

pub fn tenant(name: &str) -> TenantId {
    TenantId::parse(name).expect("valid tenant")
}

pub fn open(id: IncidentId, title: &str, service: &str, at: DateTime<Utc>) -> IncidentCommand {
    IncidentCommand::Open(Opening {
        id,
        title: title.to_owned(),
        service: service.to_owned(),
        environment: "production".to_owned(),
        severity: Severity::High,
        source: "grafana".to_owned(),
        source_alert_id: format!("alert-{}", Uuid::new_v4().simple()),
        fingerprint: format!("fp-{service}"),
        alert_fired_at: at - Duration::seconds(5),
        at,
        why: None,
        integration_id: None,
    })
}

/// Runs `command` on incident `id` of `tenant` through `app`'s event store, as a handler would;
/// the incident must take it.
pub async fn on_incident(
    app: &aurora_tests::TestApp,
    tenant: &TenantId,
    id: IncidentId,
    command: IncidentCommand,
) {
    app.services()
        .incidents
        .execute(
            tenant,
            id.0,
            command,
            aurora_nats::envelope::Context::new_root(),
        )
        .await
        .expect("the store answers")
        .expect("the incident takes the command");
}

pub fn comment(author: &str, text: &str) -> IncidentCommand {
    IncidentCommand::AddComment {
        comment_id: Uuid::now_v7(),
        author: author.to_owned(),
        text: text.to_owned(),
        at: Utc::now(),
    }
}

pub fn attach(alert_id: &str, service: &str, score: f64) -> IncidentCommand {
    IncidentCommand::AttachAlert {
        alert: Alert {
            alert_id: alert_id.to_owned(),
            fingerprint: format!("fp-{alert_id}"),
            title: format!("{service} latency high"),
            service: service.to_owned(),
            severity: Severity::Medium,
            source: "datadog".to_owned(),
            received_at: Utc::now(),
        },
        correlation: Correlation {
            strategy: "topology".to_owned(),
            score,
            topology: 1.0,
            time: 0.42,
            similarity: 0.35,
            candidates_considered: 3,
            topology_basis: TopologyBasis::ServiceGraph,
            topology_path: None,
            title_basis: aurora_domain::incident::TitleBasis::WordOverlap,
        },
        at: Utc::now(),
    }
}
