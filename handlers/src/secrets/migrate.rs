//! `aurora secrets migrate`: copies every secret from one backend to the other. It finds them in
//! the source itself: the local store's files (`<tenant>/<name>/<version>.enc`), or Vault's KV v2
//! `LIST` walked from the mount's root. Every version is copied, oldest first; the versions the
//! target already holds are the oldest ones (a run that stopped partway copied them), so a rerun
//! copies only the rest. Nothing in the event
//! log is rewritten: references of either kind keep resolving through [`super::Secrets`].

use super::{LocalSecretStore, SecretError, SecretStore, VaultSecretStore};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    ToVault,
    ToLocal,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Migrated {
    /// Names copied, and their versions.
    pub secrets: usize,
    pub versions: usize,
    /// Names the target already held whole.
    pub skipped: usize,
}

pub async fn migrate(
    local: &LocalSecretStore,
    vault: &VaultSecretStore,
    direction: Direction,
) -> Result<Migrated, SecretError> {
    let mut done = Migrated::default();
    let names = match direction {
        Direction::ToVault => local.list().await?,
        Direction::ToLocal => vault.list().await?,
    };
    for (tenant, name) in names {
        let (sources, present) = match direction {
            Direction::ToVault => (
                local.versions(&tenant, &name).await?,
                vault.versions(&tenant, &name).await?,
            ),
            Direction::ToLocal => (
                vault.versions(&tenant, &name).await?,
                local.versions(&tenant, &name).await?,
            ),
        };
        if present.len() >= sources.len() {
            done.skipped += 1;
            continue;
        }
        for reference in &sources[present.len()..] {
            let value = match direction {
                Direction::ToVault => local.get(reference).await?,
                Direction::ToLocal => vault.get(reference).await?,
            };
            match direction {
                Direction::ToVault => vault.put(&tenant, &name, &value).await?,
                Direction::ToLocal => local.put(&tenant, &name, &value).await?,
            };
            done.versions += 1;
        }
        done.secrets += 1;
    }
    Ok(done)
}
