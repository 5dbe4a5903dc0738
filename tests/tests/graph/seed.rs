//! A tenant's graph written straight to the event store, as discovery would.

use aurora_domain::service::{
    service_id, Edge, EdgeKind, EdgeOrigin, NodeFacts, NodeKey, NodeType, Provider, ServiceCommand,
};
use aurora_domain::TenantId;
use aurora_nats::envelope::Context;
use aurora_projections::Projector;
use aurora_tests::{wait_for_projection, TestApp};
use chrono::Utc;
use uuid::Uuid;

pub fn key(name: &str) -> NodeKey {
    NodeKey::parse(name).expect("a valid key")
}

pub fn id(tenant: &TenantId, name: &str) -> Uuid {
    service_id(tenant.as_str(), &key(name))
}

/// Writes `nodes` (name, type) and `DEPENDS_ON` edges `(from, to)`, then waits for the read model.
pub async fn graph(
    app: &TestApp,
    tenant: &TenantId,
    nodes: &[(&str, NodeType)],
    edges: &[(&str, &str)],
) {
    let store = app.services().services;
    let mut last = 0;
    for (name, node_type) in nodes {
        let facts = NodeFacts {
            key: key(name),
            name: (*name).to_owned(),
            node_type: *node_type,
            provider: Provider::Kubernetes,
            region: Some("europe-west1".into()),
            labels: [("team".to_owned(), "shop".to_owned())].into(),
        };
        let command = ServiceCommand::Discover {
            facts,
            at: Utc::now(),
        };
        let done = store
            .execute(tenant, id(tenant, name), command, Context::new_root())
            .await
            .expect("the store answers")
            .expect("the node takes it");
        last = last.max(done.stream_sequence);
    }
    for (from, to) in edges {
        let command = ServiceCommand::Connect {
            from: key(from),
            edge: Edge {
                to: id(tenant, to),
                to_key: key(to),
                kind: EdgeKind::DependsOn,
                confidence: 0.8,
                origin: EdgeOrigin::EnvVar,
                declared_by: None,
            },
            target_exists: true,
            at: Utc::now(),
        };
        let done = store
            .execute(tenant, id(tenant, from), command, Context::new_root())
            .await
            .expect("the store answers")
            .expect("the node takes it");
        last = last.max(done.stream_sequence);
    }
    wait_for_projection(&app.db.pool, Projector::Services, last).await;
}
