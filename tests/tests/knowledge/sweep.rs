//! The sweep: a document in `processing` is failed once it made no progress for the limit, never
//! while its processing keeps going however long it takes; one left in `uploading` (its process
//! stopped before the file was stored) is failed too.

use std::time::{Duration, Instant};

use aurora_domain::knowledge::{
    DocumentKind, DocumentName, KnowledgeCommand, KnowledgeDocument, Upload,
};
use aurora_gateway::app::Role;
use aurora_handlers::knowledge::{KnowledgeBase, KnowledgeConfig};
use aurora_nats::envelope::Context;
use aurora_nats::AggregateStore;
use aurora_projections::Projector;
use aurora_tests::{wait_for_projection, TestApp};
use chrono::Utc;
use uuid::Uuid;

use super::{settled, RUNBOOK};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_without_progress_for_the_limit_and_unfinished_uploads_are_failed() {
    // Arrange: no handlers role, so nothing processes the uploads.
    let objects = tempfile::tempdir().expect("a temp dir");
    let app = TestApp::launch()
        .roles(vec![Role::Gateway, Role::Projections])
        .knowledge(KnowledgeConfig::local(objects.path().to_owned()))
        .spawn()
        .await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let upload = |name: &'static str| {
        let (app, admin) = (&app, &admin);
        async move {
            let body = app
                .upload(Some(admin), name, RUNBOOK.as_bytes())
                .await
                .expect_status(202);
            assert_eq!(body["status"], "processing");
            Uuid::parse_str(body["id"].as_str().expect("an id")).expect("a UUID")
        }
    };
    let silent = upload("silent.md").await;
    let busy = upload("busy.md").await;
    // A gateway that stopped between recording an upload and storing its file.
    let documents = AggregateStore::<KnowledgeDocument>::new(app.nats.log.clone());
    let unfinished = Uuid::now_v7();
    let recorded = documents
        .execute(
            &admin.tenant,
            unfinished,
            KnowledgeCommand::Upload(Upload {
                filename: DocumentName::parse("unfinished.md").expect("a name"),
                kind: DocumentKind::Markdown,
                size_bytes: 42,
                object_key: aurora_domain::knowledge::object_key(&admin.tenant, unfinished),
                by: admin.email.clone(),
                at: Utc::now(),
            }),
            Context::new_root(),
        )
        .await
        .expect("the store")
        .expect("accepted");
    wait_for_projection(&app.db.pool, Projector::Knowledge, recorded.stream_sequence).await;
    let list = app
        .get_json("/api/knowledge-base/documents", Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(
        list["usage"]["documents"], 3,
        "the unfinished upload counts"
    );

    // Nothing is stuck at the real limit (3 minutes).
    let services = app.services();
    let open = |config: KnowledgeConfig| {
        KnowledgeBase::open(services.log.clone(), config, None).expect("opens")
    };
    let mut config = KnowledgeConfig::local(objects.path().to_owned());
    assert_eq!(
        open(config.clone())
            .sweep(&services.pool)
            .await
            .expect("sweeps"),
        0
    );

    // Act: past a limit of 1 s, with progress reported for `busy` within it (as a handler in
    // another process embedding it would), none for `silent`.
    config.stuck_after = Duration::from_secs(1);
    let kb = open(config);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    aurora_projections::queries::record_knowledge_progress(
        &services.pool,
        admin.tenant.as_str(),
        busy,
        64,
        Utc::now(),
    )
    .await
    .expect("progress recorded");
    let swept = kb.sweep(&services.pool).await.expect("sweeps");

    // Assert: the silent one and the unfinished upload failed, each saying why; the busy one
    // goes on.
    assert_eq!(swept, 2);
    let detail = settled(&app, &admin, &silent.to_string()).await;
    assert_eq!(detail["status"], "failed");
    assert_eq!(
        detail["reason"],
        "stuck in processing: no progress for more than 1 s (its process stopped)"
    );
    let detail = settled(&app, &admin, &unfinished.to_string()).await;
    assert_eq!(detail["status"], "failed");
    assert_eq!(
        detail["reason"],
        "the upload did not finish within 1 s (its process stopped before the file was \
         stored); delete it and upload the file again"
    );
    let detail = app
        .get_json(
            &format!("/api/knowledge-base/documents/{busy}"),
            Some(&admin),
        )
        .await
        .expect_status(200);
    assert_eq!(detail["status"], "processing", "{detail}");
    // Once its progress is as old as the limit, it is failed too.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(kb.sweep(&services.pool).await.expect("sweeps"), 1);
    assert_eq!(
        settled(&app, &admin, &busy.to_string()).await["status"],
        "failed"
    );
    app.stop().await;
}

/// A Markdown file of `sections` short sections, each its own chunk.
fn many_sections(sections: usize) -> String {
    let mut text = String::from("# Replica maintenance\n\n");
    for i in 0..sections {
        text.push_str(&format!(
            "## Step {i}\nOn node {i}, check the replica lag and restart the exporter.\n\n"
        ));
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_still_being_embedded_past_the_limit_is_not_failed() {
    // Arrange: a limit of 3 s, swept every 100 ms, and a document that takes several times as
    // long to embed with the in-process model (600 chunks; ~50 a second in a debug build).
    let objects = tempfile::tempdir().expect("a temp dir");
    let mut config = KnowledgeConfig::local(objects.path().to_owned());
    config.stuck_after = Duration::from_secs(3);
    config.sweep_every = Duration::from_millis(100);
    let app = TestApp::launch()
        .with_embeddings()
        .knowledge(config.clone())
        .spawn()
        .await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let text = many_sections(600);

    // Act
    let uploaded = Instant::now();
    let body = app
        .upload(Some(&admin), "replicas.md", text.as_bytes())
        .await
        .expect_status(202);
    let id = body["id"].as_str().expect("an id").to_owned();
    // Past the limit and still being processed: a sweep now leaves it alone.
    tokio::time::sleep(config.stuck_after + Duration::from_millis(1500)).await;
    let during = app
        .get_json(&format!("/api/knowledge-base/documents/{id}"), Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(
        during["status"],
        "processing",
        "the document must still be processing {:?} after its upload for this test to say \
         anything: {during}",
        uploaded.elapsed()
    );
    assert_eq!(app.knowledge.sweep(&app.db.pool).await.expect("sweeps"), 0);

    // Assert: it ends ready with every chunk, though it took longer than the limit.
    let detail = settled(&app, &admin, &id).await;
    assert_eq!(detail["status"], "ready", "{}", detail["reason"]);
    let chunks = detail["chunks"].as_u64().expect("chunks");
    assert!(chunks >= 600, "{chunks} chunks");
    let created: chrono::DateTime<Utc> =
        serde_json::from_value(detail["created_at"].clone()).expect("a time");
    let ready: chrono::DateTime<Utc> =
        serde_json::from_value(detail["updated_at"].clone()).expect("a time");
    assert!(
        ready - created > chrono::Duration::from_std(config.stuck_after).expect("short"),
        "processing took {} ms",
        (ready - created).num_milliseconds()
    );
    app.stop().await;
}
