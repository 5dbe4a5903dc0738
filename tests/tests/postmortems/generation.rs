//! Writing a postmortem when an incident resolves.

use std::time::{Duration, Instant};

use aurora_domain::postmortem::template::SECTIONS;
use aurora_domain::postmortem::{Change, Origin};
use aurora_domain::{IncidentCommand, IncidentStatus};
use aurora_handlers::agent::PriceTable;
use aurora_tests::llm::{Script, Step};
use chrono::Utc;

use super::{on_resolve, postmortems, MODEL};

const WRITTEN: &str = "# Postmortem: High error rate on checkout\n\n## Summary\n\nThe v42 deploy broke checkout.\n\n## Impact\n\nNot recorded.\n\n## Timeline\n\n- 12:00 opened\n\n## Root cause\n\nThe v42 deploy.\n\n## Resolution\n\nRolled back.\n\n## Action items\n\n- [ ] Add a canary.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_model_the_template_writes_it_from_the_events_and_the_investigation() {
    let p = postmortems(None, on_resolve(true)).await;
    let id = p
        .open_with_comment("checkout", "Rolling back v42 now.")
        .await;
    // The evidence pass (no model) concludes before the incident resolves.
    let started = Instant::now();
    while p
        .app
        .services()
        .incidents
        .load(&p.admin.tenant, id.0)
        .await
        .expect("the store answers")
        .map(|s| s.into_inner().status)
        != Some(IncidentStatus::Analyzed)
    {
        assert!(started.elapsed() < Duration::from_secs(20), "no analysis");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    p.resolve(id).await;
    let state = p.until_versions(id, 1).await;
    assert_eq!(state.versions.len(), 1);
    let version = &state.versions[0];
    assert_eq!(version.version, 1);
    assert_eq!(version.by, None);
    let Change::Generated {
        origin: Origin::Template { reason },
    } = &version.change
    else {
        panic!("not a template version: {:?}", version.change);
    };
    assert!(reason.contains("no model is configured"), "{reason}");
    let text = &version.markdown;
    for section in SECTIONS {
        assert!(
            text.contains(&format!("\n## {section}\n")),
            "{section}:\n{text}"
        );
    }
    for expected in [
        "# Postmortem: High error rate on checkout",
        "Comment by ana@acme.io:\n  > Rolling back v42 now.",
        "concluded **INCONCLUSIVE**",
        "No model is configured",
        "resolved by ana@acme.io: rolled back to v41",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    aurora_tests::audit_is_clean(&p.app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_model_one_completion_writes_it_and_its_cost_is_kept() {
    let p = postmortems(
        Some(vec![Script::new(
            "Write the postmortem of incident",
            vec![Step::text(&[&WRITTEN[..40], &WRITTEN[40..]])],
        )]),
        on_resolve(false),
    )
    .await;
    let id = p
        .open_with_comment("checkout", "Rolling back v42 now.")
        .await;
    p.resolve(id).await;
    let state = p.until_versions(id, 1).await;
    let version = &state.versions[0];
    assert_eq!(version.markdown, format!("{WRITTEN}\n"));
    let expected_cost = PriceTable::default()
        .with(&format!("{MODEL}=2/8"))
        .expect("a valid price")
        .cost(MODEL, 120, 30)
        .micros;
    assert_eq!(
        version.change,
        Change::Generated {
            origin: Origin::Model {
                model: MODEL.into(),
                input_tokens: 120,
                output_tokens: 30,
                cost_micros: expected_cost,
            }
        }
    );
    // One call, given the record: the sections asked for and what happened, comments included.
    let requests = p.llm.as_ref().expect("a model").requests();
    assert_eq!(requests.len(), 1);
    let system = requests[0]["messages"][0]["content"]
        .as_str()
        .unwrap_or_default();
    for section in SECTIONS {
        assert!(system.contains(&format!("## {section}")), "{section}");
    }
    let user = requests[0]["messages"][1]["content"]
        .as_str()
        .unwrap_or_default();
    assert!(user.contains(&id.to_string()));
    assert!(user.contains("Rolling back v42 now."), "{user}");
    assert!(user.contains("resolved by ana@acme.io: rolled back to v41"));
    assert!(requests[0].get("tools").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_model_leaves_the_template_saying_why() {
    let p = postmortems(
        Some(vec![Script::new(
            "Write the postmortem of incident",
            vec![Step::Fail(500)],
        )]),
        on_resolve(false),
    )
    .await;
    let id = p.open_with_comment("checkout", "Looking.").await;
    p.resolve(id).await;
    let state = p.until_versions(id, 1).await;
    let Change::Generated {
        origin: Origin::Template { reason },
    } = &state.versions[0].change
    else {
        panic!("not a template version: {:?}", state.versions[0].change);
    };
    assert!(reason.contains("the model failed"), "{reason}");
    assert!(state.versions[0].markdown.contains("## Root cause"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_or_second_resolve_writes_nothing_twice() {
    let mut p = postmortems(None, on_resolve(false)).await;
    let id = p.open_with_comment("checkout", "Looking.").await;
    p.resolve(id).await;
    p.until_versions(id, 1).await;
    // Reopened and resolved again: the postmortem (and what people wrote on it) stays.
    p.execute(
        id,
        IncidentCommand::ChangeStatus {
            to: IncidentStatus::Investigating,
            by: "ana@acme.io".into(),
            at: Utc::now(),
        },
    )
    .await;
    p.resolve(id).await;
    // Aurora restarts, and every incident event reaches the process manager again; what the
    // tasks it spawns would write is written within the half second after.
    let config = aurora_gateway::app::Config {
        agent: super::agent(p.work.path(), None),
        rca: on_resolve(false),
        ..Default::default()
    };
    aurora_tests::redeliver_events(&mut p.app, "rca", config, Duration::from_millis(500)).await;
    assert_eq!(p.postmortem(id).await.versions.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postmortem_owed_by_a_process_that_died_is_written_by_the_sweep() {
    let config = aurora_handlers::rca::RcaConfig {
        automatic: false,
        postmortem_on_resolve: false,
        stale: Duration::from_secs(1),
        ..Default::default()
    };
    let p = postmortems(None, config).await;
    let id = p.open_with_comment("checkout", "Looking.").await;
    p.resolve(id).await;
    // What a process leaves when it dies between acknowledging the resolve and storing the
    // version: the owed postmortem in the bucket, and nothing written.
    let js = p.app.nats.jetstream();
    let started = Instant::now();
    let bucket = loop {
        if let Ok(bucket) = js.get_key_value("postmortems_pending").await {
            break bucket;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no bucket");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let owed = serde_json::json!({
        "tenant": p.admin.tenant,
        "incident": id,
        "request": null,
        "since": "2026-01-01T00:00:00Z",
    });
    bucket
        .put(
            format!("{}.{id}.resolved", p.admin.tenant),
            owed.to_string().into(),
        )
        .await
        .expect("the owed postmortem is noted");
    let state = p.until_versions(id, 1).await;
    assert!(matches!(
        state.versions[0].change,
        Change::Generated {
            origin: Origin::Template { .. }
        }
    ));
    // Written, it is owed no more.
    let started = Instant::now();
    while bucket
        .get(format!("{}.{id}.resolved", p.admin.tenant))
        .await
        .expect("the bucket answers")
        .is_some()
    {
        assert!(started.elapsed() < Duration::from_secs(10), "still owed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
