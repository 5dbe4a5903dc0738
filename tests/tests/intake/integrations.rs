//! Connecting a source: its URL, secret and setup; a rotated secret; deliveries refused before
//! anything is stored.

use aurora_tests::{Answer, TestApp};
use reqwest::Method;
use serde_json::json;

use super::helpers::{deliver, grafana, inbox_messages, integration, path_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_connects_a_source_and_gets_its_url_secret_and_setup() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let viewer = app
        .invite_and_register(&admin, "vi@acme.io", "viewer")
        .await;

    let created = integration(&app, &admin, "grafana", "Prod Grafana").await;
    let secret = created["secret"].as_str().expect("a generated secret");
    assert!(secret.starts_with("aurora_wh_"));
    assert!(path_of(&created).starts_with("/webhooks/grafana/"));
    assert_eq!(created["setup"]["header"], "authorization");
    assert_eq!(created["setup"]["header_value"], format!("Bearer {secret}"));
    assert_eq!(created["rca_on_new_incidents"], true, "Grafana's default");

    // Listed and shown without the secret; the secret is not in any event or row either.
    let id = created["id"].as_str().expect("id");
    let shown = app
        .get_json(&format!("/api/integrations/{id}"), Some(&viewer))
        .await
        .expect_status(200);
    assert_eq!(shown["name"], "Prod Grafana");
    assert!(!shown.to_string().contains(secret));
    let rows: Vec<String> = sqlx::query_scalar("SELECT state FROM integrations")
        .fetch_all(&app.db.pool)
        .await
        .expect("rows");
    assert!(rows.iter().all(|r| !r.contains(secret)) && !rows.is_empty());
    let sources = app
        .get_json("/api/integrations/sources", Some(&viewer))
        .await
        .expect_status(200);
    assert!(sources["items"]
        .as_array()
        .expect("sources")
        .iter()
        .any(|s| s["name"] == "grafana" && s["auth"]["kind"] == "secret"));

    // Only admins connect sources; unknown sources are named.
    app.post_json(
        "/api/integrations",
        Some(&viewer),
        &json!({ "source": "grafana", "name": "x" }),
    )
    .await
    .expect_error(403, "forbidden");
    app.post_json(
        "/api/integrations",
        Some(&admin),
        &json!({ "source": "nagios", "name": "x" }),
    )
    .await
    .expect_error(400, "unknown_source");
    app.post_json(
        "/api/integrations",
        Some(&admin),
        &json!({ "source": "grafana", "name": "x", "secret": "mine" }),
    )
    .await
    .expect_error(400, "invalid_body");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_secret_replaces_the_old_one_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let created = integration(&app, &admin, "grafana", "Prod Grafana").await;
    let (path, old) = (
        path_of(&created),
        created["secret"].as_str().expect("secret"),
    );
    let body = grafana(&[("firing", "fp-1", "checkout", "Checkout latency high")]);
    deliver(&app, &path, Some(old), &body)
        .await
        .expect_status(202);
    let id = created["id"].as_str().expect("id");
    let rotated = app
        .post_json(
            &format!("/api/integrations/{id}/rotate-secret"),
            Some(&admin),
            &json!({}),
        )
        .await
        .expect_status(200);
    let new = rotated["secret"].as_str().expect("new secret");
    assert_ne!(new, old);
    deliver(&app, &path, Some(old), &body)
        .await
        .expect_error(401, "invalid_signature");
    deliver(&app, &path, Some(new), &body)
        .await
        .expect_status(202);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_deliveries_are_refused_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let created = integration(&app, &admin, "grafana", "Prod Grafana").await;
    let (path, secret) = (
        path_of(&created),
        created["secret"].as_str().expect("secret"),
    );
    let body = grafana(&[("firing", "fp-1", "checkout", "Checkout latency high")]);
    let id = created["id"].as_str().expect("id");
    let before = inbox_messages(&app).await;

    deliver(&app, &path, None, &body)
        .await
        .expect_error(401, "invalid_signature");
    deliver(&app, &path, Some("aurora_wh_wrong"), &body)
        .await
        .expect_error(401, "invalid_signature");
    deliver(&app, &path, Some(secret), "this is not json")
        .await
        .expect_error(400, "invalid_json");
    deliver(
        &app,
        &path,
        Some(secret),
        r#"{"alerts":[{"status":"firing"}]}"#,
    )
    .await
    .expect_error(400, "invalid_payload");
    Answer::of(app.http.get(app.url(&path)).send().await)
        .await
        .expect_error(405, "method_not_allowed");
    let huge = format!(r#"{{"alerts":[],"pad":"{}"}}"#, "x".repeat(2 * 1024 * 1024));
    deliver(&app, &path, Some(secret), &huge)
        .await
        .expect_error(413, "payload_too_large");
    for unknown in [
        "/webhooks/grafana/0190a0b0-0000-7000-8000-000000000000".to_owned(),
        "/webhooks/grafana/not-a-uuid".to_owned(),
        format!("/webhooks/datadog/{id}"),
    ] {
        deliver(&app, &unknown, Some(secret), &body)
            .await
            .expect_error(404, "not_found");
    }
    // Disabled, then deleted: 404.
    app.request(
        Method::PATCH,
        &format!("/api/integrations/{id}"),
        Some(&admin),
    )
    .json(&json!({ "settings": { "enabled": false } }))
    .send()
    .await
    .expect("patch");
    deliver(&app, &path, Some(secret), &body)
        .await
        .expect_error(404, "not_found");
    app.request(
        Method::PATCH,
        &format!("/api/integrations/{id}"),
        Some(&admin),
    )
    .json(&json!({ "settings": { "enabled": true } }))
    .send()
    .await
    .expect("patch");
    deliver(&app, &path, Some(secret), &body)
        .await
        .expect_status(202);
    let stored = inbox_messages(&app).await;
    assert_eq!(stored, before + 1, "only the good delivery was stored");

    let deleted = app
        .request(
            Method::DELETE,
            &format!("/api/integrations/{id}"),
            Some(&admin),
        )
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status().as_u16(), 204);
    deliver(&app, &path, Some(secret), &body)
        .await
        .expect_error(404, "not_found");
    app.get_json(&format!("/api/integrations/{id}"), Some(&admin))
        .await
        .expect_error(404, "not_found");
    assert_eq!(inbox_messages(&app).await, stored);
    app.stop().await;
}
