//! The Vault / OpenBao secret store (KV v2 through `vaultrs`): a secret `<name>` of `<tenant>` lives
//! at `<mount>/data/<tenant>/<name>` as `{"value": <base64>}`, each put a new KV v2 version; the
//! reference is `vault:kv/data/<tenant>/<name>@<version>` (mount-independent, so it survives a
//! change of `VAULT_KV_MOUNT` only if the data moves with it).
//!
//! An unreachable or sealed Vault is [`SecretError::Unavailable`]: the caller answers 503 and
//! records nothing, so a failed put never leaves a reference to a secret that was not stored.

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use vaultrs::client::{VaultClient, VaultClientSettingsBuilder};
use vaultrs::error::ClientError;

use super::{check_segment, SecretError, SecretStore};
use crate::Variables;

pub(crate) const PREFIX: &str = "vault:kv/data/";
const DEFAULT_MOUNT: &str = "aurora";
/// An unreachable Vault must fail a request quickly, not hold it for reqwest's default.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Where the Vault store is and how to reach it (`VAULT_ADDR`, `VAULT_TOKEN`, `VAULT_KV_MOUNT`).
#[derive(Clone)]
pub struct VaultConfig {
    pub addr: String,
    pub token: String,
    pub mount: String,
}

impl std::fmt::Debug for VaultConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultConfig")
            .field("addr", &self.addr)
            .field("mount", &self.mount)
            .finish_non_exhaustive()
    }
}

impl VaultConfig {
    pub fn new(addr: &str, token: &str, mount: Option<&str>) -> Self {
        Self {
            addr: addr.to_owned(),
            token: token.to_owned(),
            mount: mount.unwrap_or(DEFAULT_MOUNT).to_owned(),
        }
    }

    /// The Vault store `VAULT_ADDR` names in `vars` (the environment's, a command line's flags
    /// over it, or a test's), with `VAULT_TOKEN`, default none, and `VAULT_KV_MOUNT`, default
    /// `aurora`; `None` without an address, the local store then being the only one.
    pub fn from_vars(vars: &Variables) -> Option<Self> {
        let addr = vars.get("VAULT_ADDR")?;
        let token = vars.get("VAULT_TOKEN").unwrap_or_default();
        Some(Self::new(
            addr.trim(),
            token,
            vars.get("VAULT_KV_MOUNT").map(str::trim),
        ))
    }
}

pub struct VaultSecretStore {
    client: VaultClient,
    mount: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    value: String,
}

impl VaultSecretStore {
    /// A client of the Vault at `config.addr`; nothing is contacted until the first call.
    pub fn open(config: &VaultConfig) -> Result<Self, SecretError> {
        // The settings builder panics on an address that is not a URL: check it first.
        reqwest::Url::parse(&config.addr)
            .map_err(|e| SecretError::InvalidSettings(format!("VAULT_ADDR: {e}")))?;
        check_segment(&config.mount, true).map_err(|_| {
            SecretError::InvalidSettings(format!("VAULT_KV_MOUNT {:?}", config.mount))
        })?;
        crate::tls::install_provider();
        let settings = VaultClientSettingsBuilder::default()
            .address(&config.addr)
            .token(config.token.clone())
            .timeout(Some(TIMEOUT))
            .build()
            .map_err(|e| SecretError::InvalidSettings(e.to_string()))?;
        let client = VaultClient::new(settings).map_err(SecretError::from)?;
        Ok(Self {
            client,
            mount: config.mount.clone(),
        })
    }

