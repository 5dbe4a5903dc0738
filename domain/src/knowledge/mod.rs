//! The knowledge-base document aggregate (SPEC §9): a runbook or note a tenant uploaded, from
//! upload to searchable chunks.
//!
//! `uploading` (recorded before the file is stored) → `processing` (stored; text being extracted,
//! chunked and embedded) → `ready` with its chunk count, or `failed` with the reason; a document
//! in `processing` that made no progress for [`STUCK_AFTER_SECS`], or left in `uploading` as long,
//! is failed by the sweep. Deleting ends it.
//! One aggregate per document (`evt.<tenant>.knowledge.<id>`). The file itself is in object
//! storage under a key made of the tenant and the document id ([`object_key`]), never of the
//! file's name, so no name can reach another prefix. [`chunking`] cuts the text for search.

pub mod chunking;
mod command;
mod error;
mod event;
pub mod ranking;
mod state;

#[cfg(test)]
mod tests;

use uuid::Uuid;

pub use command::KnowledgeCommand;
pub use error::KnowledgeError;
pub use event::{KnowledgeEvent, Upload};
pub use state::{DocumentKind, DocumentName, DocumentStatus, KnowledgeDocumentState};

use crate::ids::TenantId;

/// The largest file accepted, in bytes (50 MiB).
pub const MAX_DOCUMENT_BYTES: u64 = 50 * 1024 * 1024;
/// Documents a tenant may keep.
pub const MAX_DOCUMENTS_PER_TENANT: u64 = 100;
/// Bytes a tenant's documents may take together (1 GiB).
pub const MAX_BYTES_PER_TENANT: u64 = 1024 * 1024 * 1024;
/// A document in `processing` without progress this long, or in `uploading` this long, is failed
/// by the sweep.
pub const STUCK_AFTER_SECS: i64 = 180;

crate::aggregate::aggregate!(
    /// The knowledge-base document aggregate (stored under the name `knowledge`).
    KnowledgeDocument = "knowledge", command::decide,
    KnowledgeDocumentState, KnowledgeCommand, KnowledgeEvent, KnowledgeError
);

/// Where a document's file is kept: `<tenant>/knowledge/<document id>`, from ids only.
pub fn object_key(tenant: &TenantId, document: Uuid) -> String {
    format!("{}/knowledge/{document}", tenant.as_str())
}
