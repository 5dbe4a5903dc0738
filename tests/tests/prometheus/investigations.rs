//! Investigations by the states they reach (`aurora_investigations_total`) and, once ended, by
//! how long they ran (`aurora_investigation_duration_seconds`): one run the scripted model
//! completes, one it fails.

use aurora_domain::investigation::InvestigationStatus;
use aurora_domain::Severity;
use aurora_tests::llm::{Script, Step};
use aurora_tests::scrape::scrape;
use serde_json::json;

use crate::rca::{automatic, ended, rca};

const STATES: &str = "aurora_investigations_total";
const TOOLS: &str = "aurora_tool_calls_total";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_and_a_failed_investigation_count_by_state_with_their_durations() {
    // The model fails every call about ledger, and answers about checkout after one tool call.
    let r = rca(
        Some(vec![
            Script::new("on service \"ledger\"", vec![Step::Fail(500)]),
            Script::new(
                "on service \"checkout\"",
                vec![
                    Step::tool(
                        "call-pods",
                        "kubectl",
                        json!({"command": "kubectl -n shop get pods -o json"}),
                    ),
                    Step::text(&["The checkout pod crash-loops since the deploy."]),
                ],
            ),
        ]),
        automatic(),
    )
    .await;
    let url = r.app.url("/metrics");
    let before = scrape(&r.app.http, &url).await;

    let checkout = r.open_as("checkout", Severity::High).await;
    let completed = r.until(checkout, 1, ended).await;
    assert_eq!(
        completed.status,
        InvestigationStatus::Completed,
        "{completed:#?}"
    );
    let ledger = r.open_as("ledger", Severity::High).await;
    let failed = r.until(ledger, 1, ended).await;
    assert_eq!(failed.status, InvestigationStatus::Failed, "{failed:#?}");
    r.settled(checkout).await;
    r.settled(ledger).await;
    let after = scrape(&r.app.http, &url).await;

    // Each run was requested and ran; one completed, one failed; none queued or was cancelled.
    let state = |state| after.moved_since(&before, STATES, &[("state", state)]);
    assert_eq!(state("requested"), 2.0);
    assert_eq!(state("running"), 2.0);
    assert_eq!(state("completed"), 1.0);
    assert_eq!(state("failed"), 1.0);
    for never in ["queued", "cancelled"] {
        assert!(!after.has(STATES, &[("state", never)]), "{never}");
    }
    // An ended run is timed once, under the state it ended in; one still running is not.
    for (ended, run) in [("completed", &completed), ("failed", &failed)] {
        let labels = [("state", ended)];
        let count = "aurora_investigation_duration_seconds_count";
        assert_eq!(after.moved_since(&before, count, &labels), 1.0, "{ended}");
        let took = (run.ended_at.expect("an end") - run.started_at.expect("a start"))
            .to_std()
            .expect("it ended after it started")
            .as_secs_f64();
        let sum = after.moved_since(
            &before,
            "aurora_investigation_duration_seconds_sum",
            &labels,
        );
        assert!(
            (sum - took).abs() < 1e-6,
            "{ended}: {sum} s counted, {took} s ran"
        );
    }
    for unended in ["requested", "running"] {
        assert!(!after.has(
            "aurora_investigation_duration_seconds_count",
            &[("state", unended)]
        ));
    }
    // The completed run's one tool call succeeded.
    assert_eq!(
        after.moved_since(&before, TOOLS, &[("tool", "kubectl"), ("outcome", "ok")]),
        1.0
    );
}
