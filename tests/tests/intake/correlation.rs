//! Correlation through the intake: alerts arriving together, the settings, shadow mode and the dry run.

use aurora_tests::{Answer, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

use super::helpers::{deliver, grafana, incidents_until, integration, path_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_that_arrive_together_open_one_incident_with_the_score_explained() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let created = integration(&app, &admin, "grafana", "Prod Grafana").await;
    let (path, secret) = (
        path_of(&created),
        created["secret"].as_str().expect("secret"),
    );
    // Eight deliveries about one service, all at once, each its own request.
    let bodies: Vec<String> = (0..8)
        .map(|i| {
            grafana(&[(
                "firing",
                &format!("fp-{i}"),
                "checkout",
                &format!("Checkout latency high on pod {i}"),
            )])
        })
        .collect();
    let answers =
        futures::future::join_all(bodies.iter().map(|b| deliver(&app, &path, Some(secret), b)))
            .await;
    for a in answers {
        a.expect_status(202);
    }
    let items = incidents_until(&app, &admin, |i| {
        i.len() == 1 && i[0]["correlated_alert_count"].as_i64() == Some(7)
    })
    .await;
    assert_eq!(items.len(), 1, "one incident, never two");
    let id = items[0]["id"].as_str().expect("id");
    let detail = app
        .get_json(&format!("/api/incidents/{id}"), Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(detail["alerts"].as_array().map(Vec::len), Some(8));
    let correlated = detail["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .find(|a| !a["correlation"].is_null())
        .expect("a correlated alert");
    assert_eq!(correlated["correlation"]["topology"], 1.0, "same service");
    assert!(correlated["correlation"]["score"].as_f64() >= Some(0.6));
    assert!(
        detail["timeline"].to_string().contains("score"),
        "the timeline explains the score: {}",
        detail["timeline"]
    );
    // There is no service graph yet: the explanation says topology was the service names.
    assert!(
        detail["timeline"]
            .to_string()
            .contains("topology (service-name fallback: no service graph yet) 1.00"),
        "{}",
        detail["timeline"]
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correlation_settings_shadow_mode_and_the_dry_run() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let viewer = app
        .invite_and_register(&admin, "vi@acme.io", "viewer")
        .await;
    let defaults = app
        .get_json("/api/correlation/settings", Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(defaults["settings"]["threshold"], 0.6);
    assert_eq!(defaults["settings"]["window_secs"], 300);
    app.get_json("/api/correlation/settings", Some(&viewer))
        .await
        .expect_error(403, "forbidden");
    let put = |body: Value| {
        let app = &app;
        let admin = &admin;
        async move {
            Answer::of(
                app.request(Method::PUT, "/api/correlation/settings", Some(admin))
                    .json(&body)
                    .send()
                    .await,
            )
            .await
        }
    };
    put(json!({ "topology_weight": 0.5, "time_weight": 0.3, "similarity_weight": 0.1 }))
        .await
        .expect_error(422, "invalid_settings");
    put(json!({ "max_group_size": 51 }))
        .await
        .expect_error(422, "invalid_settings");
    put(json!({ "thresold": 0.5 }))
        .await
        .expect_error(400, "invalid_body");

    // Two alerts that correlate under the defaults.
    let created = integration(&app, &admin, "grafana", "Prod Grafana").await;
    let (path, secret) = (
        path_of(&created),
        created["secret"].as_str().expect("secret"),
    );
    let from = chrono::Utc::now() - chrono::Duration::seconds(1);
    for i in 0..2 {
        let body = grafana(&[(
            "firing",
            &format!("fp-{i}"),
            "checkout",
            "Checkout latency high",
        )]);
        deliver(&app, &path, Some(secret), &body)
            .await
            .expect_status(202);
        incidents_until(&app, &admin, |items| {
            items.len() == 1 && items[0]["correlated_alert_count"].as_i64() == Some(i)
        })
        .await;
    }
    let to = chrono::Utc::now() + chrono::Duration::seconds(1);

    // The dry run with a threshold nothing reaches: both alerts would stand alone.
    let report = app
        .post_json(
            "/api/correlation/dry-run",
            Some(&admin),
            &json!({ "settings": { "threshold": 1.0 }, "from": from, "to": to }),
        )
        .await
        .expect_status(200);
    assert_eq!(report["deliveries"], 2, "{report}");
    assert_eq!(report["alerts"], 2);
    assert_eq!(report["incidents_then"], 1);
    assert_eq!(report["incidents_would_be"], 2);
    let changed = report["changed"].as_array().expect("changed");
    assert_eq!(changed.len(), 2, "{report}");
    assert!(changed[1]["decision_now"]
        .as_str()
        .is_some_and(|d| d.contains("below threshold")));
    // The same settings as today change nothing; nothing was written by either run.
    let same = app
        .post_json(
            "/api/correlation/dry-run",
            Some(&admin),
            &json!({ "settings": {}, "from": from, "to": to }),
        )
        .await
        .expect_status(200);
    assert_eq!(same["changed"].as_array().map(Vec::len), Some(0), "{same}");
    app.post_json(
        "/api/correlation/dry-run",
        Some(&admin),
        &json!({ "settings": {}, "from": to, "to": from }),
    )
    .await
    .expect_error(400, "invalid_period");

    // Shadow mode records decisions but opens a new incident for each alert.
    put(json!({ "shadow_mode": true })).await.expect_status(200);
    let shown = app
        .get_json("/api/correlation/settings", Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(shown["settings"]["shadow_mode"], true);
    let body = grafana(&[("firing", "fp-9", "checkout", "Checkout latency high")]);
    deliver(&app, &path, Some(secret), &body)
        .await
        .expect_status(202);
    let items = incidents_until(&app, &admin, |items| items.len() == 2).await;
    assert_eq!(items.len(), 2, "shadow mode did not correlate");
    app.stop().await;
}
