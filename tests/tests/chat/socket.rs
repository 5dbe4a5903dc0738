//! The socket itself: tickets, bad frames, the query limit, and several gateways serving one session.

use aurora_tests::chat::{streamed_text, ChatSocket};
use aurora_tests::llm::{Script, Step};
use serde_json::json;

use super::helpers::{agent_config, chat, query, session_of};

#[tokio::test]
async fn tickets_are_single_use_and_required() {
    let c = chat(vec![]).await;
    let ticket = c
        .app
        .get_json("/api/ws-token", Some(&c.admin))
        .await
        .expect_status(200);
    assert_eq!(ticket["expires_in"], 120);
    let token = ticket["token"].as_str().expect("a token");
    let url = format!(
        "{}/ws/chat?token={token}",
        c.app.base_url.replacen("http", "ws", 1)
    );
    let (first, _) = tokio_tungstenite::connect_async(&url)
        .await
        .expect("the first use opens");
    drop(first);
    let second = tokio_tungstenite::connect_async(&url).await;
    match second {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401)
        }
        other => panic!("a used ticket must be refused, got {other:?}"),
    }
    c.app
        .get_json("/ws/chat", None)
        .await
        .expect_error(401, "missing_token");
    c.app
        .get_json("/ws/chat?token=aurora_w_nonsense", None)
        .await
        .expect_error(401, "invalid_token");
    c.app
        .get_json("/api/ws-token", None)
        .await
        .expect_error(401, "unauthenticated");
}

#[tokio::test]
async fn bad_frames_get_error_codes_and_the_socket_stays_open() {
    let c = chat(vec![Script::new(
        "still there",
        vec![Step::text(&["Yes."])],
    )])
    .await;
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    let cases = [
        ("not json".to_owned(), "BAD_FRAME"),
        (json!({"type": "subscribe"}).to_string(), "UNKNOWN_TYPE"),
        (json!({"type": "query"}).to_string(), "BAD_FRAME"),
        (
            json!({"type": "query", "query": "x", "mode": "god"}).to_string(),
            "BAD_FRAME",
        ),
        (
            json!({"type": "query", "query": "   "}).to_string(),
            "EMPTY_QUERY",
        ),
        (
            json!({"type": "query", "query": "x".repeat(100_000)}).to_string(),
            "QUERY_TOO_LONG",
        ),
        (
            json!({"type": "control", "action": "cancel"}).to_string(),
            "BAD_FRAME",
        ),
        (
            json!({"type": "query", "query": "x".repeat(11 * 1024 * 1024)}).to_string(),
            "FRAME_TOO_LARGE",
        ),
    ];
    for (frame, code) in cases {
        socket.send_text(frame).await;
        let error = socket.next().await;
        assert_eq!(error["type"], "error", "{error}");
        assert_eq!(error["code"], code, "{error}");
        assert!(!error["text"].as_str().unwrap_or_default().is_empty());
    }
    socket.send(query("still there?", "ask")).await;
    let frames = socket.until_end().await;
    assert_eq!(streamed_text(&frames), "Yes.");
}

#[tokio::test]
async fn a_sixth_query_within_a_minute_is_refused() {
    let c = chat(vec![Script::new("ping", vec![Step::text(&["pong"])])]).await;
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    for _ in 0..5 {
        socket.send(query("ping", "ask")).await;
        socket.until_end().await;
    }
    socket.send(query("ping", "ask")).await;
    let error = socket.next().await;
    assert_eq!(error["code"], "RATE_LIMITED", "{error}");
}

#[tokio::test]
async fn the_query_limit_holds_across_gateways() {
    let c = chat(vec![Script::new("ping", vec![Step::text(&["pong"])])]).await;
    let work = tempfile::tempdir().expect("a work dir");
    let other = c
        .app
        .second_gateway(agent_config(Some(&c.llm), &c.clis, work.path()))
        .await;
    let mut here = ChatSocket::open(&c.app, &c.admin, None).await;
    let mut there = ChatSocket::open_at(&c.app, &other, &c.admin, None).await;
    for i in 0..5 {
        let socket = if i % 2 == 0 { &mut here } else { &mut there };
        socket.send(query("ping", "ask")).await;
        assert_eq!(streamed_text(&socket.until_end().await), "pong");
    }
    for socket in [&mut here, &mut there] {
        socket.send(query("ping", "ask")).await;
        assert_eq!(socket.next().await["code"], "RATE_LIMITED");
    }
}

#[tokio::test]
async fn two_gateways_serve_the_same_session() {
    let c = chat(vec![
        Script::new("first", vec![Step::text(&["one"])]),
        Script::new("second", vec![Step::text(&["shared ", "by ", "both"])]),
    ])
    .await;
    let work = tempfile::tempdir().expect("a work dir");
    let other = c
        .app
        .second_gateway(agent_config(Some(&c.llm), &c.clis, work.path()))
        .await;
    let mut on_first = ChatSocket::open(&c.app, &c.admin, None).await;
    on_first.send(query("first", "ask")).await;
    let session = session_of(&on_first.until_end().await);

    // The same user on the other gateway opens the session and asks; both sockets see the run.
    let mut on_second = ChatSocket::open_at(&c.app, &other, &c.admin, Some(session)).await;
    on_second
        .send(json!({"type": "query", "query": "second", "session_id": session, "mode": "ask"}))
        .await;
    let seen_there = on_second.until_end().await;
    let seen_here = on_first.until_end().await;
    assert_eq!(streamed_text(&seen_there), "shared by both");
    assert_eq!(streamed_text(&seen_here), "shared by both");
    assert_eq!(session_of(&seen_there), session);
}
