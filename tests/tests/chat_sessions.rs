//! Sessions the way upstream's UI makes them: a `query` frame naming an id the client picked
//! starts that session (and never someone else's), and the REST shapes: create, read and post
//! messages, bulk delete — each with its bad inputs.

use std::time::Duration;

use aurora_domain::ChatEvent;
use aurora_tests::chat::{streamed_text, ChatSocket};
use aurora_tests::llm::{Script, Step};
use aurora_tests::{Account, Answer, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::chat::helpers::{chat, query, session_events, session_of, settled};

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    who: &Account,
    body: Option<Value>,
) -> Answer {
    let request = app.request(method, path, Some(who));
    let request = match body {
        Some(body) => request.json(&body),
        None => request,
    };
    Answer::of(request.send().await).await
}

async fn bulk(app: &TestApp, who: &Account, body: Option<Value>) -> Answer {
    send(
        app,
        Method::DELETE,
        "/chat_api/sessions/bulk-delete",
        who,
        body,
    )
    .await
}

/// Polls the session's messages until `done` holds (the answer is written asynchronously).
async fn messages_until(
    app: &TestApp,
    who: &Account,
    session: Uuid,
    after: usize,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let path = format!("/chat_api/sessions/{session}/messages?after={after}");
    let started = std::time::Instant::now();
    loop {
        let page = app.get_json(&path, Some(who)).await.expect_status(200);
        if done(&page) {
            return page;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "never: {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_query_naming_a_fresh_session_id_starts_that_session_for_the_caller() {
    let c = chat(vec![Script::new("hello", vec![Step::text(&["Hi."])])]).await;
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    let picked = Uuid::new_v4();
    socket
        .send(json!({"type": "query", "query": "hello", "session_id": picked, "mode": "ask"}))
        .await;
    let frames = socket.until_end().await;
    assert_eq!(session_of(&frames), picked);
    assert_eq!(streamed_text(&frames), "Hi.");
    settled(&c.app, &c.admin, picked).await;
    let session = c
        .app
        .get_json(&format!("/chat_api/sessions/{picked}"), Some(&c.admin))
        .await
        .expect_status(200);
    assert_eq!(session["title"], "hello");
    assert_eq!(session["messages"].as_array().map(Vec::len), Some(2));
    // The same id again is a follow-up in that session, not a new one.
    socket
        .send(json!({"type": "query", "query": "hello again", "session_id": picked}))
        .await;
    assert_eq!(session_of(&socket.until_end().await), picked);
    let list = c
        .app
        .get_json("/chat_api/sessions", Some(&c.admin))
        .await
        .expect_status(200);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    // A socket may also open on the id it is about to use.
    let fresh = Uuid::new_v4();
    let mut watching = ChatSocket::open(&c.app, &c.admin, Some(fresh)).await;
    watching
        .send(json!({"type": "query", "query": "hello", "session_id": fresh}))
        .await;
    assert_eq!(session_of(&watching.until_end().await), fresh);
}

#[tokio::test]
async fn a_query_naming_another_users_or_tenants_session_is_refused_and_changes_nothing() {
    let c = chat(vec![Script::new("hello", vec![Step::text(&["Hi."])])]).await;
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket.send(query("hello", "ask")).await;
    let session = session_of(&socket.until_end().await);
    settled(&c.app, &c.admin, session).await;
    let before = session_events(&c.app, &c.admin, session).await;

    let bo = c
        .app
        .invite_and_register(&c.admin, "bo@acme.io", "editor")
        .await;
    let globex = c.app.register("gus@globex.io", "Globex").await;
    for intruder in [&bo, &globex] {
        let mut theirs = ChatSocket::open(&c.app, intruder, None).await;
        for mode in ["ask", "agent"] {
            theirs
                .send(json!({"type": "query", "query": "hello, mine now", "session_id": session, "mode": mode}))
                .await;
            let error = theirs.next().await;
            assert_eq!(error["type"], "error", "{}: {error}", intruder.email);
            assert_eq!(error["code"], "SESSION_NOT_FOUND", "{error}");
        }
        theirs.close().await;
    }
    // Nor can a deleted session of one's own be asked in again, nor reopened by its id.
    let deleted = send(
        &c.app,
        Method::DELETE,
        &format!("/chat_api/sessions/{session}"),
        &c.admin,
        None,
    )
    .await;
    assert_eq!(deleted.status, 204);
    socket
        .send(json!({"type": "query", "query": "hello", "session_id": session}))
        .await;
    assert_eq!(socket.next().await["code"], "SESSION_NOT_FOUND");

    let after = session_events(&c.app, &c.admin, session).await;
    assert_eq!(after.len(), before.len() + 1, "only the owner's delete");
    assert!(matches!(
        after.last(),
        Some(ChatEvent::SessionDeleted { .. })
    ));
    // Globex has no session of that id either: nothing was started there.
    let theirs = c
        .app
        .get_json(&format!("/chat_api/sessions/{session}"), Some(&globex))
        .await;
    theirs.expect_error(404, "not_found");
    assert!(session_events(&c.app, &globex, session).await.is_empty());
}

#[tokio::test]
async fn a_session_is_made_asked_and_read_over_rest_as_upstreams_ui_does() {
    let c = chat(vec![Script::new(
        "hello",
        vec![Step::text(&["Hi ", "there."])],
    )])
    .await;
    let made = c
        .app
        .post_json("/chat_api/sessions", Some(&c.admin), &json!({}))
        .await
        .expect_status(201);
    assert_eq!(made["title"], "New chat");
    assert_eq!(made["mode"], "ask");
    let id: Uuid = serde_json::from_value(made["id"].clone()).expect("an id");
    let titled = c
        .app
        .post_json(
            "/chat_api/sessions",
            Some(&c.admin),
            &json!({"title": "  Checkout latency ", "mode": "agent"}),
        )
        .await
        .expect_status(201);
    assert_eq!(titled["title"], "Checkout latency");
    assert_eq!(titled["mode"], "agent");
    let list = c
        .app
        .get_json("/chat_api/sessions", Some(&c.admin))
        .await
        .expect_status(200);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2));

    let empty = c
        .app
        .get_json(&format!("/chat_api/sessions/{id}/messages"), Some(&c.admin))
        .await
        .expect_status(200);
    assert_eq!(
        empty,
        json!({"session_id": id, "status": "active", "seq": 0, "messages": []})
    );

    let posted = c
        .app
        .post_json(
            &format!("/chat_api/sessions/{id}/messages"),
            Some(&c.admin),
            &json!({"message": "hello"}),
        )
        .await
        .expect_status(202);
    assert_eq!(posted["session_id"], id.to_string());
    assert_eq!(posted["seq"], 0);
    assert_eq!(posted["status"], "in_progress");
    let page = messages_until(&c.app, &c.admin, id, 0, |p| {
        p["messages"].as_array().map(Vec::len) == Some(2) && p["status"] == "active"
    })
    .await;
    assert_eq!(page["seq"], 2);
    assert_eq!(page["messages"][0]["role"], "user");
    assert_eq!(page["messages"][0]["text"], "hello");
    assert_eq!(page["messages"][0]["message_id"], posted["message_id"]);
    assert_eq!(page["messages"][1]["role"], "assistant");
    assert_eq!(page["messages"][1]["text"], "Hi there.");
    let tail = c
        .app
        .get_json(
            &format!("/chat_api/sessions/{id}/messages?after=1"),
            Some(&c.admin),
        )
        .await
        .expect_status(200);
    assert_eq!(tail["messages"].as_array().map(Vec::len), Some(1));
    assert_eq!(tail["messages"][0]["text"], "Hi there.");
    let past_the_end = c
        .app
        .get_json(
            &format!("/chat_api/sessions/{id}/messages?after=9"),
            Some(&c.admin),
        )
        .await
        .expect_status(200);
    assert_eq!(past_the_end["messages"], json!([]));
    assert_eq!(past_the_end["seq"], 2);
}

