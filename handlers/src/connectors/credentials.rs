//! The secret half of an account, one shape per kind, as it is kept in the secret store (JSON)
//! and read from a connect request. Its `Debug` shows no value, so it cannot reach a log line.

use aurora_domain::connector::ConnectorKind;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ConnectError;

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Credentials {
    /// The service-account key file, as Google issues it.
    Gcp {
        key: GcpKey,
    },
    /// A Google account connected through OAuth 2.0 (authorization code with PKCE): its refresh
    /// token, which gives the access tokens the CLI and the APIs use. Never from a connect
    /// request: only the OAuth callback makes one.
    #[serde(rename = "gcp_oauth")]
    GcpOauth {
        refresh_token: String,
    },
    Azure {
        client_secret: String,
    },
    Scaleway {
        secret_key: String,
    },
    Tailscale {
        api_key: String,
    },
    /// An OAuth 2.0 service account (client-credentials grant).
    Ovh {
        client_id: String,
        client_secret: String,
    },
    /// The uploaded kubeconfig, as uploaded.
    Kubernetes {
        kubeconfig: String,
    },
    Datadog {
        api_key: String,
        application_key: String,
    },
    /// A user key (`NRAK-…`).
    Newrelic {
        api_key: String,
    },
    Splunk {
        token: String,
    },
    Sentry {
        token: String,
    },
    /// A service-account token.
    Grafana {
        token: String,
    },
    Elasticsearch {
        api_key: String,
    },
}

/// The fields of a Google service-account key Aurora uses (the file has more; they are kept).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcpKey {
    #[serde(rename = "type")]
    pub key_type: String,
    pub project_id: String,
    pub private_key_id: String,
    pub private_key: String,
    pub client_email: String,
    #[serde(flatten)]
    pub rest: serde_json::Map<String, Value>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, redacted)", self.kind())
    }
}

impl Credentials {
    pub fn kind(&self) -> ConnectorKind {
        match self {
            Self::Gcp { .. } | Self::GcpOauth { .. } => ConnectorKind::Gcp,
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

    /// Reads the `credentials` of a connect request for `kind`. A GCP key may come as the key
    /// file's JSON object or as its text. AWS has none (`None`).
    pub fn from_request(
        kind: ConnectorKind,
        given: Option<Value>,
    ) -> Result<Option<Self>, ConnectError> {
        if kind == ConnectorKind::Aws {
            return match given {
                None | Some(Value::Null) => Ok(None),
                Some(_) => Err(ConnectError::Malformed(
                    "AWS takes no credentials: Aurora assumes the role with STS and the external id"
                        .into(),
                )),
            };
        }
        let Some(Value::Object(mut fields)) = given else {
            return Err(ConnectError::Malformed(format!(
                "{} needs \"credentials\": an object",
                kind.title()
            )));
        };
        if kind == ConnectorKind::Gcp {
            if let Some(Value::String(text)) = fields.get("service_account_key") {
                let parsed: Value = serde_json::from_str(text).map_err(|e| {
                    ConnectError::Malformed(format!(
                        "credentials.service_account_key is not a key file (JSON): {e}"
                    ))
                })?;
                fields.insert("service_account_key".into(), parsed);
            }
            if let Some(key) = fields.remove("service_account_key") {
                fields.insert("key".into(), key);
            }
        }
        fields.insert("kind".into(), Value::String(kind.as_str().into()));
        let credentials: Self = serde_json::from_value(Value::Object(fields)).map_err(|e| {
            ConnectError::Malformed(format!("the {} credentials: {e}", kind.title()))
        })?;
        credentials.check_not_blank()?;
        Ok(Some(credentials))
    }

    /// Every secret value, for redaction (a value planted in output is replaced).
    pub fn values(&self) -> Vec<String> {
        let list: Vec<&str> = match self {
            Self::Gcp { key } => vec![&key.private_key, &key.private_key_id],
            Self::GcpOauth { refresh_token } => vec![refresh_token],
            Self::Azure { client_secret } => vec![client_secret],
            Self::Scaleway { secret_key } => vec![secret_key],
            Self::Ovh { client_secret, .. } => vec![client_secret],
            Self::Kubernetes { .. } => vec![],
            Self::Datadog {
                api_key,
                application_key,
            } => vec![api_key, application_key],
            Self::Tailscale { api_key }
            | Self::Newrelic { api_key }
            | Self::Elasticsearch { api_key } => vec![api_key],
            Self::Splunk { token } | Self::Sentry { token } | Self::Grafana { token } => {
                vec![token]
            }
        };
        let mut values: Vec<String> = list
            .into_iter()
            .filter(|v| v.len() >= 4)
            .map(str::to_owned)
            .collect();
        if let Self::Kubernetes { kubeconfig } = self {
            values.extend(super::kubeconfig::secret_values(kubeconfig));
        }
        values
    }

    fn check_not_blank(&self) -> Result<(), ConnectError> {
        let blank = match self {
            Self::Gcp { key } => key.private_key.trim().is_empty(),
            Self::Kubernetes { kubeconfig } => kubeconfig.trim().is_empty(),
            Self::Ovh {
                client_id,
                client_secret,
            } => client_id.trim().is_empty() || client_secret.trim().is_empty(),
            Self::Datadog {
                api_key,
                application_key,
            } => api_key.trim().is_empty() || application_key.trim().is_empty(),
            Self::Azure { client_secret: v }
            | Self::GcpOauth { refresh_token: v }
            | Self::Scaleway { secret_key: v }
            | Self::Tailscale { api_key: v }
            | Self::Newrelic { api_key: v }
            | Self::Elasticsearch { api_key: v }
            | Self::Splunk { token: v }
            | Self::Sentry { token: v }
            | Self::Grafana { token: v } => v.trim().is_empty(),
        };
        if blank {
            Err(ConnectError::Malformed(format!(
                "the {} credentials hold an empty value",
                self.kind().title()
            )))
        } else {
            Ok(())
        }
    }
}
