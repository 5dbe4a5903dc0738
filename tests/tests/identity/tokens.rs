//! API tokens act as their owner until revoked.

use aurora_tests::{Account, TestApp};
use reqwest::Method;
use serde_json::json;

use super::helpers::{items, send};

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
