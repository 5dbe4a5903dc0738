//! What happened to a knowledge-base document. Events carry what the documents read model
//! shows; the chunks themselves (text and vectors, up to tens of megabytes for a large PDF) are
//! a search index made from the stored file, not part of the record.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{DocumentKind, DocumentName};
use crate::event::DomainEvent;

/// An upload: what [`super::KnowledgeCommand::Upload`] asks for and
/// [`KnowledgeEvent::Uploaded`] records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct Upload {
    pub filename: DocumentName,
    pub kind: DocumentKind,
    pub size_bytes: u64,
    pub object_key: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum KnowledgeEvent {
    /// A person began an upload; the file is not stored yet.
    Uploaded(Upload),
    /// The file is stored; its text is being extracted, chunked and embedded.
    ProcessingStarted { at: DateTime<Utc> },
    /// Searchable: `chunks` chunks, embedded by `embedding_model` (none: keyword search only).
    Processed {
        chunks: u32,
        characters: u64,
        embedding_model: Option<String>,
        at: DateTime<Utc>,
    },
    /// The file could not be made searchable (`reason` says why).
    Failed { reason: String, at: DateTime<Utc> },
    /// Removed with its file and chunks.
    Deleted { by: String, at: DateTime<Utc> },
}

impl DomainEvent for KnowledgeEvent {
    crate::event::event_types! {
        Uploaded(Upload) => "knowledge.uploaded",
        ProcessingStarted => "knowledge.processing_started",
        Processed => "knowledge.processed",
        Failed => "knowledge.failed",
        Deleted => "knowledge.deleted",
    }
}

impl esrs::event::Upcaster for KnowledgeEvent {
    fn current_version() -> Option<i32> {
        Some(1)
    }
}
