//! A knowledge-base document as its events leave it, and the values it is made of.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::event::Upload;
use super::KnowledgeEvent;
use crate::values::named_values;

named_values!(
    /// Where a document is in its life.
    DocumentStatus, UnknownDocumentStatus {
        /// Recorded; the file is being stored.
        Uploading => "uploading",
        /// Stored; text being extracted, chunked and embedded.
        Processing => "processing",
        /// Searchable.
        Ready => "ready",
        /// Could not be made searchable (the reason is kept).
        Failed => "failed",
    }
);

named_values!(
    /// What a document's file holds, which says how its text is read.
    DocumentKind, UnknownDocumentKind {
        Markdown => "markdown",
        Text => "text",
        Pdf => "pdf",
    }
);

impl DocumentKind {
    /// The kind a file name's extension names (`.md`, `.markdown`, `.txt`, `.text`, `.log`,
    /// `.pdf`, any case), or `None`.
    pub fn of_filename(name: &str) -> Option<Self> {
        let extension = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match extension.as_str() {
            "md" | "markdown" => Some(Self::Markdown),
            "txt" | "text" | "log" => Some(Self::Text),
            "pdf" => Some(Self::Pdf),
            _ => None,
        }
    }
}

/// A file name as the uploader gave it: shown back as it was, never used as a path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct DocumentName(String);

/// Why a file name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentNameError {
    #[error("the file has no name")]
    Empty,
    #[error("the file name is {0} characters long; at most 255")]
    TooLong(usize),
    #[error("the file name holds a control character")]
    ControlCharacter,
}

impl DocumentName {
    pub const MAX_CHARS: usize = 255;

    /// Trims blanks; refuses an empty name, one over [`Self::MAX_CHARS`] characters and control
    /// characters. Slashes and dots are fine: the name is only ever shown.
    pub fn parse(name: &str) -> Result<Self, DocumentNameError> {
        let name = name.trim();
        let chars = name.chars().count();
        if chars == 0 {
            return Err(DocumentNameError::Empty);
        }
        if chars > Self::MAX_CHARS {
            return Err(DocumentNameError::TooLong(chars));
        }
        if name.chars().any(char::is_control) {
            return Err(DocumentNameError::ControlCharacter);
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KnowledgeDocumentState {
    /// `None` until uploaded.
    pub filename: Option<DocumentName>,
    pub kind: Option<DocumentKind>,
    pub size_bytes: u64,
    pub object_key: String,
    pub status: Option<DocumentStatus>,
    pub reason: Option<String>,
    pub chunks: u32,
    pub characters: u64,
    pub embedding_model: Option<String>,
    pub uploaded_by: String,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    /// When it entered `processing` (the sweep measures from here until processing reports
    /// progress).
    pub processing_since: Option<DateTime<Utc>>,
    pub deleted: bool,
}

impl KnowledgeDocumentState {
    pub fn apply(mut self, event: KnowledgeEvent) -> Self {
        use crate::event::DomainEvent;
        let at = event.occurred_at();
        self.updated_at = Some(at);
        match event {
            KnowledgeEvent::Uploaded(Upload {
                filename,
                kind,
                size_bytes,
                object_key,
                by,
                at,
            }) => {
                self.filename = Some(filename);
                self.kind = Some(kind);
                self.size_bytes = size_bytes;
                self.object_key = object_key;
                self.uploaded_by = by;
                self.status = Some(DocumentStatus::Uploading);
                self.created_at = Some(at);
            }
            KnowledgeEvent::ProcessingStarted { at } => {
                self.status = Some(DocumentStatus::Processing);
                self.processing_since = Some(at);
            }
            KnowledgeEvent::Processed {
                chunks,
                characters,
                embedding_model,
                ..
            } => {
                self.status = Some(DocumentStatus::Ready);
                self.chunks = chunks;
                self.characters = characters;
                self.embedding_model = embedding_model;
            }
            KnowledgeEvent::Failed { reason, .. } => {
                self.status = Some(DocumentStatus::Failed);
                self.reason = Some(reason);
            }
            KnowledgeEvent::Deleted { .. } => self.deleted = true,
        }
        self
    }
}
