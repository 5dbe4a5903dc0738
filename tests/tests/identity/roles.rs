//! What each role may do to an incident.

use aurora_domain::{Incident, IncidentId};
use aurora_nats::{AggregateStore, Context};
use aurora_tests::TestApp;
use chrono::Utc;
use reqwest::Method;
use serde_json::json;

use super::helpers::send;
use crate::fixtures::open;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_editor_changes_an_incident_and_a_viewer_cannot() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let editor = app
        .invite_and_register(&admin, "ed@acme.io", "editor")
        .await;
    let viewer = app
        .invite_and_register(&admin, "vi@acme.io", "viewer")
        .await;
    let store = AggregateStore::<Incident>::new(app.nats.log.clone());
    let incident = IncidentId::new();
    store
        .execute(
            &admin.tenant,
            incident.0,
            open(incident, "Disk full", "db", Utc::now()),
            Context::new_root(),
        )
        .await
        .expect("store")
        .expect("opened");
    let path = format!("/api/incidents/{}", incident.0);

    send(
        &app,
        Method::PATCH,
        &path,
        &viewer,
        Some(json!({ "severity": "critical" })),
    )
    .await
    .expect_error(403, "forbidden");
    let changed = send(
        &app,
        Method::PATCH,
        &path,
        &editor,
        Some(json!({ "severity": "critical", "summary": "db-1 disk is full" })),
    )
    .await
    .expect_status(200);
    assert_eq!(changed["changed"], json!(["severity", "summary"]));
    // Setting what is already true changes nothing and says so.
    let again = send(
        &app,
        Method::PATCH,
        &path,
        &editor,
        Some(json!({ "severity": "critical" })),
    )
    .await
    .expect_status(200);
    assert_eq!(again["changed"], json!([]));
    for (body, status, code) in [
        (json!({}), 400, "invalid_body"),
        (json!({ "severity": "P0" }), 400, "invalid_severity"),
        (json!({ "status": "merged" }), 400, "invalid_status"),
        (json!({ "summary": "  " }), 422, "invalid_summary"),
    ] {
        send(&app, Method::PATCH, &path, &editor, Some(body))
            .await
            .expect_error(status, code);
    }
    send(
        &app,
        Method::PATCH,
        &path,
        &editor,
        Some(json!({ "status": "resolved", "reason": "disk grown" })),
    )
    .await
    .expect_status(200);
    send(
        &app,
        Method::PATCH,
        &path,
        &editor,
        Some(json!({ "status": "resolved" })),
    )
    .await
    .expect_error(409, "resolved");

    // The events carry who did it, and the history shows it.
    let events = app
        .get_json(&format!("{path}/events"), Some(&viewer))
        .await
        .expect_status(200);
    let types: Vec<&str> = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        types,
        [
            "aurora.incident.opened",
            "aurora.incident.severity_changed",
            "aurora.incident.summary_updated",
            "aurora.incident.resolved"
        ]
    );
    assert_eq!(events["events"][1]["data"]["by"], "ed@acme.io");
    // The viewer's refused attempt is on the audit log.
    let log = app
        .get_json("/api/audit-log", Some(&admin))
        .await
        .expect_status(200);
    assert!(
        log.to_string()
            .contains("denied vi@acme.io (viewer): changing an incident (PATCH"),
        "{log}"
    );
    app.stop().await;
}
