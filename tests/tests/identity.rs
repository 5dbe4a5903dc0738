//! Identity end to end (SPEC §10): registration, login, sessions and cookies, invitations and
//! roles, API tokens, and the audit log of every admin action and denied access.

use std::time::Instant;

use aurora_domain::{Incident, IncidentId};
use aurora_nats::{AggregateStore, Context};
use aurora_tests::{Account, TestApp};
use chrono::Utc;
use reqwest::Method;
use serde_json::{json, Value};

use crate::fixtures::open;

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    who: &Account,
    body: Option<Value>,
) -> aurora_tests::Answer {
    let request = app.request(method, path, Some(who));
    let request = match body {
        Some(body) => request.json(&body),
        None => request,
    };
    aurora_tests::Answer::of(request.send().await).await
}

fn items(body: &Value) -> &Vec<Value> {
    body["items"].as_array().expect("a list of items")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registering_creates_an_organisation_with_the_caller_as_admin() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice@Acme.io", "Acme").await;
    assert_eq!(alice.tenant.as_str(), alice.organization_id.to_string());

    let me = app
        .get_json("/api/auth/me", Some(&alice))
        .await
        .expect_status(200);
    assert_eq!(
        me["user"]["email"], "alice@acme.io",
        "emails are stored lower-case"
    );
    assert_eq!(me["organization"]["name"], "Acme");
    assert_eq!(me["role"], "admin");
    assert_eq!(me["via"], "session");

    let members = app
        .get_json("/api/members", Some(&alice))
        .await
        .expect_status(200);
    assert_eq!(items(&members).len(), 1);
    assert_eq!(members["items"][0]["role"], "admin");

    // The same email again, in any case: 409, and nothing else was created.
    let again = app
        .post_json(
            "/api/auth/register",
            None,
            &json!({ "email": "ALICE@acme.io", "password": "another password", "organization": "Acme 2" }),
        )
        .await;
    again.expect_error(409, "email_taken");
    let organizations: i64 = sqlx::query_scalar("SELECT count(*) FROM organizations")
        .fetch_one(&app.db.pool)
        .await
        .expect("count");
    assert_eq!(organizations, 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_refuses_bad_input_with_a_clear_error() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            json!({ "email": "bob@example.com", "password": "short", "organization": "B" }),
            400,
            "weak_password",
        ),
        (
            json!({ "email": "not-an-email", "password": "long enough", "organization": "B" }),
            400,
            "invalid_email",
        ),
        (
            json!({ "email": "bob@example.com", "password": "long enough" }),
            400,
            "invalid_body",
        ),
        (
            json!({ "email": "bob@example.com", "password": "long enough", "organization": "B", "invitation": "x" }),
            400,
            "invalid_body",
        ),
        (
            json!({ "email": "bob@example.com", "password": "long enough", "organization": "   " }),
            422,
            "invalid_name",
        ),
        (
            json!({ "email": "bob@example.com", "password": "long enough", "invitation": "aurora_i_00" }),
            400,
            "invalid_invitation",
        ),
        (
            json!({ "email": "bob@example.com", "password": "long enough", "invitation": "guess" }),
            400,
            "invalid_invitation",
        ),
        (
            json!({ "email": "bob@example.com", "password": "long enough", "organization": "B", "admin": true }),
            400,
            "invalid_body",
        ),
    ];
    for (body, status, code) in cases {
        app.post_json("/api/auth/register", None, &body)
            .await
            .expect_error(status, code);
    }
    // None of the refused registrations left a user behind.
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db.pool)
        .await
        .expect("count");
    assert_eq!(users, 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_sets_an_http_only_cookie_and_logout_ends_the_session() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice@acme.io", "Acme").await;

    let login = app
        .post_json(
            "/api/auth/login",
            None,
            &json!({ "email": "alice@acme.io", "password": alice.password }),
        )
        .await;
    let cookie = login
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a session cookie")
        .to_owned();
    let body = login.expect_status(200);
    let token = body["token"].as_str().expect("token").to_owned();
    assert!(
        cookie.starts_with(&format!("aurora_session={token};")),
        "{cookie}"
    );
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP: no Secure flag: {cookie}"
    );
    assert_eq!(body["role"], "admin");

    // The cookie alone authenticates, as a browser would send it.
    let with_cookie = |cookie: String| {
        let request = app
            .http
            .get(app.url("/api/auth/me"))
            .header("cookie", cookie);
        async move { aurora_tests::Answer::of(request.send().await).await }
    };
    let me = with_cookie(format!("aurora_session={token}"))
        .await
        .expect_status(200);
    assert_eq!(me["user"]["email"], "alice@acme.io");

    let logout = app
        .request(Method::POST, "/api/auth/logout", None)
        .header("cookie", format!("aurora_session={token}"))
        .send()
        .await
        .expect("logout");
    assert_eq!(logout.status().as_u16(), 204);
    let cleared = logout.headers()["set-cookie"]
        .to_str()
        .expect("text")
        .to_owned();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // The stale cookie is ignored: the request is anonymous, and can still log in.
    with_cookie(format!("aurora_session={token}"))
        .await
        .expect_error(401, "unauthenticated");
    let relogin = app
        .request(Method::POST, "/api/auth/login", None)
        .header("cookie", format!("aurora_session={token}"))
        .json(&json!({ "email": "alice@acme.io", "password": alice.password }))
        .send()
        .await;
    aurora_tests::Answer::of(relogin).await.expect_status(200);
    // The registration's own session is a different one and still works.
    app.get_json("/api/auth/me", Some(&alice))
        .await
        .expect_status(200);

    // Garbage credentials are refused, not ignored.
    let garbage = app
        .http
        .get(app.url("/api/auth/me"))
        .header("authorization", "Basic YWxpY2U6cHc=")
        .send()
        .await;
    aurora_tests::Answer::of(garbage)
        .await
        .expect_error(401, "invalid_authorization");
    let forged = Account {
        token: "aurora_s_0000".into(),
        ..alice.clone()
    };
    app.get_json("/api/auth/me", Some(&forged))
        .await
        .expect_error(401, "invalid_token");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer_after_the_same_work() {
    let app = TestApp::spawn().await;
    app.register("alice@acme.io", "Acme").await;
    let attempt = |email: &'static str| {
        let app = &app;
        async move {
            let started = Instant::now();
            let answer = app
                .post_json(
                    "/api/auth/login",
                    None,
                    &json!({ "email": email, "password": "not the password" }),
                )
                .await;
            (answer, started.elapsed())
        }
    };
    // Warm up both paths once (the dummy hash is computed on first use).
    attempt("nobody@acme.io").await;
    let mut wrong_password = Vec::new();
    let mut unknown_email = Vec::new();
    for _ in 0..5 {
        let (a, t) = attempt("alice@acme.io").await;
        a.expect_error(401, "invalid_credentials");
        wrong_password.push((t, a.body));
        let (b, t) = attempt("nobody@acme.io").await;
        b.expect_error(401, "invalid_credentials");
        unknown_email.push((t, b.body));
    }
    assert_eq!(
        wrong_password[0].1, unknown_email[0].1,
        "byte-for-byte the same answer"
    );
    // Both run one Argon2 verification: the medians are of the same magnitude (an unknown email
    // answered without hashing would be two orders of magnitude faster).
    let median = |v: &mut Vec<(std::time::Duration, Value)>| {
        v.sort_by_key(|(t, _)| *t);
        v[v.len() / 2].0
    };
    let (known, unknown) = (median(&mut wrong_password), median(&mut unknown_email));
    assert!(
        unknown * 3 > known && known * 3 > unknown,
        "wrong password {known:?} vs unknown email {unknown:?}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_roles_and_removal_work_as_an_admin_expects() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let editor = app
        .invite_and_register(&admin, "Ed@acme.io", "editor")
        .await;
    let viewer = app
        .invite_and_register(&admin, "vi@acme.io", "viewer")
        .await;
    assert_eq!(
        editor.tenant, admin.tenant,
        "the invitee joined the inviting organisation"
    );

    let members = app
        .get_json("/api/members", Some(&viewer))
        .await
        .expect_status(200);
    let roles: Vec<(String, String)> = items(&members)
        .iter()
        .map(|m| {
            (
                m["email"].as_str().unwrap_or("").to_owned(),
                m["role"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            ("admin@acme.io".to_owned(), "admin".to_owned()),
            ("ed@acme.io".to_owned(), "editor".to_owned()),
            ("vi@acme.io".to_owned(), "viewer".to_owned()),
        ]
    );
    let invitations = app
        .get_json("/api/invitations", Some(&admin))
        .await
        .expect_status(200);
    assert!(
        items(&invitations)
            .iter()
            .all(|i| i["status"] == "accepted"),
        "{invitations}"
    );
    assert!(
        !invitations.to_string().contains("token"),
        "no token hash is shown: {invitations}"
    );

    // An incident of the organisation, for the editor-level action.
    let store = AggregateStore::<Incident>::new(app.nats.log.clone());
    let incident = IncidentId::new();
    store
        .execute(
            &admin.tenant,
            incident.0,
            open(incident, "Disk full", "db", Utc::now()),
            Context::new_root(),
        )
        .await
        .expect("store")
        .expect("opened");
    let comment_path = format!("/api/incidents/{}/comments", incident.0);
    let text = json!({ "text": "looking into it" });

    // Viewer < editor < admin.
    send(
        &app,
        Method::POST,
        &comment_path,
        &viewer,
        Some(text.clone()),
    )
    .await
    .expect_error(403, "forbidden");
    send(
        &app,
        Method::POST,
        &comment_path,
        &editor,
        Some(text.clone()),
    )
    .await
    .expect_status(201);
    send(
        &app,
        Method::POST,
        "/api/invitations",
        &editor,
        Some(json!({ "email": "x@acme.io", "role": "admin" })),
    )
    .await
    .expect_error(403, "forbidden");
    send(&app, Method::GET, "/api/audit-log", &viewer, None)
        .await
        .expect_error(403, "forbidden");

    // The admin promotes the viewer, who may then comment.
    let path = format!("/api/members/{}", viewer.user_id);
    send(
        &app,
        Method::PATCH,
        &path,
        &admin,
        Some(json!({ "role": "editor" })),
    )
    .await
    .expect_status(200);
    send(
        &app,
        Method::POST,
        &comment_path,
        &viewer,
        Some(text.clone()),
    )
    .await
    .expect_status(201);
    send(
        &app,
        Method::PATCH,
        &path,
        &admin,
        Some(json!({ "role": "owner" })),
    )
    .await
    .expect_error(400, "invalid_role");

    // The last admin can neither be demoted nor removed.
    let own = format!("/api/members/{}", admin.user_id);
    send(
        &app,
        Method::PATCH,
        &own,
        &admin,
        Some(json!({ "role": "viewer" })),
    )
    .await
    .expect_error(409, "last_admin");
    send(&app, Method::DELETE, &own, &admin, None)
        .await
        .expect_error(409, "last_admin");

    // A removed member's session stops working at once.
    send(
        &app,
        Method::DELETE,
        &format!("/api/members/{}", editor.user_id),
        &admin,
        None,
    )
    .await
    .expect_status(204);
    app.get_json("/api/auth/me", Some(&editor))
        .await
        .expect_error(401, "invalid_token");
    send(
        &app,
        Method::DELETE,
        &format!("/api/members/{}", editor.user_id),
        &admin,
        None,
    )
    .await
    .expect_error(404, "not_found");

    // Invited back, the editor joins with their existing account; sessions from before the
    // removal stay dead, the new one works.
    let invitation = send(
        &app,
        Method::POST,
        "/api/invitations",
        &admin,
        Some(json!({ "email": "ed@acme.io", "role": "viewer" })),
    )
    .await
    .expect_status(201);
    let wrong = app
        .post_json(
            "/api/auth/register",
            None,
            &json!({ "email": "ed@acme.io", "password": "not their password", "invitation": invitation["token"] }),
        )
        .await;
    wrong.expect_error(409, "email_taken");
    let back = app
        .post_json(
            "/api/auth/register",
            None,
            &json!({ "email": "ed@acme.io", "password": editor.password, "invitation": invitation["token"] }),
        )
        .await
        .expect_status(201);
    assert_eq!(
        back["user"]["id"],
        editor.user_id.to_string(),
        "the same account"
    );
    assert_eq!(back["role"], "viewer");
    app.get_json("/api/auth/me", Some(&editor))
        .await
        .expect_error(401, "invalid_token");
    let rejoined = Account {
        token: back["token"].as_str().expect("token").to_owned(),
        ..editor.clone()
    };
    app.get_json("/api/auth/me", Some(&rejoined))
        .await
        .expect_status(200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_is_single_use_revocable_and_bound_to_its_email() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let invite = |email: &'static str| {
        let (app, admin) = (&app, &admin);
        async move {
            send(
                app,
                Method::POST,
                "/api/invitations",
                admin,
                Some(json!({ "email": email, "role": "viewer" })),
            )
            .await
            .expect_status(201)
        }
    };
    let register = |email: &'static str, token: Value| {
        let app = &app;
        async move {
            app.post_json(
                "/api/auth/register",
                None,
                &json!({ "email": email, "password": "long enough", "invitation": token }),
            )
            .await
        }
    };
    let first = invite("carol@acme.io").await;
    assert!(first["token"]
        .as_str()
        .is_some_and(|t| t.starts_with("aurora_i_")));
    assert!(first["expires_at"].as_str().is_some());

    // Another email cannot use it.
    register("mallory@evil.io", first["token"].clone())
        .await
        .expect_error(422, "email_mismatch");
    // Revoked, it is dead.
    send(
        &app,
        Method::DELETE,
        &format!("/api/invitations/{}", first["id"].as_str().expect("id")),
        &admin,
        None,
    )
    .await
    .expect_status(204);
    register("carol@acme.io", first["token"].clone())
        .await
        .expect_error(400, "invalid_invitation");
    // A new one works once.
    let second = invite("carol@acme.io").await;
    register("carol@acme.io", second["token"].clone())
        .await
        .expect_status(201);
    register("carol2@acme.io", second["token"].clone())
        .await
        .expect_error(400, "invalid_invitation");
    // Inviting an existing member is a conflict.
    send(
        &app,
        Method::POST,
        "/api/invitations",
        &admin,
        Some(json!({ "email": "carol@acme.io", "role": "viewer" })),
    )
    .await
    .expect_error(409, "already_member");
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db.pool)
        .await
        .expect("count");
    assert_eq!(users, 2, "refused registrations left no account behind");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_act_as_their_owner_until_revoked() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let viewer = app
        .invite_and_register(&admin, "vi@acme.io", "viewer")
        .await;

    let created = send(
        &app,
        Method::POST,
        "/api/tokens",
        &viewer,
        Some(json!({ "name": "grafana", "expires_in_days": 30 })),
    )
    .await
    .expect_status(201);
    let token = created["token"].as_str().expect("token").to_owned();
    assert!(token.starts_with("aurora_t_"));
    let as_token = Account {
        token: token.clone(),
        ..viewer.clone()
    };
    let me = app
        .get_json("/api/auth/me", Some(&as_token))
        .await
        .expect_status(200);
    assert_eq!(
        (me["via"].as_str(), me["role"].as_str()),
        (Some("api_token"), Some("viewer"))
    );
    // A token cannot mint tokens (a leaked one would outlive its revocation through them).
    send(
        &app,
        Method::POST,
        "/api/tokens",
        &as_token,
        Some(json!({ "name": "successor" })),
    )
    .await
    .expect_error(403, "forbidden");
    // Stored hashed: the token itself is nowhere in the database or the event log.
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM api_tokens WHERE token_hash = $1")
        .bind(&token)
        .fetch_one(&app.db.pool)
        .await
        .expect("count");
    assert_eq!(stored, 0);
    let events = app
        .nats
        .log
        .read_subject(
            &aurora_nats::subjects::aggregate(&admin.tenant, "organization", admin.organization_id),
            1,
        )
        .await
        .expect("events");
    assert!(events
        .iter()
        .all(|e| !String::from_utf8_lossy(&e.body).contains(&token)));

    for (body, code) in [
        (
            json!({ "name": "x", "expires_in_days": 0 }),
            "invalid_expiry",
        ),
        (
            json!({ "name": "x", "expires_in_days": 366 }),
            "invalid_expiry",
        ),
    ] {
        send(&app, Method::POST, "/api/tokens", &viewer, Some(body))
            .await
            .expect_error(400, code);
    }
    send(
        &app,
        Method::POST,
        "/api/tokens",
        &viewer,
        Some(json!({ "name": "  " })),
    )
    .await
    .expect_error(422, "invalid_token_name");

    // Listing: the viewer sees their own, the admin sees all.
    let admins = send(
        &app,
        Method::POST,
        "/api/tokens",
        &admin,
        Some(json!({ "name": "ci" })),
    )
    .await
    .expect_status(201);
    let mine = app
        .get_json("/api/tokens", Some(&viewer))
        .await
        .expect_status(200);
    assert_eq!(items(&mine).len(), 1);
    let all = app
        .get_json("/api/tokens", Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(items(&all).len(), 2);

    // The viewer cannot revoke the admin's token; the admin can revoke the viewer's.
    let admins_path = format!("/api/tokens/{}", admins["id"].as_str().expect("id"));
    send(&app, Method::DELETE, &admins_path, &viewer, None)
        .await
        .expect_error(403, "forbidden");
    let path = format!("/api/tokens/{}", created["id"].as_str().expect("id"));
    send(&app, Method::DELETE, &path, &admin, None)
        .await
        .expect_status(204);
    app.get_json("/api/auth/me", Some(&as_token))
        .await
        .expect_error(401, "invalid_token");
    send(&app, Method::DELETE, &path, &admin, None)
        .await
        .expect_error(409, "already_revoked");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_action_and_denied_access_is_in_the_audit_log() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let viewer = app
        .invite_and_register(&admin, "vi@acme.io", "viewer")
        .await;
    send(
        &app,
        Method::PATCH,
        &format!("/api/members/{}", viewer.user_id),
        &admin,
        Some(json!({ "role": "editor" })),
    )
    .await
    .expect_status(200);
    let token = send(
        &app,
        Method::POST,
        "/api/tokens",
        &admin,
        Some(json!({ "name": "ci" })),
    )
    .await
    .expect_status(201);
    send(
        &app,
        Method::DELETE,
        &format!("/api/tokens/{}", token["id"].as_str().expect("id")),
        &admin,
        None,
    )
    .await
    .expect_status(204);
    send(&app, Method::GET, "/api/invitations", &viewer, None)
        .await
        .expect_error(403, "forbidden");
    send(
        &app,
        Method::DELETE,
        &format!("/api/members/{}", viewer.user_id),
        &admin,
        None,
    )
    .await
    .expect_status(204);

    let log = app
        .get_json("/api/audit-log", Some(&admin))
        .await
        .expect_status(200);
    let lines: Vec<String> = items(&log)
        .iter()
        .rev()
        .map(|e| {
            format!(
                "{} | {}",
                e["event_type"].as_str().unwrap_or(""),
                e["description"].as_str().unwrap_or("")
            )
        })
        .collect();
    let expected = [
        "organization.created | admin@acme.io created the organisation \"Acme\"",
        // The default deny template, seeded with the organisation.
        "organization.agent_policy_set | admin@acme.io set the agent's command policy: 0 allow and 13 deny patterns",
        "organization.invitation_issued | admin@acme.io invited vi@acme.io as viewer",
        "organization.member_joined | vi@acme.io joined as viewer by invitation",
        "organization.role_changed | admin@acme.io changed vi@acme.io from viewer to editor",
        "organization.api_token_issued | admin@acme.io created the API token \"ci\"",
        "organization.api_token_revoked | admin@acme.io revoked the API token \"ci\" of admin@acme.io",
        "organization.access_denied | denied vi@acme.io (editor): listing invitations (GET /api/invitations)",
        "organization.member_removed | admin@acme.io removed vi@acme.io",
    ];
    assert_eq!(lines.len(), expected.len(), "{lines:#?}");
    for (line, expected) in lines.iter().zip(expected) {
        assert!(
            line.starts_with(expected),
            "{line:?} should start with {expected:?}"
        );
    }
    // Paging: newest first, `next_before` continues.
    let page = app
        .get_json("/api/audit-log?limit=3", Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(items(&page).len(), 3);
    let before = page["next_before"].as_i64().expect("next_before");
    let rest = app
        .get_json(
            &format!("/api/audit-log?limit=100&before={before}"),
            Some(&admin),
        )
        .await
        .expect_status(200);
    assert_eq!(items(&rest).len(), expected.len() - 3);
    app.get_json("/api/audit-log?limit=0", Some(&admin))
        .await
        .expect_error(400, "invalid_limit");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_user_joins_a_second_organisation_and_logs_in_to_either() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice@acme.io", "Acme").await;
    let bob = app.register("bob@globex.io", "Globex").await;
    let invitation = send(
        &app,
        Method::POST,
        "/api/invitations",
        &bob,
        Some(json!({ "email": "alice@acme.io", "role": "editor" })),
    )
    .await
    .expect_status(201);
    // Someone else cannot use Alice's invitation.
    let carol = app.register("carol@initech.io", "Initech").await;
    send(
        &app,
        Method::POST,
        "/api/invitations/accept",
        &carol,
        Some(json!({ "invitation": invitation["token"] })),
    )
    .await
    .expect_error(422, "email_mismatch");
    let joined = send(
        &app,
        Method::POST,
        "/api/invitations/accept",
        &alice,
        Some(json!({ "invitation": invitation["token"] })),
    )
    .await
    .expect_status(200);
    assert_eq!(joined["organization"]["name"], "Globex");
    assert_eq!(joined["role"], "editor");
    send(
        &app,
        Method::POST,
        "/api/invitations/accept",
        &alice,
        Some(json!({ "invitation": invitation["token"] })),
    )
    .await
    .expect_error(400, "invalid_invitation");

    let login = |organization: Option<uuid::Uuid>| {
        let app = &app;
        let password = alice.password.clone();
        async move {
            app.post_json(
                "/api/auth/login",
                None,
                &json!({ "email": "alice@acme.io", "password": password, "organization": organization }),
            )
            .await
        }
    };
    let first = login(None).await.expect_status(200);
    assert_eq!(
        first["organization"]["name"], "Acme",
        "the first organisation joined by default"
    );
    let second = login(Some(bob.organization_id)).await.expect_status(200);
    assert_eq!(
        (
            second["organization"]["name"].as_str(),
            second["role"].as_str()
        ),
        (Some("Globex"), Some("editor"))
    );
    let in_globex = Account {
        token: second["token"].as_str().expect("token").to_owned(),
        tenant: bob.tenant.clone(),
        organization_id: bob.organization_id,
        ..alice.clone()
    };
    let members = app
        .get_json("/api/members", Some(&in_globex))
        .await
        .expect_status(200);
    assert_eq!(members["items"].as_array().map(Vec::len), Some(2));
    login(Some(carol.organization_id))
        .await
        .expect_error(404, "not_found");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_editor_changes_an_incident_and_a_viewer_cannot() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let editor = app
        .invite_and_register(&admin, "ed@acme.io", "editor")
        .await;
    let viewer = app
        .invite_and_register(&admin, "vi@acme.io", "viewer")
        .await;
    let store = AggregateStore::<Incident>::new(app.nats.log.clone());
    let incident = IncidentId::new();
    store
        .execute(
            &admin.tenant,
            incident.0,
            open(incident, "Disk full", "db", Utc::now()),
            Context::new_root(),
        )
        .await
        .expect("store")
        .expect("opened");
    let path = format!("/api/incidents/{}", incident.0);

    send(
        &app,
        Method::PATCH,
        &path,
        &viewer,
        Some(json!({ "severity": "critical" })),
    )
    .await
    .expect_error(403, "forbidden");
    let changed = send(
        &app,
        Method::PATCH,
        &path,
        &editor,
        Some(json!({ "severity": "critical", "summary": "db-1 disk is full" })),
    )
    .await
    .expect_status(200);
    assert_eq!(changed["changed"], json!(["severity", "summary"]));
    // Setting what is already true changes nothing and says so.
    let again = send(
        &app,
        Method::PATCH,
        &path,
        &editor,
        Some(json!({ "severity": "critical" })),
    )
    .await
    .expect_status(200);
    assert_eq!(again["changed"], json!([]));
    for (body, status, code) in [
        (json!({}), 400, "invalid_body"),
        (json!({ "severity": "P0" }), 400, "invalid_severity"),
        (json!({ "status": "merged" }), 400, "invalid_status"),
        (json!({ "summary": "  " }), 422, "invalid_summary"),
    ] {
        send(&app, Method::PATCH, &path, &editor, Some(body))
            .await
            .expect_error(status, code);
    }
    send(
        &app,
        Method::PATCH,
        &path,
        &editor,
        Some(json!({ "status": "resolved", "reason": "disk grown" })),
    )
    .await
    .expect_status(200);
    send(
        &app,
        Method::PATCH,
        &path,
        &editor,
        Some(json!({ "status": "resolved" })),
    )
    .await
    .expect_error(409, "resolved");

    // The events carry who did it, and the history shows it.
    let events = app
        .get_json(&format!("{path}/events"), Some(&viewer))
        .await
        .expect_status(200);
    let types: Vec<&str> = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        types,
        [
            "aurora.incident.opened",
            "aurora.incident.severity_changed",
            "aurora.incident.summary_updated",
            "aurora.incident.resolved"
        ]
    );
    assert_eq!(events["events"][1]["data"]["by"], "ed@acme.io");
    // The viewer's refused attempt is on the audit log.
    let log = app
        .get_json("/api/audit-log", Some(&admin))
        .await
        .expect_status(200);
    assert!(
        log.to_string()
            .contains("denied vi@acme.io (viewer): changing an incident (PATCH"),
        "{log}"
    );
    app.stop().await;
}
