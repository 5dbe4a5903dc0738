//! Why an integration refused a command.

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IntegrationError {
    #[error("the integration does not exist")]
    NotCreated,
    #[error("the integration already exists")]
    AlreadyCreated,
    #[error("the integration was deleted")]
    Deleted,
    #[error("an integration needs a name")]
    EmptyName,
    #[error("an integration name may hold at most {max} characters, this one has {len}")]
    NameTooLong { len: usize, max: usize },
    #[error("{0:?} is not a source name (a-z, 0-9 and '-')")]
    InvalidSource(String),
    #[error("a secret reference cannot be empty")]
    EmptySecretRef,
    #[error("the SNS topic is already pinned to {pinned}; a delivery from {offered} is not this integration's")]
    TopicMismatch { pinned: String, offered: String },
}
