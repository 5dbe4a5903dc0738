//! The `knowledge` consumer of `EVENTS`: a document whose file is stored is read, its text cut
//! into chunks, each chunk embedded, the chunks written in one transaction, and the document
//! completed (or failed with the reason); a deleted document loses its chunks and file. Both
//! are idempotent, so a redelivery repeats nothing that shows. While it embeds, processing
//! reports its progress to the [`super::sweep`], which fails a document only once that stops.

use async_nats::jetstream::{self, consumer::PullConsumer};
use aurora_domain::knowledge::{chunking, DocumentKind, KnowledgeCommand, KnowledgeEvent};
use aurora_domain::TenantId;
use aurora_nats::consumer::{self, Delivery, HandlerError};
use aurora_nats::envelope::{Context, RawEvent};
use aurora_nats::subjects::{self, EVENTS_STREAM};
use chrono::Utc;
use esrs::event::Upcaster;
use object_store::path::Path;
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

use super::extract::text_of;
use super::sweep::Heartbeat;
use super::{KnowledgeBase, KnowledgeBaseError};

const CONSUMER: &str = "knowledge";
const BATCH: usize = 16;
/// Chunks embedded between two reports of progress (the local model's own batch).
const EMBEDDED_AT_ONCE: usize = 32;

impl KnowledgeBase {
    pub(super) async fn consume(
        self,
        pool: PgPool,
        shutdown: watch::Receiver<bool>,
    ) -> Result<(), KnowledgeBaseError> {
        let js = jetstream::new(self.documents.log().client().clone());
        let unavailable =
            |e: String| KnowledgeBaseError::Store(aurora_nats::StoreError::unavailable(e));
        let stream = js
            .get_stream(EVENTS_STREAM)
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let consumer: PullConsumer = stream
            .get_consumer(CONSUMER)
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        consumer::run(
            consumer,
            BATCH,
            self.documents.log().metrics().clone(),
            shutdown,
            |deliveries| {
                let (kb, pool) = (self.clone(), pool.clone());
                async move {
                    for delivery in deliveries {
                        kb.handle(&pool, &delivery).await?;
                    }
                    Ok(())
                }
            },
        )
        .await
        .map_err(|e| unavailable(e.to_string()))?;
        Ok(())
    }

    async fn handle(&self, pool: &PgPool, delivery: &Delivery) -> Result<(), HandlerError> {
        let poison = |reason: String| HandlerError::Poison {
            stream_sequence: delivery.stream_sequence,
            reason,
        };
        let raw = RawEvent::decode(
            &delivery.subject,
            delivery.stream_sequence,
            delivery.headers.as_ref(),
            &delivery.payload,
            delivery.published,
        )
        .map_err(|e| poison(e.to_string()))?;
        let Some(subject) = subjects::parse_event_subject(&delivery.subject) else {
            return Err(poison(format!(
                "{} is not an event subject",
                delivery.subject
            )));
        };
        let event = KnowledgeEvent::upcast(raw.data, raw.version)
            .map_err(|e| poison(format!("not a knowledge event: {e}")))?;
        let done = match event {
            KnowledgeEvent::ProcessingStarted { .. } => {
                self.process(pool, &subject.tenant, subject.id).await
            }
            KnowledgeEvent::Deleted { .. } => self.remove(pool, &subject.tenant, subject.id).await,
            _ => Ok(()),
        };
        done.map_err(|e| HandlerError::Transient(e.to_string()))
    }

