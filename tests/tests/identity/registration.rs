//! Registering: a new organisation with the caller as its admin, and bad input refused clearly.

use aurora_tests::TestApp;
use serde_json::json;

use super::helpers::items;

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
