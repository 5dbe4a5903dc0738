//! The knowledge base (SPEC §9): uploaded runbooks kept in object storage ([`storage`]), their
//! text ([`extract`]) cut into chunks and embedded by the `knowledge` consumer ([`process`]),
//! found again by hybrid keyword + vector search ([`search`]) — by people, by the agent's
//! `knowledge_base_search` tool and by the RCA's brief.

pub mod audit;
pub mod extract;
pub mod process;
pub mod search;
pub mod storage;

use std::sync::Arc;
use std::time::Duration;

use aurora_domain::knowledge::{KnowledgeDocument, STUCK_AFTER_SECS};
use aurora_nats::{AggregateStore, EventLog, StoreError};
use object_store::ObjectStore;
use sqlx::PgPool;

use crate::embeddings::{Embedder, EmbeddingError};
use crate::projected::TenantCache;

pub use search::{SearchHit, SearchMode};
pub use storage::{ObjectStoreConfig, StorageError};

/// How the knowledge base is set up.
#[derive(Debug, Clone, PartialEq)]
pub struct KnowledgeConfig {
    pub objects: ObjectStoreConfig,
    /// The weight of vector scores in hybrid search (`AURORA_KB_ALPHA`, upstream's 0.5).
    pub alpha: f64,
    /// A document in `processing` longer than this is failed by the sweep.
    pub stuck_after: Duration,
    /// How often the sweep looks.
    pub sweep_every: Duration,
}

impl KnowledgeConfig {
    /// Files under `dir`, upstream's alpha, the 3-minute limit.
    pub fn local(dir: std::path::PathBuf) -> Self {
        Self {
            objects: ObjectStoreConfig::Local(dir),
            alpha: aurora_domain::knowledge::ranking::DEFAULT_ALPHA,
            stuck_after: Duration::from_secs(STUCK_AFTER_SECS as u64),
            sweep_every: Duration::from_secs(30),
        }
    }

    /// `AURORA_OBJECT_STORE_URL` (+ `AWS_*`) or `<data_dir>/objects`, and `AURORA_KB_ALPHA`.
    pub fn from_env(data_dir: &std::path::Path) -> Result<Self, KnowledgeBaseError> {
        let mut config = Self::local(data_dir.join("objects"));
        config.objects = ObjectStoreConfig::from_env(data_dir);
        if let Some(value) = std::env::var("AURORA_KB_ALPHA")
            .ok()
            .filter(|v| !v.is_empty())
        {
            config.alpha = value
                .parse::<f64>()
                .ok()
                .filter(|a| (0.0..=1.0).contains(a))
                .ok_or(KnowledgeBaseError::Alpha(value))?;
        }
        Ok(config)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KnowledgeBaseError {
    #[error("AURORA_KB_ALPHA={0:?} is not a number from 0 to 1")]
    Alpha(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the object store failed")]
    Objects(#[from] object_store::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the database failed")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Embedding(#[from] EmbeddingError),
}

/// What the knowledge base works with. Cheap to clone.
#[derive(Clone)]
pub struct KnowledgeBase {
    pub documents: AggregateStore<KnowledgeDocument>,
    pub objects: Arc<dyn ObjectStore>,
    /// `None`: keyword search only, chunks stored without vectors.
    pub embedder: Option<Embedder>,
    pub config: KnowledgeConfig,
    /// The tenants' searchable chunk vectors, kept until the `knowledge` projector announces a
    /// change (a document ready or deleted: chunks are written before their document is ready).
    vectors: Arc<TenantCache<[search::ChunkVector]>>,
}

impl KnowledgeBase {
    pub fn open(
        log: EventLog,
        config: KnowledgeConfig,
        embedder: Option<Embedder>,
    ) -> Result<Self, KnowledgeBaseError> {
        let vectors = TenantCache::new("knowledge", Some(log.client().clone()));
        Ok(Self {
            documents: AggregateStore::new(log),
            objects: config.objects.open()?,
            embedder,
            config,
            vectors,
        })
    }

    /// Runs the `knowledge` consumer and the stuck-document sweep until `shutdown`.
    pub async fn run(
        self,
        pool: PgPool,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), KnowledgeBaseError> {
        let sweep = self.clone().sweep_loop(pool.clone(), shutdown.clone());
        let consume = self.consume(pool, shutdown);
        let (swept, consumed) = tokio::join!(sweep, consume);
        swept.and(consumed)
    }
}