    /// Extracts, chunks, embeds and stores document `id`, then completes it; a file that cannot
    /// be read fails it with the reason. A document no longer in `processing` is left alone.
    #[tracing::instrument(skip(self, pool), err)]
    pub async fn process(
        &self,
        pool: &PgPool,
        tenant: &TenantId,
        id: Uuid,
    ) -> Result<(), KnowledgeBaseError> {
        let Some(state) = self.documents.load(tenant, id).await? else {
            return Ok(());
        };
        let state = state.inner().clone();
        if state.deleted
            || state.status != Some(aurora_domain::knowledge::DocumentStatus::Processing)
        {
            return Ok(());
        }
        let kind = state.kind.unwrap_or(DocumentKind::Text);
        let mut heartbeat = Heartbeat::new(self, pool, tenant, id);
        heartbeat.beat(0).await?;
        let Derived { text, chunks } = match self.derive(kind, &state.object_key).await? {
            Ok(derived) => derived,
            Err(reason) => return self.fail(tenant, id, reason).await,
        };
        heartbeat.beat(0).await?;
        let vectors = self.vectors(&chunks, Some(&mut heartbeat)).await?;
        let mut tx = pool.begin().await?;
        sqlx::query("DELETE FROM knowledge_chunks WHERE tenant_id = $1 AND document_id = $2")
            .bind(tenant.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        aurora_projections::queries::forget_knowledge_progress(&mut tx, tenant.as_str(), id)
            .await?;
        let ordinals: Vec<i32> = (0..chunks.len() as i32).collect();
        let headings: Vec<Option<String>> = chunks.iter().map(|c| c.heading.clone()).collect();
        let texts: Vec<String> = chunks.iter().map(|c| c.text.clone()).collect();
        let embeddings: Vec<Option<Vec<u8>>> = (0..chunks.len())
            .map(|i| vectors.as_ref().and_then(|v| v.get(i)).map(|v| to_bytes(v)))
            .collect();
        sqlx::query(
            "INSERT INTO knowledge_chunks (tenant_id, document_id, ordinal, heading, text, embedding)
             SELECT $1, $2, * FROM unnest($3::integer[], $4::text[], $5::text[], $6::bytea[])",
        )
        .bind(tenant.as_str())
        .bind(id)
        .bind(ordinals)
        .bind(headings)
        .bind(texts)
        .bind(embeddings)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let command = KnowledgeCommand::Complete {
            chunks: u32::try_from(chunks.len()).unwrap_or(u32::MAX),
            characters: text.chars().count() as u64,
            embedding_model: self.embedder.as_ref().map(|e| e.describe()),
            at: Utc::now(),
        };
        // A refusal means another delivery completed or failed it first: nothing to do.
        let _ = self
            .documents
            .execute(tenant, id, command, Context::new_root())
            .await?;
        Ok(())
    }

    /// The text and chunks of the file at `object_key`, as processing makes them; `Err` with
    /// the reason when its text cannot be extracted.
    pub(super) async fn derive(
        &self,
        kind: DocumentKind,
        object_key: &str,
    ) -> Result<Result<Derived, String>, KnowledgeBaseError> {
        let bytes = self
            .objects
            .get(&Path::from(object_key))
            .await?
            .bytes()
            .await?;
        // PDF parsing is CPU work: off the async workers.
        let text = match tokio::task::spawn_blocking(move || text_of(kind, bytes.to_vec())).await {
            Ok(Ok(text)) => text,
            Ok(Err(e)) => return Ok(Err(e.to_string())),
            Err(e) => return Ok(Err(format!("text extraction stopped: {e}"))),
        };
        let chunks = chunking::chunk(&text);
        Ok(Ok(Derived { text, chunks }))
    }

    /// The chunks' vectors (of their heading and text), or none without a model; embedded
    /// [`EMBEDDED_AT_ONCE`] at a time, each step reported to `heartbeat` when there is one.
    pub(super) async fn vectors(
        &self,
        chunks: &[chunking::Chunk],
        mut heartbeat: Option<&mut Heartbeat<'_>>,
    ) -> Result<Option<Vec<Vec<f32>>>, KnowledgeBaseError> {
        let Some(embedder) = &self.embedder else {
            return Ok(None);
        };
        let texts: Vec<String> = chunks.iter().map(embedded_text).collect();
        let mut vectors = Vec::with_capacity(texts.len());
        for step in texts.chunks(EMBEDDED_AT_ONCE) {
            let refs: Vec<&str> = step.iter().map(String::as_str).collect();
            vectors.extend(embedder.embed(&refs).await?);
            if let Some(heartbeat) = heartbeat.as_deref_mut() {
                heartbeat.beat(vectors.len()).await?;
            }
        }
        Ok(Some(vectors))
    }

    pub(super) async fn fail(
        &self,
        tenant: &TenantId,
        id: Uuid,
        reason: String,
    ) -> Result<(), KnowledgeBaseError> {
        let command = KnowledgeCommand::Fail {
            reason,
            at: Utc::now(),
        };
        let _ = self
            .documents
            .execute(tenant, id, command, Context::new_root())
            .await?;
        Ok(())
    }

    /// The chunks and the file of a deleted document (either may be gone already).
    async fn remove(
        &self,
        pool: &PgPool,
        tenant: &TenantId,
        id: Uuid,
    ) -> Result<(), KnowledgeBaseError> {
        let mut tx = pool.begin().await?;
        sqlx::query("DELETE FROM knowledge_chunks WHERE tenant_id = $1 AND document_id = $2")
            .bind(tenant.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        aurora_projections::queries::forget_knowledge_progress(&mut tx, tenant.as_str(), id)
            .await?;
        tx.commit().await?;
        let key = aurora_domain::knowledge::object_key(tenant, id);
        match self.objects.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// A stored file's text and its chunks.
pub(super) struct Derived {
    pub text: String,
    pub chunks: Vec<chunking::Chunk>,
}

/// What a chunk's vector is made of: its heading and its text.
fn embedded_text(chunk: &chunking::Chunk) -> String {
    match &chunk.heading {
        Some(heading) => format!("{heading}\n{}", chunk.text),
        None => chunk.text.clone(),
    }
}

/// A vector as stored: little-endian `f32`s.
pub fn to_bytes(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A stored vector back (a trailing partial value is ignored).
pub fn from_bytes(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}
