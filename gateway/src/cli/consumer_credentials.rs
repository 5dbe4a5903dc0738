//! `aurora consumer-credentials --tenant T [--name N] [--expires 30d] [--revoke]`: NATS
//! credentials for a program outside Aurora that reads one organisation's events (see
//! `aurora_nats::consumer_access` for what they reach, and why nkey users in the server's config).
//!
//! Issuing records `organization.consumer_credentials_issued` (the public key only) on the
//! organisation, creates the credential's durable consumer (more of its own it asks Aurora for,
//! see `aurora_nats::consumer_access::api`), puts the grant where the nats-server's config is
//! rendered from, waits until the server has reloaded it, and prints the seed once, as JSON.
//! Revoking removes the grant first (so a failure afterwards never leaves it usable), deletes
//! every consumer of the credential, its own included, and records
//! `organization.consumer_credentials_revoked`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use aurora_domain::organization::{NewConsumerCredentials, Organization, OrganizationCommand};
use aurora_domain::TenantId;
use aurora_nats::consumer_access::{self, Grant, Registry};
use aurora_nats::subjects::EVENTS_STREAM;
use aurora_nats::{AggregateStore, Context, EventLog};
use chrono::{DateTime, Utc};
use clap::Args;
use serde::Serialize;
use uuid::Uuid;

use crate::cli::StreamsFileArgs;

/// Where `aurora up` writes its embedded nats-server's URL (with Aurora's password), readable
/// by its owner only.
pub const AURORA_URL_FILE: &str = "aurora.url";

/// How long to wait for the nats-server to take a change in.
const APPLY_WAIT: Duration = Duration::from_secs(15);

#[derive(Debug, Args)]
pub struct ConsumerCredentialsArgs {
    /// The organisation (tenant id) whose events the credentials read.
    #[arg(long)]
    pub tenant: String,
    /// The credentials' name within the organisation (lower-case letters, digits, - and _); it
    /// names their durable consumer, `ext-<tenant>-<name>`, which Aurora creates, and those they
    /// create, `ext-<tenant>-<name>~<theirs>`.
    #[arg(long, default_value = "default")]
    pub name: String,
    /// How long they stay valid: a number and a unit, `d`, `h` or `m` (e.g. 30d, 12h).
    #[arg(long, default_value = "30d", value_parser = parse_validity)]
    pub expires: chrono::Duration,
    /// Withdraw the credentials named --name instead (their open connections are closed and
    /// their consumers deleted).
    #[arg(long)]
    pub revoke: bool,
    /// NATS as Aurora (with its user and password); by default the embedded server's, from
    /// `<data dir>/nats/aurora.url`.
    #[arg(long, env = "NATS_URL", hide_env_values = true)]
    pub nats_url: Option<String>,
    #[arg(long, env = "AURORA_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// The address to give the consumer; by default the NATS URL without Aurora's credentials.
    #[arg(long, env = "AURORA_NATS_PUBLIC_URL")]
    pub public_url: Option<String>,
    #[command(flatten)]
    pub streams: StreamsFileArgs,
}

/// What a consumer needs to connect and read, printed once.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct IssuedCredentials {
    pub credential_id: Uuid,
    pub tenant: String,
    pub name: String,
    pub url: String,
    /// The nkey seed (`SU…`): the secret. Aurora keeps only its public key.
    pub nkey_seed: String,
    pub public_key: String,
    /// Set as the client's inbox prefix: replies to any other inbox are refused.
    pub inbox_prefix: String,
    /// The client's JetStream API prefix (`jetstream::with_prefix`): Aurora's consumer API as
    /// the credentials' account sees it.
    pub api_prefix: String,
    pub stream: String,
    /// The durable pull consumer Aurora made for these credentials.
    pub consumer: String,
    /// What the consumer is filtered to: the tenant's events. Consumers they create themselves
    /// filter within it.
    pub filter_subject: String,
    /// What the name of every consumer they create must start with (then 1 to 64 letters,
    /// digits, - or _).
    pub consumer_prefix: String,
    /// How many consumers of their own they may have at once.
    pub max_own_consumers: usize,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
struct Revoked {
    revoked: String,
    tenant: String,
    credential_id: Option<Uuid>,
    /// Every consumer of the credentials, Aurora's and their own.
    deleted_consumers: Vec<String>,
}

/// `30d`, `12h`, `45m` → a duration.
pub fn parse_validity(text: &str) -> Result<chrono::Duration, String> {
    let unit_at = text.len().saturating_sub(1);
    let (number, unit) = text.split_at(unit_at);
    let n: i64 = number.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
        format!("{text:?}: expected a positive number and a unit (d, h or m), e.g. 30d")
    })?;
    match unit {
        "d" if n <= 3650 => Ok(chrono::Duration::days(n)),
        "h" if n <= 3650 * 24 => Ok(chrono::Duration::hours(n)),
        "m" if n <= 3650 * 24 * 60 => Ok(chrono::Duration::minutes(n)),
        "d" | "h" | "m" => Err(format!("{text:?}: at most 10 years")),
        _ => Err(format!("{text:?}: the unit must be d, h or m, e.g. 30d")),
    }
}

