//! `aurora secrets migrate --to vault|local`: copies every secret between the local store and
//! Vault (see `aurora_handlers::secrets::migrate` for how each backend's secrets are found).
//! References in the event log stay as they are: both kinds resolve once both are configured.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use aurora_handlers::secrets::migrate::{migrate, Direction};
use clap::{Subcommand, ValueEnum};

use super::SecretArgs;

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Copy every secret (every version) to the other backend; names already there are kept.
    Migrate {
        #[arg(long, value_enum)]
        to: Target,
        /// Where the local secret store lives.
        #[arg(long, env = "AURORA_DATA_DIR", default_value = "./data")]
        data_dir: PathBuf,
        #[command(flatten)]
        secrets: SecretArgs,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Target {
    Vault,
    Local,
}

pub async fn run(command: SecretsCommand) -> anyhow::Result<ExitCode> {
    let SecretsCommand::Migrate {
        to,
        data_dir,
        secrets,
    } = command;
    let stores = super::secrets(&data_dir, &secrets)?;
    let vault = stores
        .vault
        .as_deref()
        .context("migrating needs Vault: set VAULT_ADDR (and VAULT_TOKEN)")?;
    let direction = match to {
        Target::Vault => Direction::ToVault,
        Target::Local => Direction::ToLocal,
    };
    let done = migrate(&stores.local, vault, direction)
        .await
        .context("the migration stopped (what was copied stays; run it again to go on)")?;
    println!(
        "migrated {} secret(s), {} version(s); {} already there",
        done.secrets, done.versions, done.skipped
    );
    Ok(ExitCode::SUCCESS)
}
