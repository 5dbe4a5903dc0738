//! The knowledge base set up by environment variables, read as `aurora` reads them
//! (`KnowledgeConfig::from_vars`): `AURORA_OBJECT_STORE_URL` + `AWS_*` put the files in a real
//! S3-compatible server, `AURORA_KB_ALPHA` weighs hybrid search, `AURORA_KB_MAX_DOCUMENTS`
//! limits what an organisation keeps.

use aurora_handlers::knowledge::KnowledgeConfig;
use aurora_handlers::Variables;
use aurora_tests::s3::TestS3;
use aurora_tests::TestApp;
use serde_json::{json, Value};

use super::{search, settled, RUNBOOK};

/// Each hit's document, chunk and score.
fn ranking(found: &Value) -> Vec<(Value, Value, Value)> {
    found["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|h| {
            (
                h["document_id"].clone(),
                h["chunk"].clone(),
                h["score"].clone(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environment_variables_choose_the_bucket_the_search_weights_and_the_limits() {
    // Arrange: the variables an operator would set.
    let s3 = TestS3::start().await;
    let data = tempfile::tempdir().expect("a data dir");
    let vars: Variables = [
        (
            "AURORA_OBJECT_STORE_URL",
            format!("s3://{}/from-env", s3.bucket),
        ),
        ("AWS_ENDPOINT", s3.endpoint.clone()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("AWS_ALLOW_HTTP", "true".to_owned()),
        ("AURORA_KB_ALPHA", "1".to_owned()),
        ("AURORA_KB_MAX_DOCUMENTS", "1".to_owned()),
    ]
    .into_iter()
    .collect();
    let config = KnowledgeConfig::from_vars(data.path(), &vars).expect("valid settings");
    let app = TestApp::launch()
        .with_embeddings()
        .knowledge(config)
        .spawn()
        .await;
    let admin = app.register("admin@acme.io", "Acme").await;

    // Act
    let id = app
        .upload(Some(&admin), "redis.md", RUNBOOK.as_bytes())
        .await
        .expect_status(202)["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    assert_eq!(settled(&app, &admin, &id).await["status"], "ready");

    // Assert: the file is in the bucket under the URL's prefix, none under the data dir.
    assert_eq!(
        s3.keys().await,
        vec![format!("from-env/{}/knowledge/{id}", admin.tenant.as_str())]
    );
    assert!(!data.path().join("objects").exists());
    // Alpha 1: hybrid search ranks and scores exactly as the vectors alone do, while the words
    // alone would rank the chunks otherwise.
    let query = "what to do when the primary is down";
    let hybrid = search(&app, &admin, json!({"query": query, "limit": 3})).await;
    assert_eq!(hybrid["ranked_by"], "hybrid");
    let vector = search(
        &app,
        &admin,
        json!({"query": query, "limit": 3, "mode": "vector"}),
    )
    .await;
    assert_eq!(ranking(&hybrid), ranking(&vector));
    assert_eq!(hybrid["hits"].as_array().map(Vec::len), Some(3));
    let keyword = search(
        &app,
        &admin,
        json!({"query": query, "limit": 3, "mode": "keyword"}),
    )
    .await;
    assert_ne!(ranking(&hybrid), ranking(&keyword));
    // One document at most.
    let refused = app.upload(Some(&admin), "kafka.md", b"# Kafka\nlag").await;
    refused.expect_error(409, "too_many_documents");
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("the most it may (1)")),
        "{}",
        refused.body
    );
    app.stop().await;
}
