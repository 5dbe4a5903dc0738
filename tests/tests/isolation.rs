//! Tenant isolation: tenant A tries to reach tenant B's data through every endpoint, with B's
//! ids copied and with ids guessed, and gets nothing; and Postgres row-level security holds even
//! for a query that forgets its tenant filter.
//!
//! [`ENDPOINTS`] is the one table of every route. A test checks it against `/openapi.json`, so
//! a new endpoint fails the suite until it is added here with what A must get.

use std::collections::BTreeSet;

use aurora_domain::{ChatCommand, ChatMode, ChatSession, Incident, IncidentId, SessionId};
use aurora_nats::{AggregateStore, Context};
use aurora_tests::{Account, Answer, TestApp};
use chrono::Utc;
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::Row;
use uuid::Uuid;

use crate::fixtures::{comment, open};

/// Which of B's things a path parameter names.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// No parameter: a list or an action on the caller's own organisation.
    None,
    Incident,
    Member,
    Invitation,
    Token,
    Integration,
    Session,
}

/// What A must get.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// 404, exactly as for an id that never existed.
    NotFound,
    /// A success (or a refusal) whose body names none of B's things.
    NothingOfB,
}

struct Endpoint {
    method: &'static str,
    /// As in the OpenAPI document.
    path: &'static str,
    target: Target,
    body: Option<&'static str>,
    expect: Expect,
}

const fn ep(
    method: &'static str,
    path: &'static str,
    target: Target,
    body: Option<&'static str>,
    expect: Expect,
) -> Endpoint {
    Endpoint {
        method,
        path,
        target,
        body,
        expect,
    }
}

use Expect::{NotFound, NothingOfB};

