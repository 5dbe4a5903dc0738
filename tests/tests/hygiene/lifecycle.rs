//! The request time limit and a graceful shutdown, seen from a raw socket.

use std::time::{Duration, Instant};

use aurora_gateway::api::ApiConfig;
use aurora_tests::{test_api_config, TestApp};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::gateway_with;
use super::raw_http::{post_head, read_continue, read_response};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_slower_than_the_time_limit_is_answered_504_in_json() {
    // Arrange
    let app = gateway_with(ApiConfig {
        request_timeout_secs: 1,
        ..test_api_config()
    })
    .await;
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");
    let partial = r#"{"email":""#;
    assert_eq!(partial.len(), 10);

    // Act: announce 100 bytes of body, send 10, and wait.
    let started = Instant::now();
    stream
        .write_all(format!("{}{partial}", post_head(app.addr, "/api/auth/login", 100)).as_bytes())
        .await
        .expect("send the request head");
    let response = read_response(&mut stream).await;

    // Assert
    assert_eq!(response.status, 504, "{response:?}");
    assert!(
        response
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json")),
        "{response:?}"
    );
    assert_eq!(response.body["error"]["code"], "timeout", "{response:?}");
    assert!(
        response.body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{response:?}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "answered after the limit, not before: {:?}",
        started.elapsed()
    );
    drop(stream);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_down_finishes_the_request_in_flight_then_refuses_connections() {
    // Arrange: a login whose body is half sent when shutdown starts.
    let app = TestApp::spawn().await;
    let addr = app.addr;
    let body = r#"{"email":"nobody@example.com","password":"wrong password"}"#;
    let (first_half, second_half) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head = post_head(addr, "/api/auth/login", body.len()).replacen(
        "\r\n\r\n",
        "\r\nExpect: 100-continue\r\n\r\n",
        1,
    );
    stream
        .write_all(format!("{head}{first_half}").as_bytes())
        .await
        .expect("send the head and half the body");
    // The server answers `Expect: 100-continue` when the route first reads the body: from then
    // on the request is in flight.
    read_continue(&mut stream).await;

    // Act: shut down without waiting; once the server stops accepting, finish the request.
    let stopping = tokio::spawn(app.stop());
    let started = Instant::now();
    while TcpStream::connect(addr).await.is_ok() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the server still accepts connections 10 s after shutdown started"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stream
        .write_all(second_half.as_bytes())
        .await
        .expect("send the rest of the body");
    let response = read_response(&mut stream).await;
    tokio::time::timeout(Duration::from_secs(30), stopping)
        .await
        .expect("shutdown completes within 30 s")
        .expect("the stop task does not panic");
    let after = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr)).await;

    // Assert
    assert_eq!(response.status, 401, "{response:?}");
    assert_eq!(
        response.body["error"]["code"], "invalid_credentials",
        "{response:?}"
    );
    assert!(
        !matches!(after, Ok(Ok(_))),
        "a new connection after shutdown is refused"
    );
}
