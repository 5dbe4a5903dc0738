//! Both backends behind one [`SecretStore`]: writes go to Vault when it is configured, else to
//! the local store; a reference is read from the backend its prefix names, so `local:` references
//! recorded before a switch to Vault (and `vault:` ones after a switch back) keep resolving, and
//! nothing in the event log is rewritten.

use std::sync::Arc;

use async_trait::async_trait;

use super::{vault, LocalSecretStore, SecretError, SecretStore, VaultSecretStore};

#[derive(Clone)]
pub struct Secrets {
    pub local: Arc<LocalSecretStore>,
    pub vault: Option<Arc<VaultSecretStore>>,
}

impl Secrets {
    pub fn new(local: LocalSecretStore, vault: Option<VaultSecretStore>) -> Self {
        Self {
            local: Arc::new(local),
            vault: vault.map(Arc::new),
        }
    }

    fn vault_for(&self, reference: &str) -> Result<&VaultSecretStore, SecretError> {
        self.vault
            .as_deref()
            .ok_or_else(|| SecretError::BackendNotConfigured(reference.to_owned()))
    }
}

#[async_trait]
impl SecretStore for Secrets {
    async fn put(&self, tenant: &str, name: &str, value: &[u8]) -> Result<String, SecretError> {
        match &self.vault {
            Some(vault) => vault.put(tenant, name, value).await,
            None => self.local.put(tenant, name, value).await,
        }
    }

    async fn get(&self, reference: &str) -> Result<Vec<u8>, SecretError> {
        if reference.starts_with(vault::PREFIX) {
            self.vault_for(reference)?.get(reference).await
        } else {
            self.local.get(reference).await
        }
    }

    /// Forgets the secret in every configured backend: a secret migrated or written before a
    /// switch must not outlive its deletion in the other one.
    async fn delete(&self, tenant: &str, name: &str) -> Result<(), SecretError> {
        if let Some(vault) = &self.vault {
            vault.delete(tenant, name).await?;
        }
        self.local.delete(tenant, name).await
    }
}
