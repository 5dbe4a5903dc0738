//! The lookup every tool call makes: the tenant's live account of a kind, from the connectors
//! read model, with its credential resolved from the secret store. The tenant's live rows are
//! kept in memory until the projector announces a change to them ([`crate::projected`]), so a
//! disconnect is seen by the next lookup; credentials are cached by secret reference (a
//! reference names one immutable version, so a cached value is never stale).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aurora_domain::connector::{ConnectorKind, ConnectorSettings, ConnectorState};
use aurora_domain::TenantId;
use aurora_projections::queries;
use sqlx::PgPool;
use uuid::Uuid;

use super::aws::{self, AwsSession};
use super::expiring::Expiring;
use super::gcp_oauth::{self, GcpAccessToken};
use super::{ConnectError, ConnectorConfig, Credentials};
use crate::projected::TenantCache;
use crate::secrets::{SecretError, SecretStore};

/// One live connector of a tenant, as the read model has it.
#[derive(Debug)]
pub struct LiveRow {
    pub id: Uuid,
    pub kind: ConnectorKind,
    pub state: ConnectorState,
}

/// A tenant's live connectors, newest first.
type LiveRows = Arc<[LiveRow]>;

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

/// A live account as it is picked: its connector, kind and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountName {
    pub id: Uuid,
    pub kind: ConnectorKind,
    pub name: String,
}

/// The argument a tool call names an account of `kind` with.
pub fn account_argument(kind: ConnectorKind) -> &'static str {
    if kind == ConnectorKind::Kubernetes {
        "cluster"
    } else {
        "account"
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// Several accounts of the kind are connected and the call named none.
    #[error("several {} accounts are connected ({}): name one with `{}`", .kind.title(), .names.join(", "), account_argument(*.kind))]
    Ambiguous {
        kind: ConnectorKind,
        names: Vec<String>,
    },
    /// The call named an account that is not connected.
    #[error("no {} account {name:?} is connected; connected: {}", .kind.title(), .names.join(", "))]
    UnknownAccount {
        kind: ConnectorKind,
        name: String,
        names: Vec<String>,
    },
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
    aws: Expiring<AwsSession>,
    gcp: Expiring<GcpAccessToken>,
    live: Arc<TenantCache<[LiveRow]>>,
}

