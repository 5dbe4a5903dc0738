//! Given / when / then for the service aggregate.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use uuid::Uuid;

use super::*;
use crate::scenario::given;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
        .single()
        .expect("a valid time")
}

fn key(name: &str) -> NodeKey {
    NodeKey::parse(name).expect("a valid key")
}

fn facts(name: &str, provider: Provider) -> NodeFacts {
    NodeFacts {
        key: key(name),
        name: name.into(),
        node_type: NodeType::Workload,
        provider,
        region: Some("europe-west1".into()),
        labels: [("app".to_owned(), name.to_owned())].into(),
    }
}

fn discovered(name: &str, at: DateTime<Utc>) -> ServiceEvent {
    ServiceEvent::Discovered {
        facts: facts(name, Provider::Kubernetes),
        by: Sighting::Discovery,
        at,
    }
}

fn edge(to: &str, origin: EdgeOrigin, confidence: f64) -> Edge {
    Edge {
        to: service_id("acme", &key(to)),
        to_key: key(to),
        kind: EdgeKind::DependsOn,
        confidence,
        origin,
        declared_by: (origin == EdgeOrigin::Declared).then(|| "ada@example.com".to_owned()),
    }
}

fn connect(to: &str, origin: EdgeOrigin, target_exists: bool) -> ServiceCommand {
    ServiceCommand::Connect {
        from: key("checkout"),
        edge: edge(to, origin, origin.confidence()),
        target_exists,
        at: t0(),
    }
}

#[test]
fn a_node_is_discovered_once_then_seen() {
    given::<Service>([])
        .when(ServiceCommand::Discover {
            facts: facts("checkout", Provider::Kubernetes),
            at: t0(),
        })
        .then(vec![discovered("checkout", t0())]);
    let hour_later = t0() + TimeDelta::hours(1);
    given::<Service>([discovered("checkout", t0())])
        .when(ServiceCommand::Discover {
            facts: facts("checkout", Provider::Kubernetes),
            at: hour_later,
        })
        .then(vec![ServiceEvent::Seen {
            by: Sighting::Discovery,
            at: hour_later,
        }]);
}

#[test]
fn a_sighting_soon_after_the_last_records_nothing() {
    given::<Service>([discovered("checkout", t0())])
        .when(ServiceCommand::Touch {
            key: key("checkout"),
            name: "checkout".into(),
            node_type: NodeType::Service,
            by: Sighting::Alert,
            at: t0() + TimeDelta::minutes(5),
        })
        .then_nothing();
}

#[test]
fn an_alert_names_a_node_into_the_graph_without_overwriting_an_inventory() {
    given::<Service>([])
        .when(ServiceCommand::Touch {
            key: key("payments"),
            name: "Payments".into(),
            node_type: NodeType::Service,
            by: Sighting::Alert,
            at: t0(),
        })
        .then(vec![ServiceEvent::Discovered {
            facts: NodeFacts::observed(key("payments"), "Payments"),
            by: Sighting::Alert,
            at: t0(),
        }]);
    let later = t0() + TimeDelta::hours(2);
    let state = given::<Service>([discovered("checkout", t0())])
        .when(ServiceCommand::Touch {
            key: key("checkout"),
            name: "checkout".into(),
            node_type: NodeType::Service,
            by: Sighting::Change,
            at: later,
        })
        .then(vec![ServiceEvent::Seen {
            by: Sighting::Change,
            at: later,
        }]);
    assert_eq!(state.facts.map(|f| f.provider), Some(Provider::Kubernetes));
}

#[test]
fn an_alert_label_names_a_node_of_its_type() {
    let namespace = NodeKey::namespace("shop").expect("key");
    given::<Service>([])
        .when(ServiceCommand::Touch {
            key: namespace.clone(),
            name: "shop".into(),
            node_type: NodeType::KubernetesNamespace,
            by: Sighting::Alert,
            at: t0(),
        })
        .then(vec![ServiceEvent::Discovered {
            facts: NodeFacts {
                node_type: NodeType::KubernetesNamespace,
                ..NodeFacts::observed(namespace, "shop")
            },
            by: Sighting::Alert,
            at: t0(),
        }]);
}

