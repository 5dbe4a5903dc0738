//! The postmortem routes: read, edit (optimistic), versions, restore, regenerate, export; who may
//! do what, and what another organisation sees.

use std::time::{Duration, Instant};

use aurora_domain::postmortem::MARKDOWN_MAX_CHARS;
use aurora_domain::IncidentId;
use aurora_tests::{Account, Answer, TestApp};
use serde_json::{json, Value};

use super::{on_resolve, postmortems, Postmortems};

fn path(id: IncidentId, tail: &str) -> String {
    format!("/api/incidents/{id}/postmortem{tail}")
}

async fn put(app: &TestApp, id: IncidentId, account: &Account, body: &Value) -> Answer {
    Answer::of(
        app.request(reqwest::Method::PUT, &path(id, ""), Some(account))
            .json(body)
            .send()
            .await,
    )
    .await
}

async fn post(app: &TestApp, id: IncidentId, account: &Account, tail: &str) -> Answer {
    Answer::of(
        app.request(reqwest::Method::POST, &path(id, tail), Some(account))
            .send()
            .await,
    )
    .await
}

/// Edit, restore and regenerate as `account`: each refused with `status` and `code`.
async fn every_write_is_refused(
    app: &TestApp,
    id: IncidentId,
    account: &Account,
    status: u16,
    code: &str,
) {
    let body = json!({"markdown": "# Not theirs to write", "base_version": 1});
    put(app, id, account, &body)
        .await
        .expect_error(status, code);
    for tail in ["/versions/1/restore", "/regenerate"] {
        post(app, id, account, tail)
            .await
            .expect_error(status, code);
    }
}