impl Connectors {
    /// The lookups of accounts in `pool`'s read model, cached until the connectors projector
    /// announces a change on `nats` (without it, every lookup reads the read model).
    pub fn new(
        pool: PgPool,
        secrets: Arc<dyn SecretStore>,
        config: ConnectorConfig,
        nats: Option<async_nats::Client>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                pool,
                secrets,
                config,
                credentials: Mutex::new(HashMap::new()),
                aws: Expiring::default(),
                gcp: Expiring::default(),
                live: TenantCache::new("connectors", nats),
            }),
        }
    }

    /// Whether lookups are kept in memory (the subscription to the projector's notices is in
    /// place; until then every lookup reads the read model).
    pub fn caching(&self) -> bool {
        self.inner.live.listening()
    }

    pub fn config(&self) -> &ConnectorConfig {
        &self.inner.config
    }

    /// The tenant's live account of `kind` named `name` (its [`ConnectorSettings::account_name`]),
    /// or, named none, the only one; `None` when there is none — which tools answer "not
    /// connected". Several and none named is [`LookupError::Ambiguous`]: a command run against
    /// a guessed account (the staging cluster for the production one) is worse than a question
    /// the model answers at its next step with one of the names listed.
    pub async fn account(
        &self,
        tenant: &TenantId,
        kind: ConnectorKind,
        name: Option<&str>,
    ) -> Result<Option<ConnectedAccount>, LookupError> {
        if !self.inner.config.offers(kind) {
            return Ok(None);
        }
        let live = self.live(tenant).await?;
        // Oldest first: the order the names are listed in.
        let of_kind: Vec<(&LiveRow, &ConnectorSettings)> = live
            .iter()
            .rev()
            .filter(|row| row.kind == kind)
            .filter_map(|row| row.state.settings.as_ref().map(|s| (row, s)))
            .collect();
        let names = || of_kind.iter().map(|(_, s)| s.account_name()).collect();
        let row = match (name, of_kind.as_slice()) {
            (_, []) => return Ok(None),
            (None, [(row, _)]) => *row,
            (None, _) => {
                return Err(LookupError::Ambiguous {
                    kind,
                    names: names(),
                })
            }
            (Some(name), _) => match of_kind.iter().find(|(_, s)| s.account_name() == name) {
                Some((row, _)) => *row,
                None => {
                    return Err(LookupError::UnknownAccount {
                        kind,
                        name: name.to_owned(),
                        names: names(),
                    })
                }
            },
        };
        let state = row.state.clone();
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

    /// The tenant's live accounts (of the kinds this installation offers), oldest first: each
    /// connector's id, kind and [`ConnectorSettings::account_name`].
    pub async fn accounts(&self, tenant: &TenantId) -> Result<Vec<AccountName>, LookupError> {
        Ok(self
            .live(tenant)
            .await?
            .iter()
            .rev()
            .filter(|row| self.inner.config.offers(row.kind))
            .filter_map(|row| {
                row.state.settings.as_ref().map(|s| AccountName {
                    id: row.id,
                    kind: row.kind,
                    name: s.account_name(),
                })
            })
            .collect())
    }

    /// The kinds the tenant has live accounts of (and this installation offers).
    pub async fn connected_kinds(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<ConnectorKind>, LookupError> {
        let mut kinds: Vec<ConnectorKind> = self
            .accounts(tenant)
            .await?
            .into_iter()
            .map(|a| a.kind)
            .collect();
        kinds.sort_unstable_by_key(|k| k.as_str());
        kinds.dedup();
        Ok(kinds)
    }

    /// Every secret value of the tenant's live accounts (and of the AWS sessions and GCP access
    /// tokens this process holds for them), for redaction: a tool's output may repeat any connected secret, not
    /// only the ones it was given.
    pub async fn secret_values(&self, tenant: &TenantId) -> Result<Vec<String>, LookupError> {
        let mut values = Vec::new();
        for row in self.live(tenant).await?.iter() {
            if let Some(reference) = &row.state.secret_ref {
                values.extend(self.credential(row.id, row.kind, reference).await?.values());
            }
            values.extend(self.inner.aws.secret_values(row.id));
            values.extend(self.inner.gcp.secret_values(row.id));
        }
        Ok(values)
    }

    /// The tenant's live connectors, newest first: kept in memory, else read (and kept if no
    /// change was announced meanwhile).
    async fn live(&self, tenant: &TenantId) -> Result<LiveRows, LookupError> {
        let cache = &self.inner.live;
        if let Some(rows) = cache.get(tenant.as_str()) {
            return Ok(rows);
        }
        let ticket = cache.ticket();
        let mut tx = queries::scoped(&self.inner.pool, tenant.as_str()).await?;
        let rows = queries::live_connectors(&mut tx, tenant.as_str()).await?;
        tx.commit().await?;
        let rows: LiveRows = rows
            .into_iter()
            .filter_map(|(id, kind, state)| {
                let kind = ConnectorKind::parse(&kind)?;
                Some(
                    serde_json::from_str::<ConnectorState>(&state)
                        .map(|state| LiveRow { id, kind, state })
                        .map_err(|source| LookupError::State {
                            connector: id,
                            source,
                        }),
                )
            })
            .collect::<Result<_, _>>()?;
        if let Some(ticket) = ticket {
            cache.keep(tenant.as_str(), ticket, rows.clone());
        }
        Ok(rows)
    }

    /// Temporary credentials of an AWS account's role (cached until shortly before expiry).
    pub async fn aws_session(
        &self,
        account: &ConnectedAccount,
    ) -> Result<AwsSession, ConnectError> {
        let config = &self.inner.config;
        let name = format!("aurora-{}", account.id.simple());
        self.inner
            .aws
            .get(account.id, aws::assume(config, &account.settings, &name))
            .await
    }

    /// An access token of a GCP account connected through OAuth (cached until shortly before
    /// expiry), from its refresh token.
    pub async fn gcp_access_token(
        &self,
        account: &ConnectedAccount,
        refresh_token: &str,
    ) -> Result<GcpAccessToken, ConnectError> {
        self.inner
            .gcp
            .get(
                account.id,
                gcp_oauth::refresh(&self.inner.config, refresh_token),
            )
            .await
    }

    /// Forgets what this process cached of a disconnected connector, and the tenant's rows.
    /// (Other processes drop the rows on the projector's notice; a credential they cached is
    /// never reached again once the rows no longer name it.)
    pub fn forget(&self, tenant: &TenantId, connector: Uuid) {
        self.inner.aws.forget(connector);
        self.inner.gcp.forget(connector);
        if let Ok(mut cache) = self.inner.credentials.lock() {
            cache.remove(&connector);
        }
        self.changed(tenant);
    }

    /// The tenant's connectors changed (and the read model has the change): the next lookup
    /// reads them again. The gateway calls it after each change it makes, so its own process
    /// need not wait for the projector's notice.
    pub fn changed(&self, tenant: &TenantId) {
        self.inner.live.drop_tenant(tenant.as_str());
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
