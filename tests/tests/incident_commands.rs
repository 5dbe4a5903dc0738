//! Commands on incidents over REST: PATCH as one command, merge and feedback.

use aurora_domain::incident::IncidentState;
use aurora_domain::{Incident, IncidentId, IncidentStatus, Severity};
use aurora_nats::{AggregateStore, Context};
use aurora_tests::{Account, Answer, TestApp};
use chrono::Utc;
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::fixtures::{attach, open};

/// An organisation with an admin, an editor and a viewer, and a way to open incidents in it
/// (also for the investigations' tests).
pub(crate) struct Org {
    pub(crate) admin: Account,
    pub(crate) editor: Account,
    pub(crate) viewer: Account,
    pub(crate) store: AggregateStore<Incident>,
}

impl Org {
    pub(crate) async fn new(app: &TestApp, domain: &str) -> Self {
        let admin = app.register(&format!("admin@{domain}"), domain).await;
        let editor = app
            .invite_and_register(&admin, &format!("ed@{domain}"), "editor")
            .await;
        let viewer = app
            .invite_and_register(&admin, &format!("vi@{domain}"), "viewer")
            .await;
        Self {
            admin,
            editor,
            viewer,
            store: AggregateStore::new(app.nats.log.clone()),
        }
    }

    /// An incident on `service` holding one more alert, `alert_id`.
    pub(crate) async fn incident(&self, service: &str, alert_id: &str) -> Uuid {
        let id = IncidentId::new();
        for command in [
            open(id, &format!("{service} is down"), service, Utc::now()),
            attach(alert_id, service, 0.9),
        ] {
            self.store
                .execute(&self.admin.tenant, id.0, command, Context::new_root())
                .await
                .expect("store")
                .expect("accepted");
        }
        id.0
    }

    pub(crate) async fn state(&self, id: Uuid) -> IncidentState {
        self.store
            .load(&self.admin.tenant, id)
            .await
            .expect("store")
            .expect("the incident exists")
            .into_inner()
    }
}

pub(crate) async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    who: &Account,
    body: Value,
) -> Answer {
    Answer::of(
        app.request(method, path, Some(who))
            .json(&body)
            .send()
            .await,
    )
    .await
}

async fn event_count(app: &TestApp, org: &Org, id: Uuid) -> usize {
    app.get_json(&format!("/api/incidents/{id}/events"), Some(&org.viewer))
        .await
        .expect_status(200)["events"]
        .as_array()
        .map_or(0, Vec::len)
}

