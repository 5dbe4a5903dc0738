//! The projection and the incident's `rca`, now and as of a time; per-incident cost; rebuilt
//! tables equal to the live ones.

use std::time::{Duration, Instant};

use aurora_domain::investigation::{run_id, Conclusion, InvestigationCommand};
use aurora_domain::IncidentId;
use aurora_projections::audit;
use aurora_tests::{Account, TestApp};
use chrono::{SecondsFormat, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{spawn, Run};
use crate::incident_commands::{send, Org};

/// The incident's detail once `ready` holds for it (the projectors catch up), at most 20 s.
async fn detail_when(
    app: &TestApp,
    who: &Account,
    path: &str,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    let started = Instant::now();
    loop {
        let answer = app.get_json(path, Some(who)).await;
        if answer.status == 200 && ready(&answer.body) {
            return answer.body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{path} never got there: {} {}",
            answer.status,
            answer.body
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn at(path: &str, time: chrono::DateTime<Utc>) -> String {
    format!(
        "{path}?at={}",
        time.to_rfc3339_opts(SecondsFormat::Micros, true)
    )
}

/// Asserts that the incident folded from its events up to now shows the `rca` of `live` (the read
/// model) exactly; the organisation's LLM usage report.
async fn as_of_now_is_live_and_usage(app: &TestApp, org: &Org, path: &str, live: &Value) -> Value {
    let now = app
        .get_json(&at(path, Utc::now()), Some(&org.viewer))
        .await
        .expect_status(200);
    assert_eq!(now["rca"], live["rca"]);
    app.get_json("/api/llm-usage", Some(&org.admin))
        .await
        .expect_status(200)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_shows_in_its_incident_now_and_as_it_stood_then() {
    let app = spawn().await;
    let org = Org::new(&app, "acme.io").await;
    let incident = org.incident("db", "db-alert").await;
    let path = format!("/api/incidents/{incident}");
    let before_any = detail_when(&app, &org.viewer, &path, |_| true).await;
    assert_eq!(before_any["rca"], Value::Null, "none was ever requested");
    let before_request = Utc::now();

    let accepted = send(
        &app,
        Method::POST,
        &format!("{path}/rca"),
        &org.editor,
        json!({}),
    )
    .await
    .expect_status(202);
    let run = run_id(IncidentId(incident), 1);
    assert_eq!(accepted, json!({ "run_id": run, "status": "requested" }));
    // Asked for, nothing stored by the run yet: it shows as requested.
    let requested = detail_when(&app, &org.viewer, &path, |d| d["rca"] != Value::Null).await;
    assert_eq!(requested["rca"]["run_id"], json!(run));
    assert_eq!(requested["rca"]["status"], "requested");
    assert_eq!(requested["rca"]["episode"], 1);
    assert_eq!(requested["rca"]["thoughts"], json!([]));

    let r = Run::of(&app, &org, incident, 1);
    r.steps(&app, r.begin(&org.editor.email)).await;
    let started = Utc::now();
    // Its first worker stopped; another took it over.
    r.steps(
        &app,
        vec![InvestigationCommand::Resume {
            worker: "worker-2".to_owned(),
            attempt: 1,
            at: Utc::now(),
        }],
    )
    .await;
    r.steps(&app, r.investigate()).await;
    r.calls(&app, "gpt-test", &[(1000, 200, 1500), (500, 100, 700)])
        .await;
    r.steps(&app, vec![r.complete(Conclusion::Confirmed)]).await;
    // Feedback given now rates this run.
    let rated = send(
        &app,
        Method::POST,
        &format!("{path}/feedback"),
        &org.viewer,
        json!({ "helpful": true, "comment": "right on the pool" }),
    )
    .await
    .expect_status(200);
    assert_eq!(rated["run_id"], json!(run));

    let live = detail_when(&app, &org.viewer, &path, |d| {
        d["rca"]["status"] == "completed" && d["rca"]["feedback"] != json!([])
    })
    .await;
    let rca = &live["rca"];
    assert_eq!(rca["resume_count"], 1);
    assert_eq!(rca["resumes"][0]["worker"], "worker-2");
    assert_eq!(rca["resumes"][0]["attempt"], 1);
    assert_eq!(rca["feedback"][0]["by"], org.viewer.email);
    assert_eq!(rca["feedback"][0]["run"], json!(run));
    assert_eq!(rca["feedback"][0]["comment"], "right on the pool");
    assert_eq!(live["incident"]["feedback"][0]["run"], json!(run));
    assert_eq!(rca["run_id"], json!(run));
    assert_eq!(rca["trigger"], "manual");
    assert_eq!(rca["requested_by"], org.editor.email);
    assert_eq!(rca["conclusion"], "confirmed");
    assert_eq!(rca["asked_conclusion"], Value::Null);
    assert_eq!(
        rca["summary"],
        "The 11:58 deploy exhausted the database's connections."
    );
    assert_eq!(rca["model"], "gpt-test");
    assert!(rca["duration_ms"].as_i64().is_some_and(|d| d >= 0), "{rca}");
    assert_eq!(
        rca["usage"],
        json!({ "model_calls": 2, "input_tokens": 1500, "output_tokens": 300, "cost_micros": 2200 })
    );
    assert_eq!(
        rca["thoughts"],
        json!(["The pool ran out of connections right after the deploy."])
    );
    let steps = rca["tool_steps"].as_array().expect("tool steps");
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0]["step_id"], "s1");
    assert_eq!(steps[0]["tool"], "aws");
    assert_eq!(
        steps[0]["input"],
        json!({ "command": "aws rds describe-db-instances" })
    );
    assert_eq!(steps[0]["status"], "succeeded");
    assert_eq!(steps[0]["output"], "max_connections=100, in use=100");
    assert_eq!(steps[0]["duration_ms"], 120);
    assert_eq!(steps[1]["status"], "failed");
    assert_eq!(
        rca["findings"],
        json!([{
            "finding_id": 1,
            "text": "The database hit max_connections.",
            "citations": [{ "step_id": "s1", "tool": "aws", "status": "succeeded" }],
        }])
    );
    assert_eq!(rca["suggestions"][0]["kind"], "mitigation");
    assert_eq!(rca["suggestions"][0]["risk"], "low");
    assert_eq!(rca["context_alerts"][0]["alert_id"], "late-alert");

    // As it stood once started: running, nothing found yet.
    let then = app
        .get_json(&at(&path, started), Some(&org.viewer))
        .await
        .expect_status(200);
    assert_eq!(then["rca"]["status"], "running");
    assert_eq!(then["rca"]["resume_count"], 0);
    assert_eq!(then["rca"]["feedback"], json!([]));
    assert_eq!(then["rca"]["model"], "gpt-test");
    assert_eq!(then["rca"]["thoughts"], json!([]));
    assert_eq!(then["rca"]["tool_steps"], json!([]));
    assert_eq!(then["rca"]["conclusion"], Value::Null);
    // Before anyone asked: no investigation.
    let earlier = app
        .get_json(&at(&path, before_request), Some(&org.viewer))
        .await
        .expect_status(200);
    assert_eq!(earlier["rca"], Value::Null);
    let usage = as_of_now_is_live_and_usage(&app, &org, &path, &live).await;
    // Its cost, per incident.
    assert_eq!(
        usage["by_incident"],
        json!([{ "incident_id": incident, "calls": 2, "input_tokens": 1500, "output_tokens": 300, "cost_micros": 2200 }])
    );
    // Counted once: the calls are the session's, attributed to the incident through the run.
    assert_eq!(usage["total"]["cost_micros"], 2200);
    assert_eq!(usage["total"]["calls"], 2);
    assert_eq!(usage["by_model"][0]["model"], "gpt-test");
    assert_eq!(
        usage["by_session"],
        json!([{ "session_id": r.session, "incident_id": incident, "calls": 2, "input_tokens": 1500, "output_tokens": 300, "cost_micros": 2200 }])
    );

    let js = app.nats.jetstream();
    assert_eq!(
        audit::verify(&app.db.pool, &js).await.expect("audit"),
        vec![],
        "the investigations' tables rebuilt from the log equal the live ones"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conclusion_beyond_its_evidence_and_carried_over_findings_show_as_recorded() {
    let app = spawn().await;
    let org = Org::new(&app, "acme.io").await;
    let incident = org.incident("api", "api-alert").await;
    let path = format!("/api/incidents/{incident}");
    send(
        &app,
        Method::POST,
        &format!("{path}/rca"),
        &org.editor,
        json!({}),
    )
    .await
    .expect_status(202);
    let r = Run::of(&app, &org, incident, 1);
    let mut commands = r.begin(&org.editor.email);
    commands.extend([
        InvestigationCommand::CarryOver {
            from: Uuid::new_v4(),
            thoughts: vec!["Merged incident: the api pods restarted at 11:59.".to_owned()],
            findings: vec!["Restarts followed the deploy.".to_owned()],
            at: Utc::now(),
        },
        InvestigationCommand::Think {
            text: "Nothing in the logs confirms it yet.".to_owned(),
            at: Utc::now(),
        },
        // Claimed, but no tool step ever succeeded.
        r.complete(Conclusion::Confirmed),
    ]);
    r.steps(&app, commands).await;

    let live = detail_when(&app, &org.viewer, &path, |d| {
        d["rca"]["status"] == "completed"
    })
    .await;
    let rca = &live["rca"];
    assert_eq!(rca["conclusion"], "inconclusive");
    assert_eq!(rca["asked_conclusion"], "confirmed");
    assert_eq!(
        rca["thoughts"],
        json!([
            "Merged incident: the api pods restarted at 11:59.",
            "Nothing in the logs confirms it yet."
        ])
    );
    assert_eq!(
        rca["findings"],
        json!([{ "finding_id": 1, "text": "Restarts followed the deploy.", "citations": [] }])
    );
    let usage = as_of_now_is_live_and_usage(&app, &org, &path, &live).await;
    assert_eq!(usage["by_incident"], json!([]), "no model call, no cost");
    app.stop().await;
}
