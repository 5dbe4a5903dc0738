//! Discovery: each connected provider's inventory, listed by its CLI through the agent's
//! executor ([`crate::exec`], the same `PATH`, working directory rules and time limit as
//! the agent's tools) with the tenant's credentials handed to each command as the agent's are
//! ([`cli_env::prepare`]), parsed by [`aurora_domain::service::inventory`] and written as
//! commands on the nodes: every node discovered (or seen), then every edge between them.
//!
//! A provider the tenant has not connected is not listed. One whose CLI is not installed, fails
//! or prints what does not parse is skipped and said so in the summary; the others still count.
//! [`GraphConfig::providers`] narrows which kinds discovery lists at all.

use std::collections::HashMap;
use std::time::Duration;

use aurora_domain::connector::ConnectorKind;
use aurora_domain::gate::Cli;
use aurora_domain::service::inventory::{self, aws, azure, gcp, kubernetes, Inventory};
use aurora_domain::service::{service_id, ServiceCommand, ServiceError};
use aurora_domain::TenantId;
use aurora_nats::envelope::Context;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Serialize;

use super::{Graph, GraphError};
use crate::connectors::cli_env::{self, CliRefusal};
use crate::exec::{self, ExecError, ExecSpec};

/// Node and edge commands in flight at once.
const CONCURRENCY: usize = 32;

/// Output kept from one inventory listing. Aurora parses it itself (the model never reads it),
/// and a cluster's `kubectl get … -o json` is easily past the agent's 1 MiB: a listing cut short
/// would fail the whole discovery.
pub const INVENTORY_CAP: usize = 64 * 1024 * 1024;

/// A provider discovery can list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscoveryProvider {
    Kubernetes,
    Gcp,
    Aws,
    Azure,
}

impl DiscoveryProvider {
    pub const ALL: [Self; 4] = [Self::Kubernetes, Self::Gcp, Self::Aws, Self::Azure];

    /// The CLI that lists it (and whose credentials it is given).
    pub fn cli(self) -> Cli {
        match self {
            Self::Kubernetes => Cli::Kubectl,
            Self::Gcp => Cli::Gcloud,
            Self::Aws => Cli::Aws,
            Self::Azure => Cli::Az,
        }
    }

    /// The kind of account it needs.
    pub fn kind(self) -> ConnectorKind {
        cli_env::kind_of(self.cli())
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name.trim() {
            "kubernetes" => Some(Self::Kubernetes),
            "gcp" => Some(Self::Gcp),
            "aws" => Some(Self::Aws),
            "azure" => Some(Self::Azure),
            _ => None,
        }
    }
}

/// How discovery runs.
#[derive(Debug, Clone)]
pub struct GraphConfig {
    /// The providers listed when the tenant has connected them (`AURORA_DISCOVERY_PROVIDERS`,
    /// comma separated; default all four).
    pub providers: Vec<DiscoveryProvider>,
    /// How often every tenant is discovered and swept for stale nodes (once per period across
    /// all processes).
    pub every: Duration,
}

impl Default for GraphConfig {
    fn default() -> Self {
        Self {
            providers: DiscoveryProvider::ALL.to_vec(),
            every: Duration::from_secs(3600),
        }
    }
}

/// A setting of discovery that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("AURORA_DISCOVERY_PROVIDERS: {0:?} is not one of kubernetes, gcp, aws, azure")]
pub struct UnknownProvider(pub String);

impl GraphConfig {
    /// The defaults, with `AURORA_DISCOVERY_PROVIDERS` when set.
    pub fn from_env() -> Result<Self, UnknownProvider> {
        let mut config = Self::default();
        if let Ok(list) = std::env::var("AURORA_DISCOVERY_PROVIDERS") {
            config.providers = list
                .split(',')
                .filter(|p| !p.trim().is_empty())
                .map(|p| DiscoveryProvider::parse(p).ok_or_else(|| UnknownProvider(p.to_owned())))
                .collect::<Result<_, _>>()?;
        }
        Ok(config)
    }
}

