//! The audit of `knowledge_chunks`: derived from files rather than events, the chunks are
//! derived again and compared — text, count, vectors — and anything off is named.

use aurora_tests::{audit_is_clean, TestApp};
use uuid::Uuid;

use super::{settled, RUNBOOK};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_derives_the_chunks_again_and_names_every_difference() {
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
    let id: Uuid = uploaded["id"].as_str().expect("id").parse().expect("uuid");
    assert_eq!(
        settled(&app, &admin, &id.to_string()).await["status"],
        "ready"
    );
    // Text, count and vectors (re-embedded by the same model) all agree.
    audit_is_clean(&app).await;

    let pool = &app.db.pool;
    let (kb, tenant) = (&app.knowledge, admin.tenant.as_str());
    let found = || async move {
        kb.verify_chunks(pool)
            .await
            .expect("the audit runs")
            .into_iter()
            .map(|d| {
                assert_eq!(d.document, id, "{d}");
                assert_eq!(d.tenant, tenant, "{d}");
                d.what
            })
            .collect::<Vec<_>>()
    };
    let exec = |sql: &'static str| async move {
        sqlx::query(sql)
            .bind(id)
            .execute(pool)
            .await
            .expect("the table changes");
    };

    // A chunk's text edited in the table.
    exec("UPDATE knowledge_chunks SET text = text || ' (edited)' WHERE document_id = $1 AND ordinal = 1").await;
    assert_eq!(
        found().await,
        vec!["chunk 1's heading or text is not its file's"]
    );
    exec("UPDATE knowledge_chunks SET text = replace(text, ' (edited)', '') WHERE document_id = $1 AND ordinal = 1").await;
    assert_eq!(found().await, Vec::<String>::new());

    // A chunk's vector swapped for another's.
    exec("UPDATE knowledge_chunks SET embedding = (SELECT embedding FROM knowledge_chunks WHERE document_id = $1 AND ordinal = 0) WHERE document_id = $1 AND ordinal = 2").await;
    let said = found().await;
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].starts_with("chunk 2's vector is not its text's"),
        "{said:?}"
    );

    // A chunk lost.
    exec("DELETE FROM knowledge_chunks WHERE document_id = $1 AND ordinal = 2").await;
    assert_eq!(found().await, vec!["2 chunks stored, its file gives 3"]);

    // Chunks of a document nobody uploaded.
    let stray = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO knowledge_chunks (tenant_id, document_id, ordinal, heading, text)
         VALUES ($1, $2, 0, NULL, 'stray')",
    )
    .bind(admin.tenant.as_str())
    .bind(stray)
    .execute(pool)
    .await
    .expect("a stray chunk");
    let all = app.knowledge.verify_chunks(pool).await.expect("runs");
    assert!(
        all.iter()
            .any(|d| d.document == stray && d.what == "1 chunks of no document"),
        "{all:?}"
    );
    sqlx::query("DELETE FROM knowledge_chunks WHERE document_id = $1")
        .bind(stray)
        .execute(pool)
        .await
        .expect("gone");

    // The file gone from the store.
    let file = objects
        .path()
        .join(admin.tenant.as_str())
        .join("knowledge")
        .join(id.to_string());
    std::fs::remove_file(&file).expect("the file is there");
    let said = found().await;
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].starts_with("its file ") && said[0].ends_with(" is gone"),
        "{said:?}"
    );
    app.stop().await;
}
