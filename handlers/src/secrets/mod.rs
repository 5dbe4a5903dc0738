//! The secret store: where integration secrets and connector credentials live. Events and read
//! models hold only a reference (`local:<tenant>/<name>@<version>`), never the secret.
//!
//! One trait, [`SecretStore`], two backends: [`LocalSecretStore`], the embedded default (encrypted
//! files under the data dir), and [`VaultSecretStore`] (Vault/OpenBao KV v2, references
//! `vault:kv/data/<tenant>/<name>@<version>`). [`Secrets`] holds both: it writes to the configured
//! one and reads a reference from the backend its prefix names, so references survive a switch.
//!
//! A secret's name is `<kind>/<id>` ([`name_of`]), so it lives at `<tenant>/<kind>/<id>`.
//! References are read by the path they name, so those issued under earlier names keep resolving.

mod dual;
mod local;
pub mod migrate;
mod vault;

use async_trait::async_trait;

pub use dual::Secrets;
pub use local::LocalSecretStore;
pub use vault::{VaultConfig, VaultSecretStore};

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{0:?} is not a secret name (a-z, 0-9, '-', '_', '/' between parts)")]
    InvalidName(String),
    #[error("{0:?} is not a reference this store issued")]
    InvalidReference(String),
    #[error("no secret at {0}")]
    NotFound(String),
    /// Wrong key, or the file was altered.
    #[error(
        "the secret at {0} does not decrypt (wrong AURORA_SECRET_KEY, or the file was altered)"
    )]
    Undecryptable(String),
    #[error("the secret key is invalid: {0}")]
    InvalidKey(String),
    #[error("secret store I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("the secret store settings are invalid: {0}")]
    InvalidSettings(String),
    /// Vault did not answer, or answered that it cannot serve now (sealed, 5xx): try again later.
    #[error("the Vault secret store is unavailable")]
    Unavailable(#[source] vaultrs::error::ClientError),
    /// Vault refused the request (permission denied, no such mount, …).
    #[error("the Vault secret store refused the request")]
    Vault(#[source] vaultrs::error::ClientError),
    /// A reference whose backend is not configured here (a `vault:` one without `VAULT_ADDR`).
    #[error("{0} belongs to a secret backend that is not configured")]
    BackendNotConfigured(String),
}

/// Where secrets are kept.
#[async_trait]
pub trait SecretStore: Send + Sync + 'static {
    /// Stores `value` as a new version of `name` of `tenant` and returns its reference.
    async fn put(&self, tenant: &str, name: &str, value: &[u8]) -> Result<String, SecretError>;
    /// The secret a reference names.
    async fn get(&self, reference: &str) -> Result<Vec<u8>, SecretError>;
    /// Forgets every version of `name` of `tenant`.
    async fn delete(&self, tenant: &str, name: &str) -> Result<(), SecretError>;
}

/// The name of the secret of `id` of `kind` — a connector's provider (`datadog`), an
/// integration's source (`grafana`): `<kind>/<id>`, stored at `<tenant>/<kind>/<id>` (in Vault
/// `<mount>/data/<tenant>/<kind>/<id>`).
pub fn name_of(kind: &str, id: uuid::Uuid) -> String {
    format!("{kind}/{}", id.simple())
}

/// Tenants and names become path segments: only safe characters, no `..`.
pub(crate) fn check_segment(text: &str, allow_slash: bool) -> Result<(), SecretError> {
    let ok = !text.is_empty()
        && text.len() <= 200
        && text.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        })
        && (allow_slash || !text.contains('/'));
    if ok {
        Ok(())
    } else {
        Err(SecretError::InvalidName(text.to_owned()))
    }
}
