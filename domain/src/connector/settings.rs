//! The non-secret settings of a connected account, one shape per kind, and the rules they must
//! follow. Secrets (keys, tokens, kubeconfigs) are never here: the event carries a reference.

use serde::{Deserialize, Serialize};

use super::error::ConnectorError;
use super::kind::ConnectorKind;
use super::values::{DatadogSite, NewRelicRegion, OvhRegion};

/// What is known about an account besides its secret.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema,
)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum ConnectorSettings {
    /// From the service-account key: its project and e-mail. Through OAuth 2.0: the Google
    /// account's e-mail and the first project it reaches.
    Gcp {
        project_id: String,
        client_email: String,
        /// How Aurora holds the account (absent in events from before OAuth: a key).
        #[serde(default, skip_serializing_if = "GcpAuth::is_key")]
        auth: GcpAuth,
    },
    /// The role Aurora assumes with STS, with the tenant's external id.
    Aws {
        role_arn: String,
        external_id: String,
        region: String,
    },
    /// A service principal.
    Azure {
        tenant_id: String,
        client_id: String,
        subscription_id: Option<String>,
    },
    /// The access key is the key's public half (the secret key is the secret).
    Scaleway {
        access_key: String,
        project_id: String,
        region: String,
    },
    Tailscale {
        tailnet: String,
    },
    Ovh {
        #[schema(value_type = String, example = "EU")]
        region: OvhRegion,
    },
    /// What the uploaded kubeconfig's chosen context points at.
    Kubernetes {
        context: String,
        cluster: String,
        server: String,
    },
    Datadog {
        #[schema(value_type = String, example = "US1")]
        site: DatadogSite,
    },
    Newrelic {
        account_id: u64,
        #[schema(value_type = String, example = "US")]
        region: NewRelicRegion,
    },
    Splunk {
        url: String,
    },
    Sentry {
        organization: String,
    },
    Grafana {
        url: String,
    },
    Elasticsearch {
        url: String,
    },
}

/// How a GCP account is held: a service-account key uploaded, or a Google account's OAuth 2.0
/// refresh token (authorization code with PKCE).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum GcpAuth {
    #[default]
    ServiceAccountKey,
    Oauth,
}

impl GcpAuth {
    fn is_key(&self) -> bool {
        *self == Self::ServiceAccountKey
    }
}

impl ConnectorSettings {
    pub fn kind(&self) -> ConnectorKind {
        match self {
            Self::Gcp { .. } => ConnectorKind::Gcp,
            Self::Aws { .. } => ConnectorKind::Aws,
            Self::Azure { .. } => ConnectorKind::Azure,
            Self::Scaleway { .. } => ConnectorKind::Scaleway,
            Self::Tailscale { .. } => ConnectorKind::Tailscale,
            Self::Ovh { .. } => ConnectorKind::Ovh,
            Self::Kubernetes { .. } => ConnectorKind::Kubernetes,
            Self::Datadog { .. } => ConnectorKind::Datadog,
            Self::Newrelic { .. } => ConnectorKind::Newrelic,
            Self::Splunk { .. } => ConnectorKind::Splunk,
            Self::Sentry { .. } => ConnectorKind::Sentry,
            Self::Grafana { .. } => ConnectorKind::Grafana,
            Self::Elasticsearch { .. } => ConnectorKind::Elasticsearch,
        }
    }

    /// The name people and the agent pick the account by among several of its kind (a tool's
    /// `account` or `cluster` argument): who or what it is at the provider. Two live accounts
    /// of one kind never share it.
    pub fn account_name(&self) -> String {
        match self {
            Self::Gcp { client_email, .. } => client_email.clone(),
            Self::Aws { role_arn, .. } => role_arn.clone(),
            Self::Azure {
                client_id,
                subscription_id,
                ..
            } => subscription_id.clone().unwrap_or_else(|| client_id.clone()),
            Self::Scaleway { project_id, .. } => project_id.clone(),
            Self::Tailscale { tailnet } => tailnet.clone(),
            Self::Ovh { region } => region.as_str().to_owned(),
            Self::Kubernetes { cluster, .. } => cluster.clone(),
            Self::Datadog { site } => site.as_str().to_owned(),
            Self::Newrelic { account_id, .. } => account_id.to_string(),
            Self::Sentry { organization } => organization.clone(),
            Self::Splunk { url } | Self::Grafana { url } | Self::Elasticsearch { url } => {
                url.clone()
            }
        }
    }

