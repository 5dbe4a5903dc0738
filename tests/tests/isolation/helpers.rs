//! Two organisations with data of every kind, and calls as one of their accounts.

use aurora_domain::{ChatCommand, ChatMode, ChatSession, Incident, IncidentId, SessionId};
use aurora_nats::{AggregateStore, Context};
use aurora_tests::{Account, Answer, TestApp};
use chrono::Utc;
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use super::table::Target;
use crate::fixtures::{comment, open};
use aurora_domain::chat::NewSession;
use aurora_domain::usage::ModelUsage;

/// Tenant B's things, as an attacker in A might have copied them.
pub(crate) struct Victim {
    pub(crate) admin: Account,
    pub(crate) member: Account,
    pub(crate) incident: Uuid,
    pub(crate) invitation: Uuid,
    pub(crate) token: Uuid,
    pub(crate) integration: Uuid,
    pub(crate) session: Uuid,
    /// A node of B's service graph.
    pub(crate) service: Uuid,
    pub(crate) connector: Uuid,
    pub(crate) document: Uuid,
    /// Strings that must never appear in an answer to A.
    pub(crate) secrets: Vec<String>,
}

impl Victim {
    pub(crate) fn id(&self, target: Target) -> Option<Uuid> {
        match target {
            Target::None => None,
            Target::Incident => Some(self.incident),
            Target::Member => Some(self.member.user_id),
            Target::Invitation => Some(self.invitation),
            Target::Token => Some(self.token),
            Target::Integration => Some(self.integration),
            Target::Session => Some(self.session),
            Target::Service => Some(self.service),
            Target::Connector => Some(self.connector),
            Target::Document => Some(self.document),
        }
    }
}