pub async fn run(args: ConsumerCredentialsArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let streams = args.streams.load()?;
    let nats_url = match &args.nats_url {
        Some(url) => url.clone(),
        None => aurora_url(&args.data_dir)?,
    };
    let tenant =
        TenantId::parse(args.tenant.clone()).map_err(|e| anyhow::anyhow!("--tenant: {e}"))?;
    // The organisation's aggregate id is its tenant id (organisations are made with a UUID).
    let organization = Uuid::parse_str(tenant.as_str()).with_context(|| {
        format!(
            "--tenant {} is not an organisation id (a UUID)",
            tenant.as_str()
        )
    })?;
    let (client, _) = aurora_nats::connect_and_provision(&nats_url, Some(&streams)).await?;
    let js = async_nats::jetstream::new(client.clone());
    let registry = Registry::open(&js).await?;
    let organizations = AggregateStore::<Organization>::new(EventLog::new(client));
    let at = Utc::now();
    if args.revoke {
        let grant = registry.get(tenant.as_str(), &args.name).await?;
        let removed = registry.remove(tenant.as_str(), &args.name).await?;
        // Its connections are closed by the reload this starts, during which JetStream has no
        // responders: the requests below wait for it.
        if let Some(revision) = removed {
            warn_unless_applied(&registry, revision).await?;
        }
        let command = OrganizationCommand::RevokeConsumerCredentials {
            name: args.name.clone(),
            at,
        };
        let recorded = organizations
            .execute(&tenant, organization, command, Context::new_root())
            .await?;
        // Removed from the server but unknown to the organisation (a grant left over from an
        // issue that failed half-way): it is gone now, which is what was asked.
        if let (Err(refusal), None) = (&recorded, removed) {
            eprintln!("error: {refusal}");
            return Ok(ExitCode::FAILURE);
        }
        // Found by name on the stream, so a grant lost half-way loses its consumers too.
        let deleted_consumers =
            consumer_access::delete_consumers(&js, tenant.as_str(), &args.name).await?;
        let credential_id = grant.map(|g| g.credential_id);
        serde_json::to_writer_pretty(
            &mut *out,
            &Revoked {
                revoked: args.name,
                tenant: tenant.as_str().to_owned(),
                credential_id,
                deleted_consumers,
            },
        )?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let keys = nkeys::KeyPair::new_user();
    let seed = keys.seed().context("Failed to encode the nkey seed")?;
    let credential_id = Uuid::now_v7();
    let expires_at = at + args.expires;
    let command = OrganizationCommand::IssueConsumerCredentials(NewConsumerCredentials {
        credential_id,
        name: args.name.clone(),
        public_key: keys.public_key(),
        expires_at: Some(expires_at),
        at,
    });
    if let Err(refusal) = organizations
        .execute(&tenant, organization, command, Context::new_root())
        .await?
    {
        eprintln!("error: {refusal}");
        return Ok(ExitCode::FAILURE);
    }
    let grant = Grant {
        credential_id,
        tenant: tenant.as_str().to_owned(),
        name: args.name.clone(),
        public_key: keys.public_key(),
        expires_at: Some(expires_at),
        own_consumers: Default::default(),
    };
    consumer_access::create_consumer(&js, &grant).await?;
    let revision = registry.put(&grant).await?;
    warn_unless_applied(&registry, revision).await?;
    let issued = IssuedCredentials {
        credential_id,
        tenant: grant.tenant.clone(),
        name: grant.name.clone(),
        url: args
            .public_url
            .unwrap_or_else(|| aurora_nats::without_credentials(&nats_url)),
        nkey_seed: seed,
        public_key: grant.public_key.clone(),
        inbox_prefix: grant.inbox_prefix(),
        api_prefix: consumer_access::API_PREFIX.to_owned(),
        stream: EVENTS_STREAM.to_owned(),
        consumer: grant.consumer(),
        filter_subject: grant.filter_subject(),
        consumer_prefix: grant.own_prefix(),
        max_own_consumers: consumer_access::MAX_OWN_CONSUMERS,
        expires_at,
    };
    serde_json::to_writer_pretty(&mut *out, &issued)?;
    writeln!(out)?;
    Ok(ExitCode::SUCCESS)
}

async fn warn_unless_applied(registry: &Registry, revision: u64) -> anyhow::Result<()> {
    if !registry.wait_applied(revision, APPLY_WAIT).await? {
        eprintln!(
            "warning: no Aurora-run nats-server took the change in within {}s; with a NATS of \
             your own, render its authorization from the consumer_credentials bucket",
            APPLY_WAIT.as_secs()
        );
    }
    Ok(())
}

fn aurora_url(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join("nats").join(AURORA_URL_FILE);
    let url = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "Failed to read {} (is `aurora up` running with this data dir? otherwise set NATS_URL)",
            path.display()
        )
    })?;
    Ok(url.trim().to_owned())
}

/// Writes `text` to `path`, readable by its owner only.
pub fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("Failed to write {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_is_a_number_and_a_unit() {
        assert_eq!(parse_validity("30d"), Ok(chrono::Duration::days(30)));
        assert_eq!(parse_validity("12h"), Ok(chrono::Duration::hours(12)));
        assert_eq!(parse_validity("5m"), Ok(chrono::Duration::minutes(5)));
        for bad in ["", "d", "30", "0d", "-1d", "30w", "3651d", "1.5d"] {
            assert!(parse_validity(bad).is_err(), "{bad}");
        }
    }
}
