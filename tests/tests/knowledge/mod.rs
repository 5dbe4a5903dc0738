//! The knowledge base end to end: upload, processing into chunks, hybrid search, read, delete;
//! bad inputs and limits; settings from the environment; S3-compatible storage; PDFs; the sweep
//! of documents whose process stopped.

mod audit;
mod bad_inputs;
mod corpus;
mod limits;
mod settings;
mod storage;
mod sweep;

use std::time::{Duration, Instant};

use aurora_tests::{audit_is_clean, Account, TestApp};
use serde_json::{json, Value};

pub(crate) const RUNBOOK: &str = "# Redis failover\n\
Intro text about the cluster.\n\n\
## Rotate the Redis password\n\
Create the new password in the secret store, update the ACL with `ACL SETUSER`, roll the \
clients, then remove the old password. Never restart the primary during the rotation.\n\n\
## Promote a replica\n\
When the primary is down, promote the most caught-up replica with `REPLICAOF NO ONE` and \
point the service at it.\n";

/// Waits until document `id` leaves `uploading`/`processing`; its detail then.
pub(crate) async fn settled(app: &TestApp, account: &Account, id: &str) -> Value {
    let started = Instant::now();
    loop {
        let detail = app
            .get_json(
                &format!("/api/knowledge-base/documents/{id}"),
                Some(account),
            )
            .await
            .expect_status(200);
        if detail["status"] == "ready" || detail["status"] == "failed" {
            return detail;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "still {}",
            detail["status"]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn search(app: &TestApp, account: &Account, body: Value) -> Value {
    app.post_json("/api/knowledge-base/search", Some(account), &body)
        .await
        .expect_status(200)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runbook_is_uploaded_chunked_embedded_found_and_deleted() {
    let objects = tempfile::tempdir().expect("a temp dir");
    let app = TestApp::launch()
        .with_embeddings()
        .objects(aurora_handlers::knowledge::ObjectStoreConfig::Local(
            objects.path().to_owned(),
        ))
        .spawn()
        .await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let uploaded = app
        .upload(Some(&admin), "redis.md", RUNBOOK.as_bytes())
        .await
        .expect_status(202);
    assert_eq!(uploaded["filename"], "redis.md");
    assert_eq!(uploaded["kind"], "markdown");
    assert_eq!(uploaded["size_bytes"], RUNBOOK.len());
    let id = uploaded["id"].as_str().expect("an id").to_owned();
    let detail = settled(&app, &admin, &id).await;
    assert_eq!(detail["status"], "ready", "{detail}");
    assert_eq!(detail["chunks"], 3, "intro and two sections: {detail}");
    let chunks = detail["chunk_list"].as_array().expect("chunks");
    assert_eq!(chunks[1]["heading"], "Rotate the Redis password");
    assert!(chunks.iter().all(|c| c["embedded"] == true));
    assert!(detail["embedding_model"]
        .as_str()
        .is_some_and(|m| m.starts_with("all-MiniLM-L6-v2")));

    // Meaning without the words: no chunk says "credentials" or "change".
    let found = search(
        &app,
        &admin,
        json!({"query": "how do I change the cache credentials?", "limit": 2}),
    )
    .await;
    assert_eq!(found["ranked_by"], "hybrid");
    let best = &found["hits"][0];
    assert_eq!(best["heading"], "Rotate the Redis password", "{found}");
    assert_eq!(best["document"], "redis.md");
    assert_eq!(best["document_id"], id.as_str());
    assert!(best["score"].as_f64().is_some_and(|s| s > 0.0 && s <= 1.0));
    assert!(best["snippet"]
        .as_str()
        .is_some_and(|s| s.contains("password")));
    // Keyword only: the words must be there.
    let keyword = search(
        &app,
        &admin,
        json!({"query": "REPLICAOF promote", "mode": "keyword"}),
    )
    .await;
    assert_eq!(keyword["ranked_by"], "keyword");
    assert_eq!(keyword["hits"][0]["heading"], "Promote a replica");
    let list = app
        .get_json("/api/knowledge-base/documents", Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(list["documents"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["usage"]["documents"], 1);
    assert_eq!(list["usage"]["max_documents"], 100);

    // The file is under the tenant's prefix, named by the document's id.
    let file = objects
        .path()
        .join(admin.tenant.as_str())
        .join("knowledge")
        .join(&id);
    assert!(file.exists(), "{}", file.display());
    audit_is_clean(&app).await;

    app.request(
        reqwest::Method::DELETE,
        &format!("/api/knowledge-base/documents/{id}"),
        Some(&admin),
    )
    .send()
    .await
    .expect("delete")
    .error_for_status()
    .expect("202");
    app.get_json(&format!("/api/knowledge-base/documents/{id}"), Some(&admin))
        .await
        .expect_error(404, "not_found");
    let started = Instant::now();
    loop {
        let (chunks,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM knowledge_chunks WHERE document_id = $1::uuid")
                .bind(&id)
                .fetch_one(&app.db.pool)
                .await
                .expect("count");
        if chunks == 0 && !file.exists() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "chunks or file left"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = search(&app, &admin, json!({"query": "redis password"})).await;
    assert_eq!(after["hits"], json!([]));

    // Searches keep the tenant's vectors in memory (the empty set, just now) for up to a minute;
    // a document ready since is found within moments: the projector's notice, sent after its
    // commit, dropped what was kept.
    let kafka = app
        .upload(
            Some(&admin),
            "kafka.md",
            b"# Kafka\n\n## Consumer lag\nWhen consumers fall behind the producers, add partitions and scale the consumer group.\n",
        )
        .await
        .expect_status(202);
    let kafka = kafka["id"].as_str().expect("an id").to_owned();
    assert_eq!(settled(&app, &admin, &kafka).await["status"], "ready");
    let started = Instant::now();
    loop {
        let found = search(
            &app,
            &admin,
            json!({"query": "readers are slower than writers", "mode": "vector"}),
        )
        .await;
        if found["hits"][0]["document_id"] == kafka.as_str() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the new document is not searched: {found}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    audit_is_clean(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_model_search_is_keyword_only_and_chunks_have_no_vectors() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let id = app
        .upload(Some(&admin), "redis.md", RUNBOOK.as_bytes())
        .await
        .expect_status(202)["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let detail = settled(&app, &admin, &id).await;
    assert_eq!(detail["status"], "ready");
    assert_eq!(detail["embedding_model"], Value::Null);
    assert!(detail["chunk_list"]
        .as_array()
        .expect("chunks")
        .iter()
        .all(|c| c["embedded"] == false));
    let found = search(&app, &admin, json!({"query": "rotate the password"})).await;
    assert_eq!(found["ranked_by"], "keyword");
    assert_eq!(found["hits"][0]["heading"], "Rotate the Redis password");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_organisation_sees_none_of_the_documents_chunks_or_hits() {
    let app = TestApp::spawn().await;
    let acme = app.register("admin@acme.io", "Acme").await;
    let other = app.register("admin@other.io", "Other").await;
    let id = app
        .upload(Some(&acme), "redis.md", RUNBOOK.as_bytes())
        .await
        .expect_status(202)["id"]
        .as_str()
        .expect("id")
        .to_owned();
    settled(&app, &acme, &id).await;
    let path = format!("/api/knowledge-base/documents/{id}");
    app.get_json(&path, Some(&other))
        .await
        .expect_error(404, "not_found");
    let deleted = aurora_tests::Answer::of(
        app.request(reqwest::Method::DELETE, &path, Some(&other))
            .send()
            .await,
    )
    .await;
    deleted.expect_error(404, "not_found");
    let list = app
        .get_json("/api/knowledge-base/documents", Some(&other))
        .await
        .expect_status(200);
    assert_eq!(list["documents"], json!([]));
    let found = search(&app, &other, json!({"query": "redis password"})).await;
    assert_eq!(found["hits"], json!([]));
    // Still there for its owner.
    let mine = search(&app, &acme, json!({"query": "redis password"})).await;
    assert!(!mine["hits"].as_array().expect("hits").is_empty());
    app.stop().await;
}
