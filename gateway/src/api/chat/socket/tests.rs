//! The socket loop on channels: no network, no NATS. A stand-in for [`Socket`] records what the
//! loop hands it and plays live frames from a channel.

#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use aurora_domain::chat::frames::{RunStatus, MAX_FRAME_BYTES};
use futures::channel::mpsc;
use serde_json::json;

use super::*;

/// Records the client frames and watches it is asked for; live frames come from a channel.
struct Recorder {
    received: Arc<Mutex<Vec<ClientFrame>>>,
    watched: Arc<Mutex<Vec<(Uuid, bool)>>>,
    live: mpsc::UnboundedReceiver<String>,
    session: Option<Uuid>,
}

impl Frames for Recorder {
    async fn watch(&mut self, id: Uuid, resend: bool) -> Vec<ServerFrame> {
        self.watched.lock().unwrap().push((id, resend));
        self.session = Some(id);
        vec![ServerFrame::Status {
            session_id: id,
            status: RunStatus::Start,
        }]
    }

    fn session(&self) -> Option<Uuid> {
        self.session
    }

    async fn on_frame(&mut self, frame: ClientFrame) -> Vec<ServerFrame> {
        self.received.lock().unwrap().push(frame);
        Vec::new()
    }

    async fn next_live(&mut self) -> String {
        match self.live.next().await {
            Some(frame) => frame,
            None => std::future::pending().await,
        }
    }
}

/// A client on the far side of the loop.
struct Client {
    to_server: mpsc::UnboundedSender<Result<Message, Infallible>>,
    from_server: mpsc::UnboundedReceiver<Message>,
    live: mpsc::UnboundedSender<String>,
    received: Arc<Mutex<Vec<ClientFrame>>>,
    watched: Arc<Mutex<Vec<(Uuid, bool)>>>,
    task: tokio::task::JoinHandle<()>,
}

fn connect(watch: Option<Uuid>) -> Client {
    let (to_server, stream) = mpsc::unbounded();
    let (sink, from_server) = mpsc::unbounded();
    let (live, live_rx) = mpsc::unbounded();
    let received = Arc::new(Mutex::new(Vec::new()));
    let watched = Arc::new(Mutex::new(Vec::new()));
    let recorder = Recorder {
        received: received.clone(),
        watched: watched.clone(),
        live: live_rx,
        session: None,
    };
    let task = tokio::spawn(relay(sink, stream, recorder, watch));
    Client {
        to_server,
        from_server,
        live,
        received,
        watched,
        task,
    }
}

impl Client {
    fn send(&self, message: Message) {
        self.to_server.unbounded_send(Ok(message)).unwrap();
    }

    fn send_text(&self, text: String) {
        self.send(Message::Text(text.into()));
    }

    /// The next text frame the loop sent, as JSON.
    async fn next(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(5), self.from_server.next())
                .await
                .expect("a frame in time")
                .expect("the loop is running");
            if let Message::Text(text) = message {
                return serde_json::from_str(text.as_str()).unwrap();
            }
        }
    }
}

#[tokio::test]
async fn a_query_frame_is_handed_on_parsed() {
    let mut client = connect(None);
    client.send_text(json!({"type": "query", "query": "why?", "mode": "agent"}).to_string());
    // A bad frame after it is answered, which also shows the query was dealt with first.
    client.send_text("not json".into());
    assert_eq!(client.next().await["code"], "BAD_FRAME");
    let received = client.received.lock().unwrap().clone();
    assert!(
        matches!(&received[..], [ClientFrame::Query { query, mode: aurora_domain::ChatMode::Agent, .. }] if query == "why?"),
        "{received:?}"
    );
}

#[tokio::test]
async fn bad_frames_are_answered_with_their_codes_and_never_handed_on() {
    let mut client = connect(None);
    let cases = [
        ("not json".to_owned(), code::BAD_FRAME),
        (json!({"type": "subscribe"}).to_string(), code::UNKNOWN_TYPE),
        (json!({"type": "query"}).to_string(), code::BAD_FRAME),
        (
            json!({"type": "query", "query": "x".repeat(MAX_FRAME_BYTES)}).to_string(),
            code::FRAME_TOO_LARGE,
        ),
    ];
    for (frame, expected) in cases {
        client.send_text(frame);
        let error = client.next().await;
        assert_eq!(error["type"], "error");
        assert_eq!(error["code"], expected, "{error}");
        assert!(!error["text"].as_str().unwrap().is_empty());
    }
    client.send(Message::Binary(vec![0xff, 0xfe].into()));
    assert_eq!(client.next().await["code"], code::BAD_FRAME);
    assert!(client.received.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_binary_frame_of_utf8_json_is_read_like_text() {
    let mut client = connect(None);
    client.send(Message::Binary(
        br#"{"type":"control","action":"cancel"}"#.to_vec().into(),
    ));
    client.send_text("{}".into());
    assert_eq!(client.next().await["code"], code::BAD_FRAME);
    assert_eq!(
        client.received.lock().unwrap()[..],
        [ClientFrame::Control {
            action: ControlAction::Cancel,
            session_id: None
        }]
    );
}

#[tokio::test]
async fn live_frames_of_the_session_are_relayed_as_they_are() {
    let mut client = connect(None);
    let frame = ServerFrame::Message {
        session_id: Uuid::from_u128(9),
        message_id: Uuid::from_u128(10),
        text: "Checkout".into(),
        is_chunk: true,
        is_complete: false,
    }
    .to_json();
    client.live.unbounded_send(frame.clone()).unwrap();
    let relayed = client.next().await;
    assert_eq!(relayed, serde_json::from_str::<Value>(&frame).unwrap());
}

#[tokio::test]
async fn a_reload_watches_its_session_and_sends_what_is_pending_first() {
    let id = Uuid::from_u128(4);
    let mut client = connect(Some(id));
    let first = client.next().await;
    assert_eq!(first["type"], "status");
    assert_eq!(first["session_id"], id.to_string());
    assert_eq!(client.watched.lock().unwrap()[..], [(id, true)]);
}

#[tokio::test]
async fn the_loop_ends_when_the_client_closes_or_goes_away() {
    let client = connect(None);
    client.send(Message::Close(None));
    tokio::time::timeout(Duration::from_secs(5), client.task)
        .await
        .expect("ended in time")
        .unwrap();
    let client = connect(None);
    drop(client.to_server);
    tokio::time::timeout(Duration::from_secs(5), client.task)
        .await
        .expect("ended in time")
        .unwrap();
}

#[test]
fn text_attachments_join_the_question() {
    let text = with_attachments(
        "why?".into(),
        &[
            json!({"name": "error.log", "content": "panic at checkout"}),
            json!({"name": "graph.png", "url": "https://x"}),
        ],
    );
    assert!(text.starts_with("why?"));
    assert!(text.contains("--- attached: error.log ---\npanic at checkout"));
    assert!(text.contains("graph.png, not read"));
    assert_eq!(with_attachments("plain".into(), &[]), "plain");
}
