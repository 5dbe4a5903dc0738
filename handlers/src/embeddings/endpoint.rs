//! Embeddings from an OpenAI-compatible endpoint (`EMBEDDING_BASE_URL`, `EMBEDDING_MODEL`,
//! `EMBEDDING_API_KEY`): `POST <base>/embeddings`, through async-openai with our own small
//! request and answer types (`byot`), so servers that speak the protocol loosely still parse.

use async_openai::config::OpenAIConfig;
use async_openai::Client;
use serde::Deserialize;
use serde_json::json;

use super::EmbeddingError;

/// Where the endpoint is and which model it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointConfig {
    pub base_url: String,
    pub api_key: String,
    pub model: String,
}

/// A client of the configured endpoint. Cheap to clone.
#[derive(Clone)]
pub struct Endpoint {
    client: Client<OpenAIConfig>,
    pub model: String,
}

#[derive(Debug, Deserialize)]
struct Answer {
    data: Vec<Item>,
}

#[derive(Debug, Deserialize)]
struct Item {
    /// The answer's items may come in any order; `index` says which input each is for.
    index: usize,
    embedding: Vec<f32>,
}

impl Endpoint {
    pub fn new(config: &EndpointConfig) -> Self {
        crate::tls::install_provider();
        let openai = OpenAIConfig::new()
            .with_api_base(config.base_url.trim_end_matches('/'))
            .with_api_key(config.api_key.clone());
        Self {
            client: Client::with_config(openai),
            model: config.model.clone(),
        }
    }

    /// One vector per text, in order (as the endpoint made them: normalised by the caller).
    pub async fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbeddingError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let request = json!({"model": self.model, "input": texts, "encoding_format": "float"});
        let answer: Answer = self
            .client
            .embeddings()
            .create_byot(request)
            .await
            .map_err(|e| EmbeddingError::Endpoint(e.to_string()))?;
        let mut vectors = vec![Vec::new(); texts.len()];
        for item in answer.data {
            match vectors.get_mut(item.index) {
                Some(slot) => *slot = item.embedding,
                None => {
                    return Err(EmbeddingError::Endpoint(format!(
                        "an embedding for input {} of {}",
                        item.index,
                        texts.len()
                    )))
                }
            }
        }
        if let Some(missing) = vectors.iter().position(Vec::is_empty) {
            return Err(EmbeddingError::Endpoint(format!(
                "no embedding for input {missing}"
            )));
        }
        Ok(vectors)
    }
}
