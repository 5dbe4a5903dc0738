use super::DocumentStatus;

/// Why a knowledge-base document refused a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KnowledgeError {
    #[error("the document was already uploaded")]
    AlreadyUploaded,
    #[error("no such document")]
    NotFound,
    #[error("the document was deleted")]
    Deleted,
    #[error("the document is {status}, not {expected}")]
    WrongStatus {
        status: DocumentStatus,
        expected: DocumentStatus,
    },
    #[error("the document already {status}")]
    AlreadyFinished { status: DocumentStatus },
}
