//! Refusals: roles, missing parts, file types, names, sizes, the per-organisation limits, and
//! search requests.

use aurora_tests::{Answer, TestApp};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_uploads_and_searches_are_refused_by_name() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let viewer = app
        .invite_and_register(&admin, "viewer@acme.io", "viewer")
        .await;
    app.upload(Some(&viewer), "a.md", b"# A\ntext")
        .await
        .expect_error(403, "forbidden");
    app.upload(None, "a.md", b"# A\ntext")
        .await
        .expect_error(401, "unauthenticated");
    app.upload(Some(&admin), "tool.exe", b"MZ")
        .await
        .expect_error(415, "unsupported_media_type");
    app.upload(Some(&admin), "README", b"no extension")
        .await
        .expect_error(415, "unsupported_media_type");
    // A control character does not even make a multipart header.
    app.upload(Some(&admin), "a\u{1}b.md", b"text")
        .await
        .expect_error(400, "invalid_multipart");
    app.upload(Some(&admin), &format!("{}.md", "n".repeat(300)), b"text")
        .await
        .expect_error(422, "invalid_filename");
    // Not multipart at all, and multipart without a `file` part.
    let not_multipart = app
        .post_json("/api/knowledge-base/documents", Some(&admin), &json!({}))
        .await;
    not_multipart.expect_error(400, "invalid_multipart");
    let no_file = Answer::of(
        app.request(
            reqwest::Method::POST,
            "/api/knowledge-base/documents",
            Some(&admin),
        )
        .header("content-type", "multipart/form-data; boundary=x")
        .body("--x\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nv\r\n--x--\r\n")
        .send()
        .await,
    )
    .await;
    no_file.expect_error(400, "missing_file");
    // Over 50 MiB: 413, naming the limit.
    let big = vec![b'a'; 50 * 1024 * 1024 + 1];
    let too_big = app.upload(Some(&admin), "big.txt", &big).await;
    too_big.expect_error(413, "payload_too_large");
    assert!(
        too_big.body.to_string().contains("52428800"),
        "{}",
        too_big.body
    );
    // A file that is not UTF-8 text is stored, then fails with the reason.
    let id = app
        .upload(Some(&admin), "binary.txt", &[0xff, 0xfe, 0x00, 0x80])
        .await
        .expect_status(202)["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let failed = super::settled(&app, &admin, &id).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["reason"], "the file is not UTF-8 text");
    // Search requests.
    for (body, code) in [
        (json!({"query": ""}), "invalid_query"),
        (json!({"query": "x".repeat(1001)}), "invalid_query"),
        (json!({"query": "x", "limit": 0}), "invalid_limit"),
        (json!({"query": "x", "limit": 21}), "invalid_limit"),
    ] {
        app.post_json("/api/knowledge-base/search", Some(&admin), &body)
            .await
            .expect_error(422, code);
    }
    app.post_json(
        "/api/knowledge-base/search",
        Some(&admin),
        &json!({"query": "x", "mode": "psychic"}),
    )
    .await
    .expect_error(400, "invalid_body");
    app.get_json("/api/knowledge-base/documents/not-a-uuid", Some(&admin))
        .await
        .expect_error(400, "invalid_id");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hundred_and_first_document_is_refused_until_one_is_deleted() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let mut first = None;
    for i in 0..100 {
        let body = app
            .upload(Some(&admin), &format!("note-{i}.txt"), b"a short note")
            .await
            .expect_status(202);
        first.get_or_insert(body["id"].as_str().expect("id").to_owned());
    }
    let refused = app.upload(Some(&admin), "one-more.txt", b"x").await;
    refused.expect_error(409, "too_many_documents");
    assert!(refused.body.to_string().contains("100"), "{}", refused.body);
    let first = first.expect("an id");
    Answer::of(
        app.request(
            reqwest::Method::DELETE,
            &format!("/api/knowledge-base/documents/{first}"),
            Some(&admin),
        )
        .send()
        .await,
    )
    .await
    .expect_status(202);
    app.upload(Some(&admin), "one-more.txt", b"x")
        .await
        .expect_status(202);
    app.stop().await;
}