/// What one discovery of a tenant found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Discovered {
    pub nodes: usize,
    pub edges: usize,
    /// Providers not listed, each with why.
    pub skipped: Vec<(DiscoveryProvider, String)>,
}

/// Why one provider's inventory was not taken (said, as text, in [`Discovered::skipped`]).
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The account's credentials could not be prepared, or the CLI's login failed.
    #[error(transparent)]
    Credentials(#[from] CliRefusal),
    #[error("`{command}` printed more than it keeps")]
    Truncated { command: String },
    #[error("`{command}` failed (exit code {exit_code:?}): {stderr}")]
    Failed {
        command: String,
        exit_code: Option<i32>,
        stderr: String,
    },
    #[error("`{command}`: {source}")]
    Run {
        command: String,
        #[source]
        source: ExecError,
    },
    /// The listings ran but do not read as an inventory.
    #[error(transparent)]
    Inventory(#[from] inventory::InventoryError),
}

impl Graph {
    /// Lists every configured provider `tenant` has connected and writes what it shows into
    /// its graph, as seen at `now`.
    #[tracing::instrument(skip(self), err)]
    pub async fn discover(
        &self,
        tenant: &TenantId,
        now: DateTime<Utc>,
    ) -> Result<Discovered, GraphError> {
        let mut found = Discovered::default();
        let accounts = self.inner.connectors.accounts(tenant).await?;
        for provider in self.inner.config.providers.clone() {
            // Every connected account of the provider's kind (two clusters are two inventories).
            let names: Vec<&str> = accounts
                .iter()
                .filter(|a| a.kind == provider.kind())
                .map(|a| a.name.as_str())
                .collect();
            if names.is_empty() {
                found.skipped.push((
                    provider,
                    format!("{} is not connected", provider.kind().title()),
                ));
                continue;
            }
            for name in names {
                match self.inventory(tenant, provider, name).await {
                    Ok(inventory) => {
                        let (nodes, edges) = self.record(tenant, inventory, now).await?;
                        found.nodes += nodes;
                        found.edges += edges;
                    }
                    Err(why) => {
                        tracing::info!(%tenant, ?provider, account = name, %why, "provider not discovered");
                        found.skipped.push((provider, format!("{name}: {why}")));
                    }
                }
            }
        }
        Ok(found)
    }

    /// One provider's inventory; the error says why there is none.
    async fn inventory(
        &self,
        tenant: &TenantId,
        provider: DiscoveryProvider,
        account: &str,
    ) -> Result<Inventory, DiscoveryError> {
        let inventory = match provider {
            DiscoveryProvider::Kubernetes => {
                let cluster = self
                    .list(tenant, provider, account, kubernetes::context_argv())
                    .await?;
                let mut outputs = HashMap::new();
                for resource in kubernetes::RESOURCES {
                    let output = self
                        .list(tenant, provider, account, kubernetes::argv(resource))
                        .await?;
                    outputs.insert(resource.to_owned(), output);
                }
                kubernetes::parse(cluster.trim(), &outputs)?
            }
            DiscoveryProvider::Gcp => {
                let outputs = self
                    .outputs(tenant, provider, account, &gcp::COMMANDS)
                    .await?;
                gcp::parse(&outputs)?
            }
            DiscoveryProvider::Aws => {
                let outputs = self
                    .outputs(tenant, provider, account, &aws::COMMANDS)
                    .await?;
                let region = self
                    .list(
                        tenant,
                        provider,
                        account,
                        ["aws", "configure", "get", "region"]
                            .map(str::to_owned)
                            .to_vec(),
                    )
                    .await
                    .ok()
                    .map(|r| r.trim().to_owned())
                    .filter(|r| !r.is_empty());
                aws::parse(&outputs, region.as_deref())?
            }
            DiscoveryProvider::Azure => {
                let outputs = self
                    .outputs(tenant, provider, account, &azure::COMMANDS)
                    .await?;
                azure::parse(&outputs)?
            }
        };
        Ok(inventory)
    }

    async fn outputs(
        &self,
        tenant: &TenantId,
        provider: DiscoveryProvider,
        account: &str,
        commands: &[(&str, &[&str])],
    ) -> Result<HashMap<String, String>, DiscoveryError> {
        let mut outputs = HashMap::new();
        for (name, argv) in commands {
            let argv = argv.iter().map(|a| (*a).to_owned()).collect();
            outputs.insert(
                (*name).to_owned(),
                self.list(tenant, provider, account, argv).await?,
            );
        }
        Ok(outputs)
    }

    /// Runs one read-only listing as the agent runs its tools, with the credentials of the
    /// tenant's `account` at `provider` (their files gone when it ends); its stdout, or why not.
    async fn list(
        &self,
        tenant: &TenantId,
        provider: DiscoveryProvider,
        account: &str,
        argv: Vec<String>,
    ) -> Result<String, DiscoveryError> {
        let agent = &self.inner.agent;
        let cwd = agent.work_dir.join(tenant.as_str()).join("discovery");
        let credentials = cli_env::prepare(
            &self.inner.connectors,
            tenant,
            provider.cli(),
            Some(account),
            &argv,
            &cwd,
        )
        .await?;
        let mut env = credentials.env.clone();
        if let Some(path) = &agent.tool_path {
            env.push(("PATH".to_owned(), path.clone()));
        }
        cli_env::log_in(&credentials, &env, &cwd, agent.tool_timeout).await?;
        let command = argv.join(" ");
        let spec = ExecSpec {
            argv,
            env,
            cwd,
            timeout: agent.tool_timeout,
            secrets: credentials.secrets.clone(),
            output_cap: INVENTORY_CAP,
        };
        match exec::run(spec).await {
            Ok(output) if output.success() && !output.truncated => Ok(output.stdout),
            Ok(output) if output.truncated => Err(DiscoveryError::Truncated { command }),
            Ok(output) => Err(DiscoveryError::Failed {
                command,
                exit_code: output.exit_code,
                stderr: output.stderr.trim().to_owned(),
            }),
            Err(source) => Err(DiscoveryError::Run { command, source }),
        }
    }

    /// Writes an inventory: its nodes first, then the edges between them. How many of each.
    async fn record(
        &self,
        tenant: &TenantId,
        inventory: Inventory,
        now: DateTime<Utc>,
    ) -> Result<(usize, usize), GraphError> {
        let store = &self.inner.services;
        let nodes = inventory.nodes.len();
        let mut runs = futures::stream::iter(inventory.nodes.into_iter().map(|facts| {
            let id = service_id(tenant.as_str(), &facts.key);
            let command = ServiceCommand::Discover { facts, at: now };
            store.execute(tenant, id, command, Context::new_root())
        }))
        .buffer_unordered(CONCURRENCY);
        while let Some(done) = runs.next().await {
            // A discovery is never refused (its only answer to a known node is a sighting).
            let _ = done?;
        }
        let edges = inventory.edges.len();
        let mut runs = futures::stream::iter(inventory.edges.into_iter().map(|edge| {
            // Both ends were just discovered (an inventory's edges join its own nodes).
            let (from, command) = edge.connect(tenant.as_str(), now);
            store.execute(tenant, from, command, Context::new_root())
        }))
        .buffer_unordered(CONCURRENCY);
        while let Some(done) = runs.next().await {
            if let Err(refusal) = done? {
                log_refused(tenant, &refusal);
            }
        }
        Ok((nodes, edges))
    }
}

fn log_refused(tenant: &TenantId, refusal: &ServiceError) {
    tracing::warn!(%tenant, %refusal, "a discovered edge was refused");
}
