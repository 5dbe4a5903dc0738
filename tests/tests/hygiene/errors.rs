//! Unknown routes and methods, and bodies that are too big, not JSON or the wrong JSON: each a
//! JSON error saying what is wrong.

use aurora_gateway::api::ApiConfig;
use aurora_tests::{test_api_config, Answer, TestApp};
use reqwest::header;
use reqwest::Method;
use serde_json::json;

use super::{assert_json_error, gateway_with, message};

/// A POST of `body` as-is with `content_type`.
async fn post_raw(app: &TestApp, path: &str, content_type: &str, body: &str) -> Answer {
    Answer::of(
        app.request(Method::POST, path, None)
            .header(header::CONTENT_TYPE, content_type)
            .body(body.to_owned())
            .send()
            .await,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_route_is_404_and_a_wrong_method_is_405_both_in_json() {
    // Arrange
    let app = TestApp::spawn().await;
    let account = app.register("ops@routes.example", "Routes").await;

    // Act
    let unknown = app.get_json("/api/no-such-thing", Some(&account)).await;
    let wrong_method = Answer::of(
        app.request(Method::DELETE, "/api/incidents", Some(&account))
            .send()
            .await,
    )
    .await;

    // Assert
    assert_json_error(&unknown, 404, "not_found");
    assert!(
        message(&unknown).contains("/api/no-such-thing"),
        "{}",
        unknown.body
    );
    assert_json_error(&wrong_method, 405, "method_not_allowed");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_413_in_json() {
    // Arrange
    let app = gateway_with(ApiConfig {
        body_limit: 1024,
        ..test_api_config()
    })
    .await;
    let big = json!({ "email": "a@b.c", "password": "x".repeat(10 * 1024) });

    // Act
    let answer = app.post_json("/api/auth/login", None, &big).await;

    // Assert
    assert_json_error(&answer, 413, "payload_too_large");
    // The unread rest of the body leaves the connection unusable: the client is told.
    assert_eq!(
        answer
            .headers
            .get("connection")
            .and_then(|v| v.to_str().ok()),
        Some("close")
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_is_not_sent_as_json_is_415() {
    // Arrange
    let app = gateway_with(test_api_config()).await;

    // Act
    let answer = post_raw(
        &app,
        "/api/auth/login",
        "text/plain",
        r#"{"email":"a@b.c","password":"long enough"}"#,
    )
    .await;

    // Assert
    assert_json_error(&answer, 415, "unsupported_media_type");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_or_mistyped_json_is_400_saying_where_or_which_field() {
    // Arrange
    let app = gateway_with(test_api_config()).await;
    let json = "application/json";

    // Act
    let syntax = post_raw(
        &app,
        "/api/auth/login",
        json,
        r#"{"email": "a@b.c", "password": }"#,
    )
    .await;
    let wrong_type = post_raw(
        &app,
        "/api/auth/login",
        json,
        r#"{"email": "a@b.c", "password": 5}"#,
    )
    .await;
    let missing = post_raw(&app, "/api/auth/login", json, r#"{"email": "a@b.c"}"#).await;
    let unknown = post_raw(
        &app,
        "/api/auth/login",
        json,
        r#"{"email": "a@b.c", "password": "long enough", "admin": true}"#,
    )
    .await;

    // Assert
    assert_json_error(&syntax, 400, "invalid_json");
    assert!(
        message(&syntax).contains("line 1 column"),
        "{}",
        syntax.body
    );
    assert_json_error(&wrong_type, 400, "invalid_body");
    assert!(
        message(&wrong_type).contains("password"),
        "{}",
        wrong_type.body
    );
    assert_json_error(&missing, 400, "invalid_body");
    assert!(message(&missing).contains("password"), "{}", missing.body);
    assert_json_error(&unknown, 400, "invalid_body");
    assert!(message(&unknown).contains("admin"), "{}", unknown.body);
    app.stop().await;
}
