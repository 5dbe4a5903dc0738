//! Security headers, session cookies, request ids and CORS on every answer.

use aurora_gateway::api::ApiConfig;
use aurora_gateway::app::Role;
use aurora_tests::{test_api_config, Answer, TestApp};
use reqwest::Method;
use serde_json::json;

use super::{assert_json_error, gateway_with, header_text};

fn cookie_attributes(cookie: &str) -> Vec<String> {
    cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect()
}

/// Registers through the API and returns the `Set-Cookie` it answered with.
async fn register_cookie(app: &TestApp, email: &str) -> String {
    let answer = app
        .post_json(
            "/api/auth/register",
            None,
            &json!({ "email": email, "password": "correct horse battery", "organization": "Hygiene" }),
        )
        .await;
    let cookie = header_text(&answer.headers, "set-cookie")
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("registering sets the session cookie: {:?}", answer.headers));
    answer.expect_status(201);
    cookie
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_carry_security_headers_and_a_lax_http_only_cookie_without_tls() {
    // Arrange
    let app = TestApp::spawn().await;

    // Act
    let health = app.get_json("/health", None).await;
    let missing = app.get_json("/api/no-such-thing", None).await;
    // A page path is the web UI's: its index page, with the same headers.
    let page = app.get_json("/no-such-page", None).await;
    let cookie = register_cookie(&app, "ops@headers.example").await;

    // Assert
    assert_eq!(page.status, 200);
    assert_eq!(
        header_text(&page.headers, "content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        header_text(&page.headers, "cache-control"),
        Some("no-cache")
    );
    for answer in [&health, &missing, &page] {
        let h = &answer.headers;
        assert_eq!(header_text(h, "x-content-type-options"), Some("nosniff"));
        assert_eq!(header_text(h, "x-frame-options"), Some("DENY"));
        assert!(h.contains_key("referrer-policy"), "{h:?}");
        assert!(
            !h.contains_key("strict-transport-security"),
            "no HSTS without TLS: {h:?}"
        );
    }
    assert_eq!(health.status, 200);
    assert_json_error(&missing, 404, "not_found");
    assert!(cookie.starts_with("aurora_session="), "{cookie}");
    let attributes = cookie_attributes(&cookie);
    assert!(attributes.iter().any(|a| a == "httponly"), "{cookie}");
    assert!(attributes.iter().any(|a| a == "samesite=lax"), "{cookie}");
    assert!(
        !attributes.iter().any(|a| a == "secure"),
        "no Secure cookie over plain HTTP: {cookie}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_an_https_public_url_answers_carry_hsts_and_the_cookie_is_secure() {
    // Arrange
    let app = TestApp::spawn_with(
        Role::all(),
        ApiConfig {
            public_url: Some("https://aurora.example.com".into()),
            ..test_api_config()
        },
    )
    .await;

    // Act
    let health = app.get_json("/health", None).await;
    let cookie = register_cookie(&app, "ops@tls.example").await;

    // Assert
    assert_eq!(health.status, 200);
    let hsts = header_text(&health.headers, "strict-transport-security")
        .unwrap_or_else(|| panic!("HSTS behind https: {:?}", health.headers));
    assert!(hsts.contains("max-age="), "{hsts}");
    let attributes = cookie_attributes(&cookie);
    assert!(attributes.iter().any(|a| a == "secure"), "{cookie}");
    assert!(attributes.iter().any(|a| a == "httponly"), "{cookie}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_has_a_request_id_and_a_given_one_comes_back() {
    // Arrange
    let app = gateway_with(test_api_config()).await;

    // Act
    let fresh = app.get_json("/health", None).await;
    let given = Answer::of(
        app.request(Method::GET, "/health", None)
            .header("x-request-id", "abc-123")
            .send()
            .await,
    )
    .await;

    // Assert
    let id = header_text(&fresh.headers, "x-request-id")
        .unwrap_or_else(|| panic!("a request id: {:?}", fresh.headers));
    assert!(!id.is_empty());
    assert_eq!(header_text(&given.headers, "x-request-id"), Some("abc-123"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_lets_only_the_configured_frontend_call_with_credentials() {
    // Arrange
    let app = gateway_with(ApiConfig {
        frontend_origin: Some("http://ui.example.com".into()),
        ..test_api_config()
    })
    .await;
    let preflight = |origin: &'static str| {
        app.request(Method::OPTIONS, "/api/incidents", None)
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .send()
    };

    // Act
    let allowed = Answer::of(preflight("http://ui.example.com").await).await;
    let evil = Answer::of(preflight("http://evil.example.com").await).await;

    // Assert
    assert!(
        (200..300).contains(&allowed.status),
        "preflight answered {}",
        allowed.status
    );
    assert_eq!(
        header_text(&allowed.headers, "access-control-allow-origin"),
        Some("http://ui.example.com")
    );
    assert_eq!(
        header_text(&allowed.headers, "access-control-allow-credentials"),
        Some("true")
    );
    assert!(
        !evil.headers.contains_key("access-control-allow-origin"),
        "another origin is not allowed: {:?}",
        evil.headers
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_frontend_origin_no_origin_is_allowed() {
    // Arrange
    let app = gateway_with(test_api_config()).await;

    // Act
    let answer = Answer::of(
        app.request(Method::GET, "/health", None)
            .header("origin", "http://ui.example.com")
            .send()
            .await,
    )
    .await;

    // Assert
    assert_eq!(answer.status, 200);
    assert!(
        !answer.headers.contains_key("access-control-allow-origin"),
        "{:?}",
        answer.headers
    );
    app.stop().await;
}
