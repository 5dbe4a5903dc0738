//! The severity an investigation infers, end to end: an incident whose source gave none takes the
//! one the model assessed when it concluded, as an event the timeline shows; one whose source
//! gave a severity keeps it; without a model nothing is inferred.

use aurora_domain::investigation::{run_id, Conclusion};
use aurora_domain::Severity;
use aurora_tests::audit_is_clean;
use aurora_tests::llm::{Script, Step};
use serde_json::{json, Value};

use crate::rca::{automatic, ended, rca};

fn concluding(severity: &str) -> Script {
    Script::new(
        "Investigate incident",
        vec![
            Step::tool(
                "call-pods",
                "kubectl",
                json!({"command": "kubectl -n shop get pods -o json"}),
            ),
            Step::tool(
                "call-finding",
                "record_finding",
                json!({"text": "checkout-7 is in CrashLoopBackOff", "citations": ["call-pods"]}),
            ),
            Step::tool(
                "call-conclude",
                "conclude",
                json!({"conclusion": "confirmed", "summary": "Every checkout pod crash-loops: checkout is down.", "severity": severity}),
            ),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_severity_is_inferred_from_the_run_and_shown_in_the_timeline() {
    let r = rca(Some(vec![concluding("critical")]), automatic()).await;
    let id = r.open_as("checkout", Severity::Unknown).await;
    let state = r.until(id, 1, ended).await;
    assert_eq!(state.conclusion, Some(Conclusion::Confirmed), "{state:#?}");
    assert_eq!(state.severity, Some(Severity::Critical));
    // The model was asked for it.
    let request = &r.llm.as_ref().expect("a model").requests()[0];
    let system = request["messages"][0]["content"]
        .as_str()
        .unwrap_or_default();
    assert!(system.contains("## Severity"), "{system}");

    let incident = r.settled(id).await;
    assert_eq!(incident.severity, Severity::Critical);
    let path = format!("/api/incidents/{}", id.0);
    let started = std::time::Instant::now();
    let detail = loop {
        let answer = r.app.get_json(&path, Some(&r.admin)).await;
        let inferred = answer.body["timeline"].as_array().is_some_and(|rows| {
            rows.iter()
                .any(|row| row["description"] == "Severity inferred by the RCA: critical")
        });
        if answer.status == 200 && inferred {
            break answer.body;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "the timeline never showed the inferred severity: {}",
            answer.body
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(detail["incident"]["severity"], "critical");
    let timeline: Vec<&Value> = detail["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .collect();
    let inferred = timeline
        .iter()
        .find(|row| row["event_type"] == "incident.severity_changed")
        .expect("a severity change");
    assert_eq!(
        inferred["data"],
        json!({"type": "severity_changed", "from": "unknown", "to": "critical", "by": "aurora-rca", "at": inferred["data"]["at"]})
    );
    assert_eq!(
        detail["rca"]["run_id"],
        json!(run_id(id, 1)),
        "the run it came from"
    );
    audit_is_clean(&r.app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_severity_the_source_gave_is_kept_and_no_model_infers_none() {
    let r = rca(Some(vec![concluding("low")]), automatic()).await;
    let id = r.open_as("checkout", Severity::High).await;
    let state = r.until(id, 1, ended).await;
    assert_eq!(state.severity, Some(Severity::Low), "assessed, recorded");
    assert_eq!(
        r.settled(id).await.severity,
        Severity::High,
        "not overruled"
    );

    let r = rca(None, automatic()).await;
    let id = r.open_as("checkout", Severity::Unknown).await;
    let state = r.until(id, 1, ended).await;
    assert_eq!(state.severity, None);
    let incident = r.settled(id).await;
    assert_eq!(incident.severity, Severity::Unknown);
    assert!(incident.summary.is_some(), "it concluded all the same");
}