/// Waits (at most 20 s) until the read model serves `version` as the latest.
async fn until_latest(p: &Postmortems, id: IncidentId, version: i64) -> Value {
    let started = Instant::now();
    loop {
        let answer = p.app.get_json(&path(id, ""), Some(&p.admin)).await;
        if answer.status == 200 && answer.body["latest_version"] == version {
            return answer.body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "version {version} never served: {} {}",
            answer.status,
            answer.body
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An incident resolved through the API, and its postmortem's first version as served.
async fn resolved(p: &Postmortems) -> (IncidentId, Value) {
    let id = p
        .open_with_comment("checkout", "Rolling back v42 now.")
        .await;
    let answer = Answer::of(
        p.app
            .request(
                reqwest::Method::PATCH,
                &format!("/api/incidents/{id}"),
                Some(&p.admin),
            )
            .json(&json!({"status": "resolved", "reason": "rolled back"}))
            .send()
            .await,
    )
    .await;
    answer.expect_status(200);
    let first = until_latest(p, id, 1).await;
    (id, first)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postmortem_is_read_edited_restored_regenerated_and_exported() {
    let p = postmortems(None, on_resolve(false)).await;
    let (id, first) = resolved(&p).await;
    assert_eq!(first["incident_id"], json!(id));
    assert_eq!(first["version"], 1);
    assert_eq!(first["change"]["kind"], "generated");
    assert_eq!(first["change"]["origin"]["kind"], "template");
    assert_eq!(first["by"], Value::Null);
    let v1 = first["markdown"].as_str().unwrap_or_default().to_owned();
    assert!(v1.contains("## Root cause") && v1.contains("Rolling back v42 now."));
    assert_eq!(first["chars"], v1.chars().count());

    // An edit on the latest version is the next version.
    let edited = put(
        &p.app,
        id,
        &p.admin,
        &json!({"markdown": "# Postmortem\n\nThe v42 deploy broke checkout.", "base_version": 1}),
    )
    .await
    .expect_status(200);
    assert_eq!(edited["version"], 2);
    assert_eq!(edited["latest_version"], 2);
    assert_eq!(
        edited["change"],
        json!({"kind": "edited", "base_version": 1})
    );
    assert_eq!(edited["by"], p.admin.email.as_str());
    // An edit written on version 1, saved after that one: refused, not overwritten.
    put(
        &p.app,
        id,
        &p.admin,
        &json!({"markdown": "# Mine, on version 1", "base_version": 1}),
    )
    .await
    .expect_error(409, "stale_version");

    // A restore brings version 1's text back as version 3.
    let restored = post(&p.app, id, &p.admin, "/versions/1/restore")
        .await
        .expect_status(200);
    assert_eq!(restored["version"], 3);
    assert_eq!(
        restored["change"],
        json!({"kind": "restored", "from_version": 1})
    );
    assert_eq!(restored["markdown"], v1.as_str());
    post(&p.app, id, &p.admin, "/versions/9/restore")
        .await
        .expect_error(404, "not_found");
    post(&p.app, id, &p.admin, "/versions/one/restore")
        .await
        .expect_error(400, "invalid_version");

    // A regeneration is accepted now and written by the handlers as version 4.
    let asked = post(&p.app, id, &p.admin, "/regenerate").await;
    assert_eq!(asked.status, 202, "{}", asked.body);
    assert_eq!(asked.body["incident_id"], json!(id));
    assert!(asked.body["request_id"].is_string());
    let regenerated = until_latest(&p, id, 4).await;
    assert_eq!(regenerated["change"]["kind"], "regenerated");
    assert_eq!(regenerated["change"]["origin"]["kind"], "template");
    assert_eq!(regenerated["by"], p.admin.email.as_str());

    let versions = p
        .app
        .get_json(&path(id, "/versions"), Some(&p.admin))
        .await
        .expect_status(200);
    assert_eq!(versions["latest_version"], 4);
    let kinds: Vec<&str> = versions["versions"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(|v| v["change"]["kind"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(kinds, ["generated", "edited", "restored", "regenerated"]);
    assert!(versions["versions"][0].get("markdown").is_none());

    // Any version by number, and the Markdown export.
    let second = p
        .app
        .get_json(&path(id, "?version=2"), Some(&p.admin))
        .await
        .expect_status(200);
    assert_eq!(
        second["markdown"],
        "# Postmortem\n\nThe v42 deploy broke checkout."
    );
    assert_eq!(second["latest_version"], 4);
    p.app
        .get_json(&path(id, "?version=7"), Some(&p.admin))
        .await
        .expect_error(404, "not_found");
    p.app
        .get_json(&path(id, "?version=two"), Some(&p.admin))
        .await
        .expect_error(400, "invalid_query");
    let export = p
        .app
        .request(reqwest::Method::GET, &path(id, ".md"), Some(&p.admin))
        .send()
        .await
        .expect("the export answers");
    assert_eq!(export.status(), 200);
    assert_eq!(
        export.headers()["content-type"],
        "text/markdown; charset=utf-8"
    );
    assert!(export.headers()["content-disposition"]
        .to_str()
        .unwrap_or_default()
        .contains(&format!("postmortem-{id}-v4.md")));
    let text = export.text().await.expect("the text");
    assert_eq!(text, regenerated["markdown"].as_str().unwrap_or_default());

    aurora_tests::audit_is_clean(&p.app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_texts_and_bodies_are_refused_with_what_is_wrong() {
    let p = postmortems(None, on_resolve(false)).await;
    let (id, _) = resolved(&p).await;
    put(
        &p.app,
        id,
        &p.admin,
        &json!({"markdown": " \n ", "base_version": 1}),
    )
    .await
    .expect_error(422, "invalid_postmortem");
    let long = "x".repeat(MARKDOWN_MAX_CHARS + 1);
    let answer = put(
        &p.app,
        id,
        &p.admin,
        &json!({"markdown": long, "base_version": 1}),
    )
    .await;
    answer.expect_error(422, "invalid_postmortem");
    assert!(
        answer.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("at most 200000 characters")),
        "{}",
        answer.body
    );
    put(&p.app, id, &p.admin, &json!({"markdown": "# No base"}))
        .await
        .expect_error(400, "invalid_body");
    put(
        &p.app,
        id,
        &p.admin,
        &json!({"markdown": "# Text", "base_version": "one"}),
    )
    .await
    .expect_error(400, "invalid_body");
    put(
        &p.app,
        id,
        &p.admin,
        &json!({"markdown": "# Text", "base_version": 1, "extra": 1}),
    )
    .await
    .expect_error(400, "invalid_body");
    // Nothing was saved by any of them.
    let versions = p
        .app
        .get_json(&path(id, "/versions"), Some(&p.admin))
        .await
        .expect_status(200);
    assert_eq!(versions["latest_version"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_read_but_do_not_write_and_other_organisations_see_nothing() {
    let p = postmortems(None, on_resolve(false)).await;
    let (id, _) = resolved(&p).await;
    let viewer = p
        .app
        .invite_and_register(&p.admin, "viewer@acme.io", "viewer")
        .await;
    p.app
        .get_json(&path(id, ""), Some(&viewer))
        .await
        .expect_status(200);
    every_write_is_refused(&p.app, id, &viewer, 403, "forbidden").await;

    let other = p.app.register("oncall@globex.io", "Globex").await;
    for tail in ["", "/versions", ".md"] {
        p.app
            .get_json(&path(id, tail), Some(&other))
            .await
            .expect_error(404, "not_found");
    }
    every_write_is_refused(&p.app, id, &other, 404, "not_found").await;
    let versions = p
        .app
        .get_json(&path(id, "/versions"), Some(&p.admin))
        .await
        .expect_status(200);
    assert_eq!(versions["latest_version"], 1, "nothing written by them");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unresolved_incident_has_no_postmortem_to_read_or_regenerate() {
    let p = postmortems(None, on_resolve(false)).await;
    let id = p.open_with_comment("checkout", "Looking.").await;
    p.app
        .get_json(&path(id, ""), Some(&p.admin))
        .await
        .expect_error(404, "not_found");
    put(
        &p.app,
        id,
        &p.admin,
        &json!({"markdown": "# Early", "base_version": 0}),
    )
    .await
    .expect_error(404, "not_found");
    post(&p.app, id, &p.admin, "/regenerate")
        .await
        .expect_error(409, "not_resolved");
    post(&p.app, IncidentId::new(), &p.admin, "/regenerate")
        .await
        .expect_error(404, "not_found");
}
