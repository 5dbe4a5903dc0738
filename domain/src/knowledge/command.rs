//! What can be asked of a knowledge-base document, and the rules that decide it.

use chrono::{DateTime, Utc};

use super::{DocumentStatus, KnowledgeDocumentState, KnowledgeError, KnowledgeEvent, Upload};

#[derive(Debug, Clone, PartialEq)]
pub enum KnowledgeCommand {
    Upload(Upload),
    /// The file is stored: process it.
    StartProcessing {
        at: DateTime<Utc>,
    },
    Complete {
        chunks: u32,
        characters: u64,
        embedding_model: Option<String>,
        at: DateTime<Utc>,
    },
    /// Give up on it (unreadable, stored failed, stuck in processing).
    Fail {
        reason: String,
        at: DateTime<Utc>,
    },
    Delete {
        by: String,
        at: DateTime<Utc>,
    },
}

pub(crate) fn decide(
    state: &KnowledgeDocumentState,
    command: KnowledgeCommand,
) -> Result<Vec<KnowledgeEvent>, KnowledgeError> {
    let Some(status) = state.status else {
        return match command {
            KnowledgeCommand::Upload(upload) => Ok(vec![KnowledgeEvent::Uploaded(upload)]),
            _ => Err(KnowledgeError::NotFound),
        };
    };
    if state.deleted {
        return Err(KnowledgeError::Deleted);
    }
    let expect = |expected: DocumentStatus| {
        if status == expected {
            Ok(())
        } else {
            Err(KnowledgeError::WrongStatus { status, expected })
        }
    };
    let event = match command {
        KnowledgeCommand::Upload { .. } => return Err(KnowledgeError::AlreadyUploaded),
        KnowledgeCommand::StartProcessing { at } => {
            expect(DocumentStatus::Uploading)?;
            KnowledgeEvent::ProcessingStarted { at }
        }
        KnowledgeCommand::Complete {
            chunks,
            characters,
            embedding_model,
            at,
        } => {
            expect(DocumentStatus::Processing)?;
            KnowledgeEvent::Processed {
                chunks,
                characters,
                embedding_model,
                at,
            }
        }
        KnowledgeCommand::Fail { reason, at } => match status {
            DocumentStatus::Uploading | DocumentStatus::Processing => {
                KnowledgeEvent::Failed { reason, at }
            }
            DocumentStatus::Ready | DocumentStatus::Failed => {
                return Err(KnowledgeError::AlreadyFinished { status })
            }
        },
        KnowledgeCommand::Delete { by, at } => KnowledgeEvent::Deleted { by, at },
    };
    Ok(vec![event])
}