    /// Every rule of the kind's settings; the first broken one is the error.
    pub fn validate(&self) -> Result<(), ConnectorError> {
        match self {
            Self::Gcp {
                project_id,
                client_email,
                ..
            } => {
                gcp_project(project_id)?;
                if !client_email.contains('@') {
                    return Err(invalid(
                        "client_email",
                        client_email,
                        "not an e-mail address",
                    ));
                }
                Ok(())
            }
            Self::Aws {
                role_arn,
                external_id,
                region,
            } => {
                role_arn_shape(role_arn)?;
                external_id_shape(external_id)?;
                region_shape("region", region)
            }
            Self::Azure {
                tenant_id,
                client_id,
                subscription_id,
            } => {
                guid("tenant_id", tenant_id)?;
                guid("client_id", client_id)?;
                subscription_id
                    .as_deref()
                    .map_or(Ok(()), |s| guid("subscription_id", s))
            }
            Self::Scaleway {
                access_key,
                project_id,
                region,
            } => {
                let ok = access_key.len() == 20
                    && access_key.starts_with("SCW")
                    && access_key.bytes().all(|b| b.is_ascii_alphanumeric());
                if !ok {
                    return Err(invalid(
                        "access_key",
                        access_key,
                        "a Scaleway access key is SCW followed by 17 letters or digits",
                    ));
                }
                guid("project_id", project_id)?;
                region_shape("region", region)
            }
            Self::Tailscale { tailnet } => {
                let ok = !tailnet.is_empty()
                    && tailnet.len() <= 253
                    && tailnet
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".-_@".contains(&b));
                if ok {
                    Ok(())
                } else {
                    Err(invalid("tailnet", tailnet, "not a tailnet name (or \"-\")"))
                }
            }
            Self::Kubernetes {
                context, server, ..
            } => {
                if context.trim().is_empty() {
                    return Err(invalid("context", context, "a context must be named"));
                }
                url_shape("server", server)
            }
            Self::Newrelic { account_id, .. } => {
                if *account_id == 0 {
                    return Err(invalid("account_id", "0", "not a New Relic account id"));
                }
                Ok(())
            }
            Self::Sentry { organization } => {
                let ok = !organization.is_empty()
                    && organization.len() <= 64
                    && organization.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_".contains(&b)
                    });
                if ok {
                    Ok(())
                } else {
                    Err(invalid(
                        "organization",
                        organization,
                        "a Sentry organization slug is a-z, 0-9, '-' and '_'",
                    ))
                }
            }
            Self::Splunk { url } | Self::Grafana { url } | Self::Elasticsearch { url } => {
                url_shape("url", url)
            }
            Self::Ovh { .. } | Self::Datadog { .. } => Ok(()),
        }
    }
}

fn invalid(field: &'static str, value: &str, reason: &str) -> ConnectorError {
    ConnectorError::InvalidSetting {
        field,
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

/// `arn:<partition>:iam::<12 digits>:role/<path and name>`.
pub fn role_arn_shape(arn: &str) -> Result<(), ConnectorError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = match parts.as_slice() {
        ["arn", partition, "iam", "", account, resource] => {
            matches!(*partition, "aws" | "aws-cn" | "aws-us-gov")
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && resource.strip_prefix("role/").is_some_and(|name| {
                    !name.is_empty()
                        && name.len() <= 512
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-/".contains(&b))
                })
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "role_arn",
            arn,
            "expected arn:aws:iam::<12-digit account>:role/<name>",
        ))
    }
}

/// AWS: 2 to 1224 characters of letters, digits and `+=,.@:/-_`.
pub fn external_id_shape(id: &str) -> Result<(), ConnectorError> {
    let ok = (2..=1224).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@:/-_".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "external_id",
            id,
            "2 to 1224 characters of letters, digits and +=,.@:/-_",
        ))
    }
}

/// `us-east-1`, `eu-west-3`, `fr-par`: lowercase words joined by '-'.
fn region_shape(field: &'static str, region: &str) -> Result<(), ConnectorError> {
    let ok = region.len() <= 32
        && region.split('-').count() >= 2
        && region.split('-').all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            region,
            "not a region name (e.g. us-east-1, fr-par)",
        ))
    }
}

fn guid(field: &'static str, text: &str) -> Result<(), ConnectorError> {
    uuid::Uuid::parse_str(text)
        .map(|_| ())
        .map_err(|_| invalid(field, text, "not a GUID"))
}

/// GCP project ids: 6 to 30 characters, a lowercase letter first, then letters, digits, '-'.
pub fn gcp_project(project: &str) -> Result<(), ConnectorError> {
    let ok = (6..=30).contains(&project.len())
        && project.starts_with(|c: char| c.is_ascii_lowercase())
        && !project.ends_with('-')
        && project
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ConnectorError::InvalidProject(project.to_owned()))
    }
}

/// An absolute http(s) URL with a host.
pub fn url_shape(field: &'static str, text: &str) -> Result<(), ConnectorError> {
    match url::Url::parse(text) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        Ok(_) => Err(invalid(field, text, "an http(s) URL with a host is needed")),
        Err(e) => Err(invalid(field, text, &e.to_string())),
    }
}
