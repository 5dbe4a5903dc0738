//! A scripted OpenAI-compatible server: real HTTP, real server-sent events, real tool-call
//! deltas. It plays given conversations, so the agent's real client code runs against it.
//!
//! A [`Script`] is chosen by the newest user message of a request (the first script whose
//! `trigger` it contains); the step played is the number of assistant messages after that user
//! message, so a tool call is followed by the next step once the agent sends the tool's result.
//! Every request is kept for assertions.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use bytes::Bytes;
use futures::SinkExt;
use serde_json::{json, Value};

/// One reply of the model.
#[derive(Debug, Clone)]
pub enum Step {
    /// Text, streamed in these chunks.
    Text(Vec<String>),
    /// Tool calls `(id, name, arguments JSON)`, streamed as deltas (name first, arguments in
    /// two pieces).
    ToolCalls(Vec<(String, String, Value)>),
    /// The endpoint fails with this HTTP status.
    Fail(u16),
    /// The stream starts with this text, then reports an error inside the stream.
    FailMidStream(String),
}

impl Step {
    pub fn text(chunks: &[&str]) -> Self {
        Self::Text(chunks.iter().map(|c| c.to_string()).collect())
    }

    pub fn tool(id: &str, name: &str, arguments: Value) -> Self {
        Self::ToolCalls(vec![(id.to_owned(), name.to_owned(), arguments)])
    }
}

#[derive(Debug, Clone)]
pub struct Script {
    pub trigger: String,
    pub steps: Vec<Step>,
    /// Pause before each chunk.
    pub chunk_delay: Duration,
    /// Reported usage `(prompt_tokens, completion_tokens)` of every call.
    pub usage: (u64, u64),
}

impl Script {
    pub fn new(trigger: &str, steps: Vec<Step>) -> Self {
        Self {
            trigger: trigger.to_owned(),
            steps,
            chunk_delay: Duration::ZERO,
            usage: (120, 30),
        }
    }

    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.chunk_delay = delay;
        self
    }
}

#[derive(Default)]
struct Shared {
    scripts: Vec<Script>,
    requests: Vec<Value>,
    /// Per request, in arrival order.
    timings: Vec<Timing>,
}

/// When the server received a request and handed out its answer: the server's own share of a
/// model call.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub arrived: Instant,
    /// The first chunk handed to the response stream.
    pub first_chunk: Option<Instant>,
    /// The last one (`[DONE]`) handed out.
    pub done: Option<Instant>,
}

/// The running server; it stops when dropped.
pub struct ScriptedLlm {
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    task: tokio::task::JoinHandle<()>,
}

