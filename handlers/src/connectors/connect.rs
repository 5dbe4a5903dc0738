//! A connect request, read and checked: its credential parsed (a GCP key's PEM, a kubeconfig),
//! its settings read and held to the kind's rules, and the provider asked when it can be reached.

use aurora_domain::connector::{ConnectorKind, ConnectorSettings, GcpAuth};
use serde_json::Value;

use super::check::{self, Probe};
use super::{kubeconfig, ConnectError, ConnectorConfig, Credentials};

/// An account ready to be recorded.
#[derive(Debug)]
pub struct Verified {
    pub settings: ConnectorSettings,
    pub credentials: Option<Credentials>,
    pub projects: Vec<String>,
    /// `Err(why)` when the provider could not be reached: connected, but failing until a check
    /// succeeds.
    pub reached: Result<(), String>,
}

/// Reads and checks a connect request for `kind`.
pub async fn verify(
    config: &ConnectorConfig,
    kind: ConnectorKind,
    settings: Option<Value>,
    credentials: Option<Value>,
) -> Result<Verified, ConnectError> {
    if !config.offers(kind) {
        return Err(ConnectError::NotOffered(kind));
    }
    let credentials = Credentials::from_request(kind, credentials)?;
    let settings = settings_of(kind, settings, credentials.as_ref())?;
    settings.validate()?;
    let (projects, reached) = match check::probe(config, &settings, credentials.as_ref()).await {
        Ok(Probe { projects }) => (projects, Ok(())),
        Err(ConnectError::Unreachable { provider, source }) => {
            let why = format!(
                "{provider} could not be reached: {}",
                reqwest_reason(&source)
            );
            tracing::warn!(kind = %kind, error = %why, "connected without checking");
            (Vec::new(), Err(why))
        }
        Err(e) => return Err(e),
    };
    Ok(Verified {
        settings,
        credentials,
        projects,
        reached,
    })
}

/// The cause of a failed request without its URL (which may carry a tenant's host).
fn reqwest_reason(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection refused or no route"
    } else {
        "the request failed"
    }
}

/// The settings: GCP's from its key, Kubernetes's from the kubeconfig's chosen context, the
/// others as given.
fn settings_of(
    kind: ConnectorKind,
    given: Option<Value>,
    credentials: Option<&Credentials>,
) -> Result<ConnectorSettings, ConnectError> {
    let mut fields = match given {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(fields)) => fields,
        Some(_) => {
            return Err(ConnectError::InvalidSettings(
                "\"settings\" must be an object".into(),
            ))
        }
    };
    match credentials {
        Some(Credentials::Gcp { key }) => {
            if !fields.is_empty() {
                return Err(ConnectError::InvalidSettings(
                    "GCP takes its settings from the key; send none".into(),
                ));
            }
            return Ok(ConnectorSettings::Gcp {
                project_id: key.project_id.clone(),
                client_email: key.client_email.clone(),
                auth: GcpAuth::ServiceAccountKey,
            });
        }
        Some(Credentials::Kubernetes { kubeconfig: text }) => {
            let context = match fields.remove("context") {
                None | Some(Value::Null) => None,
                Some(Value::String(c)) => Some(c),
                Some(_) => {
                    return Err(ConnectError::InvalidSettings(
                        "settings.context must be a string".into(),
                    ))
                }
            };
            if let Some(extra) = fields.keys().next() {
                return Err(ConnectError::InvalidSettings(format!(
                    "Kubernetes takes only settings.context, not {extra:?}"
                )));
            }
            let chosen = kubeconfig::choose(text, context.as_deref())?;
            return Ok(ConnectorSettings::Kubernetes {
                context: chosen.context,
                cluster: chosen.cluster,
                server: chosen.server,
            });
        }
        _ => {}
    }
    fields.insert("kind".into(), Value::String(kind.as_str().into()));
    serde_json::from_value(Value::Object(fields))
        .map_err(|e| ConnectError::InvalidSettings(e.to_string()))
}
