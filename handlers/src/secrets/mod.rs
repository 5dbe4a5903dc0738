//! The secret store: where integration secrets (and later connector credentials) live. Events and
//! read models hold only a reference (`local:<tenant>/<name>@<version>`), never the secret.
//!
//! One trait, [`SecretStore`]; the embedded default is [`LocalSecretStore`], an encrypted file
//! store under the data dir. A Vault/OpenBao backend implements the same trait.

mod local;

use async_trait::async_trait;

pub use local::LocalSecretStore;

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
