//! Commands that race a writer in another process on one incident: each append the app loses
//! counts as a conflict of aggregate type `incident`, and each command it decides again after one
//! as a retry.

use aurora_domain::IncidentId;
use aurora_nats::{subjects, Context};
use aurora_tests::scrape::{scrape, Scraped};
use aurora_tests::TestApp;
use chrono::Utc;
use serde_json::json;

use crate::fixtures::{comment, open};

const CONFLICTS: &str = "aurora_command_conflicts_total";
const RETRIES: &str = "aurora_command_retries_total";
/// Comments each side writes in one round of the race.
const ROUND: usize = 25;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_racing_another_writer_count_each_lost_append_and_its_retry() {
    let app = TestApp::spawn().await;
    let admin = app.register("oncall@acme.io", "Acme").await;
    let url = app.url("/metrics");
    // Another process's event store: its own cache, its own (unscraped) series.
    let elsewhere = app.services();
    let id = IncidentId::new();
    elsewhere
        .incidents
        .execute(
            &admin.tenant,
            id.0,
            open(id, "Checkout down", "checkout", Utc::now()),
            Context::new_root(),
        )
        .await
        .expect("the store answers")
        .expect("the incident opens");
    let before = scrape(&app.http, &url).await;
    let incident = [("aggregate", "incident")];
    let conflicts = |s: &Scraped| s.moved_since(&before, CONFLICTS, &incident);

    // Act: the app comments (through the API) while the other process comments too, a round
    // at a time until the app has lost at least one race.
    let mut rounds = 0;
    let after = loop {
        rounds += 1;
        let through_api = async {
            for n in 0..ROUND {
                app.post_json(
                    &format!("/api/incidents/{id}/comments"),
                    Some(&admin),
                    &json!({"text": format!("from the API, {rounds}.{n}")}),
                )
                .await
                .expect_status(201);
            }
        };
        let beside = async {
            for n in 0..ROUND {
                elsewhere
                    .incidents
                    .execute(
                        &admin.tenant,
                        id.0,
                        comment("ops@acme.io", &format!("from elsewhere, {rounds}.{n}")),
                        Context::new_root(),
                    )
                    .await
                    .expect("the store answers")
                    .expect("the comment is taken");
            }
        };
        tokio::join!(through_api, beside);
        let scraped = scrape(&app.http, &url).await;
        if conflicts(&scraped) > 0.0 || rounds == 5 {
            break scraped;
        }
    };

    // Assert: every command took effect once; the app lost at least one append, at most one per
    // append of the other writer (each loss reloads everything written before it), and decided
    // each lost command again exactly once (none gave up: every comment answered 201).
    let events = app
        .nats
        .log
        .read_subject(&subjects::aggregate(&admin.tenant, "incident", id.0), 1)
        .await
        .expect("the log answers");
    assert_eq!(events.len(), 1 + 2 * ROUND * rounds);
    let lost = conflicts(&after);
    assert!(
        lost >= 1.0,
        "{rounds} rounds of racing writers and no conflict"
    );
    assert!(lost <= (ROUND * rounds) as f64, "{lost} conflicts");
    assert_eq!(after.moved_since(&before, RETRIES, &incident), lost);
    // No other aggregate type conflicted or retried.
    for labels in after.label_sets(RETRIES) {
        let labels: Vec<(&str, &str)> = labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if labels != incident {
            assert_eq!(
                after.moved_since(&before, RETRIES, &labels),
                0.0,
                "{labels:?}"
            );
            assert_eq!(
                after.moved_since(&before, CONFLICTS, &labels),
                0.0,
                "{labels:?}"
            );
        }
    }
}
