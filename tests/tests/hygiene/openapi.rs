//! The OpenAPI document against the routes actually mounted.

use aurora_tests::{Answer, TestApp};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use super::message;

/// `template` with every `{param}` replaced by a random UUID.
fn fill_params(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..]
            .find('}')
            .map(|c| open + c)
            .unwrap_or_else(|| panic!("unclosed parameter in {template}"));
        out.push_str(&Uuid::new_v4().to_string());
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_exactly_routes_that_are_mounted() {
    // Arrange
    let app = TestApp::spawn().await;
    let admin = app.register("admin@openapi.example", "OpenAPI").await;

    // Act
    let doc = app.get_json("/openapi.json", None).await.expect_status(200);

    // Assert: the document.
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().expect("a paths object");
    assert!(!paths.is_empty(), "the document lists paths");
    for known in [
        "/health",
        "/ready",
        "/metrics",
        "/api/auth/register",
        "/api/auth/login",
        "/api/auth/logout",
        "/api/auth/me",
        "/api/members",
        "/api/members/{user_id}",
        "/api/invitations",
        "/api/invitations/{id}",
        "/api/tokens",
        "/api/tokens/{id}",
        "/api/audit-log",
        "/api/incidents",
        "/api/incidents/{id}",
        "/api/incidents/{id}/events",
        "/api/incidents/{id}/comments",
        "/openapi.json",
    ] {
        assert!(paths.contains_key(known), "{known} is not documented");
    }

    // Assert: every documented operation is mounted.
    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    let mut operations: Vec<(Method, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flat_map(|ops| ops.keys())
                .filter(|m| METHODS.contains(&m.as_str()))
                .map(move |m| {
                    let method = Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                        .expect("an HTTP method");
                    (method, path.clone())
                })
        })
        .collect();
    assert!(!operations.is_empty());
    // Logging out revokes the token every other request presents: last.
    operations.sort_by_key(|(_, path)| path == "/api/auth/logout");
    for (method, template) in operations {
        let path = fill_params(&template);
        let mut request = app.request(method.clone(), &path, Some(&admin));
        if [Method::POST, Method::PUT, Method::PATCH].contains(&method) {
            request = request.json(&json!({}));
        }
        let response = request.send().await.expect("the request reaches the app");
        if response
            .headers()
            .get("content-type")
            .is_some_and(|t| t == "text/event-stream")
        {
            // A stream that never ends by itself (the organisation's events) is mounted.
            continue;
        }
        let answer = Answer::of(Ok(response)).await;
        let unrouted = answer.status == 404 && message(&answer).starts_with("no route for");
        assert!(
            !unrouted && answer.status != 405,
            "{method} {template} is documented but not mounted ({path}): {} {}",
            answer.status,
            answer.body
        );
    }
    app.stop().await;
}