    /// Every `(tenant, name)` with a secret: KV v2 `LIST` walked from the mount's root (a key
    /// ending in `/` is a folder).
    pub async fn list(&self) -> Result<Vec<(String, String)>, SecretError> {
        let mut found = Vec::new();
        let mut folders = vec![String::new()];
        while let Some(folder) = folders.pop() {
            let keys = match vaultrs::kv2::list(&self.client, &self.mount, &folder).await {
                Ok(keys) => keys,
                Err(ClientError::APIError { code: 404, .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            for key in keys {
                let path = format!("{folder}{key}");
                if key.ends_with('/') {
                    folders.push(path);
                } else if let Some((tenant, name)) = path.split_once('/') {
                    found.push((tenant.to_owned(), name.to_owned()));
                }
            }
        }
        found.sort();
        Ok(found)
    }

    /// The references of every live version of `name` of `tenant`, oldest first.
    pub async fn versions(&self, tenant: &str, name: &str) -> Result<Vec<String>, SecretError> {
        let path = format!("{tenant}/{name}");
        let metadata = match vaultrs::kv2::read_metadata(&self.client, &self.mount, &path).await {
            Ok(m) => m,
            Err(ClientError::APIError { code: 404, .. }) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut live: Vec<u64> = metadata
            .versions
            .iter()
            .filter(|(_, v)| !v.destroyed && v.deletion_time.is_empty())
            .filter_map(|(n, _)| n.parse().ok())
            .collect();
        live.sort_unstable();
        Ok(live
            .into_iter()
            .map(|v| format!("{PREFIX}{path}@{v}"))
            .collect())
    }
}

/// `(tenant, name, version)` of a reference this store issued.
pub(crate) fn parse_reference(reference: &str) -> Result<(&str, &str, u64), SecretError> {
    let invalid = || SecretError::InvalidReference(reference.to_owned());
    let rest = reference.strip_prefix(PREFIX).ok_or_else(invalid)?;
    let (path, version) = rest.rsplit_once('@').ok_or_else(invalid)?;
    let (tenant, name) = path.split_once('/').ok_or_else(invalid)?;
    check_segment(tenant, false).map_err(|_| invalid())?;
    check_segment(name, true).map_err(|_| invalid())?;
    let version: u64 = version.parse().map_err(|_| invalid())?;
    if version == 0 {
        return Err(invalid());
    }
    Ok((tenant, name, version))
}

#[async_trait]
impl SecretStore for VaultSecretStore {
    async fn put(&self, tenant: &str, name: &str, value: &[u8]) -> Result<String, SecretError> {
        check_segment(tenant, false)?;
        check_segment(name, true)?;
        let path = format!("{tenant}/{name}");
        let stored = Stored {
            value: base64::engine::general_purpose::STANDARD.encode(value),
        };
        let written = vaultrs::kv2::set(&self.client, &self.mount, &path, &stored).await?;
        Ok(format!("{PREFIX}{path}@{}", written.version))
    }

    async fn get(&self, reference: &str) -> Result<Vec<u8>, SecretError> {
        let (tenant, name, version) = parse_reference(reference)?;
        let path = format!("{tenant}/{name}");
        let stored: Stored =
            match vaultrs::kv2::read_version(&self.client, &self.mount, &path, version).await {
                Ok(s) => s,
                Err(ClientError::APIError { code: 404, .. }) => {
                    return Err(SecretError::NotFound(reference.to_owned()))
                }
                Err(e) => return Err(e.into()),
            };
        base64::engine::general_purpose::STANDARD
            .decode(stored.value)
            .map_err(|_| SecretError::Undecryptable(reference.to_owned()))
    }

    async fn delete(&self, tenant: &str, name: &str) -> Result<(), SecretError> {
        check_segment(tenant, false)?;
        check_segment(name, true)?;
        let path = format!("{tenant}/{name}");
        match vaultrs::kv2::delete_metadata(&self.client, &self.mount, &path).await {
            Ok(()) | Err(ClientError::APIError { code: 404, .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

impl From<ClientError> for SecretError {
    fn from(e: ClientError) -> Self {
        match &e {
            // Not answering, or answering that it cannot serve now (sealed, standby, overloaded).
            ClientError::RestClientError {
                source: rustify::errors::ClientError::RequestError { .. },
            } => SecretError::Unavailable(e),
            ClientError::APIError { code, .. } if *code >= 500 => SecretError::Unavailable(e),
            ClientError::RestClientError {
                source: rustify::errors::ClientError::ServerResponseError { code, .. },
            } if *code >= 500 => SecretError::Unavailable(e),
            _ => SecretError::Vault(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_is_configured_by_its_address_token_and_mount() {
        let config = VaultConfig::from_vars(&Variables::from_iter([
            ("VAULT_ADDR", "http://127.0.0.1:8200"),
            ("VAULT_TOKEN", "s.root-token"),
            ("VAULT_KV_MOUNT", "secret"),
        ]))
        .expect("configured");
        assert_eq!(config.addr, "http://127.0.0.1:8200");
        assert_eq!(config.token, "s.root-token");
        assert_eq!(config.mount, "secret");
        // The token is never in its debug text.
        assert!(!format!("{config:?}").contains("s.root-token"));
    }

    #[test]
    fn without_an_address_there_is_no_vault_and_the_rest_has_defaults() {
        assert!(VaultConfig::from_vars(&Variables::default()).is_none());
        assert!(VaultConfig::from_vars(&Variables::from_iter([
            ("VAULT_ADDR", "  "),
            ("VAULT_TOKEN", "t")
        ]))
        .is_none());
        assert!(VaultConfig::from_vars(&Variables::from_iter([
            ("VAULT_TOKEN", "t"),
            ("VAULT_KV_MOUNT", "kv")
        ]))
        .is_none());
        let config = VaultConfig::from_vars(&Variables::from_iter([
            ("VAULT_ADDR", "https://vault.acme.io"),
            ("VAULT_KV_MOUNT", ""),
        ]))
        .expect("configured");
        assert_eq!(config.mount, "aurora");
        assert_eq!(config.token, "");
    }
}