#[test]
fn a_workload_takes_the_place_of_a_service_only_an_alert_named() {
    let touch = |node_type| ServiceCommand::Touch {
        key: key("checkout"),
        name: "checkout".into(),
        node_type,
        by: Sighting::Alert,
        at: t0() + TimeDelta::minutes(1),
    };
    let observed = ServiceEvent::Discovered {
        facts: NodeFacts::observed(key("checkout"), "Checkout"),
        by: Sighting::Alert,
        at: t0(),
    };
    given::<Service>([observed.clone()])
        .when(touch(NodeType::Workload))
        .then(vec![ServiceEvent::Discovered {
            facts: NodeFacts {
                node_type: NodeType::Workload,
                ..NodeFacts::observed(key("checkout"), "Checkout")
            },
            by: Sighting::Alert,
            at: t0() + TimeDelta::minutes(1),
        }]);
    // A listed node, or a service named again, keeps what it is.
    given::<Service>([discovered("checkout", t0())])
        .when(touch(NodeType::Workload))
        .then_nothing();
    given::<Service>([observed])
        .when(touch(NodeType::Service))
        .then_nothing();
}

#[test]
fn an_inventory_takes_over_an_observed_node_but_not_another_providers() {
    let observed = ServiceEvent::Discovered {
        facts: NodeFacts::observed(key("checkout"), "checkout"),
        by: Sighting::Alert,
        at: t0(),
    };
    let later = t0() + TimeDelta::hours(1);
    given::<Service>([observed])
        .when(ServiceCommand::Discover {
            facts: facts("checkout", Provider::Kubernetes),
            at: later,
        })
        .then(vec![discovered("checkout", later)]);
    given::<Service>([discovered("checkout", t0())])
        .when(ServiceCommand::Discover {
            facts: facts("checkout", Provider::Gcp),
            at: later,
        })
        .then(vec![ServiceEvent::Seen {
            by: Sighting::Discovery,
            at: later,
        }]);
}

#[test]
fn edges_need_both_ends_and_two_of_them() {
    given::<Service>([])
        .when(connect("payments", EdgeOrigin::EnvVar, true))
        .then_error(ServiceError::Unknown(key("checkout")));
    given::<Service>([discovered("checkout", t0())])
        .when(connect("payments", EdgeOrigin::EnvVar, false))
        .then_error(ServiceError::UnknownTarget(key("payments")));
    given::<Service>([discovered("checkout", t0())])
        .when(connect("checkout", EdgeOrigin::Declared, true))
        .then_error(ServiceError::SelfLoop(key("checkout")));
    given::<Service>([discovered("checkout", t0())])
        .when(ServiceCommand::Connect {
            from: key("checkout"),
            edge: edge("payments", EdgeOrigin::EnvVar, 1.5),
            target_exists: true,
            at: t0(),
        })
        .then_error(ServiceError::BadConfidence(1.5));
}

#[test]
fn an_observed_edge_is_recorded_once() {
    let observed = ServiceEvent::DependencyObserved {
        edge: edge("payments", EdgeOrigin::EnvVar, 0.8),
        at: t0(),
    };
    given::<Service>([discovered("checkout", t0())])
        .when(connect("payments", EdgeOrigin::EnvVar, true))
        .then(vec![observed.clone()]);
    given::<Service>([discovered("checkout", t0()), observed])
        .when(connect("payments", EdgeOrigin::EnvVar, true))
        .then_nothing();
}

