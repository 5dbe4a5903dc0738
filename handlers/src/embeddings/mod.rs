//! Text embeddings: all-MiniLM-L6-v2 in-process ([`minilm`], the model upstream's vectorizer
//! runs), or an OpenAI-compatible endpoint ([`endpoint`]), or none — then correlation compares
//! titles by word overlap and knowledge-base search is keyword only.
//!
//! [`Embedder::embed`] gives unit vectors, so a dot product is their cosine. Titles seen again
//! (an open incident's, compared with every new alert) come from a cache.

pub mod endpoint;
pub mod minilm;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub use endpoint::{Endpoint, EndpointConfig};
pub use minilm::{MiniLm, MODEL_FILES};

use crate::Variables;

/// Texts embedded in one pass of the local model (bounds its memory on long uploads).
const BATCH: usize = 32;
/// Texts whose vectors are kept before the cache starts over.
const CACHED_TEXTS: usize = 10_000;

/// Which embedder to use (`AURORA_EMBEDDING_MODEL_DIR`, else `EMBEDDING_BASE_URL` +
/// `EMBEDDING_MODEL` [+ `EMBEDDING_API_KEY`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmbeddingConfig {
    pub model_dir: Option<PathBuf>,
    pub endpoint: Option<EndpointConfig>,
}

impl EmbeddingConfig {
    /// [`Self::from_vars`] with the process's environment.
    pub fn from_env() -> Self {
        Self::from_vars(&Variables::from_env())
    }

    /// The embedder `vars` ask for.
    pub fn from_vars(vars: &Variables) -> Self {
        let var = |name: &str| vars.get(name).map(str::to_owned);
        Self {
            model_dir: var("AURORA_EMBEDDING_MODEL_DIR").map(PathBuf::from),
            endpoint: match (var("EMBEDDING_BASE_URL"), var("EMBEDDING_MODEL")) {
                (Some(base_url), Some(model)) => Some(EndpointConfig {
                    base_url,
                    api_key: var("EMBEDDING_API_KEY").unwrap_or_default(),
                    model,
                }),
                _ => None,
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EmbeddingError {
    #[error("cannot read the embedding model file {path}")]
    ModelFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the embedding model's {path} does not parse")]
    ModelConfig {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("the tokenizer {path} does not load: {reason}")]
    Tokenizer { path: PathBuf, reason: String },
    #[error("a text does not tokenize: {0}")]
    Tokenize(String),
    #[error("the embedding model failed")]
    Model(#[from] candle_core::Error),
    #[error("the embeddings endpoint failed: {0}")]
    Endpoint(String),
    #[error("the embedding worker stopped")]
    Worker(#[from] tokio::task::JoinError),
}

#[derive(Clone)]
enum Backend {
    Local(Arc<MiniLm>),
    Endpoint(Arc<Endpoint>),
}

/// The configured embedder. Cheap to clone; clones share the model and the cache.
#[derive(Clone)]
pub struct Embedder {
    backend: Backend,
    cache: Arc<Mutex<HashMap<String, Arc<[f32]>>>>,
}

impl Embedder {
    /// The embedder `config` asks for, loaded; `None` when neither is configured.
    pub fn load(config: &EmbeddingConfig) -> Result<Option<Self>, EmbeddingError> {
        let backend = if let Some(dir) = &config.model_dir {
            Backend::Local(Arc::new(MiniLm::load(dir)?))
        } else if let Some(endpoint) = &config.endpoint {
            Backend::Endpoint(Arc::new(Endpoint::new(endpoint)))
        } else {
            return Ok(None);
        };
        Ok(Some(Self {
            backend,
            cache: Arc::default(),
        }))
    }

    /// What is used, for the start-up line and the records: `all-MiniLM-L6-v2 (in-process,
    /// <dir>)` or `<model> at <endpoint>`.
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Local(model) => {
                format!("all-MiniLM-L6-v2 (in-process, {})", model.dir.display())
            }
            Backend::Endpoint(endpoint) => format!("{} (embeddings endpoint)", endpoint.model),
        }
    }

    /// One unit vector per text, in order.
    pub async fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbeddingError> {
        match &self.backend {
            Backend::Local(model) => {
                let mut vectors = Vec::with_capacity(texts.len());
                for batch in texts.chunks(BATCH) {
                    let (model, batch): (_, Vec<String>) = (
                        model.clone(),
                        batch.iter().map(|t| (*t).to_owned()).collect(),
                    );
                    // Inference holds a core for milliseconds: off the async workers.
                    let made = tokio::task::spawn_blocking(move || {
                        let refs: Vec<&str> = batch.iter().map(String::as_str).collect();
                        model.embed(&refs)
                    })
                    .await??;
                    vectors.extend(made);
                }
                Ok(vectors)
            }
            Backend::Endpoint(endpoint) => {
                let mut vectors = endpoint.embed(texts).await?;
                vectors.iter_mut().for_each(|v| normalise(v));
                Ok(vectors)
            }
        }
    }

    /// [`Self::embed`] for short texts seen again and again (incident titles): each distinct
    /// text is embedded once and kept.
    pub async fn embed_cached(
        &self,
        texts: &[&str],
    ) -> Result<HashMap<String, Arc<[f32]>>, EmbeddingError> {
        let mut found = HashMap::new();
        let mut missing: Vec<&str> = Vec::new();
        {
            // A panic while holding the cache leaves nothing half-written: keep using it.
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            for text in texts {
                match cache.get(*text) {
                    Some(vector) => {
                        found.insert((*text).to_owned(), vector.clone());
                    }
                    None if !missing.contains(text) => missing.push(text),
                    None => {}
                }
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let made = self.embed(&missing).await?;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() + made.len() > CACHED_TEXTS {
            cache.clear();
        }
        for (text, vector) in missing.iter().zip(made) {
            let vector: Arc<[f32]> = vector.into();
            cache.insert((*text).to_owned(), vector.clone());
            found.insert((*text).to_owned(), vector);
        }
        Ok(found)
    }
}

/// Scales `v` to unit length (left as it is when all zeros).
fn normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_set_means_no_embedder() {
        let config = EmbeddingConfig::from_vars(&Variables::from_iter([
            ("AURORA_EMBEDDING_MODEL_DIR", "  "),
            ("EMBEDDING_BASE_URL", "http://embeddings.local/v1"),
        ]));
        assert_eq!(
            config,
            EmbeddingConfig::default(),
            "a blank dir, a URL without a model"
        );
        assert!(Embedder::load(&config).expect("nothing to load").is_none());
    }

    #[test]
    fn the_model_dir_and_the_endpoint_are_read_from_the_variables() {
        let config = EmbeddingConfig::from_vars(&Variables::from_iter([
            ("AURORA_EMBEDDING_MODEL_DIR", "/opt/minilm/model"),
            ("EMBEDDING_BASE_URL", "http://embeddings.local/v1"),
            ("EMBEDDING_MODEL", "text-embedding-3-small"),
            ("EMBEDDING_API_KEY", "sk-test"),
        ]));
        assert_eq!(config.model_dir, Some(PathBuf::from("/opt/minilm/model")));
        assert_eq!(
            config.endpoint,
            Some(EndpointConfig {
                base_url: "http://embeddings.local/v1".to_owned(),
                api_key: "sk-test".to_owned(),
                model: "text-embedding-3-small".to_owned(),
            })
        );
    }
}
