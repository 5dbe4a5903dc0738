//! What every request goes through, end to end over TCP: JSON errors for unknown routes and
//! methods and for bad bodies, rate limits, security headers and cookies, request ids, CORS, the
//! request time limit, graceful shutdown, and the OpenAPI document against the mounted routes.

use std::time::{Duration, Instant};

use aurora_gateway::api::ApiConfig;
use aurora_gateway::app::Role;
use aurora_tests::{test_api_config, Answer, TestApp};
use reqwest::header::{self, HeaderMap};
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use uuid::Uuid;

/// How long a raw-socket read may take before the test fails instead of hanging.
const READ_LIMIT: Duration = Duration::from_secs(10);

/// The app serving HTTP only (no projections or command handlers): enough when nobody registers.
async fn gateway_with(config: ApiConfig) -> TestApp {
    TestApp::spawn_with(vec![Role::Gateway], config).await
}

/// Asserts an error answer in the one JSON shape, sent as JSON.
fn assert_json_error(answer: &Answer, status: u16, code: &str) {
    answer.expect_error(status, code);
    let content_type = answer
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        content_type.starts_with("application/json"),
        "an error is sent as JSON, not {content_type:?}: {}",
        answer.body
    );
}

fn message(answer: &Answer) -> &str {
    answer.body["error"]["message"].as_str().unwrap_or("")
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A POST of `body` as-is with `content_type`.
async fn post_raw(app: &TestApp, path: &str, content_type: &str, body: &str) -> Answer {
    Answer::of(
        app.request(Method::POST, path, None)
            .header(header::CONTENT_TYPE, content_type)
            .body(body.to_owned())
            .send()
            .await,
    )
    .await
}

/// Sends `count` requests made by `request` and returns the 1-based index of the first one answered
/// 429, with that answer (`None` when none was).
async fn first_refusal<F>(count: usize, mut request: F) -> Option<(usize, Answer)>
where
    F: FnMut() -> reqwest::RequestBuilder,
{
    for n in 1..=count {
        let answer = Answer::of(request().send().await).await;
        if answer.status == 429 {
            return Some((n, answer));
        }
        assert!(
            answer.status < 400 || answer.status == 401,
            "request {n} failed otherwise: {} {}",
            answer.status,
            answer.body
        );
    }
    None
}

/// Asserts a rate-limit refusal: 429 `rate_limited`, `Retry-After` ≥ 1 s, the limit named.
fn assert_rate_limited(answer: &Answer, limit: &str) {
    assert_json_error(answer, 429, "rate_limited");
    let retry_after = header_text(&answer.headers, "retry-after")
        .unwrap_or_else(|| panic!("a 429 says when to retry: {:?}", answer.headers));
    let seconds: u64 = retry_after
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("Retry-After is whole seconds, not {retry_after:?}"));
    assert!(seconds >= 1, "Retry-After {seconds}");
    assert!(
        message(answer).contains(&format!("rate limit {limit} ")),
        "the refusal names the {limit} limit: {}",
        answer.body
    );
}

