//! What every request goes through, end to end over TCP: JSON errors for unknown routes and
//! methods and for bad bodies, rate limits, security headers and cookies, request ids, CORS, the
//! request time limit, graceful shutdown, and the OpenAPI document against the mounted routes.

mod errors;
mod headers;
mod lifecycle;
mod openapi;
mod rate_limits;
mod raw_http;

use aurora_gateway::api::ApiConfig;
use aurora_gateway::app::Role;
use aurora_tests::{Answer, TestApp};
use reqwest::header::{self, HeaderMap};

/// The app serving HTTP only (no projections or command handlers): enough when nobody registers.
async fn gateway_with(config: ApiConfig) -> TestApp {
    TestApp::spawn_with(vec![Role::Gateway], config).await
}

/// Asserts an error answer in the one JSON shape, sent as JSON.
fn assert_json_error(answer: &Answer, status: u16, code: &str) {
    answer.expect_error(status, code);
    let content_type = answer
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        content_type.starts_with("application/json"),
        "an error is sent as JSON, not {content_type:?}: {}",
        answer.body
    );
}

fn message(answer: &Answer) -> &str {
    answer.body["error"]["message"].as_str().unwrap_or("")
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
