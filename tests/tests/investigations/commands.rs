//! Asking for a run and cancelling it: who may, and the refusals that name themselves.

use aurora_domain::investigation::run_id;
use aurora_domain::IncidentId;
use aurora_tests::{Account, Answer, TestApp};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use super::spawn;
use crate::incident_commands::{merge, send, Org};

async fn ask(app: &TestApp, who: &Account, incident: impl std::fmt::Display) -> Answer {
    send(
        app,
        Method::POST,
        &format!("/api/incidents/{incident}/rca"),
        who,
        json!({}),
    )
    .await
}

async fn cancel(app: &TestApp, who: &Account, incident: impl std::fmt::Display) -> Answer {
    send(
        app,
        Method::DELETE,
        &format!("/api/incidents/{incident}/rca"),
        who,
        json!({}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_run_at_a_time_and_a_new_one_after_a_cancel() {
    let app = spawn().await;
    let org = Org::new(&app, "acme.io").await;
    let incident = org.incident("db", "db-alert").await;
    let first = run_id(IncidentId(incident), 1);

    let none = cancel(&app, &org.editor, incident).await;
    none.expect_error(409, "no_rca_under_way");

    let asked = ask(&app, &org.editor, incident).await.expect_status(202);
    assert_eq!(asked, json!({ "run_id": first, "status": "requested" }));
    assert_eq!(org.state(incident).await.rca_run, Some(first));

    // A second one while the first is under way is refused, naming the first.
    let again = ask(&app, &org.admin, incident).await;
    again.expect_error(409, "rca_under_way");
    assert!(
        again.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains(&first.to_string())),
        "{}",
        again.body
    );

    let cancelled = cancel(&app, &org.editor, incident).await.expect_status(202);
    assert_eq!(cancelled, json!({ "run_id": first, "status": "cancelled" }));
    let state = org.state(incident).await;
    assert!(!state.rca_under_way, "{state:?}");
    cancel(&app, &org.editor, incident)
        .await
        .expect_error(409, "no_rca_under_way");

    // After it, a new run: the incident's second.
    let second = ask(&app, &org.editor, incident).await.expect_status(202);
    assert_eq!(second["run_id"], json!(run_id(IncidentId(incident), 2)));
    assert_eq!(org.state(incident).await.rca_runs, 2);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_other_tenants_unknown_and_merged_incidents_are_refused() {
    let app = spawn().await;
    let org = Org::new(&app, "acme.io").await;
    let other = Org::new(&app, "globex.io").await;
    let incident = org.incident("db", "db-alert").await;
    let before = org.state(incident).await;

    ask(&app, &org.viewer, incident)
        .await
        .expect_error(403, "forbidden");
    cancel(&app, &org.viewer, incident)
        .await
        .expect_error(403, "forbidden");
    // Another organisation's incident is as unknown as one that never existed.
    ask(&app, &other.editor, incident)
        .await
        .expect_error(404, "not_found");
    cancel(&app, &other.editor, incident)
        .await
        .expect_error(404, "not_found");
    ask(&app, &org.editor, Uuid::new_v4())
        .await
        .expect_error(404, "not_found");
    cancel(&app, &org.editor, Uuid::new_v4())
        .await
        .expect_error(404, "not_found");
    ask(&app, &org.editor, "not-an-id")
        .await
        .expect_error(400, "invalid_id");
    let anonymous = Answer::of(
        app.request(
            Method::POST,
            &format!("/api/incidents/{incident}/rca"),
            None,
        )
        .send()
        .await,
    )
    .await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    assert_eq!(org.state(incident).await, before, "nothing was recorded");

    // A merged incident takes no run, and has none to cancel.
    let target = org.incident("db-replica", "replica-alert").await;
    merge(&app, &org.editor, incident, json!(target))
        .await
        .expect_status(200);
    ask(&app, &org.editor, incident)
        .await
        .expect_error(409, "merged");
    cancel(&app, &org.editor, incident)
        .await
        .expect_error(409, "merged");
    app.stop().await;
}
