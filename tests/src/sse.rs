//! A Server-Sent Events client for the tests of the API's event streams: opens a stream as an
//! account and reads it message by message, heartbeats included.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::{Account, TestApp};

/// How long a test waits for the next message (a heartbeat comes every 15 s by default).
pub const PATIENCE: Duration = Duration::from_secs(20);

/// One message of an event stream.
#[derive(Debug, Default)]
pub struct Message {
    pub id: Option<u64>,
    pub event: Option<String>,
    pub data: Option<Value>,
    pub comment: Option<String>,
}

/// An open event stream.
pub struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    /// Opens `path` as `who`, sending `Last-Event-ID: last` when given; expects a stream.
    pub async fn open(app: &TestApp, who: &Account, path: &str, last: Option<&str>) -> Self {
        let mut request = app.request(Method::GET, path, Some(who));
        if let Some(last) = last {
            request = request.header("Last-Event-ID", last);
        }
        let response = request.send().await.expect("the request reaches the app");
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().ok(),
            Some("text/event-stream")
        );
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next message, comments included; `None` once the stream ended.
    pub async fn next(&mut self) -> Option<Message> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                return Some(parse(&block));
            }
            let chunk = tokio::time::timeout(PATIENCE, self.response.chunk())
                .await
                .expect("a message or the end within 20 s")
                .expect("the stream reads");
            self.buffer
                .push_str(&String::from_utf8_lossy(chunk.as_ref()?));
        }
    }

    /// The next event (skipping heartbeats); `None` once the stream ended.
    pub async fn next_event(&mut self) -> Option<Message> {
        loop {
            let message = self.next().await?;
            if message.event.is_some() {
                return Some(message);
            }
        }
    }

    /// The events until the stream ends: (id, type).
    pub async fn rest(mut self) -> Vec<(u64, String)> {
        let mut events = Vec::new();
        while let Some(m) = self.next_event().await {
            events.push((m.id.expect("an id"), m.event.expect("a type")));
        }
        events
    }
}

/// One message block (`field: value` lines; a line starting with `:` is a comment).
pub fn parse(block: &str) -> Message {
    let mut message = Message::default();
    for line in block.lines() {
        if let Some(comment) = line.strip_prefix(':') {
            message.comment = Some(comment.trim().to_owned());
        } else if let Some((field, value)) = line.split_once(':') {
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "id" => message.id = value.parse().ok(),
                "event" => message.event = Some(value.to_owned()),
                "data" => message.data = serde_json::from_str(value).ok(),
                _ => {}
            }
        }
    }
    message
}