/// An HTTP/1.1 response read from a raw socket.
#[derive(Debug)]
struct RawResponse {
    status: u16,
    head: String,
    body: Value,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then_some(value.trim())
        })
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The body of a chunked transfer, once its last chunk arrived.
fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = find(data, b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        if data.len() < size + 2 {
            return None;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// The response in `buf` if it is complete (`at_eof`: the server closed the connection).
fn complete_response(buf: &[u8], at_eof: bool) -> Option<RawResponse> {
    let head_end = find(buf, b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP status line: {head}"));
    let mut response = RawResponse {
        status,
        head,
        body: Value::Null,
    };
    let rest = &buf[head_end + 4..];
    let body = if let Some(length) = response.header("content-length") {
        let length: usize = length.parse().expect("a numeric Content-Length");
        if rest.len() < length {
            return None;
        }
        rest[..length].to_vec()
    } else if response
        .header("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        dechunk(rest)?
    } else if at_eof {
        rest.to_vec()
    } else {
        return None;
    };
    response.body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Some(response)
}

/// Reads one whole response from `stream` (fails the test after [`READ_LIMIT`]).
async fn read_response(stream: &mut TcpStream) -> RawResponse {
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(response) = complete_response(&buf, false) {
                return response;
            }
            let n = stream.read(&mut chunk).await.unwrap_or_else(|e| {
                panic!(
                    "reading the response failed: {e}; got so far: {:?}",
                    String::from_utf8_lossy(&buf)
                )
            });
            if n == 0 {
                return complete_response(&buf, true).unwrap_or_else(|| {
                    panic!(
                        "the connection closed before a whole response: {:?}",
                        String::from_utf8_lossy(&buf)
                    )
                });
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(READ_LIMIT, read)
        .await
        .expect("a response within 10 s")
}

/// Reads the interim `100 Continue` (and nothing after it) that the server sends to a request
/// with `Expect: 100-continue` once the route starts reading the body.
async fn read_continue(stream: &mut TcpStream) {
    let mut head = Vec::new();
    let read = async {
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            let n = stream
                .read(&mut byte)
                .await
                .expect("reading the interim response");
            assert_eq!(
                n,
                1,
                "the connection closed before 100 Continue: {:?}",
                String::from_utf8_lossy(&head)
            );
            head.push(byte[0]);
        }
    };
    tokio::time::timeout(READ_LIMIT, read)
        .await
        .expect("100 Continue within 10 s: the server never started reading the body");
    assert!(
        head.starts_with(b"HTTP/1.1 100 "),
        "expected 100 Continue, got {:?}",
        String::from_utf8_lossy(&head)
    );
}

/// The head of a JSON POST whose body is `length` bytes long.
fn post_head(addr: std::net::SocketAddr, path: &str, length: usize) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )
}

/// `template` with every `{param}` replaced by a random UUID.
fn fill_params(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..]
            .find('}')
            .map(|c| open + c)
            .unwrap_or_else(|| panic!("unclosed parameter in {template}"));
        out.push_str(&Uuid::new_v4().to_string());
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

fn cookie_attributes(cookie: &str) -> Vec<String> {
    cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect()
}

/// Registers through the API and returns the `Set-Cookie` it answered with.
async fn register_cookie(app: &TestApp, email: &str) -> String {
    let answer = app
        .post_json(
            "/api/auth/register",
            None,
            &json!({ "email": email, "password": "correct horse battery", "organization": "Hygiene" }),
        )
        .await;
    let cookie = header_text(&answer.headers, "set-cookie")
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("registering sets the session cookie: {:?}", answer.headers));
    answer.expect_status(201);
    cookie
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_route_is_404_and_a_wrong_method_is_405_both_in_json() {
    // Arrange
    let app = TestApp::spawn().await;
    let account = app.register("ops@routes.example", "Routes").await;

    // Act
    let unknown = app.get_json("/api/no-such-thing", Some(&account)).await;
    let wrong_method = Answer::of(
        app.request(Method::DELETE, "/api/incidents", Some(&account))
            .send()
            .await,
    )
    .await;

    // Assert
    assert_json_error(&unknown, 404, "not_found");
    assert!(
        message(&unknown).contains("/api/no-such-thing"),
        "{}",
        unknown.body
    );
    assert_json_error(&wrong_method, 405, "method_not_allowed");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_413_in_json() {
    // Arrange
    let app = gateway_with(ApiConfig {
        body_limit: 1024,
        ..test_api_config()
    })
    .await;
    let big = json!({ "email": "a@b.c", "password": "x".repeat(10 * 1024) });

    // Act
    let answer = app.post_json("/api/auth/login", None, &big).await;

    // Assert
    assert_json_error(&answer, 413, "payload_too_large");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_is_not_sent_as_json_is_415() {
    // Arrange
    let app = gateway_with(test_api_config()).await;

    // Act
    let answer = post_raw(
        &app,
        "/api/auth/login",
        "text/plain",
        r#"{"email":"a@b.c","password":"long enough"}"#,
    )
    .await;

    // Assert
    assert_json_error(&answer, 415, "unsupported_media_type");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_or_mistyped_json_is_400_saying_where_or_which_field() {
    // Arrange
    let app = gateway_with(test_api_config()).await;
    let json = "application/json";

    // Act
    let syntax = post_raw(
        &app,
        "/api/auth/login",
        json,
        r#"{"email": "a@b.c", "password": }"#,
    )
    .await;
    let wrong_type = post_raw(
        &app,
        "/api/auth/login",
        json,
        r#"{"email": "a@b.c", "password": 5}"#,
    )
    .await;
    let missing = post_raw(&app, "/api/auth/login", json, r#"{"email": "a@b.c"}"#).await;
    let unknown = post_raw(
        &app,
        "/api/auth/login",
        json,
        r#"{"email": "a@b.c", "password": "long enough", "admin": true}"#,
    )
    .await;

    // Assert
    assert_json_error(&syntax, 400, "invalid_json");
    assert!(
        message(&syntax).contains("line 1 column"),
        "{}",
        syntax.body
    );
    assert_json_error(&wrong_type, 400, "invalid_body");
    assert!(
        message(&wrong_type).contains("password"),
        "{}",
        wrong_type.body
    );
    assert_json_error(&missing, 400, "invalid_body");
    assert!(message(&missing).contains("password"), "{}", missing.body);
    assert_json_error(&unknown, 400, "invalid_body");
    assert!(message(&unknown).contains("admin"), "{}", unknown.body);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_over_the_per_user_limit_gets_429_and_other_users_do_not() {
    // Arrange
    let app = TestApp::spawn_with(
        Role::all(),
        ApiConfig {
            rate_limit_per_user: 3,
            ..test_api_config()
        },
    )
    .await;
    let busy = app.register("busy@limits.example", "Busy").await;
    let calm = app.register("calm@limits.example", "Calm").await;

    // Act
    let refused = first_refusal(10, || app.request(Method::GET, "/api/auth/me", Some(&busy))).await;
    let other = app.get_json("/api/auth/me", Some(&calm)).await;

    // Assert
    let (n, answer) = refused.expect("the per-user limit is enforced");
    assert_eq!(n, 4, "the limit is 3 requests, so the 4th is refused");
    assert_rate_limited(&answer, "per-user");
    assert_eq!(
        other.expect_status(200)["user"]["id"],
        json!(calm.user_id),
        "another user has a quota of its own"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_requests_over_the_per_ip_limit_get_429() {
    // Arrange
    let app = gateway_with(ApiConfig {
        rate_limit_per_ip: 3,
        ..test_api_config()
    })
    .await;

    // Act
    let refused = first_refusal(10, || app.request(Method::GET, "/health", None)).await;

    // Assert
    let (n, answer) = refused.expect("the per-IP limit is enforced");
    assert_eq!(n, 4, "the limit is 3 requests, so the 4th is refused");
    assert_rate_limited(&answer, "per-ip");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_over_the_login_limit_get_429() {
    // Arrange
    let app = gateway_with(ApiConfig {
        rate_limit_login: 2,
        ..test_api_config()
    })
    .await;
    let attempt = json!({ "email": "nobody@example.com", "password": "wrong password" });

    // Act
    let first = app.post_json("/api/auth/login", None, &attempt).await;
    let second = app.post_json("/api/auth/login", None, &attempt).await;
    let third = app.post_json("/api/auth/login", None, &attempt).await;

    // Assert
    assert_json_error(&first, 401, "invalid_credentials");
    assert_json_error(&second, 401, "invalid_credentials");
    assert_rate_limited(&third, "login-per-ip");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_carry_security_headers_and_a_lax_http_only_cookie_without_tls() {
    // Arrange
    let app = TestApp::spawn().await;

    // Act
    let health = app.get_json("/health", None).await;
    let missing = app.get_json("/api/no-such-thing", None).await;
    // A page path is the web UI's: its index page, with the same headers.
    let page = app.get_json("/no-such-page", None).await;
    let cookie = register_cookie(&app, "ops@headers.example").await;

    // Assert
    assert_eq!(page.status, 200);
    assert_eq!(
        header_text(&page.headers, "content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        header_text(&page.headers, "cache-control"),
        Some("no-cache")
    );
    for answer in [&health, &missing, &page] {
        let h = &answer.headers;
        assert_eq!(header_text(h, "x-content-type-options"), Some("nosniff"));
        assert_eq!(header_text(h, "x-frame-options"), Some("DENY"));
        assert!(h.contains_key("referrer-policy"), "{h:?}");
        assert!(
            !h.contains_key("strict-transport-security"),
            "no HSTS without TLS: {h:?}"
        );
    }
    assert_eq!(health.status, 200);
    assert_json_error(&missing, 404, "not_found");
    assert!(cookie.starts_with("aurora_session="), "{cookie}");
    let attributes = cookie_attributes(&cookie);
    assert!(attributes.iter().any(|a| a == "httponly"), "{cookie}");
    assert!(attributes.iter().any(|a| a == "samesite=lax"), "{cookie}");
    assert!(
        !attributes.iter().any(|a| a == "secure"),
        "no Secure cookie over plain HTTP: {cookie}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_an_https_public_url_answers_carry_hsts_and_the_cookie_is_secure() {
    // Arrange
    let app = TestApp::spawn_with(
        Role::all(),
        ApiConfig {
            public_url: Some("https://aurora.example.com".into()),
            ..test_api_config()
        },
    )
    .await;

    // Act
    let health = app.get_json("/health", None).await;
    let cookie = register_cookie(&app, "ops@tls.example").await;

    // Assert
    assert_eq!(health.status, 200);
    let hsts = header_text(&health.headers, "strict-transport-security")
        .unwrap_or_else(|| panic!("HSTS behind https: {:?}", health.headers));
    assert!(hsts.contains("max-age="), "{hsts}");
    let attributes = cookie_attributes(&cookie);
    assert!(attributes.iter().any(|a| a == "secure"), "{cookie}");
    assert!(attributes.iter().any(|a| a == "httponly"), "{cookie}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_has_a_request_id_and_a_given_one_comes_back() {
    // Arrange
    let app = gateway_with(test_api_config()).await;

    // Act
    let fresh = app.get_json("/health", None).await;
    let given = Answer::of(
        app.request(Method::GET, "/health", None)
            .header("x-request-id", "abc-123")
            .send()
            .await,
    )
    .await;

    // Assert
    let id = header_text(&fresh.headers, "x-request-id")
        .unwrap_or_else(|| panic!("a request id: {:?}", fresh.headers));
    assert!(!id.is_empty());
    assert_eq!(header_text(&given.headers, "x-request-id"), Some("abc-123"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_lets_only_the_configured_frontend_call_with_credentials() {
    // Arrange
    let app = gateway_with(ApiConfig {
        frontend_origin: Some("http://ui.example.com".into()),
        ..test_api_config()
    })
    .await;
    let preflight = |origin: &'static str| {
        app.request(Method::OPTIONS, "/api/incidents", None)
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .send()
    };

    // Act
    let allowed = Answer::of(preflight("http://ui.example.com").await).await;
    let evil = Answer::of(preflight("http://evil.example.com").await).await;

    // Assert
    assert!(
        (200..300).contains(&allowed.status),
        "preflight answered {}",
        allowed.status
    );
    assert_eq!(
        header_text(&allowed.headers, "access-control-allow-origin"),
        Some("http://ui.example.com")
    );
    assert_eq!(
        header_text(&allowed.headers, "access-control-allow-credentials"),
        Some("true")
    );
    assert!(
        !evil.headers.contains_key("access-control-allow-origin"),
        "another origin is not allowed: {:?}",
        evil.headers
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_frontend_origin_no_origin_is_allowed() {
    // Arrange
    let app = gateway_with(test_api_config()).await;

    // Act
    let answer = Answer::of(
        app.request(Method::GET, "/health", None)
            .header("origin", "http://ui.example.com")
            .send()
            .await,
    )
    .await;

    // Assert
    assert_eq!(answer.status, 200);
    assert!(
        !answer.headers.contains_key("access-control-allow-origin"),
        "{:?}",
        answer.headers
    );
    app.stop().await;
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_exactly_routes_that_are_mounted() {
    // Arrange
    let app = TestApp::spawn().await;
    let admin = app.register("admin@openapi.example", "OpenAPI").await;

    // Act
    let doc = app.get_json("/openapi.json", None).await.expect_status(200);

    // Assert: the document.
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().expect("a paths object");
    assert!(!paths.is_empty(), "the document lists paths");
    for known in [
        "/health",
        "/ready",
        "/metrics",
        "/api/auth/register",
        "/api/auth/login",
        "/api/auth/logout",
        "/api/auth/me",
        "/api/members",
        "/api/members/{user_id}",
        "/api/invitations",
        "/api/invitations/{id}",
        "/api/tokens",
        "/api/tokens/{id}",
        "/api/audit-log",
        "/api/incidents",
        "/api/incidents/{id}",
        "/api/incidents/{id}/events",
        "/api/incidents/{id}/comments",
        "/openapi.json",
    ] {
        assert!(paths.contains_key(known), "{known} is not documented");
    }

    // Assert: every documented operation is mounted.
    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    let mut operations: Vec<(Method, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flat_map(|ops| ops.keys())
                .filter(|m| METHODS.contains(&m.as_str()))
                .map(move |m| {
                    let method = Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                        .expect("an HTTP method");
                    (method, path.clone())
                })
        })
        .collect();
    assert!(!operations.is_empty());
    // Logging out revokes the token every other request presents: last.
    operations.sort_by_key(|(_, path)| path == "/api/auth/logout");
    for (method, template) in operations {
        let path = fill_params(&template);
        let mut request = app.request(method.clone(), &path, Some(&admin));
        if [Method::POST, Method::PUT, Method::PATCH].contains(&method) {
            request = request.json(&json!({}));
        }
        let response = request.send().await.expect("the request reaches the app");
        if response
            .headers()
            .get("content-type")
            .is_some_and(|t| t == "text/event-stream")
        {
            // A stream that never ends by itself (the organisation's events) is mounted.
            continue;
        }
        let answer = Answer::of(Ok(response)).await;
        let unrouted = answer.status == 404 && message(&answer).starts_with("no route for");
        assert!(
            !unrouted && answer.status != 405,
            "{method} {template} is documented but not mounted ({path}): {} {}",
            answer.status,
            answer.body
        );
    }
    app.stop().await;
}
