//! Where files go: an S3-compatible server, names that try to climb out of their prefix, and
//! PDFs.

use std::time::Duration;

use aurora_tests::s3::TestS3;
use aurora_tests::{Answer, TestApp};
use serde_json::json;

use super::{search, settled, RUNBOOK};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_go_to_an_s3_compatible_bucket_under_ids_whatever_their_names() {
    let s3 = TestS3::start().await;
    let app = TestApp::launch().objects(s3.config("kb")).spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let names = [
        "../../../etc/passwd.md",
        "..\\..\\boot.ini.txt",
        "/abs/olute.md",
    ];
    let mut ids = Vec::new();
    for name in names {
        let body = app
            .upload(Some(&admin), name, RUNBOOK.as_bytes())
            .await
            .expect_status(202);
        // Shown back exactly as given.
        assert_eq!(body["filename"], name);
        let id = body["id"].as_str().expect("id").to_owned();
        assert_eq!(settled(&app, &admin, &id).await["status"], "ready");
        ids.push(id);
    }
    let mut keys = s3.keys().await;
    keys.sort();
    let mut expected: Vec<String> = ids
        .iter()
        .map(|id| format!("kb/{}/knowledge/{id}", admin.tenant.as_str()))
        .collect();
    expected.sort();
    assert_eq!(
        keys, expected,
        "every key is the prefix, the tenant and the id"
    );
    let found = search(&app, &admin, json!({"query": "promote replica"})).await;
    assert_eq!(found["hits"][0]["document"], names[0]);
    Answer::of(
        app.request(
            reqwest::Method::DELETE,
            &format!("/api/knowledge-base/documents/{}", ids[0]),
            Some(&admin),
        )
        .send()
        .await,
    )
    .await
    .expect_status(202);
    let started = std::time::Instant::now();
    while s3.keys().await.len() != 2 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the object stays"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.stop().await;
}

/// A one-page PDF whose page says `text` (Helvetica, one line per `\n`).
fn pdf(text: &str) -> Vec<u8> {
    use lopdf::content::{Content, Operation};
    use lopdf::{dictionary, Document, Object, Stream};
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    });
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let mut operations = vec![
        Operation::new("BT", vec![]),
        Operation::new("Tf", vec!["F1".into(), 12.into()]),
        Operation::new("TL", vec![14.into()]),
        Operation::new("Td", vec![50.into(), 780.into()]),
    ];
    for line in text.lines() {
        operations.push(Operation::new("Tj", vec![Object::string_literal(line)]));
        operations.push(Operation::new("T*", vec![]));
    }
    operations.push(Operation::new("ET", vec![]));
    let content = Content { operations };
    let content_id = doc.add_object(Stream::new(
        dictionary! {},
        content.encode().expect("encodes"),
    ));
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1,
            "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).expect("saves");
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pdf_runbook_is_read_and_found() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let file =
        pdf("Kafka consumer lag runbook\nScale the consumer group before resetting offsets.");
    let id = app
        .upload(Some(&admin), "kafka.PDF", &file)
        .await
        .expect_status(202)["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let detail = settled(&app, &admin, &id).await;
    assert_eq!(detail["status"], "ready", "{detail}");
    assert_eq!(detail["kind"], "pdf");
    assert!(detail["chunk_list"][0]["text"]
        .as_str()
        .is_some_and(|t| t.contains("consumer group")));
    let found = search(&app, &admin, json!({"query": "kafka offsets"})).await;
    assert_eq!(found["hits"][0]["document"], "kafka.PDF");
    // Not a PDF inside: stored, then failed with the reason.
    let id = app
        .upload(Some(&admin), "fake.pdf", b"just text")
        .await
        .expect_status(202)["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let failed = settled(&app, &admin, &id).await;
    assert_eq!(failed["reason"], "the file is not a readable PDF");
    app.stop().await;
}
