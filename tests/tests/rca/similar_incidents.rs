//! The RCA's input holds the closest resolved incidents opened before this one, with their
//! summaries, compared by the in-process embedding model: what the scripted model is sent.

use aurora_domain::{Incident, IncidentCommand, IncidentId, IncidentStatus};
use aurora_handlers::agent::{AgentConfig, LlmConfig};
use aurora_handlers::rca::RcaConfig;
use aurora_nats::envelope::Context;
use aurora_nats::AggregateStore;
use aurora_projections::Projector;
use aurora_tests::chat::FakeClis;
use aurora_tests::llm::{Script, ScriptedLlm, Step};
use aurora_tests::{wait_for_projection, TestApp};
use chrono::{Duration, Utc};
use serde_json::{json, Value};

use super::{ended, Rca, MODEL};
use crate::fixtures::open;

/// A resolved incident: title, service, summary, and when it started (minutes from now).
struct Resolved {
    title: &'static str,
    service: &'static str,
    summary: &'static str,
    minutes_from_now: i64,
}

/// Closest to the new incident, and earlier: it must be in the input.
const CRASH: Resolved = Resolved {
    title: "Checkout pods crash-loop after deploy",
    service: "checkout",
    summary: "The 2.3 deploy set a wrong DATABASE_URL, so the pods crashed at start.",
    minutes_from_now: -3 * 24 * 60,
};
/// Earlier but unrelated: not in the input.
const DISK: Resolved = Resolved {
    title: "Disk almost full on the logging node",
    service: "logging",
    summary: "Old log files were never rotated; a logrotate rule fixed it.",
    minutes_from_now: -2 * 24 * 60,
};
/// As close as the crash, but opened after the new incident: not in the input.
const LATER: Resolved = Resolved {
    title: "Checkout pods crash-looping after the flag change",
    service: "checkout",
    summary: "A feature flag removed the readiness endpoint the pods are probed on.",
    minutes_from_now: -10,
};
const NOW: &str = "Checkout pods crash-looping again";

const SECTION: &str = "Resolved incidents most like this one, with what they turned out to be:\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_is_given_the_closest_earlier_resolved_incident_with_its_summary() {
    // Arrange: an app with the in-process model and a scripted LLM; investigations start only
    // when asked (the resolved incidents must not start their own).
    let clis = FakeClis::install(&[]);
    let work = tempfile::tempdir().expect("a work dir");
    let llm = ScriptedLlm::start(vec![Script::new(
        "Investigate incident",
        vec![Step::text(&["Nothing conclusive yet."])],
    )])
    .await;
    let agent = AgentConfig::without_model(work.path().to_path_buf())
        .with_tool_path(clis.path())
        .with_llm(LlmConfig {
            base_url: llm.base_url(),
            api_key: "test-key".into(),
            model: MODEL.into(),
        });
    let app = TestApp::launch()
        .with_embeddings()
        .agent(agent)
        .rca(RcaConfig {
            automatic: false,
            postmortem_on_resolve: false,
            ..RcaConfig::default()
        })
        .spawn()
        .await;
    let admin = app.register("oncall@acme.io", "Acme").await;
    let store = AggregateStore::<Incident>::new(app.nats.log.clone());
    let run = |id: IncidentId, command: IncidentCommand| {
        let (store, tenant) = (store.clone(), admin.tenant.clone());
        async move {
            store
                .execute(&tenant, id.0, command, Context::new_root())
                .await
                .expect("the store")
                .expect("accepted")
                .stream_sequence
        }
    };
    let mut last = 0;
    for past in [CRASH, DISK, LATER] {
        let id = IncidentId::new();
        let at = Utc::now() + Duration::minutes(past.minutes_from_now);
        run(id, open(id, past.title, past.service, at)).await;
        let resolve = IncidentCommand::Update {
            severity: None,
            summary: Some(past.summary.to_owned()),
            status: Some(IncidentStatus::Resolved),
            reason: Some("fixed".to_owned()),
            by: "ops".to_owned(),
            at: at + Duration::minutes(5),
        };
        last = run(id, resolve).await;
    }
    // The new incident started an hour ago: before LATER.
    let incident = IncidentId::new();
    let opened = run(
        incident,
        open(incident, NOW, "checkout", Utc::now() - Duration::hours(1)),
    )
    .await;
    wait_for_projection(&app.db.pool, Projector::Incidents, last.max(opened)).await;

    // Act: a person asks for the analysis; the run ends after one model call.
    app.post_json(
        &format!("/api/incidents/{}/rca", incident.0),
        Some(&admin),
        &json!({}),
    )
    .await
    .expect_status(202);
    let r = Rca {
        app,
        admin,
        llm: Some(llm),
        clis,
        _work: work,
    };
    r.until(incident, 1, ended).await;

    // Assert: the brief the model received lists the crash with its summary, and neither the
    // unrelated incident nor the later one.
    let requests = r.llm.as_ref().expect("a model").requests();
    let brief = requests
        .iter()
        .filter_map(|request| request["messages"][1]["content"].as_str())
        .find(|content| content.contains(&format!("Investigate incident {}", incident.0)))
        .expect("the model was asked about the incident");
    let section = brief
        .split_once(SECTION)
        .and_then(|(_, rest)| rest.split_once("\n\n"))
        .map(|(section, _)| section)
        .unwrap_or_else(|| panic!("the brief has no similar incidents: {brief}"));
    let similar: Value = serde_json::from_str(section)
        .unwrap_or_else(|e| panic!("the similar incidents are JSON ({e}): {section}"));
    assert_eq!(similar["basis"], "embedding", "{similar:#}");
    let items = similar["items"].as_array().expect("items");
    assert_eq!(items[0]["incident"]["title"], CRASH.title, "{similar:#}");
    assert_eq!(items[0]["incident"]["summary"], CRASH.summary);
    assert_eq!(items[0]["incident"]["status"], "resolved");
    assert!(
        section.contains(CRASH.title) && section.contains(CRASH.summary),
        "{section}"
    );
    for absent in [DISK, LATER] {
        assert!(
            !section.contains(absent.title) && !section.contains(absent.summary),
            "{} must not be offered: {section}",
            absent.title
        );
    }
    // Only the two incidents opened before it were compared (the later one is not a candidate).
    assert_eq!(similar["compared"], 2, "{similar:#}");
    r.app.stop().await;
}
