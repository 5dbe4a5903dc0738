//! The per-user, per-IP and login limits: 429 with `Retry-After`, naming the limit.

use aurora_gateway::api::ApiConfig;
use aurora_gateway::app::Role;
use aurora_tests::{test_api_config, Answer, TestApp};
use reqwest::Method;
use serde_json::json;

use super::{assert_json_error, gateway_with, header_text, message};

/// Sends `count` requests made by `request` and returns the 1-based index of the first one answered
/// 429, with that answer (`None` when none was).
async fn first_refusal<F>(count: usize, mut request: F) -> Option<(usize, Answer)>
where
    F: FnMut() -> reqwest::RequestBuilder,
{
    for n in 1..=count {
        let answer = Answer::of(request().send().await).await;
        if answer.status == 429 {
            return Some((n, answer));
        }
        assert!(
            answer.status < 400 || answer.status == 401,
            "request {n} failed otherwise: {} {}",
            answer.status,
            answer.body
        );
    }
    None
}

/// Asserts a rate-limit refusal: 429 `rate_limited`, `Retry-After` ≥ 1 s, the limit named.
fn assert_rate_limited(answer: &Answer, limit: &str) {
    assert_json_error(answer, 429, "rate_limited");
    let retry_after = header_text(&answer.headers, "retry-after")
        .unwrap_or_else(|| panic!("a 429 says when to retry: {:?}", answer.headers));
    let seconds: u64 = retry_after
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("Retry-After is whole seconds, not {retry_after:?}"));
    assert!(seconds >= 1, "Retry-After {seconds}");
    assert!(
        message(answer).contains(&format!("rate limit {limit} ")),
        "the refusal names the {limit} limit: {}",
        answer.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_over_the_per_user_limit_gets_429_and_other_users_do_not() {
    // Arrange
    let app = TestApp::spawn_with(
        Role::all(),
        ApiConfig {
            rate_limit_per_user: 3,
            ..test_api_config()
        },
    )
    .await;
    let busy = app.register("busy@limits.example", "Busy").await;
    let calm = app.register("calm@limits.example", "Calm").await;

    // Act
    let refused = first_refusal(10, || app.request(Method::GET, "/api/auth/me", Some(&busy))).await;
    let other = app.get_json("/api/auth/me", Some(&calm)).await;

    // Assert
    let (n, answer) = refused.expect("the per-user limit is enforced");
    assert_eq!(n, 4, "the limit is 3 requests, so the 4th is refused");
    assert_rate_limited(&answer, "per-user");
    assert_eq!(
        other.expect_status(200)["user"]["id"],
        json!(calm.user_id),
        "another user has a quota of its own"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_requests_over_the_per_ip_limit_get_429() {
    // Arrange
    let app = gateway_with(ApiConfig {
        rate_limit_per_ip: 3,
        ..test_api_config()
    })
    .await;

    // Act
    let refused = first_refusal(10, || app.request(Method::GET, "/health", None)).await;

    // Assert
    let (n, answer) = refused.expect("the per-IP limit is enforced");
    assert_eq!(n, 4, "the limit is 3 requests, so the 4th is refused");
    assert_rate_limited(&answer, "per-ip");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_over_the_login_limit_get_429() {
    // Arrange
    let app = gateway_with(ApiConfig {
        rate_limit_login: 2,
        ..test_api_config()
    })
    .await;
    let attempt = json!({ "email": "nobody@example.com", "password": "wrong password" });

    // Act
    let first = app.post_json("/api/auth/login", None, &attempt).await;
    let second = app.post_json("/api/auth/login", None, &attempt).await;
    let third = app.post_json("/api/auth/login", None, &attempt).await;

    // Assert
    assert_json_error(&first, 401, "invalid_credentials");
    assert_json_error(&second, 401, "invalid_credentials");
    assert_rate_limited(&third, "login-per-ip");
    app.stop().await;
}
