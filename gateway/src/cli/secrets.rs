//! `aurora secrets migrate --to vault|local`: copies every secret between the local store and
//! Vault (see `aurora_handlers::secrets::migrate` for how each backend's secrets are found).
//! References in the event log stay as they are: both kinds resolve once both are configured.
//!
//! [`SecretArgs`] are where the secrets live, for every command that opens them.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use aurora_handlers::secrets::migrate::{migrate, Direction};
use aurora_handlers::secrets::VaultConfig;
use aurora_handlers::Variables;
use clap::{Args, Subcommand, ValueEnum};

/// Where secrets live: the local encrypted store under the data dir, and Vault/OpenBao when
/// `VAULT_ADDR` is set (then new secrets go there; `local:` references still resolve).
///
/// The Vault flags are read beside their environment variables by [`SecretArgs::vault_with`]
/// (a flag wins over its variable), not by clap, so that reading is tested without changing
/// the process's environment.
#[derive(Debug, Args)]
pub struct SecretArgs {
    /// Key of the local secret store (64 hex characters); generated into the data dir if unset.
    #[arg(long, env = "AURORA_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// Vault/OpenBao address (e.g. http://127.0.0.1:8200): the secret store for new secrets
    /// [env: VAULT_ADDR].
    #[arg(long)]
    pub vault_addr: Option<String>,
    /// Vault's token [env: VAULT_TOKEN].
    #[arg(long)]
    pub vault_token: Option<String>,
    /// The KV v2 secrets engine's mount [env: VAULT_KV_MOUNT; default: aurora].
    #[arg(long)]
    pub vault_kv_mount: Option<String>,
}

impl SecretArgs {
    /// The Vault store the flags and the process's environment name, if any.
    pub fn vault(&self) -> Option<VaultConfig> {
        self.vault_with(Variables::from_env())
    }

    /// The Vault store the flags name, each unset one read from `env` (`VAULT_ADDR`,
    /// `VAULT_TOKEN`, `VAULT_KV_MOUNT`).
    pub fn vault_with(&self, env: Variables) -> Option<VaultConfig> {
        let vars = env
            .overridden("VAULT_ADDR", self.vault_addr.as_deref())
            .overridden("VAULT_TOKEN", self.vault_token.as_deref())
            .overridden("VAULT_KV_MOUNT", self.vault_kv_mount.as_deref());
        VaultConfig::from_vars(&vars)
    }
}

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

/// Runs the command, its report written to `out`. A backend that fails (Vault down) is an
/// error naming it: what was copied before stays, nothing is deleted, and a rerun goes on.
pub async fn run(command: SecretsCommand, out: &mut impl Write) -> anyhow::Result<ExitCode> {
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
    writeln!(
        out,
        "migrated {} secret(s), {} version(s); {} already there",
        done.secrets, done.versions, done.skipped
    )
    .context("Failed to write the report")?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::cli::{Cli, Command};

    fn secret_args(argv: &[&str]) -> SecretArgs {
        let mut all = vec!["aurora", "secrets", "migrate", "--to", "vault"];
        all.extend_from_slice(argv);
        match Cli::try_parse_from(all).expect("parses").command {
            Command::Secrets {
                command: SecretsCommand::Migrate { secrets, .. },
            } => secrets,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn vault_is_read_from_the_environment_when_no_flag_names_it() {
        let args = secret_args(&[]);
        assert!(args.vault_with(Variables::default()).is_none());
        let config = args
            .vault_with(Variables::from_iter([
                ("VAULT_ADDR", "http://127.0.0.1:8200"),
                ("VAULT_TOKEN", "root-token"),
                ("VAULT_KV_MOUNT", "kv"),
            ]))
            .expect("configured");
        assert_eq!(
            (
                config.addr.as_str(),
                config.token.as_str(),
                config.mount.as_str()
            ),
            ("http://127.0.0.1:8200", "root-token", "kv")
        );
        let defaults = args
            .vault_with(Variables::from_iter([(
                "VAULT_ADDR",
                "http://127.0.0.1:8200",
            )]))
            .expect("configured");
        assert_eq!(
            (defaults.token.as_str(), defaults.mount.as_str()),
            ("", "aurora")
        );
    }

    #[test]
    fn a_flag_wins_over_its_variable() {
        let args = secret_args(&["--vault-addr", "http://flag:8200", "--vault-kv-mount", "m"]);
        let config = args
            .vault_with(Variables::from_iter([
                ("VAULT_ADDR", "http://env:8200"),
                ("VAULT_TOKEN", "env-token"),
                ("VAULT_KV_MOUNT", "env-mount"),
            ]))
            .expect("configured");
        assert_eq!(
            (
                config.addr.as_str(),
                config.token.as_str(),
                config.mount.as_str()
            ),
            ("http://flag:8200", "env-token", "m")
        );
    }
}
