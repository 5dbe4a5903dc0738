//! Similar incidents over REST without an embedding model: earlier incidents ranked by title
//! words and service, the caller's organisation only. (With a model: `embeddings::similar`.)

use std::time::{Duration, Instant};

use aurora_domain::IncidentId;
use aurora_tests::{Account, TestApp};
use chrono::Utc;
use serde_json::Value;
use uuid::Uuid;

use crate::fixtures::{on_incident, open};

async fn incident(app: &TestApp, admin: &Account, title: &str, service: &str) -> Uuid {
    let id = IncidentId::new();
    on_incident(app, &admin.tenant, id, open(id, title, service, Utc::now())).await;
    id.0
}

/// Waits until the incident list (a read model) holds `count` incidents.
async fn listed(app: &TestApp, admin: &Account, count: usize) {
    let started = Instant::now();
    loop {
        let page = app
            .get_json("/api/incidents?limit=50", Some(admin))
            .await
            .expect_status(200);
        if page["items"].as_array().map(Vec::len) == Some(count) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{count} incidents expected: {page}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn ids(answer: &Value) -> Vec<String> {
    answer["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["incident"]["id"].as_str().expect("an id").to_owned())
        .collect()
}

#[tokio::test]
async fn earlier_incidents_rank_by_title_words_and_service_and_later_ones_are_never_listed() {
    let app = TestApp::launch().spawn().await;
    let admin = app.register("oncall@similar.io", "Similar").await;
    // Opened in this order, one after the other.
    let twin = incident(&app, &admin, "Checkout latency high again", "checkout").await;
    let errors = incident(&app, &admin, "Checkout errors", "checkout").await;
    incident(&app, &admin, "Payments down", "payments").await;
    let this = incident(&app, &admin, "Checkout latency high", "checkout").await;
    let later = incident(&app, &admin, "Checkout latency high", "checkout").await;
    // Another organisation's twin is never offered.
    let other = app.register("oncall@elsewhere.io", "Elsewhere").await;
    incident(&app, &other, "Checkout latency high", "checkout").await;
    listed(&app, &admin, 5).await;
    listed(&app, &other, 1).await;

    let answer = app
        .get_json(&format!("/api/incidents/{this}/similar"), Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(answer["basis"], "word_overlap", "no embedding model here");
    // The later incident has this one's very title, yet only earlier incidents are listed.
    assert_eq!(ids(&answer), [twin.to_string(), errors.to_string()]);
    assert_eq!(
        answer["compared"], 3,
        "the three opened before it: {answer}"
    );
    let best = &answer["items"][0]["similarity"];
    assert_eq!(best["title"], 0.75);
    assert_eq!(best["service"], 1.0);
    assert_eq!(
        answer["items"][0]["incident"]["title"],
        "Checkout latency high again"
    );
    // The oldest incident has nothing before it: the four opened since are not listed.
    let oldest = app
        .get_json(&format!("/api/incidents/{twin}/similar"), Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(oldest["compared"], 0, "{oldest}");
    assert_eq!(oldest["items"], serde_json::json!([]));
    // The latest finds this one first (the same title), then the older ones.
    let latest = app
        .get_json(&format!("/api/incidents/{later}/similar"), Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(latest["compared"], 4);
    assert_eq!(
        ids(&latest),
        [this.to_string(), twin.to_string(), errors.to_string()]
    );

    let one = app
        .get_json(
            &format!("/api/incidents/{this}/similar?limit=1"),
            Some(&admin),
        )
        .await
        .expect_status(200);
    assert_eq!(ids(&one), [twin.to_string()]);
    for (query, code) in [
        ("?limit=0", "invalid_limit"),
        ("?limit=21", "invalid_limit"),
        ("?resolved=maybe", "invalid_query"),
        ("?colour=red", "invalid_query"),
    ] {
        app.get_json(
            &format!("/api/incidents/{this}/similar{query}"),
            Some(&admin),
        )
        .await
        .expect_error(400, code);
    }
    app.get_json("/api/incidents/not-a-uuid/similar", Some(&admin))
        .await
        .expect_status(400);
    app.get_json(
        &format!("/api/incidents/{}/similar", Uuid::now_v7()),
        Some(&admin),
    )
    .await
    .expect_status(404);
    app.get_json(&format!("/api/incidents/{this}/similar"), Some(&other))
        .await
        .expect_status(404);
}
