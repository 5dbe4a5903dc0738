//! The tenant's credentials, in the form each CLI reads, for one command: environment variables
//! and files in a private directory of the run's working directory (0700, files 0600), removed
//! when the command is done ([`CliCredentials`] drops it). Nothing is written before the
//! command runs or kept after; AWS gets the assumed role's temporary keys, never Aurora's own,
//! and a GCP account connected through OAuth an access token, never its refresh token;
//! Azure's CLI is logged in with the service principal first ([`log_in`]).

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use aurora_domain::connector::{ConnectorError, ConnectorKind, ConnectorSettings, OvhRegion};
use aurora_domain::gate::Cli;
use aurora_domain::TenantId;

use crate::exec::{self, ExecSpec};

use super::{kubeconfig, ConnectError, ConnectedAccount, Connectors, Credentials, LookupError};

/// What one command is given; its files go when it is dropped.
#[derive(Debug, Default)]
pub struct CliCredentials {
    pub env: Vec<(String, String)>,
    /// Values to redact from the command's output (every secret handed over).
    pub secrets: Vec<String>,
    /// Commands to run first, in this environment ([`log_in`]): `az login` with the service
    /// principal. No secret is in them (it is read from a file).
    pub login: Vec<Vec<String>>,
    dir: Option<PathBuf>,
}

impl Drop for CliCredentials {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                tracing::warn!(error = %e, dir = %dir.display(), "a command's credential files were not removed");
            }
        }
    }
}

