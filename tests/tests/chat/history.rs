//! A session's history: rebuilt from its events alone, renamed and deleted by its owner only.

use aurora_domain::chat::fold;
use aurora_domain::{ChatEvent, ToolCallStatus};
use aurora_tests::chat::ChatSocket;
use aurora_tests::llm::{Script, Step};
use aurora_tests::Answer;
use serde_json::json;

use super::helpers::{chat, query, session_events, session_of, settled};

#[tokio::test]
async fn the_session_events_alone_rebuild_the_history_the_api_shows() {
    let c = chat(vec![
        Script::new(
            "which instances",
            vec![
                Step::tool(
                    "call_1",
                    "cloud_exec",
                    json!({"provider": "gcloud", "command": "gcloud compute instances list"}),
                ),
                Step::text(&["Two are running."]),
            ],
        ),
        Script::new(
            "and the pods",
            vec![Step::text(&["One pod is crash-looping."])],
        ),
    ])
    .await;
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket
        .send(query("which instances run checkout?", "ask"))
        .await;
    let first = socket.until_end().await;
    let session = session_of(&first);
    socket
        .send(json!({"type": "query", "query": "and the pods?", "session_id": session, "mode": "ask"}))
        .await;
    socket.until_end().await;
    // The second call saw the first exchange as history.
    let last = c.llm.requests().last().cloned().expect("requests");
    let contents: Vec<&str> = last["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert!(contents.contains(&"which instances run checkout?"));
    assert!(contents.contains(&"Two are running."));

    settled(&c.app, &c.admin, session).await;
    let api = c
        .app
        .get_json(&format!("/chat_api/sessions/{session}"), Some(&c.admin))
        .await
        .expect_status(200);
    let rebuilt = fold(session_events(&c.app, &c.admin, session).await);
    assert_eq!(api["messages"], json!(rebuilt.messages));
    assert_eq!(api["tool_calls"], json!(rebuilt.tool_calls));
    assert_eq!(api["gate_decisions"], json!(rebuilt.gate_decisions));
    assert_eq!(api["usage"], json!(rebuilt.usage));
    assert_eq!(rebuilt.messages.len(), 4);
    assert_eq!(rebuilt.tool_calls[0].status, ToolCallStatus::Succeeded);
    assert_eq!(rebuilt.usage.len(), 3, "three model calls");
    let history = api["history"].as_array().expect("history rows");
    assert!(history.iter().any(|h| h["kind"] == "tool_result_recorded"));
}

#[tokio::test]
async fn rename_and_delete_a_session_and_others_cannot_see_it() {
    let c = chat(vec![Script::new("hello", vec![Step::text(&["Hi."])])]).await;
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket.send(query("hello", "ask")).await;
    let session = session_of(&socket.until_end().await);
    settled(&c.app, &c.admin, session).await;
    let path = format!("/chat_api/sessions/{session}");

    let renamed = c
        .app
        .request(reqwest::Method::PATCH, &path, Some(&c.admin))
        .json(&json!({"title": "Greeting"}))
        .send()
        .await
        .expect("a response");
    assert_eq!(renamed.status(), 200);
    let list = c
        .app
        .get_json("/chat_api/sessions", Some(&c.admin))
        .await
        .expect_status(200);
    assert_eq!(list["items"][0]["title"], "Greeting");
    let empty = c
        .app
        .request(reqwest::Method::PATCH, &path, Some(&c.admin))
        .json(&json!({"title": "  "}))
        .send()
        .await
        .expect("a response");
    assert_eq!(empty.status(), 422);

    // A colleague of the same organisation sees nothing of it.
    let bo = c
        .app
        .invite_and_register(&c.admin, "bo@acme.io", "editor")
        .await;
    c.app
        .get_json(&path, Some(&bo))
        .await
        .expect_error(404, "not_found");
    let list = c
        .app
        .get_json("/chat_api/sessions", Some(&bo))
        .await
        .expect_status(200);
    assert_eq!(list["items"], json!([]));
    // Nor can they rename or delete it: the session refuses them, and they are told it is not
    // there, as for a random id.
    let bo_renames = Answer::of(
        c.app
            .request(reqwest::Method::PATCH, &path, Some(&bo))
            .json(&json!({"title": "Mine now"}))
            .send()
            .await,
    )
    .await;
    bo_renames.expect_error(404, "not_found");
    let bo_deletes = Answer::of(
        c.app
            .request(reqwest::Method::DELETE, &path, Some(&bo))
            .send()
            .await,
    )
    .await;
    bo_deletes.expect_error(404, "not_found");
    let events = session_events(&c.app, &c.admin, session).await;
    assert!(
        !events.iter().any(|e| matches!(
            e,
            ChatEvent::Renamed { title, .. } if title == "Mine now"
        ) || matches!(e, ChatEvent::SessionDeleted { .. })),
        "{events:?}"
    );
    let mine = c
        .app
        .get_json(&path, Some(&c.admin))
        .await
        .expect_status(200);
    assert_eq!(mine["title"], "Greeting");

    let deleted = c
        .app
        .request(reqwest::Method::DELETE, &path, Some(&c.admin))
        .send()
        .await
        .expect("a response");
    assert_eq!(deleted.status(), 204);
    c.app
        .get_json(&path, Some(&c.admin))
        .await
        .expect_error(404, "not_found");
    let list = c
        .app
        .get_json("/chat_api/sessions", Some(&c.admin))
        .await
        .expect_status(200);
    assert_eq!(list["items"], json!([]));
    // A deleted session takes no more queries.
    socket
        .send(
            json!({"type": "query", "query": "hello again", "session_id": session, "mode": "ask"}),
        )
        .await;
    let error = socket.until(|f| f["type"] == "error").await;
    assert_eq!(error.last().expect("an error")["code"], "SESSION_NOT_FOUND");
}