#[tokio::test]
async fn the_session_routes_refuse_bad_input_and_others_sessions() {
    let c = chat(vec![Script::new("hello", vec![Step::text(&["Hi."])])]).await;
    let app = &c.app;
    let admin = &c.admin;
    let bo = app.invite_and_register(admin, "bo@acme.io", "editor").await;
    let cy = app.invite_and_register(admin, "cy@acme.io", "viewer").await;
    let mine: Uuid = serde_json::from_value(
        app.post_json("/chat_api/sessions", Some(admin), &json!({}))
            .await
            .expect_status(201)["id"]
            .clone(),
    )
    .expect("an id");

    // Create: the body must be a JSON object of known fields with a usable title.
    let no_body = send(app, Method::POST, "/chat_api/sessions", admin, None).await;
    no_body.expect_error(415, "unsupported_media_type");
    for (body, status, code) in [
        (json!({"title": "   "}), 422, "invalid_title"),
        (json!({"title": "x".repeat(201)}), 422, "invalid_title"),
        (json!({"title": 5}), 400, "invalid_body"),
        (json!({"mode": "god"}), 400, "invalid_body"),
        (json!({"owner": "someone"}), 400, "invalid_body"),
    ] {
        app.post_json("/chat_api/sessions", Some(admin), &body)
            .await
            .expect_error(status, code);
    }

    // Read messages: a malformed id or position, someone else's or an unknown session.
    app.get_json("/chat_api/sessions/not-a-uuid/messages", Some(admin))
        .await
        .expect_error(400, "invalid_id");
    for after in ["-1", "x"] {
        app.get_json(
            &format!("/chat_api/sessions/{mine}/messages?after={after}"),
            Some(admin),
        )
        .await
        .expect_error(400, "invalid_query");
    }
    for (who, id) in [(&bo, mine), (admin, Uuid::new_v4())] {
        app.get_json(&format!("/chat_api/sessions/{id}/messages"), Some(who))
            .await
            .expect_error(404, "not_found");
    }

    // Post a message: the same, plus an empty or missing message, and agent mode for viewers.
    let post = |id: String, who: &Account, body: Value| {
        let path = format!("/chat_api/sessions/{id}/messages");
        let who = who.clone();
        async move { app.post_json(&path, Some(&who), &body).await }
    };
    post("not-a-uuid".into(), admin, json!({"message": "hello"}))
        .await
        .expect_error(400, "invalid_id");
    post(mine.to_string(), admin, json!({}))
        .await
        .expect_error(400, "invalid_body");
    post(mine.to_string(), admin, json!({"message": "  "}))
        .await
        .expect_error(400, "empty_message");
    post(
        mine.to_string(),
        admin,
        json!({"message": "x".repeat(100_000)}),
    )
    .await
    .expect_error(400, "message_too_long");
    post(
        mine.to_string(),
        admin,
        json!({"message": "hello", "model": "gpt-9"}),
    )
    .await
    .expect_error(422, "model_not_allowed");
    post(mine.to_string(), &bo, json!({"message": "hello"}))
        .await
        .expect_error(404, "not_found");
    post(
        Uuid::new_v4().to_string(),
        admin,
        json!({"message": "hello"}),
    )
    .await
    .expect_error(404, "not_found");
    let no_body = send(
        app,
        Method::POST,
        &format!("/chat_api/sessions/{mine}/messages"),
        admin,
        None,
    )
    .await;
    no_body.expect_error(415, "unsupported_media_type");
    let viewers: Uuid = serde_json::from_value(
        app.post_json("/chat_api/sessions", Some(&cy), &json!({}))
            .await
            .expect_status(201)["id"]
            .clone(),
    )
    .expect("an id");
    post(
        viewers.to_string(),
        &cy,
        json!({"message": "hello", "mode": "agent"}),
    )
    .await
    .expect_error(403, "forbidden");
    post(
        viewers.to_string(),
        &cy,
        json!({"message": "hello", "mode": "ask"}),
    )
    .await
    .expect_status(202);
    messages_until(app, &cy, viewers, 0, |p| {
        p["messages"].as_array().map(Vec::len) == Some(2)
    })
    .await;
    assert!(session_events(app, &cy, viewers)
        .await
        .iter()
        .all(|e| !matches!(e, ChatEvent::SessionDeleted { .. })));

    // Bulk delete: 1 to 100 well-formed ids; what is not the caller's is named, not touched.

    bulk(app, admin, None)
        .await
        .expect_error(415, "unsupported_media_type");
    bulk(app, admin, Some(json!({})))
        .await
        .expect_error(400, "invalid_body");
    bulk(app, admin, Some(json!({"ids": []})))
        .await
        .expect_error(400, "invalid_ids");
    bulk(app, admin, Some(json!({"ids": ["not-a-uuid"]})))
        .await
        .expect_error(400, "invalid_body");
    let many: Vec<Uuid> = (0..101).map(|_| Uuid::new_v4()).collect();
    bulk(app, admin, Some(json!({"ids": many})))
        .await
        .expect_error(400, "invalid_ids");
    let unknown = Uuid::new_v4();
    let answer = bulk(app, &bo, Some(json!({"ids": [mine, viewers, unknown]})))
        .await
        .expect_status(200);
    assert_eq!(answer["deleted"], json!([]));
    assert_eq!(answer["not_found"].as_array().map(Vec::len), Some(3));
    app.get_json(&format!("/chat_api/sessions/{mine}"), Some(admin))
        .await
        .expect_status(200);
    let other: Uuid = serde_json::from_value(
        app.post_json("/chat_api/sessions", Some(admin), &json!({}))
            .await
            .expect_status(201)["id"]
            .clone(),
    )
    .expect("an id");
    let answer = bulk(
        app,
        admin,
        Some(json!({"ids": [mine, other, viewers, mine]})),
    )
    .await
    .expect_status(200);
    let mut deleted: Vec<Uuid> = serde_json::from_value(answer["deleted"].clone()).expect("ids");
    deleted.sort();
    let mut expected = vec![mine, other];
    expected.sort();
    assert_eq!(deleted, expected);
    assert_eq!(answer["not_found"], json!([viewers]));
    let list = app
        .get_json("/chat_api/sessions", Some(admin))
        .await
        .expect_status(200);
    assert_eq!(
        list["items"],
        json!([]),
        "the read model shows the deletes at once"
    );
    // Deleting again: nothing of the caller's is left under those ids.
    let again = bulk(app, admin, Some(json!({"ids": [mine]})))
        .await
        .expect_status(200);
    assert_eq!(again["not_found"], json!([mine]));
    app.get_json(&format!("/chat_api/sessions/{viewers}"), Some(&cy))
        .await
        .expect_status(200);
}
