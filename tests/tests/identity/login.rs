//! Logging in and out: the cookie, the same answer for a wrong password and an unknown email, one
//! user in two organisations.

use std::time::Instant;

use aurora_tests::{Account, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

use super::helpers::send;

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
