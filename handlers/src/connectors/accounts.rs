//! The lookup every tool call makes: the tenant's live account of a kind, from the connectors
//! read model, with its credential resolved from the secret store at that moment. Credentials
//! are cached by secret reference (a reference names one immutable version, so a cached value
//! is never stale); the read model is asked each time, so a disconnect takes effect at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aurora_domain::connector::{ConnectorKind, ConnectorSettings, ConnectorState};
use aurora_domain::TenantId;
use aurora_projections::queries;
use sqlx::PgPool;
use uuid::Uuid;

use super::aws::{AwsSession, AwsSessions};
use super::{ConnectError, ConnectorConfig, Credentials};
use crate::secrets::{SecretError, SecretStore};

/// A tenant's connected account as a tool uses it.
#[derive(Debug, Clone)]
pub struct ConnectedAccount {
    pub id: Uuid,
    pub kind: ConnectorKind,
    pub settings: ConnectorSettings,
    /// The folded connector: GCP projects, root project, last check.
    pub state: ConnectorState,
    /// Where the account's API is (the configured override, else the provider's own).
    pub base_url: String,
    /// `None` for AWS (see [`Connectors::aws_session`]).
    pub credentials: Option<Arc<Credentials>>,
}

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("the connectors read model cannot be read")]
    Database(#[from] sqlx::Error),
    #[error("the connector's credential cannot be read from the secret store")]
    Secret(#[from] SecretError),
    #[error("the stored state of connector {connector} does not read")]
    State {
        connector: Uuid,
        #[source]
        source: serde_json::Error,
    },
    /// The stored secret is not a credential of the connector's kind (never its content).
    #[error("the secret of connector {connector} is not a {kind} credential")]
    Credential {
        connector: Uuid,
        kind: ConnectorKind,
    },
}

/// The tenants' connectors. Cheap to clone.
#[derive(Clone)]
pub struct Connectors {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    secrets: Arc<dyn SecretStore>,
    config: ConnectorConfig,
    /// By connector: the reference last read and its credential.
    credentials: Mutex<HashMap<Uuid, (String, Arc<Credentials>)>>,
    aws: AwsSessions,
}

impl Connectors {
    pub fn new(pool: PgPool, secrets: Arc<dyn SecretStore>, config: ConnectorConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                pool,
                secrets,
                config,
                credentials: Mutex::new(HashMap::new()),
                aws: AwsSessions::default(),
            }),
        }
    }

    pub fn config(&self) -> &ConnectorConfig {
        &self.inner.config
    }

    /// The tenant's live account of `kind` (the newest, if several), or `None` when there is
    /// none — which tools answer "not connected".
    pub async fn account(
        &self,
        tenant: &TenantId,
        kind: ConnectorKind,
    ) -> Result<Option<ConnectedAccount>, LookupError> {
        if !self.inner.config.offers(kind) {
            return Ok(None);
        }
        let mut tx = queries::scoped(&self.inner.pool, tenant.as_str()).await?;
        let row = queries::live_connector(&mut tx, tenant.as_str(), kind.as_str()).await?;
        tx.commit().await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let state: ConnectorState =
            serde_json::from_str(&row.state).map_err(|source| LookupError::State {
                connector: row.id,
                source,
            })?;
        let Some(settings) = state.settings.clone() else {
            return Ok(None);
        };
        let credentials = match &state.secret_ref {
            Some(reference) => Some(self.credential(row.id, kind, reference).await?),
            None => None,
        };
        Ok(Some(ConnectedAccount {
            id: row.id,
            kind,
            base_url: self.inner.config.base_url(&settings),
            settings,
            state,
            credentials,
        }))
    }

    /// The kinds the tenant has live accounts of (and this installation offers).
    pub async fn connected_kinds(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<ConnectorKind>, LookupError> {
        let mut tx = queries::scoped(&self.inner.pool, tenant.as_str()).await?;
        let kinds = queries::connected_kinds(&mut tx, tenant.as_str()).await?;
        tx.commit().await?;
        Ok(kinds
            .iter()
            .filter_map(|k| ConnectorKind::parse(k))
            .filter(|k| self.inner.config.offers(*k))
            .collect())
    }

    /// Every secret value of the tenant's live accounts (and of the AWS sessions this process
    /// holds for them), for redaction: a tool's output may repeat any connected secret, not
    /// only the ones it was given.
    pub async fn secret_values(&self, tenant: &TenantId) -> Result<Vec<String>, LookupError> {
        let mut tx = queries::scoped(&self.inner.pool, tenant.as_str()).await?;
        let rows = queries::live_connectors(&mut tx, tenant.as_str()).await?;
        tx.commit().await?;
        let mut values = Vec::new();
        for (id, kind, state) in rows {
            let Some(kind) = ConnectorKind::parse(&kind) else {
                continue;
            };
            let state: ConnectorState =
                serde_json::from_str(&state).map_err(|source| LookupError::State {
                    connector: id,
                    source,
                })?;
            if let Some(reference) = &state.secret_ref {
                values.extend(self.credential(id, kind, reference).await?.values());
            }
            values.extend(self.inner.aws.secret_values(id));
        }
        Ok(values)
    }

    /// Temporary credentials of an AWS account's role (cached until shortly before expiry).
    pub async fn aws_session(
        &self,
        account: &ConnectedAccount,
    ) -> Result<AwsSession, ConnectError> {
        self.inner
            .aws
            .session(&self.inner.config, account.id, &account.settings)
            .await
    }

    /// Forgets what this process cached of a disconnected connector. (Another process's cache
    /// is never asked for it again: every lookup starts at the read model.)
    pub fn forget(&self, connector: Uuid) {
        self.inner.aws.forget(connector);
        if let Ok(mut cache) = self.inner.credentials.lock() {
            cache.remove(&connector);
        }
    }

    async fn credential(
        &self,
        connector: Uuid,
        kind: ConnectorKind,
        reference: &str,
    ) -> Result<Arc<Credentials>, LookupError> {
        let cached = self
            .inner
            .credentials
            .lock()
            .ok()
            .and_then(|c| c.get(&connector).cloned())
            .filter(|(cached, _)| cached == reference)
            .map(|(_, credentials)| credentials);
        if let Some(credentials) = cached {
            return Ok(credentials);
        }
        let bytes = self.inner.secrets.get(reference).await?;
        let credentials: Credentials = serde_json::from_slice(&bytes)
            .ok()
            .filter(|c: &Credentials| c.kind() == kind)
            .ok_or(LookupError::Credential { connector, kind })?;
        let credentials = Arc::new(credentials);
        if let Ok(mut cache) = self.inner.credentials.lock() {
            cache.insert(connector, (reference.to_owned(), credentials.clone()));
        }
        Ok(credentials)
    }
}