/// Every route of the API, and what tenant A gets when it aims at tenant B.
const ENDPOINTS: &[Endpoint] = &[
    ep("GET", "/health", Target::None, None, NothingOfB),
    ep("GET", "/ready", Target::None, None, NothingOfB),
    ep("GET", "/openapi.json", Target::None, None, NothingOfB),
    ep(
        "POST",
        "/api/auth/register",
        Target::None,
        Some(r#"{"email":"b-admin@globex.io","password":"guessing it","organization":"x"}"#),
        NothingOfB,
    ),
    ep(
        "POST",
        "/api/auth/login",
        Target::None,
        Some(r#"{"email":"b-admin@globex.io","password":"guessing it"}"#),
        NothingOfB,
    ),
    ep("GET", "/api/auth/me", Target::None, None, NothingOfB),
    ep("GET", "/api/members", Target::None, None, NothingOfB),
    ep(
        "PATCH",
        "/api/members/{user_id}",
        Target::Member,
        Some(r#"{"role":"viewer"}"#),
        NotFound,
    ),
    ep(
        "DELETE",
        "/api/members/{user_id}",
        Target::Member,
        None,
        NotFound,
    ),
    ep("GET", "/api/invitations", Target::None, None, NothingOfB),
    ep(
        "POST",
        "/api/invitations",
        Target::None,
        Some(r#"{"email":"b-member@globex.io","role":"admin"}"#),
        NothingOfB,
    ),
    ep(
        "DELETE",
        "/api/invitations/{id}",
        Target::Invitation,
        None,
        NotFound,
    ),
    // An invitation token of B's is a secret A does not have: a guessed one is refused.
    ep(
        "POST",
        "/api/invitations/accept",
        Target::None,
        Some(r#"{"invitation":"aurora_i_0123"}"#),
        NothingOfB,
    ),
    ep("GET", "/api/tokens", Target::None, None, NothingOfB),
    ep(
        "POST",
        "/api/tokens",
        Target::None,
        Some(r#"{"name":"probe"}"#),
        NothingOfB,
    ),
    ep("DELETE", "/api/tokens/{id}", Target::Token, None, NotFound),
    ep("GET", "/api/audit-log", Target::None, None, NothingOfB),
    ep("GET", "/api/incidents", Target::None, None, NothingOfB),
    ep(
        "GET",
        "/api/incidents/{id}",
        Target::Incident,
        None,
        NotFound,
    ),
    ep(
        "PATCH",
        "/api/incidents/{id}",
        Target::Incident,
        Some(r#"{"severity":"low"}"#),
        NotFound,
    ),
    ep(
        "GET",
        "/api/incidents/{id}/events",
        Target::Incident,
        None,
        NotFound,
    ),
    ep(
        "POST",
        "/api/incidents/{id}/comments",
        Target::Incident,
        Some(r#"{"text":"hello from A"}"#),
        NotFound,
    ),
    ep(
        "POST",
        "/api/incidents/{id}/merge",
        Target::Incident,
        Some(r#"{"target_id":"00000000-0000-0000-0000-000000000001"}"#),
        NotFound,
    ),
    ep(
        "POST",
        "/api/incidents/{id}/feedback",
        Target::Incident,
        Some(r#"{"helpful":false,"comment":"from A"}"#),
        NotFound,
    ),
    ep("GET", "/api/integrations", Target::None, None, NothingOfB),
    ep(
        "POST",
        "/api/integrations",
        Target::None,
        Some(r#"{"source":"grafana","name":"probe"}"#),
        NothingOfB,
    ),
    ep(
        "GET",
        "/api/integrations/sources",
        Target::None,
        None,
        NothingOfB,
    ),
    ep(
        "GET",
        "/api/integrations/{id}",
        Target::Integration,
        None,
        NotFound,
    ),
    ep(
        "PATCH",
        "/api/integrations/{id}",
        Target::Integration,
        Some(r#"{"name":"mine now"}"#),
        NotFound,
    ),
    ep(
        "DELETE",
        "/api/integrations/{id}",
        Target::Integration,
        None,
        NotFound,
    ),
    ep(
        "POST",
        "/api/integrations/{id}/rotate-secret",
        Target::Integration,
        None,
        NotFound,
    ),
    ep(
        "GET",
        "/api/correlation/settings",
        Target::None,
        None,
        NothingOfB,
    ),
    ep(
        "PUT",
        "/api/correlation/settings",
        Target::None,
        Some(r#"{"threshold":0.7}"#),
        NothingOfB,
    ),
    ep(
        "POST",
        "/api/correlation/dry-run",
        Target::None,
        Some(r#"{"settings":{},"from":"2020-01-01T00:00:00Z","to":"2020-01-02T00:00:00Z"}"#),
        NothingOfB,
    ),
    ep("GET", "/api/changes", Target::None, None, NothingOfB),
    ep("GET", "/api/ws-token", Target::None, None, NothingOfB),
    // Without a ticket of B's the socket is refused (401).
    ep("GET", "/ws/chat", Target::None, None, NothingOfB),
    ep("GET", "/chat_api/sessions", Target::None, None, NothingOfB),
    ep(
        "GET",
        "/chat_api/sessions/{id}",
        Target::Session,
        None,
        NotFound,
    ),
    ep(
        "PATCH",
        "/chat_api/sessions/{id}",
        Target::Session,
        Some(r#"{"title":"pwned"}"#),
        NotFound,
    ),
    ep(
        "DELETE",
        "/chat_api/sessions/{id}",
        Target::Session,
        None,
        NotFound,
    ),
    ep(
        "POST",
        "/chat_api/sessions",
        Target::None,
        Some(r#"{"title":"hello from A"}"#),
        NothingOfB,
    ),
    ep(
        "GET",
        "/chat_api/sessions/{id}/messages",
        Target::Session,
        None,
        NotFound,
    ),
    ep(
        "POST",
        "/chat_api/sessions/{id}/messages",
        Target::Session,
        Some(r#"{"message":"hello from A"}"#),
        NotFound,
    ),
    // B's session id in the body: it is named as not found, and stays B's (checked below).
    ep(
        "DELETE",
        "/chat_api/sessions/bulk-delete",
        Target::Session,
        Some(r#"{"ids":["{id}"]}"#),
        NothingOfB,
    ),
    ep("GET", "/api/llm-usage", Target::None, None, NothingOfB),
    ep("GET", "/api/agent/policy", Target::None, None, NothingOfB),
    ep(
        "PUT",
        "/api/agent/policy",
        Target::None,
        Some(r#"{"deny":["rm"]}"#),
        NothingOfB,
    ),
    // Without B's secret a delivery to B's integration is refused (401), whoever sends it.
    ep(
        "POST",
        "/webhooks/{source}/{integration_id}",
        Target::Integration,
        Some(r#"{"alerts":[]}"#),
        NothingOfB,
    ),
    // Last: it ends A's session.
    ep("POST", "/api/auth/logout", Target::None, None, NothingOfB),
];

/// Tenant B's things, as an attacker in A might have copied them.
struct Victim {
    admin: Account,
    member: Account,
    incident: Uuid,
    invitation: Uuid,
    token: Uuid,
    integration: Uuid,
    session: Uuid,
    /// Strings that must never appear in an answer to A.
    secrets: Vec<String>,
}

impl Victim {
    fn id(&self, target: Target) -> Option<Uuid> {
        match target {
            Target::None => None,
            Target::Incident => Some(self.incident),
            Target::Member => Some(self.member.user_id),
            Target::Invitation => Some(self.invitation),
            Target::Token => Some(self.token),
            Target::Integration => Some(self.integration),
            Target::Session => Some(self.session),
        }
    }
}

async fn call(
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
async fn two_tenants(app: &TestApp) -> (Account, Victim) {
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
    // B's chat session, with a model call's usage, and B's command policy.
    let session = Uuid::now_v7();
    let sessions = AggregateStore::<ChatSession>::new(app.nats.log.clone());
    for command in [
        ChatCommand::Start {
            id: SessionId(session),
            owner: b.user_id.to_string(),
            title: "Globex secret chat".into(),
            mode: ChatMode::Ask,
            at: Utc::now(),
        },
        ChatCommand::PostUserMessage {
            by: b.user_id.to_string(),
            message_id: Uuid::now_v7(),
            text: "Globex secret question".into(),
            mode: ChatMode::Ask,
            at: Utc::now(),
        },
        ChatCommand::RecordUsage {
            model: "globex-secret-model".into(),
            input_tokens: 10,
            output_tokens: 5,
            cost_micros: 7,
            at: Utc::now(),
        },
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
    // Let the projections show B's incident, so that a leak would have something to leak.
    let started = std::time::Instant::now();
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
        ],
        session,
        invitation: uuid(&invitation["id"]),
        token: uuid(&token["id"]),
        integration: uuid(&integration["id"]),
        incident,
        member,
        admin: b,
    };
    (a, victim)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_endpoint_table_lists_every_route_of_the_openapi_document() {
    let app = TestApp::spawn().await;
    let doc = app.get_json("/openapi.json", None).await.expect_status(200);
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let tabled: BTreeSet<(String, String)> = ENDPOINTS
        .iter()
        .map(|e| (e.method.to_owned(), e.path.to_owned()))
        .collect();
    assert_eq!(
        documented, tabled,
        "every route needs a row in ENDPOINTS (tests/tests/isolation.rs) saying what another tenant gets"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_a_reaches_nothing_of_tenant_b_through_any_endpoint() {
    let app = TestApp::spawn().await;
    let (a, b) = two_tenants(&app).await;
    // What B holds and A did not send itself (an error may quote the id A asked for).
    let leaks = |answer: &Answer, sent: &str| -> Vec<String> {
        let text = answer.body.to_string();
        b.secrets
            .iter()
            .filter(|s| text.contains(s.as_str()) && !sent.contains(s.as_str()))
            .cloned()
            .collect()
    };
    // The time-travel view of B's incident, through A.
    let at = format!("/api/incidents/{}?at=2999-01-01T00:00:00Z", b.incident);
    let answer = call(&app, &a, "GET", &at, None).await;
    answer.expect_error(404, "not_found");
    assert!(leaks(&answer, &at).is_empty());
    for e in ENDPOINTS {
        let copied = match b.id(e.target) {
            Some(id) => e
                .path
                .replace("{id}", &id.to_string())
                .replace("{user_id}", &id.to_string())
                .replace("{integration_id}", &id.to_string())
                .replace("{source}", "grafana"),
            None => e.path.to_owned(),
        };
        // A body may name B's thing too (`{id}`), as a path does.
        let body = e.body.map(|body| match b.id(e.target) {
            Some(id) => body.replace("{id}", &id.to_string()),
            None => body.to_owned(),
        });
        let answer = call(&app, &a, e.method, &copied, body.as_deref()).await;
        let sent = format!("{copied} {}", body.as_deref().unwrap_or_default());
        let leaked = leaks(&answer, &sent);
        assert!(
            leaked.is_empty(),
            "{} {copied} leaks {leaked:?}: {}",
            e.method,
            answer.body
        );
        match e.expect {
            NotFound => {
                answer.expect_error(404, "not_found");
                // A guessed id answers the same: existence does not leak.
                let guessed = e
                    .path
                    .replace("{id}", &Uuid::now_v7().to_string())
                    .replace("{user_id}", &Uuid::now_v7().to_string())
                    .replace("{integration_id}", &Uuid::now_v7().to_string())
                    .replace("{source}", "grafana");
                let guess = call(&app, &a, e.method, &guessed, e.body).await;
                assert_eq!(guess.status, answer.status, "{} {guessed}", e.method);
                assert_eq!(guess.body["error"]["code"], answer.body["error"]["code"]);
            }
            NothingOfB => assert_ne!(answer.status, 403, "{} {copied}: {}", e.method, answer.body),
        }
    }

    // Nothing A did touched B: B's incident has no comment from A, B's member and token stand.
    let incident = app
        .get_json(&format!("/api/incidents/{}", b.incident), Some(&b.admin))
        .await
        .expect_status(200);
    assert!(!incident.to_string().contains("hello from A"));
    assert!(!incident.to_string().contains("from A"));
    assert_eq!(incident["incident"]["status"], "investigating");
    let members = app
        .get_json("/api/members", Some(&b.admin))
        .await
        .expect_status(200);
    assert_eq!(members["items"].as_array().map(Vec::len), Some(2));
    let tokens = app
        .get_json("/api/tokens", Some(&b.admin))
        .await
        .expect_status(200);
    assert_eq!(tokens["items"][0]["revoked"], false);
    app.get_json("/api/auth/me", Some(&b.member))
        .await
        .expect_status(200);
    // B's session is still B's, with nothing of A's in it.
    let session = app
        .get_json(&format!("/chat_api/sessions/{}", b.session), Some(&b.admin))
        .await
        .expect_status(200);
    assert!(!session.to_string().contains("hello from A"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_level_security_hides_other_tenants_even_from_a_query_without_a_tenant_filter() {
    let app = TestApp::spawn().await;
    let (a, b) = two_tenants(&app).await;
    let pool = &app.db.pool;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.columns
         WHERE table_schema = 'public' AND column_name = 'tenant_id' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .expect("tables");
    assert!(tables.len() >= 11, "{tables:?}");
    for table in &tables {
        // As the owner (what projectors use) both tenants are there...
        let all: Vec<String> =
            sqlx::query_scalar(&format!("SELECT DISTINCT tenant_id FROM {table}"))
                .fetch_all(pool)
                .await
                .expect("owner read");
        // ...through the application's scoped transaction, deliberately without a filter, only A.
        let mut tx = aurora_projections::queries::scoped(pool, a.tenant.as_str())
            .await
            .expect("scoped");
        let seen: Vec<String> =
            sqlx::query_scalar(&format!("SELECT DISTINCT tenant_id FROM {table}"))
                .fetch_all(&mut *tx)
                .await
                .expect("scoped read");
        assert!(
            seen.iter().all(|t| t == a.tenant.as_str()),
            "{table}: A sees {seen:?}"
        );
        if all.contains(&b.admin.tenant.to_string()) {
            assert!(!seen.contains(&b.admin.tenant.to_string()), "{table}");
        }
        // The application role only reads.
        let write = sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut *tx)
            .await;
        assert!(write.is_err(), "{table}: the app role must not write");
        drop(tx);
    }
    // Both tenants' incidents exist; A's scoped view counts only its own.
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM incidents")
        .fetch_one(pool)
        .await
        .expect("count");
    assert_eq!(total, 2);
    let mut tx = aurora_projections::queries::scoped(pool, a.tenant.as_str())
        .await
        .expect("scoped");
    let row = sqlx::query("SELECT count(*) AS n, current_user::text AS who FROM incidents")
        .fetch_one(&mut *tx)
        .await
        .expect("count");
    assert_eq!(row.get::<i64, _>("n"), 1);
    assert_eq!(row.get::<String, _>("who"), "aurora_app");
    drop(tx);
    // A transaction that sets no tenant at all sees nothing.
    let mut tx = pool.begin().await.expect("begin");
    sqlx::query("SET LOCAL ROLE aurora_app")
        .execute(&mut *tx)
        .await
        .expect("role");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM incidents")
        .fetch_one(&mut *tx)
        .await
        .expect("count");
    assert_eq!(n, 0);
    drop(tx);
    // And the role does not outlive its transaction on the pooled connection.
    let who: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(pool)
        .await
        .expect("who");
    assert_ne!(who, "aurora_app");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_runs_every_statement_as_the_restricted_role() {
    let app = TestApp::spawn().await;
    let (a, _b) = two_tenants(&app).await;
    let services = app.services();
    let pool = &services.gateway_pool;
    let (who, superuser, bypass): (String, bool, bool) = sqlx::query_as(
        "SELECT current_user::text, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(pool)
    .await
    .expect("role");
    assert_eq!(
        (who.as_str(), superuser, bypass),
        ("aurora_app", false, false)
    );
    // Outside a scoped transaction it sees no tenant's rows at all...
    for table in [
        "incidents",
        "org_members",
        "api_tokens",
        "auth_sessions",
        "audit_log",
    ] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(pool)
            .await
            .expect("count");
        assert_eq!(n, 0, "{table}");
    }
    // ...no password hash, and no table it could write behind the projectors' backs.
    assert!(sqlx::query("SELECT password_hash FROM users")
        .fetch_all(pool)
        .await
        .is_err());
    assert!(sqlx::query("UPDATE org_members SET role = 'admin'")
        .execute(pool)
        .await
        .is_err());
    // The definer functions answer only for the secret they are given.
    let owner = aurora_projections::queries::identity::session_owner(pool, "no such hash")
        .await
        .expect("lookup");
    assert!(owner.is_none());
    let memberships = aurora_projections::queries::identity::memberships(pool, a.user_id)
        .await
        .expect("memberships");
    assert_eq!(memberships.len(), 1);
    assert_eq!(memberships[0].tenant_id, a.tenant.as_str());
    app.stop().await;
}
