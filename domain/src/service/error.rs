//! Why a node refused a command.

use super::node::NodeKey;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ServiceError {
    #[error("there is no service {0}")]
    Unknown(NodeKey),
    #[error("there is no service {0} to depend on")]
    UnknownTarget(NodeKey),
    #[error("a service cannot depend on itself ({0})")]
    SelfLoop(NodeKey),
    #[error("confidence must be from 0 to 1, got {0}")]
    BadConfidence(f64),
}