#[test]
fn a_declared_edge_is_not_taken_back_by_a_discovery() {
    let declared = ServiceEvent::DependencyDeclared {
        edge: edge("payments", EdgeOrigin::Declared, 1.0),
        at: t0(),
    };
    given::<Service>([discovered("checkout", t0())])
        .when(connect("payments", EdgeOrigin::Declared, true))
        .then(vec![declared.clone()]);
    let state = given::<Service>([discovered("checkout", t0()), declared])
        .when(connect("payments", EdgeOrigin::EnvVar, true))
        .then(vec![]);
    let kept = state.edges.first().expect("the declared edge");
    assert_eq!((kept.origin, kept.confidence), (EdgeOrigin::Declared, 1.0));
}

#[test]
fn unseen_for_seven_days_is_stale_and_thirty_days_later_gone() {
    let stale_at = t0() + STALE_AFTER;
    let stale = ServiceEvent::MarkedStale {
        last_seen: t0(),
        at: stale_at,
    };
    given::<Service>([discovered("checkout", t0())])
        .when(ServiceCommand::MarkStale {
            now: stale_at - TimeDelta::seconds(1),
        })
        .then_nothing();
    given::<Service>([discovered("checkout", t0())])
        .when(ServiceCommand::MarkStale { now: stale_at })
        .then(vec![stale.clone()]);
    given::<Service>([discovered("checkout", t0()), stale.clone()])
        .when(ServiceCommand::MarkStale {
            now: stale_at + TimeDelta::days(1),
        })
        .then_nothing();
    let gone_at = stale_at + REMOVE_AFTER;
    given::<Service>([discovered("checkout", t0()), stale.clone()])
        .when(ServiceCommand::Remove {
            now: gone_at - TimeDelta::seconds(1),
        })
        .then_nothing();
    let state = given::<Service>([discovered("checkout", t0()), stale.clone()])
        .when(ServiceCommand::Remove { now: gone_at })
        .then(vec![ServiceEvent::Removed { at: gone_at }]);
    assert!(!state.exists());
    // A node not stale is never removed.
    given::<Service>([discovered("checkout", t0())])
        .when(ServiceCommand::Remove {
            now: t0() + TimeDelta::days(365),
        })
        .then_nothing();
}

#[test]
fn a_sighting_clears_the_stale_mark_even_right_after() {
    let stale_at = t0() + STALE_AFTER;
    let stale = ServiceEvent::MarkedStale {
        last_seen: t0(),
        at: stale_at,
    };
    let back = stale_at + TimeDelta::minutes(1);
    let state = given::<Service>([discovered("checkout", t0()), stale])
        .when(ServiceCommand::Discover {
            facts: facts("checkout", Provider::Kubernetes),
            at: back,
        })
        .then(vec![ServiceEvent::Seen {
            by: Sighting::Discovery,
            at: back,
        }]);
    assert!(!state.is_stale());
}

#[test]
fn a_state_with_edges_round_trips_through_json() {
    let state = given::<Service>([
        discovered("checkout", t0()),
        ServiceEvent::DependencyObserved {
            edge: edge("payments", EdgeOrigin::EnvVar, 0.8),
            at: t0(),
        },
    ])
    .state();
    let json = serde_json::to_string(&state).expect("serialises");
    let back: ServiceState = serde_json::from_str(&json).expect("loads");
    assert_eq!(back, state);
}

#[test]
fn keys_are_trimmed_lower_case_names_and_ids_differ_per_tenant() {
    assert_eq!(key(" Checkout ").as_str(), "checkout");
    assert_eq!(NodeKey::parse("  "), Err(NodeKeyError::Empty));
    assert!(matches!(
        NodeKey::parse(&"x".repeat(301)),
        Err(NodeKeyError::TooLong(_))
    ));
    assert_eq!(
        NodeKey::namespace("shop").map(|k| k.as_str().to_owned()),
        Ok("namespace:shop".to_owned())
    );
    assert_ne!(
        service_id("acme", &key("checkout")),
        service_id("globex", &key("checkout"))
    );
    assert_ne!(service_id("acme", &key("checkout")), Uuid::nil());
}
