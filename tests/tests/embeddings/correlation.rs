//! Correlation's title similarity: the cosine of the titles' embeddings when a model is
//! loaded (upstream's way), word overlap otherwise, and the decision says which.

use aurora_domain::vector::cosine;
use aurora_tests::embeddings::embedder;
use aurora_tests::TestApp;

use crate::intake::helpers::{deliver, grafana, incidents_until, integration, path_of};

const OPENING: &str = "High CPU usage on checkout-api";
const JOINING: &str = "checkout-api processor saturated";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correlation_compares_titles_by_the_cosine_of_their_embeddings_and_says_so() {
    let app = TestApp::launch().with_embeddings().spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let created = integration(&app, &admin, "grafana", "Prod Grafana").await;
    let (path, secret) = (
        path_of(&created),
        created["secret"].as_str().expect("secret"),
    );
    for (fingerprint, title) in [("fp-1", OPENING), ("fp-2", JOINING)] {
        deliver(
            &app,
            &path,
            Some(secret),
            &grafana(&[("firing", fingerprint, "checkout", title)]),
        )
        .await
        .expect_status(202);
    }
    let items = incidents_until(&app, &admin, |i| {
        i.len() == 1 && i[0]["correlated_alert_count"].as_i64() == Some(1)
    })
    .await;
    let id = items[0]["id"].as_str().expect("id");
    let detail = app
        .get_json(&format!("/api/incidents/{id}"), Some(&admin))
        .await
        .expect_status(200);
    let correlation = detail["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .find_map(|a| a.get("correlation").filter(|c| !c.is_null()))
        .expect("the second alert was correlated")
        .clone();
    assert_eq!(correlation["title_basis"], "embeddings");
    // similarity = 0.7 × cosine(titles) + 0.3 × service (the same service: 1).
    let v = embedder().embed(&[JOINING, OPENING]).await.expect("embeds");
    let expected = 0.7 * cosine(&v[0], &v[1]).clamp(0.0, 1.0) + 0.3;
    let similarity = correlation["similarity"].as_f64().expect("a number");
    assert!(
        (similarity - expected).abs() < 1e-4,
        "similarity {similarity}, expected {expected}"
    );
    // Word overlap would have scored these titles far lower (2 words shared of 7).
    assert!(similarity > 0.7 * (2.0 / 7.0) + 0.3 + 0.1);
    assert!(
        detail["timeline"]
            .to_string()
            .contains("(titles by embeddings)"),
        "{}",
        detail["timeline"]
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_model_titles_are_compared_by_word_overlap_and_the_decision_says_so() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let created = integration(&app, &admin, "grafana", "Prod Grafana").await;
    let (path, secret) = (
        path_of(&created),
        created["secret"].as_str().expect("secret"),
    );
    for (fingerprint, title) in [("fp-1", OPENING), ("fp-2", JOINING)] {
        deliver(
            &app,
            &path,
            Some(secret),
            &grafana(&[("firing", fingerprint, "checkout", title)]),
        )
        .await
        .expect_status(202);
    }
    let items = incidents_until(&app, &admin, |i| {
        i.len() == 1 && i[0]["correlated_alert_count"].as_i64() == Some(1)
    })
    .await;
    let id = items[0]["id"].as_str().expect("id");
    let detail = app
        .get_json(&format!("/api/incidents/{id}"), Some(&admin))
        .await
        .expect_status(200);
    let correlation = detail["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .find_map(|a| a.get("correlation").filter(|c| !c.is_null()))
        .expect("the second alert was correlated")
        .clone();
    assert_eq!(correlation["title_basis"], "word_overlap");
    // {high, cpu, usage, checkout, api} and {checkout, api, processor, saturated}: 2 of 7.
    let expected = 0.7 * (2.0 / 7.0) + 0.3;
    let similarity = correlation["similarity"].as_f64().expect("a number");
    assert!((similarity - expected).abs() < 1e-9, "{similarity}");
    assert!(
        detail["timeline"]
            .to_string()
            .contains("(titles by word overlap, without embeddings)"),
        "{}",
        detail["timeline"]
    );
    app.stop().await;
}
