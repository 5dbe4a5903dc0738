//! The OpenAI-compatible embeddings endpoint (`EMBEDDING_BASE_URL`, `EMBEDDING_MODEL`,
//! `EMBEDDING_API_KEY`) against a fake server speaking the documented `/v1/embeddings` format:
//! what is sent, how the answer is read, and correlation and the knowledge base running on it —
//! falling back to word overlap while it fails.

use aurora_domain::vector::cosine;
use aurora_handlers::embeddings::EmbeddingError;
use aurora_tests::embeddings::{embedder, FakeEmbeddings};
use aurora_tests::{audit_is_clean, TestApp};
use serde_json::{json, Value};

use crate::intake::helpers::{deliver, grafana, incidents_until, integration, path_of};
use crate::knowledge::{search, settled, RUNBOOK};

const MODEL: &str = "text-embedding-3-small";
const KEY: &str = "sk-test-embeddings-0001";
const OPENING: &str = "High CPU usage on checkout-api";
const JOINING: &str = "checkout-api processor saturated";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_endpoint_is_asked_as_documented_and_its_answer_read_by_index_and_normalised() {
    let fake = FakeEmbeddings::start().await;
    let endpoint = fake.embedder(MODEL, KEY);
    assert_eq!(
        endpoint.describe(),
        format!("{MODEL} (embeddings endpoint)")
    );
    let texts = [OPENING, JOINING, "TLS certificate expires in 3 days"];
    let got = endpoint.embed(&texts).await.expect("embeds");
    let local = embedder().embed(&texts).await.expect("embeds");
    assert_eq!(got.len(), 3);
    for (mine, reference) in got.iter().zip(&local) {
        // In input order although listed backwards, and unit length although sent scaled.
        assert!(cosine(mine, reference) > 1.0 - 1e-6);
        let norm = mine
            .iter()
            .map(|x| f64::from(*x).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{norm}");
    }
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].authorization.as_deref(),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(
        requests[0].body,
        json!({"model": MODEL, "input": texts, "encoding_format": "float"})
    );
    // Nothing to embed asks nothing.
    assert!(endpoint.embed(&[]).await.expect("nothing").is_empty());
    assert_eq!(fake.requests().len(), 1);

    // An error answer is the endpoint's error, with what it said.
    fake.fail_with(Some(503));
    match endpoint.embed(&["anything"]).await {
        Err(EmbeddingError::Endpoint(said)) => {
            assert!(said.contains("overloaded"), "{said}")
        }
        other => panic!("an endpoint error expected, got {other:?}"),
    }
    fake.fail_with(Some(401));
    assert!(matches!(
        endpoint.embed(&["anything"]).await,
        Err(EmbeddingError::Endpoint(_))
    ));
}

/// The correlation of the incident's alert that was correlated `nth` (0: the first).
fn correlation(detail: &Value, nth: usize) -> Value {
    detail["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .filter_map(|a| a.get("correlation").filter(|c| !c.is_null()))
        .nth(nth)
        .cloned()
        .unwrap_or_else(|| panic!("no correlated alert {nth}: {detail}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correlation_and_the_knowledge_base_run_on_the_endpoint_and_fall_back_while_it_fails() {
    let fake = FakeEmbeddings::start().await;
    let objects = tempfile::tempdir().expect("a temp dir");
    let app = TestApp::launch()
        .embedder(fake.embedder(MODEL, KEY))
        .objects(aurora_handlers::knowledge::ObjectStoreConfig::Local(
            objects.path().to_owned(),
        ))
        .spawn()
        .await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let created = integration(&app, &admin, "grafana", "Prod Grafana").await;
    let (path, secret) = (
        path_of(&created),
        created["secret"].as_str().expect("secret"),
    );
    let alert = |fingerprint: &'static str, title: &'static str| {
        let (app, path) = (&app, &path);
        async move {
            deliver(
                app,
                path,
                Some(secret),
                &grafana(&[("firing", fingerprint, "checkout", title)]),
            )
            .await
            .expect_status(202);
        }
    };
    alert("fp-1", OPENING).await;
    alert("fp-2", JOINING).await;
    let items = incidents_until(&app, &admin, |i| {
        i.len() == 1 && i[0]["correlated_alert_count"].as_i64() == Some(1)
    })
    .await;
    let id = items[0]["id"].as_str().expect("id").to_owned();
    let detail = app
        .get_json(&format!("/api/incidents/{id}"), Some(&admin))
        .await
        .expect_status(200);
    let by_endpoint = correlation(&detail, 0);
    assert_eq!(by_endpoint["title_basis"], "embeddings");
    let v = embedder().embed(&[JOINING, OPENING]).await.expect("embeds");
    let expected = 0.7 * cosine(&v[0], &v[1]).clamp(0.0, 1.0) + 0.3;
    let similarity = by_endpoint["similarity"].as_f64().expect("a number");
    assert!(
        (similarity - expected).abs() < 1e-4,
        "{similarity} vs {expected}"
    );
    let asked: Vec<Value> = fake
        .requests()
        .iter()
        .flat_map(|r| r.body["input"].as_array().cloned().unwrap_or_default())
        .collect();
    assert!(
        asked.contains(&json!(OPENING)) && asked.contains(&json!(JOINING)),
        "{asked:?}"
    );

    // A runbook's chunks are embedded by the endpoint, and found by meaning.
    let uploaded = app
        .upload(Some(&admin), "redis.md", RUNBOOK.as_bytes())
        .await
        .expect_status(202);
    let doc = settled(&app, &admin, uploaded["id"].as_str().expect("id")).await;
    assert_eq!(doc["status"], "ready", "{doc}");
    assert_eq!(
        doc["embedding_model"],
        format!("{MODEL} (embeddings endpoint)")
    );
    let found = search(
        &app,
        &admin,
        json!({"query": "how do I change the cache credentials?", "limit": 2}),
    )
    .await;
    assert_eq!(found["ranked_by"], "hybrid", "{found}");
    assert_eq!(
        found["hits"][0]["heading"], "Rotate the Redis password",
        "{found}"
    );

    // The endpoint down: a search is ranked by keywords and says so, rather than failing.
    fake.fail_with(Some(503));
    let found = search(&app, &admin, json!({"query": "Redis password", "limit": 2})).await;
    assert_eq!(found["ranked_by"], "keyword", "{found}");
    assert_eq!(
        found["hits"][0]["heading"], "Rotate the Redis password",
        "{found}"
    );

    // A new title is compared by word overlap, and the decision says so.
    alert("fp-3", "Checkout pods OOMKilled").await;
    incidents_until(&app, &admin, |i| {
        i.len() == 1 && i[0]["correlated_alert_count"].as_i64() == Some(2)
    })
    .await;
    let detail = app
        .get_json(&format!("/api/incidents/{id}"), Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(
        correlation(&detail, 1)["title_basis"],
        "word_overlap",
        "{detail}"
    );
    fake.fail_with(None);
    audit_is_clean(&app).await;
    app.stop().await;
}