impl ScriptedLlm {
    pub async fn start(scripts: Vec<Script>) -> Self {
        let shared = Arc::new(Mutex::new(Shared {
            scripts,
            ..Shared::default()
        }));
        let app = Router::new()
            .route("/v1/chat/completions", post(completions))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the scripted LLM");
        let addr = listener.local_addr().expect("its address");
        // As a real endpoint does: each SSE chunk leaves at once (without TCP_NODELAY the first
        // chunk after the headers waits for the client's delayed ACK, ~40 ms).
        let listener = axum::serve::ListenerExt::tap_io(listener, |stream| {
            let _ = stream.set_nodelay(true);
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, shared, task }
    }

    /// `LLM_BASE_URL` for this server.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The timing of every request so far, in arrival order.
    pub fn timings(&self) -> Vec<Timing> {
        self.shared
            .lock()
            .map(|s| s.timings.clone())
            .unwrap_or_default()
    }

    /// Adds a script (for conversations about things made after the server started).
    pub fn push(&self, script: Script) {
        if let Ok(mut shared) = self.shared.lock() {
            shared.scripts.push(script);
        }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Value> {
        self.shared
            .lock()
            .map(|s| s.requests.clone())
            .unwrap_or_default()
    }
}

impl Drop for ScriptedLlm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn completions(
    State(shared): State<Arc<Mutex<Shared>>>,
    Json(request): Json<Value>,
) -> Response {
    let arrived = Instant::now();
    let messages = request["messages"].as_array().cloned().unwrap_or_default();
    let last_user = messages.iter().rposition(|m| m["role"] == "user");
    let question = last_user
        .and_then(|i| messages[i]["content"].as_str())
        .unwrap_or_default()
        .to_owned();
    let step_index = last_user.map_or(0, |i| {
        messages[i + 1..]
            .iter()
            .filter(|m| m["role"] == "assistant")
            .count()
    });
    let (step, delay, usage, index) = {
        let Ok(mut shared) = shared.lock() else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        shared.requests.push(request.clone());
        shared.timings.push(Timing {
            arrived,
            first_chunk: None,
            done: None,
        });
        let index = shared.timings.len() - 1;
        let script = shared
            .scripts
            .iter()
            .find(|s| question.contains(&s.trigger));
        match script {
            Some(s) => (
                s.steps
                    .get(step_index)
                    .cloned()
                    .unwrap_or_else(|| Step::text(&["(the script has no more steps)"])),
                s.chunk_delay,
                s.usage,
                index,
            ),
            None => (
                Step::text(&["I have no script for that."]),
                Duration::ZERO,
                (10, 5),
                index,
            ),
        }
    };
    let model = request["model"].as_str().unwrap_or("scripted").to_owned();
    let chunks = match step {
        Step::Fail(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (
                status,
                Json(json!({"error": {"message": "scripted failure", "type": "server_error", "param": null, "code": null}})),
            )
                .into_response();
        }
        Step::FailMidStream(text) => vec![
            chunk(
                &model,
                json!([{"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": null}]),
            ),
            json!({"error": {"message": "the scripted server failed mid-stream", "type": "server_error"}}),
        ],
        Step::Text(parts) => {
            let mut chunks: Vec<Value> = parts
                .iter()
                .enumerate()
                .map(|(i, part)| {
                    let mut delta = json!({"content": part});
                    if i == 0 {
                        delta["role"] = json!("assistant");
                    }
                    chunk(
                        &model,
                        json!([{"index": 0, "delta": delta, "finish_reason": null}]),
                    )
                })
                .collect();
            chunks.push(chunk(
                &model,
                json!([{"index": 0, "delta": {}, "finish_reason": "stop"}]),
            ));
            chunks
        }
        Step::ToolCalls(calls) => {
            let mut chunks = vec![chunk(
                &model,
                json!([{"index": 0, "delta": {"role": "assistant", "content": null}, "finish_reason": null}]),
            )];
            for (i, (id, name, arguments)) in calls.iter().enumerate() {
                chunks.push(chunk(&model, json!([{"index": 0, "delta": {"tool_calls": [
                    {"index": i, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}
                ]}, "finish_reason": null}])));
                let text = arguments.to_string();
                let (a, b) = text.split_at(text.len() / 2);
                for piece in [a, b] {
                    chunks.push(chunk(
                        &model,
                        json!([{"index": 0, "delta": {"tool_calls": [
                        {"index": i, "function": {"arguments": piece}}
                    ]}, "finish_reason": null}]),
                    ));
                }
            }
            chunks.push(chunk(
                &model,
                json!([{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]),
            ));
            chunks
        }
    };
    let mut usage_chunk = chunk(&model, json!([]));
    usage_chunk["usage"] = json!({"prompt_tokens": usage.0, "completion_tokens": usage.1, "total_tokens": usage.0 + usage.1});
    let (mut tx, rx) = futures::channel::mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    tokio::spawn(async move {
        for (n, c) in chunks
            .into_iter()
            .chain(std::iter::once(usage_chunk))
            .enumerate()
        {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            if tx
                .send(Ok(Bytes::from(format!("data: {c}\n\n"))))
                .await
                .is_err()
            {
                return;
            }
            if n == 0 {
                if let Ok(mut shared) = shared.lock() {
                    shared.timings[index].first_chunk = Some(Instant::now());
                }
            }
        }
        let _ = tx.send(Ok(Bytes::from_static(b"data: [DONE]\n\n"))).await;
        if let Ok(mut shared) = shared.lock() {
            shared.timings[index].done = Some(Instant::now());
        }
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(rx))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn chunk(model: &str, choices: Value) -> Value {
    json!({
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": model,
        "choices": choices,
    })
}
