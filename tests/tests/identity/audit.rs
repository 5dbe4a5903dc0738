//! The audit log holds every admin action and every denied access.

use aurora_tests::TestApp;
use reqwest::Method;
use serde_json::json;

use super::helpers::{items, send};

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
