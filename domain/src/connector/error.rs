//! Why a connector refused a command, or why its settings are not acceptable.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorError {
    #[error("the connector does not exist")]
    NotConnected,
    #[error("the connector already exists")]
    AlreadyConnected,
    #[error("the connector was disconnected")]
    Disconnected,
    #[error("{field} {value:?} is not valid: {reason}")]
    InvalidSetting {
        field: &'static str,
        value: String,
        reason: String,
    },
    #[error("{given:?} is not a {what}; expected one of {known}")]
    UnknownChoice {
        what: &'static str,
        given: String,
        known: String,
    },
    #[error("a secret reference cannot be empty")]
    EmptySecretRef,
    #[error("{0:?} is not a GCP project id")]
    InvalidProject(String),
    #[error("projects can only be chosen on a GCP connector")]
    NotGcp,
    #[error("the project {0} is not one this key can reach")]
    UnknownProject(String),
    #[error("the project {0} is disabled for Aurora (GCP_PROJECT_DISABLED)")]
    ProjectDisabled(String),
}