pub(crate) async fn merge(app: &TestApp, who: &Account, source: Uuid, target: Value) -> Answer {
    send(
        app,
        Method::POST,
        &format!("/api/incidents/{source}/merge"),
        who,
        json!({ "target_id": target }),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_whose_later_field_is_refused_changes_nothing() {
    let app = TestApp::spawn().await;
    let org = Org::new(&app, "acme.io").await;
    let id = org.incident("db", "db-alert").await;
    let path = format!("/api/incidents/{id}");
    let before = org.state(id).await;

    // The severity alone would be accepted; the empty summary after it is not.
    send(
        &app,
        Method::PATCH,
        &path,
        &org.editor,
        json!({ "severity": "low", "summary": "  " }),
    )
    .await
    .expect_error(422, "invalid_summary");
    assert_eq!(org.state(id).await, before);

    // On a resolved incident, severity and summary would be accepted, `analyzed` is not.
    send(
        &app,
        Method::PATCH,
        &path,
        &org.editor,
        json!({ "status": "resolved", "reason": "fixed" }),
    )
    .await
    .expect_status(200);
    let resolved = org.state(id).await;
    send(
        &app,
        Method::PATCH,
        &path,
        &org.editor,
        json!({ "severity": "low", "summary": "db-1 disk", "status": "analyzed" }),
    )
    .await
    .expect_error(422, "invalid_transition");
    let after = org.state(id).await;
    assert_eq!(after, resolved);
    assert_eq!(after.severity, Severity::High);
    assert_eq!(after.summary, None);

    // Every field at once is one append: one aggregate step per event, all of them together.
    let changed = send(
        &app,
        Method::PATCH,
        &path,
        &org.editor,
        json!({ "severity": "critical", "summary": "db-1 disk", "status": "investigating" }),
    )
    .await
    .expect_status(200);
    assert_eq!(changed["changed"], json!(["severity", "summary", "status"]));
    let events = app
        .get_json(&format!("{path}/events"), Some(&org.viewer))
        .await
        .expect_status(200);
    let last = events["events"].as_array().expect("events");
    assert_eq!(changed["aggregate_sequence"], last.len());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merging_closes_the_source_and_the_target_takes_over_its_alerts() {
    let app = TestApp::spawn().await;
    let org = Org::new(&app, "acme.io").await;
    let source = org.incident("payments", "pay-alert").await;
    let target = org.incident("checkout", "checkout-alert").await;

    let merged = merge(&app, &org.editor, source, json!(target))
        .await
        .expect_status(200);
    assert_eq!(merged["incident_id"], json!(source));
    assert_eq!(merged["merged_into"], json!(target));
    assert_eq!(merged["absorbed_by"], json!(target));

    let source_state = org.state(source).await;
    assert_eq!(source_state.status, IncidentStatus::Merged);
    assert_eq!(source_state.merged_into, Some(IncidentId(target)));
    let target_state = org.state(target).await;
    assert!(target_state.holds_alert("pay-alert"), "{target_state:?}");
    assert!(target_state.holds_alert("checkout-alert"));
    assert!(target_state
        .affected_services
        .contains(&"payments".to_owned()));

    // The same request again changes nothing and still answers where the alerts went (it is
    // how a merge whose second step failed is completed).
    let events_before = (
        event_count(&app, &org, source).await,
        event_count(&app, &org, target).await,
    );
    let again = merge(&app, &org.editor, source, json!(target))
        .await
        .expect_status(200);
    assert_eq!(again, merged);
    let events_after = (
        event_count(&app, &org, source).await,
        event_count(&app, &org, target).await,
    );
    assert_eq!(events_after, events_before);

    // A merged incident takes no more commands.
    send(
        &app,
        Method::PATCH,
        &format!("/api/incidents/{source}"),
        &org.editor,
        json!({ "severity": "low" }),
    )
    .await
    .expect_error(409, "merged");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_is_refused_with_a_reason_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let org = Org::new(&app, "acme.io").await;
    let other = Org::new(&app, "globex.io").await;
    let source = org.incident("payments", "pay-alert").await;
    let target = org.incident("checkout", "checkout-alert").await;
    let elsewhere = org.incident("search", "search-alert").await;
    let foreign = other.incident("payments", "foreign-alert").await;
    let before = org.state(source).await;

    merge(&app, &org.viewer, source, json!(target))
        .await
        .expect_error(403, "forbidden");
    merge(&app, &org.editor, source, json!(source))
        .await
        .expect_error(422, "merge_into_itself");
    merge(&app, &org.editor, Uuid::now_v7(), json!(target))
        .await
        .expect_error(404, "not_found");
    merge(&app, &org.editor, source, json!(Uuid::now_v7()))
        .await
        .expect_error(404, "not_found");
    // Another organisation's incident is as unknown as one that never existed, either side.
    merge(&app, &org.editor, source, json!(foreign))
        .await
        .expect_error(404, "not_found");
    merge(&app, &org.editor, foreign, json!(target))
        .await
        .expect_error(404, "not_found");
    merge(&app, &org.editor, source, json!("not-a-uuid"))
        .await
        .expect_error(400, "invalid_body");
    send(
        &app,
        Method::POST,
        "/api/incidents/nope/merge",
        &org.editor,
        json!({ "target_id": target }),
    )
    .await
    .expect_error(400, "invalid_id");
    assert_eq!(org.state(source).await, before);

    // Into an incident that is itself merged: refused.
    merge(&app, &org.editor, elsewhere, json!(target))
        .await
        .expect_status(200);
    merge(&app, &org.editor, source, json!(elsewhere))
        .await
        .expect_error(409, "target_merged");
    assert_eq!(org.state(source).await, before);
    // A merged incident is not merged again somewhere else.
    merge(&app, &org.editor, elsewhere, json!(source))
        .await
        .expect_error(409, "merged");
    assert_eq!(
        other.state(foreign).await.status,
        IncidentStatus::Investigating
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_member_gives_feedback_on_the_analysis_once_each() {
    let app = TestApp::spawn().await;
    let org = Org::new(&app, "acme.io").await;
    let id = org.incident("db", "db-alert").await;
    let path = format!("/api/incidents/{id}/feedback");

    let given = send(
        &app,
        Method::POST,
        &path,
        &org.viewer,
        json!({ "helpful": false, "comment": "missed the disk" }),
    )
    .await
    .expect_status(200);
    // No investigation was ever asked for: it rates none.
    assert_eq!(
        given,
        json!({ "incident_id": id, "changed": true, "run_id": null })
    );
    let repeated = send(
        &app,
        Method::POST,
        &path,
        &org.viewer,
        json!({ "helpful": false, "comment": "missed the disk" }),
    )
    .await
    .expect_status(200);
    assert_eq!(repeated["changed"], false);
    send(
        &app,
        Method::POST,
        &path,
        &org.editor,
        json!({ "helpful": true }),
    )
    .await
    .expect_status(200);
    let feedback = org.state(id).await.feedback;
    assert_eq!(feedback.len(), 2, "{feedback:?}");
    assert_eq!(feedback[0].by, "vi@acme.io");
    assert_eq!(feedback[0].comment.as_deref(), Some("missed the disk"));
    assert!(feedback[1].helpful);

    // The detail shows it.
    let detail = app
        .get_json(
            &format!("/api/incidents/{id}?at=2999-01-01T00:00:00Z"),
            Some(&org.viewer),
        )
        .await
        .expect_status(200);
    assert_eq!(
        detail["incident"]["feedback"].as_array().map(Vec::len),
        Some(2)
    );

    for (body, status, code) in [
        (json!({ "comment": "no verdict" }), 400, "invalid_body"),
        (json!({ "helpful": "yes" }), 400, "invalid_body"),
        (
            json!({ "helpful": true, "comment": "x".repeat(10_001) }),
            422,
            "invalid_comment",
        ),
    ] {
        send(&app, Method::POST, &path, &org.viewer, body)
            .await
            .expect_error(status, code);
    }
    send(
        &app,
        Method::POST,
        &format!("/api/incidents/{}/feedback", Uuid::now_v7()),
        &org.viewer,
        json!({ "helpful": true }),
    )
    .await
    .expect_error(404, "not_found");
    // A merged incident takes no feedback: it belongs to the incident it was merged into.
    let target = org.incident("checkout", "checkout-alert").await;
    merge(&app, &org.editor, id, json!(target))
        .await
        .expect_status(200);
    send(
        &app,
        Method::POST,
        &path,
        &org.viewer,
        json!({ "helpful": true }),
    )
    .await
    .expect_error(409, "merged");
    app.stop().await;
}

impl Org {
    /// Merges `source` into `target` on the write side only, as a merge whose absorb has not run
    /// yet (another request's, in flight) leaves it.
    async fn merged_without_absorb(&self, source: Uuid, target: Uuid) {
        let command = aurora_domain::incident::IncidentCommand::MergeInto {
            target: IncidentId(target),
            target_status: IncidentStatus::Investigating,
            by: "someone-else@acme.io".into(),
            at: Utc::now(),
        };
        self.store
            .execute(&self.admin.tenant, source, command, Context::new_root())
            .await
            .expect("store")
            .expect("accepted");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_follows_its_target_where_it_went_meanwhile_and_gives_up_on_a_chain_too_long() {
    let app = TestApp::spawn().await;
    let org = Org::new(&app, "acme.io").await;

    // A merged into B while B was being merged into C: completing A's merge hands its alerts on
    // to C, the incident that is still open.
    let (a, b, c) = (
        org.incident("payments", "pay-alert").await,
        org.incident("checkout", "checkout-alert").await,
        org.incident("cart", "cart-alert").await,
    );
    org.merged_without_absorb(a, b).await;
    org.merged_without_absorb(b, c).await;
    let merged = merge(&app, &org.editor, a, json!(b))
        .await
        .expect_status(200);
    assert_eq!(merged["merged_into"], json!(b));
    assert_eq!(merged["absorbed_by"], json!(c));
    assert!(org.state(c).await.holds_alert("pay-alert"));
    assert!(!org.state(b).await.holds_alert("pay-alert"));

    // A chain longer than a merge follows: 409, the source stays merged where it was, and no
    // incident of the chain took its alert.
    let mut chain = Vec::new();
    for n in 0..11 {
        chain.push(
            org.incident(&format!("svc{n}"), &format!("alert-{n}"))
                .await,
        );
    }
    for pair in chain.windows(2) {
        org.merged_without_absorb(pair[0], pair[1]).await;
    }
    merge(&app, &org.editor, chain[0], json!(chain[1]))
        .await
        .expect_error(409, "merge_loop");
    assert_eq!(
        org.state(chain[0]).await.merged_into,
        Some(IncidentId(chain[1]))
    );
    for &other in &chain[1..] {
        assert!(!org.state(other).await.holds_alert("alert-0"));
    }
    app.stop().await;
}