pub(crate) async fn call(
    app: &TestApp,
    who: &Account,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Answer {
    let method = Method::from_bytes(method.as_bytes()).expect("method");
    let mut request = app.request(method, path, Some(who));
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    Answer::of(request.send().await).await
}

/// Two organisations with data of every kind: A (the attacker) and B (the victim).
pub(crate) async fn two_tenants(app: &TestApp) -> (Account, Victim) {
    let store = AggregateStore::<Incident>::new(app.nats.log.clone());
    let opened = |who: &Account, title: &'static str| {
        let (store, tenant) = (&store, who.tenant.clone());
        async move {
            let id = IncidentId::new();
            let run = |c| store.execute(&tenant, id.0, c, Context::new_root());
            run(open(id, title, "checkout", Utc::now()))
                .await
                .expect("store")
                .expect("open");
            run(comment("ops", title))
                .await
                .expect("store")
                .expect("comment");
            id.0
        }
    };
    let a = app.register("a-admin@acme.io", "Acme").await;
    opened(&a, "A's own incident").await;
    let b = app.register("b-admin@globex.io", "Globex Secret Org").await;
    let member = app
        .invite_and_register(&b, "b-member@globex.io", "editor")
        .await;
    let incident = opened(&b, "Globex secret outage").await;
    let invitation = app
        .post_json(
            "/api/invitations",
            Some(&b),
            &json!({ "email": "b-pending@globex.io", "role": "viewer" }),
        )
        .await
        .expect_status(201);
    let token = app
        .post_json("/api/tokens", Some(&b), &json!({ "name": "globex-ci" }))
        .await
        .expect_status(201);
    let integration = app
        .post_json(
            "/api/integrations",
            Some(&b),
            &json!({ "source": "grafana", "name": "Globex Grafana" }),
        )
        .await
        .expect_status(201);
    // B's Kubernetes connector (checked by parsing: no provider to reach).
    let connector = app
        .post_json(
            "/api/connectors/kubernetes",
            Some(&b),
            &json!({"credentials": {"kubeconfig": aurora_tests::providers::kubeconfig("globex-kube-secret-token")}}),
        )
        .await
        .expect_status(201);
    // B's chat session, with a model call's usage, and B's command policy.
    let session = Uuid::now_v7();
    let sessions = AggregateStore::<ChatSession>::new(app.nats.log.clone());
    for command in [
        ChatCommand::Start(NewSession {
            id: SessionId(session),
            owner: b.user_id.to_string(),
            title: "Globex secret chat".into(),
            mode: ChatMode::Ask,
            at: Utc::now(),
        }),
        ChatCommand::PostUserMessage {
            by: b.user_id.to_string(),
            message_id: Uuid::now_v7(),
            text: "Globex secret question".into(),
            mode: ChatMode::Ask,
            at: Utc::now(),
        },
        ChatCommand::RecordUsage(ModelUsage {
            model: "globex-secret-model".into(),
            input_tokens: 10,
            output_tokens: 5,
            cost_micros: 7,
            at: Utc::now(),
        }),
    ] {
        sessions
            .execute(&b.tenant, session, command, Context::new_root())
            .await
            .expect("store")
            .expect("accepted");
    }
    let policy = app
        .request(Method::PUT, "/api/agent/policy", Some(&b))
        .json(&json!({"deny": ["globex-secret-pattern"]}))
        .send()
        .await
        .expect("a response");
    assert_eq!(policy.status(), 200);
    while app
        .get_json(&format!("/chat_api/sessions/{session}"), Some(&b))
        .await
        .status
        != 200
    {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // B's service graph: one node.
    let service = service_node(app, &b).await;
    // Let the projections show B's incident, so that a leak would have something to leak.
    let started = std::time::Instant::now();
    while app
        .get_json(&format!("/api/graph/services/{service}"), Some(&b))
        .await
        .status
        != 200
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "B's service never projected"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    while app
        .get_json(&format!("/api/incidents/{incident}"), Some(&b))
        .await
        .status
        != 200
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "B's incident never projected"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let uuid = |v: &Value| Uuid::parse_str(v.as_str().expect("id")).expect("uuid");
    let document = app
        .upload(
            Some(&b),
            "globex-secret-runbook.md",
            b"# Globex secret runbook\nglobex secret procedure",
        )
        .await
        .expect_status(202);
    let victim = Victim {
        secrets: vec![
            b.tenant.to_string(),
            b.user_id.to_string(),
            member.user_id.to_string(),
            incident.to_string(),
            invitation["id"].as_str().expect("id").to_owned(),
            token["id"].as_str().expect("id").to_owned(),
            integration["secret"].as_str().expect("secret").to_owned(),
            "Globex Grafana".to_owned(),
            "Globex Secret Org".to_owned(),
            "Globex secret outage".to_owned(),
            "b-pending@globex.io".to_owned(),
            session.to_string(),
            "Globex secret chat".to_owned(),
            "Globex secret question".to_owned(),
            "globex-secret-model".to_owned(),
            "globex-secret-pattern".to_owned(),
            service.to_string(),
            "globex-secret-service".to_owned(),
            "globex-kube-secret-token".to_owned(),
            connector["id"].as_str().expect("id").to_owned(),
            "globex-secret-runbook".to_owned(),
            document["id"].as_str().expect("id").to_owned(),
        ],
        connector: uuid(&connector["id"]),
        document: uuid(&document["id"]),
        session,
        service,
        invitation: uuid(&invitation["id"]),
        token: uuid(&token["id"]),
        integration: uuid(&integration["id"]),
        incident,
        member,
        admin: b,
    };
    (a, victim)
}

/// A node named `globex-secret-service` in B's graph, as discovery would write it.
async fn service_node(app: &TestApp, b: &Account) -> Uuid {
    use aurora_domain::service::{service_id, NodeFacts, NodeKey, ServiceCommand};
    let key = NodeKey::parse("globex-secret-service").expect("key");
    let id = service_id(b.tenant.as_str(), &key);
    let command = ServiceCommand::Discover {
        facts: NodeFacts::observed(key, "globex-secret-service"),
        at: Utc::now(),
    };
    app.services()
        .services
        .execute(&b.tenant, id, command, Context::new_root())
        .await
        .expect("store")
        .expect("accepted");
    id
}
