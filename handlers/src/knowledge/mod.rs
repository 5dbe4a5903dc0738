//! The knowledge base (SPEC §9): uploaded runbooks kept in object storage ([`storage`]), their
//! text ([`extract`]) cut into chunks and embedded by the `knowledge` consumer ([`process`]),
//! found again by hybrid keyword + vector search ([`search`]) — by people, by the agent's
//! `knowledge_base_search` tool and by the RCA's brief. Documents whose processing stopped
//! making progress, or whose upload never finished, are failed by the [`sweep`].

pub mod audit;
mod config;
pub mod extract;
pub mod process;
pub mod search;
pub mod storage;
pub mod sweep;

use std::sync::Arc;

use aurora_domain::knowledge::KnowledgeDocument;
use aurora_nats::{AggregateStore, EventLog, StoreError};
use object_store::ObjectStore;
use sqlx::PgPool;

use crate::embeddings::{Embedder, EmbeddingError};
use crate::projected::TenantCache;

pub use config::{KnowledgeConfig, TenantLimits};
pub use search::{SearchHit, SearchMode};
pub use storage::{ObjectStoreConfig, StorageError};

#[derive(Debug, thiserror::Error)]
pub enum KnowledgeBaseError {
    #[error("AURORA_KB_ALPHA={0:?} is not a number from 0 to 1")]
    Alpha(String),
    #[error("{name}={value:?} is not a whole number above 0")]
    Limit { name: &'static str, value: String },
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
