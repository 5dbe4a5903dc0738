//! The per-organisation limits (100 documents, 1 GiB; set lower here as `AURORA_KB_MAX_DOCUMENTS`
//! and `AURORA_KB_MAX_BYTES` would): an upload over one is refused naming it and leaves nothing
//! stored, and uploads at once cannot both pass on the same count.

use std::path::Path;

use aurora_handlers::knowledge::{KnowledgeConfig, TenantLimits};
use aurora_tests::{Account, Answer, TestApp};
use futures::future::join_all;
use serde_json::Value;

/// An app keeping files in `objects` with these limits.
async fn app_with_limits(objects: &Path, limits: TenantLimits) -> TestApp {
    let mut config = KnowledgeConfig::local(objects.to_owned());
    config.limits = limits;
    TestApp::launch().knowledge(config).spawn().await
}

/// The names of the files stored for `account`'s organisation.
fn stored_files(objects: &Path, account: &Account) -> Vec<String> {
    let dir = objects.join(account.tenant.as_str()).join("knowledge");
    let mut names: Vec<String> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .map(|e| {
                e.expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("{}: {e}", dir.display()),
    };
    names.sort();
    names
}

/// The documents recorded for `account`'s organisation (the read model, as the owner reads it).
async fn recorded(app: &TestApp, account: &Account) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT id::text FROM knowledge_documents WHERE tenant_id = $1 AND NOT deleted ORDER BY id",
    )
    .bind(account.tenant.as_str())
    .fetch_all(&app.db.pool)
    .await
    .expect("the documents")
}

fn id_of(answer: &Answer) -> String {
    answer.body["id"].as_str().expect("an id").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_that_would_pass_the_storage_limit_is_refused_naming_it_and_nothing_is_stored() {
    // Arrange: 1000 bytes for the organisation, 600 of them taken.
    let objects = tempfile::tempdir().expect("a temp dir");
    let limits = TenantLimits {
        documents: 100,
        bytes: 1000,
    };
    let app = app_with_limits(objects.path(), limits).await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let first = app
        .upload(Some(&admin), "first.txt", &[b'a'; 600])
        .await
        .expect_status(202)["id"]
        .as_str()
        .expect("an id")
        .to_owned();

    // Act: 401 more bytes would make 1001.
    let refused = app.upload(Some(&admin), "second.txt", &[b'b'; 401]).await;

    // Assert: 409 naming the limit and the usage; no file, no document.
    refused.expect_error(409, "storage_full");
    let message = refused.body["error"]["message"]
        .as_str()
        .expect("a message");
    assert!(
        message.contains("the limit of 1000 bytes") && message.contains("take 600 bytes"),
        "{message}"
    );
    assert_eq!(stored_files(objects.path(), &admin), vec![first.clone()]);
    assert_eq!(recorded(&app, &admin).await, vec![first.clone()]);
    let list = app
        .get_json("/api/knowledge-base/documents", Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(list["usage"]["documents"], 1);
    assert_eq!(list["usage"]["bytes"], 600);
    assert_eq!(list["usage"]["max_bytes"], 1000);
    assert_eq!(list["usage"]["max_documents"], 100);

    // Exactly up to the limit is allowed.
    let last = app.upload(Some(&admin), "last.txt", &[b'c'; 400]).await;
    last.expect_status(202);
    assert_eq!(stored_files(objects.path(), &admin).len(), 2);
    app.stop().await;
}

/// Uploads `count` files of `size` bytes at once; their answers.
async fn at_once(
    app: &TestApp,
    account: &Account,
    prefix: &str,
    count: usize,
    size: usize,
) -> Vec<Answer> {
    let body = vec![b'x'; size];
    let names: Vec<String> = (0..count).map(|i| format!("{prefix}-{i}.txt")).collect();
    join_all(
        names
            .iter()
            .map(|name| app.upload(Some(account), name, &body)),
    )
    .await
}

fn codes(answers: &[Answer]) -> Vec<(u16, Value)> {
    let mut codes: Vec<(u16, Value)> = answers
        .iter()
        .map(|a| (a.status, a.body["error"]["code"].clone()))
        .collect();
    codes.sort_by_key(|(status, _)| *status);
    codes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_at_once_at_the_edge_of_a_limit_let_through_only_what_fits() {
    let objects = tempfile::tempdir().expect("a temp dir");
    let limits = TenantLimits {
        documents: 3,
        bytes: 100,
    };
    let app = app_with_limits(objects.path(), limits).await;
    let admin = app.register("admin@acme.io", "Acme").await;

    // Bytes: five files of 60 bytes at once, room for one.
    let answers = at_once(&app, &admin, "big", 5, 60).await;
    let storage_full = Value::from("storage_full");
    assert_eq!(
        codes(&answers),
        vec![
            (202, Value::Null),
            (409, storage_full.clone()),
            (409, storage_full.clone()),
            (409, storage_full.clone()),
            (409, storage_full),
        ]
    );
    assert_eq!(stored_files(objects.path(), &admin).len(), 1);

    // Documents: five files of 10 bytes at once; the bytes would allow four, the count two more.
    let answers = at_once(&app, &admin, "small", 5, 10).await;
    let too_many = Value::from("too_many_documents");
    assert_eq!(
        codes(&answers),
        vec![
            (202, Value::Null),
            (202, Value::Null),
            (409, too_many.clone()),
            (409, too_many.clone()),
            (409, too_many),
        ]
    );
    let refused = answers.iter().find(|a| a.status == 409).expect("a refusal");
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("the most it may (3)")),
        "{}",
        refused.body
    );

    // What is kept is what was accepted, and within both limits.
    let accepted = accepted_ids(&answers);
    assert_eq!(accepted.len(), 2);
    let documents = recorded(&app, &admin).await;
    assert_eq!(documents.len(), 3);
    assert!(
        accepted.iter().all(|id| documents.contains(id)),
        "{documents:?}"
    );
    assert_eq!(stored_files(objects.path(), &admin).len(), 3);
    let list = app
        .get_json("/api/knowledge-base/documents", Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(list["usage"]["documents"], 3);
    assert_eq!(list["usage"]["bytes"], 80);
    app.stop().await;
}

fn accepted_ids(answers: &[Answer]) -> Vec<String> {
    answers
        .iter()
        .filter(|a| a.status == 202)
        .map(id_of)
        .collect()
}
