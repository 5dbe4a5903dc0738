//! Reading HTTP/1.1 answers off a raw socket, for what a client library hides: interim
//! `100 Continue`, a connection closed after the answer.

use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// How long a raw-socket read may take before the test fails instead of hanging.
const READ_LIMIT: Duration = Duration::from_secs(10);

/// An HTTP/1.1 response read from a raw socket.
#[derive(Debug)]
pub(super) struct RawResponse {
    pub(super) status: u16,
    pub(super) head: String,
    pub(super) body: Value,
}

impl RawResponse {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
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
pub(super) async fn read_response(stream: &mut TcpStream) -> RawResponse {
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
pub(super) async fn read_continue(stream: &mut TcpStream) {
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
pub(super) fn post_head(addr: std::net::SocketAddr, path: &str, length: usize) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )
}