/// Why a command cannot have credentials. Its text is what the model is told.
#[derive(Debug, thiserror::Error)]
pub enum CliRefusal {
    #[error("{} is not connected: an admin connects it under Connectors first", .0.title())]
    NotConnected(ConnectorKind),
    /// Several accounts and none named, or one named that is not connected.
    #[error(transparent)]
    Choice(LookupError),
    #[error("GCP_PROJECT_DISABLED: the project {0} is disabled for Aurora")]
    ProjectDisabled(String),
    #[error("the {} credentials are unavailable: {source}", .kind.title())]
    Lookup {
        kind: ConnectorKind,
        #[source]
        source: LookupError,
    },
    #[error("no Google access token could be had: {0}")]
    Google(#[source] ConnectError),
    #[error("the AWS role could not be assumed: {0}")]
    Aws(#[source] ConnectError),
    #[error("the credential files could not be written: {0}")]
    Files(#[source] std::io::Error),
    /// A login before the command failed; the output is redacted.
    #[error("`{command}` failed: {output}")]
    Login { command: String, output: String },
}

/// The kind of account `cli` needs.
pub fn kind_of(cli: Cli) -> ConnectorKind {
    match cli {
        Cli::Gcloud => ConnectorKind::Gcp,
        Cli::Aws => ConnectorKind::Aws,
        Cli::Az => ConnectorKind::Azure,
        Cli::Scw => ConnectorKind::Scaleway,
        Cli::Tailscale => ConnectorKind::Tailscale,
        Cli::Ovh => ConnectorKind::Ovh,
        Cli::Kubectl => ConnectorKind::Kubernetes,
    }
}

/// The project a gcloud command names (`--project X` or `--project=X`).
fn project_flag(argv: &[String]) -> Option<&str> {
    argv.iter().enumerate().find_map(|(i, arg)| {
        arg.strip_prefix("--project=").or_else(|| {
            (arg == "--project")
                .then(|| argv.get(i + 1).map(String::as_str))
                .flatten()
        })
    })
}

/// The project a gcloud command runs in (the command's, else the root, else the account's), or
/// `GCP_PROJECT_DISABLED`.
fn gcp_project(account: &ConnectedAccount, argv: &[String]) -> Result<String, CliRefusal> {
    account
        .state
        .project_for(project_flag(argv))
        .map_err(|e| match e {
            ConnectorError::ProjectDisabled(project) => CliRefusal::ProjectDisabled(project),
            _ => CliRefusal::NotConnected(ConnectorKind::Gcp),
        })
}

/// The credentials of `tenant`'s account of `cli` named `account` (none: the only one) for
/// `argv`, files under `work_dir`.
pub async fn prepare(
    connectors: &Connectors,
    tenant: &TenantId,
    cli: Cli,
    account: Option<&str>,
    argv: &[String],
    work_dir: &Path,
) -> Result<CliCredentials, CliRefusal> {
    let kind = kind_of(cli);
    let account = connectors
        .account(tenant, kind, account)
        .await
        .map_err(|source| match source {
            LookupError::Ambiguous { .. } | LookupError::UnknownAccount { .. } => {
                CliRefusal::Choice(source)
            }
            source => CliRefusal::Lookup { kind, source },
        })?
        .ok_or(CliRefusal::NotConnected(kind))?;
    let mut out = CliCredentials::default();
    let credentials = account.credentials.clone();
    match (&account.settings, credentials.as_deref()) {
        (ConnectorSettings::Gcp { .. }, Some(Credentials::Gcp { key })) => {
            let project = gcp_project(&account, argv)?;
            let text = serde_json::to_string(key).map_err(|e| CliRefusal::Files(e.into()))?;
            let file = out.file(work_dir, "gcp-key.json", &text)?;
            out.set("CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE", &file);
            out.set("CLOUDSDK_CORE_PROJECT", &project);
            out.secrets.extend(credentials_values(&account));
        }
        (ConnectorSettings::Gcp { .. }, Some(Credentials::GcpOauth { refresh_token })) => {
            // gcloud reads an access token from a file; the refresh token stays in Aurora.
            let project = gcp_project(&account, argv)?;
            let access = connectors
                .gcp_access_token(&account, refresh_token)
                .await
                .map_err(CliRefusal::Google)?;
            let file = out.file(work_dir, "gcp-access-token", &access.token)?;
            out.set("CLOUDSDK_AUTH_ACCESS_TOKEN_FILE", &file);
            out.set("CLOUDSDK_CORE_PROJECT", &project);
            out.secrets.push(access.token);
            out.secrets.extend(credentials_values(&account));
        }
        (ConnectorSettings::Aws { region, .. }, None) => {
            let session = connectors
                .aws_session(&account)
                .await
                .map_err(CliRefusal::Aws)?;
            out.set("AWS_ACCESS_KEY_ID", &session.access_key_id);
            out.set("AWS_SECRET_ACCESS_KEY", &session.secret_access_key);
            out.set("AWS_SESSION_TOKEN", &session.session_token);
            out.set("AWS_REGION", region);
            out.set("AWS_DEFAULT_REGION", region);
            out.secrets
                .extend([session.secret_access_key, session.session_token]);
        }
        (
            ConnectorSettings::Azure {
                tenant_id,
                client_id,
                subscription_id,
            },
            Some(Credentials::Azure { client_secret }),
        ) => {
            // As upstream: the command runs logged in with the service principal, in a config
            // directory of its own. The secret is not on the login's command line (where `ps`
            // and the call would show it): az reads an argument given as `@file` from the file.
            let dir = out.subdir(work_dir, "azure")?;
            let secret = out.file(work_dir, "azure-client-secret", client_secret)?;
            out.set("AZURE_CONFIG_DIR", &dir);
            out.set("AZURE_TENANT_ID", tenant_id);
            out.set("AZURE_CLIENT_ID", client_id);
            let mut login = vec![
                "az",
                "login",
                "--service-principal",
                "--username",
                client_id,
            ];
            let password = format!("@{secret}");
            login.extend([
                "--password",
                &password,
                "--tenant",
                tenant_id,
                "--output",
                "none",
            ]);
            out.login
                .push(login.into_iter().map(str::to_owned).collect());
            if let Some(subscription) = subscription_id {
                out.set("AZURE_SUBSCRIPTION_ID", subscription);
                let set = ["az", "account", "set", "--subscription", subscription];
                out.login.push(set.into_iter().map(str::to_owned).collect());
            }
            out.secrets.push(client_secret.clone());
        }
        (
            ConnectorSettings::Scaleway {
                access_key,
                project_id,
                region,
            },
            Some(Credentials::Scaleway { secret_key }),
        ) => {
            out.set("SCW_ACCESS_KEY", access_key);
            out.set("SCW_SECRET_KEY", secret_key);
            out.set("SCW_DEFAULT_PROJECT_ID", project_id);
            out.set("SCW_DEFAULT_REGION", region);
            out.secrets.push(secret_key.clone());
        }
        (ConnectorSettings::Tailscale { tailnet }, Some(Credentials::Tailscale { api_key })) => {
            out.set("TS_API_KEY", api_key);
            out.set("TS_TAILNET", tailnet);
            out.secrets.push(api_key.clone());
        }
        (
            ConnectorSettings::Ovh { region },
            Some(Credentials::Ovh {
                client_id,
                client_secret,
            }),
        ) => {
            let endpoint = match region {
                OvhRegion::Eu => "ovh-eu",
                OvhRegion::Ca => "ovh-ca",
                OvhRegion::Us => "ovh-us",
            };
            out.set("OVH_ENDPOINT", endpoint);
            out.set("OVH_CLIENT_ID", client_id);
            out.set("OVH_CLIENT_SECRET", client_secret);
            out.secrets.push(client_secret.clone());
        }
        (
            ConnectorSettings::Kubernetes { context, .. },
            Some(Credentials::Kubernetes { kubeconfig: text }),
        ) => {
            let chosen = kubeconfig::with_current_context(text, context)
                .map_err(|e| CliRefusal::Files(std::io::Error::other(e)))?;
            let file = out.file(work_dir, "kubeconfig", &chosen)?;
            out.set("KUBECONFIG", &file);
            out.secrets.extend(credentials_values(&account));
        }
        _ => return Err(CliRefusal::NotConnected(kind)),
    }
    Ok(out)
}

/// Runs the logins `credentials` need (`az login`) with `env` in `cwd`, before the command.
pub async fn log_in(
    credentials: &CliCredentials,
    env: &[(String, String)],
    cwd: &Path,
    timeout: std::time::Duration,
) -> Result<(), CliRefusal> {
    for argv in &credentials.login {
        let command = argv.join(" ");
        let spec = ExecSpec {
            argv: argv.clone(),
            env: env.to_vec(),
            cwd: cwd.to_path_buf(),
            timeout,
            secrets: credentials.secrets.clone(),
            output_cap: exec::OUTPUT_CAP,
        };
        let failed = |output: String| CliRefusal::Login {
            command: command.clone(),
            output,
        };
        match exec::run(spec).await {
            Ok(output) if output.success() => {}
            Ok(output) => return Err(failed(output.combined().trim().to_owned())),
            Err(e) => return Err(failed(e.to_string())),
        }
    }
    Ok(())
}

fn credentials_values(account: &ConnectedAccount) -> Vec<String> {
    account
        .credentials
        .as_deref()
        .map(Credentials::values)
        .unwrap_or_default()
}

impl CliCredentials {
    fn set(&mut self, name: &str, value: &str) {
        self.env.push((name.to_owned(), value.to_owned()));
    }

    /// The command's private directory (made on first use, 0700).
    fn dir(&mut self, work_dir: &Path) -> Result<PathBuf, CliRefusal> {
        if let Some(dir) = &self.dir {
            return Ok(dir.clone());
        }
        let dir = work_dir.join(format!(".credentials-{}", uuid::Uuid::new_v4().simple()));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(CliRefusal::Files)?;
        self.dir = Some(dir.clone());
        Ok(dir)
    }

    fn subdir(&mut self, work_dir: &Path, name: &str) -> Result<String, CliRefusal> {
        let dir = self.dir(work_dir)?.join(name);
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(CliRefusal::Files)?;
        Ok(dir.display().to_string())
    }

    /// Writes `text` to `name` in the private directory, readable by its owner only.
    fn file(&mut self, work_dir: &Path, name: &str, text: &str) -> Result<String, CliRefusal> {
        let path = self.dir(work_dir)?.join(name);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(CliRefusal::Files)?;
        file.write_all(text.as_bytes()).map_err(CliRefusal::Files)?;
        Ok(path.display().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gcloud_command_names_its_project_either_way() {
        let argv = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(
            project_flag(&argv("gcloud compute instances list --project shop-data")),
            Some("shop-data")
        );
        assert_eq!(
            project_flag(&argv("gcloud compute instances list --project=shop-data")),
            Some("shop-data")
        );
        assert_eq!(project_flag(&argv("gcloud compute instances list")), None);
    }
}
