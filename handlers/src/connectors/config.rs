//! Where each provider is reached, and what else connecting needs from the operator. Every base
//! URL can be set (`AURORA_<KIND>_BASE_URL`), so tests point them at fake servers and a customer
//! at a proxy or a sovereign region.

use std::collections::BTreeMap;
use std::time::Duration;

use aurora_domain::connector::{ConnectorKind, ConnectorSettings, OvhRegion};

use crate::Variables;

/// Aurora's own AWS keys, used only to call STS AssumeRole on a tenant's role; the CLIs never see
/// them.
#[derive(Clone)]
pub struct AwsIdentity {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for AwsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsIdentity")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Aurora's own OAuth 2.0 client at Google (a "web application" client whose redirect URI is
/// `<public URL>/api/connectors/gcp/oauth/callback`), for connecting GCP with a Google account.
#[derive(Clone)]
pub struct GcpOauthClient {
    pub client_id: String,
    pub client_secret: String,
    /// How long an admin has between starting and coming back (the state's life).
    pub state_ttl: Duration,
}

impl GcpOauthClient {
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            state_ttl: Duration::from_secs(600),
        }
    }
}

impl std::fmt::Debug for GcpOauthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcpOauthClient")
            .field("client_id", &self.client_id)
            .field("state_ttl", &self.state_ttl)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct ConnectorConfig {
    /// Overrides of the providers' documented endpoints, by kind.
    pub base_urls: BTreeMap<ConnectorKind, String>,
    /// OVHcloud is offered only with `FEATURE_FLAG_OVH_ENABLED` (as upstream).
    pub ovh_enabled: bool,
    /// `AURORA_AWS_ACCESS_KEY_ID` / `AURORA_AWS_SECRET_ACCESS_KEY` (/ `AURORA_AWS_SESSION_TOKEN`).
    pub aws: Option<AwsIdentity>,
    /// `AURORA_GCP_OAUTH_CLIENT_ID` / `AURORA_GCP_OAUTH_CLIENT_SECRET`: without them GCP is
    /// connected with a service-account key only.
    pub gcp_oauth: Option<GcpOauthClient>,
    /// How long one request to a provider may take.
    pub timeout: Duration,
}

impl Default for ConnectorConfig {
    fn default() -> Self {
        Self {
            base_urls: BTreeMap::new(),
            ovh_enabled: false,
            aws: None,
            gcp_oauth: None,
            timeout: Duration::from_secs(15),
        }
    }
}

impl ConnectorConfig {
    /// The defaults, changed by the environment.
    pub fn from_env() -> Self {
        Self::from_vars(&Variables::from_env())
    }

    /// The defaults, changed by `vars`: `AURORA_<KIND>_BASE_URL`, `FEATURE_FLAG_OVH_ENABLED`,
    /// Aurora's AWS identity and its OAuth client at Google.
    pub fn from_vars(vars: &Variables) -> Self {
        let var = |name: &str| vars.get(name).map(str::to_owned);
        let base_urls = ConnectorKind::ALL
            .into_iter()
            .filter_map(|kind| {
                let name = format!("AURORA_{}_BASE_URL", kind.as_str().to_ascii_uppercase());
                var(&name).map(|url| (kind, url))
            })
            .collect();
        let aws = match (
            var("AURORA_AWS_ACCESS_KEY_ID"),
            var("AURORA_AWS_SECRET_ACCESS_KEY"),
        ) {
            (Some(access_key_id), Some(secret_access_key)) => Some(AwsIdentity {
                access_key_id,
                secret_access_key,
                session_token: var("AURORA_AWS_SESSION_TOKEN"),
            }),
            _ => None,
        };
        let gcp_oauth = match (
            var("AURORA_GCP_OAUTH_CLIENT_ID"),
            var("AURORA_GCP_OAUTH_CLIENT_SECRET"),
        ) {
            (Some(id), Some(secret)) => Some(GcpOauthClient::new(id, secret)),
            _ => None,
        };
        Self {
            base_urls,
            gcp_oauth,
            ovh_enabled: var("FEATURE_FLAG_OVH_ENABLED")
                .is_some_and(|v| matches!(v.trim(), "1" | "true" | "yes" | "on")),
            aws,
            ..Self::default()
        }
    }

    /// Every provider of `kinds` at `base` (tests: one fake server for all).
    pub fn with_base_url(mut self, kind: ConnectorKind, base: impl Into<String>) -> Self {
        self.base_urls.insert(kind, base.into());
        self
    }

    /// Whether the kind can be connected here.
    pub fn offers(&self, kind: ConnectorKind) -> bool {
        kind != ConnectorKind::Ovh || self.ovh_enabled
    }

    /// Where the account's API is: the override, else the provider's documented endpoint for the
    /// account's site, region or URL. Kubernetes has its own (the kubeconfig's server).
    pub fn base_url(&self, settings: &ConnectorSettings) -> String {
        if let Some(base) = self.base_urls.get(&settings.kind()) {
            return base.trim_end_matches('/').to_owned();
        }
        match settings {
            ConnectorSettings::Gcp { .. } => self.gcp_api_url(),
            ConnectorSettings::Aws { region, .. } => format!("https://sts.{region}.amazonaws.com"),
            ConnectorSettings::Azure { .. } => "https://login.microsoftonline.com".into(),
            ConnectorSettings::Scaleway { .. } => "https://api.scaleway.com".into(),
            ConnectorSettings::Tailscale { .. } => "https://api.tailscale.com".into(),
            ConnectorSettings::Ovh { region } => format!("https://{}", region.api_host()),
            ConnectorSettings::Kubernetes { server, .. } => server.trim_end_matches('/').into(),
            ConnectorSettings::Datadog { site } => format!("https://{}", site.api_host()),
            ConnectorSettings::Newrelic { region, .. } => format!("https://{}", region.api_host()),
            ConnectorSettings::Sentry { .. } => "https://sentry.io".into(),
            ConnectorSettings::Splunk { url }
            | ConnectorSettings::Grafana { url }
            | ConnectorSettings::Elasticsearch { url } => url.trim_end_matches('/').into(),
        }
    }

    /// Google Cloud Resource Manager (the override, else Google's own).
    pub fn gcp_api_url(&self) -> String {
        match self.base_urls.get(&ConnectorKind::Gcp) {
            Some(base) => base.trim_end_matches('/').to_owned(),
            None => "https://cloudresourcemanager.googleapis.com".into(),
        }
    }

    /// Google's OAuth token endpoint (beside the override, when there is one).
    pub fn gcp_token_url(&self) -> String {
        match self.base_urls.get(&ConnectorKind::Gcp) {
            Some(base) => format!("{}/token", base.trim_end_matches('/')),
            None => "https://oauth2.googleapis.com/token".into(),
        }
    }

    /// Google's OAuth 2.0 authorization endpoint, where the admin's browser is sent (beside the
    /// override, when there is one).
    pub fn gcp_authorization_url(&self) -> String {
        match self.base_urls.get(&ConnectorKind::Gcp) {
            Some(base) => format!("{}/o/oauth2/v2/auth", base.trim_end_matches('/')),
            None => "https://accounts.google.com/o/oauth2/v2/auth".into(),
        }
    }

    /// OVHcloud's OAuth 2.0 token endpoint of a region (beside the override, when there is one).
    pub fn ovh_token_url(&self, region: OvhRegion) -> String {
        if let Some(base) = self.base_urls.get(&ConnectorKind::Ovh) {
            return format!("{}/auth/oauth2/token", base.trim_end_matches('/'));
        }
        let host = match region {
            OvhRegion::Eu => "www.ovh.com",
            OvhRegion::Ca => "ca.ovh.com",
            OvhRegion::Us => "us.ovhcloud.com",
        };
        format!("https://{host}/auth/oauth2/token")
    }

    pub(crate) fn http(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .timeout(self.timeout)
            .build()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use aurora_domain::connector::DatadogSite;

    use super::*;

    #[test]
    fn every_kinds_base_url_is_read_from_its_variable() {
        let names: Vec<(String, String)> = ConnectorKind::ALL
            .into_iter()
            .map(|kind| {
                (
                    format!("AURORA_{}_BASE_URL", kind.as_str().to_ascii_uppercase()),
                    format!("http://proxy.example/{}/", kind.as_str()),
                )
            })
            .collect();
        let config = ConnectorConfig::from_vars(&names.iter().cloned().collect());
        assert_eq!(config.base_urls.len(), ConnectorKind::ALL.len());
        for kind in ConnectorKind::ALL {
            assert_eq!(
                config.base_urls[&kind],
                format!("http://proxy.example/{}/", kind.as_str()),
                "{kind:?}"
            );
        }
        assert!(names
            .iter()
            .any(|(k, _)| k == "AURORA_ELASTICSEARCH_BASE_URL"));
        // The override wins over the site, without its trailing slash.
        let datadog = ConnectorSettings::Datadog {
            site: DatadogSite::Us3,
        };
        assert_eq!(config.base_url(&datadog), "http://proxy.example/datadog");
        assert_eq!(config.gcp_token_url(), "http://proxy.example/gcp/token");
        assert_eq!(
            config.ovh_token_url(OvhRegion::Ca),
            "http://proxy.example/ovh/auth/oauth2/token"
        );
    }

    #[test]
    fn without_variables_each_provider_is_at_its_documented_endpoint() {
        let config = ConnectorConfig::from_vars(&Variables::from_iter([
            ("AURORA_DATADOG_BASE_URL", "  "),
            ("HOME", "/root"),
        ]));
        assert!(config.base_urls.is_empty(), "blank is unset");
        let site = |site| ConnectorSettings::Datadog { site };
        assert_eq!(
            config.base_url(&site(DatadogSite::Us1)),
            "https://api.datadoghq.com"
        );
        assert_eq!(
            config.base_url(&site(DatadogSite::Us3)),
            "https://api.us3.datadoghq.com"
        );
        assert_eq!(
            config.base_url(&site(DatadogSite::Us5)),
            "https://api.us5.datadoghq.com"
        );
        assert_eq!(
            config.base_url(&site(DatadogSite::Eu)),
            "https://api.datadoghq.eu"
        );
        assert_eq!(
            config.base_url(&ConnectorSettings::Ovh {
                region: OvhRegion::Us
            }),
            "https://api.us.ovhcloud.com"
        );
        assert_eq!(
            config.gcp_token_url(),
            "https://oauth2.googleapis.com/token"
        );
        assert!(config.aws.is_none() && config.gcp_oauth.is_none());
    }

    #[test]
    fn ovh_is_offered_only_when_its_feature_flag_is_on() {
        for on in ["1", "true", "yes", "on", " true "] {
            let config = ConnectorConfig::from_vars(&Variables::from_iter([(
                "FEATURE_FLAG_OVH_ENABLED",
                on,
            )]));
            assert!(config.ovh_enabled, "{on:?}");
            assert!(config.offers(ConnectorKind::Ovh), "{on:?}");
        }
        for off in ["0", "false", "no", "off", "", "enabled"] {
            let config = ConnectorConfig::from_vars(&Variables::from_iter([(
                "FEATURE_FLAG_OVH_ENABLED",
                off,
            )]));
            assert!(!config.offers(ConnectorKind::Ovh), "{off:?}");
        }
        let unset = ConnectorConfig::from_vars(&Variables::default());
        assert!(!unset.offers(ConnectorKind::Ovh));
        assert!(unset.offers(ConnectorKind::Datadog));
    }

    #[test]
    fn auroras_aws_identity_and_google_client_need_both_halves() {
        let config = ConnectorConfig::from_vars(&Variables::from_iter([
            ("AURORA_AWS_ACCESS_KEY_ID", "AKIAOWN"),
            ("AURORA_AWS_SECRET_ACCESS_KEY", "own-secret"),
            ("AURORA_AWS_SESSION_TOKEN", "own-token"),
            (
                "AURORA_GCP_OAUTH_CLIENT_ID",
                "client.apps.googleusercontent.com",
            ),
            ("AURORA_GCP_OAUTH_CLIENT_SECRET", "client-secret"),
        ]));
        let aws = config.aws.expect("an identity");
        assert_eq!(aws.access_key_id, "AKIAOWN");
        assert_eq!(aws.secret_access_key, "own-secret");
        assert_eq!(aws.session_token.as_deref(), Some("own-token"));
        let google = config.gcp_oauth.expect("a client");
        assert_eq!(google.client_id, "client.apps.googleusercontent.com");
        assert_eq!(google.client_secret, "client-secret");

        let halves = ConnectorConfig::from_vars(&Variables::from_iter([
            ("AURORA_AWS_ACCESS_KEY_ID", "AKIAOWN"),
            ("AURORA_GCP_OAUTH_CLIENT_SECRET", "client-secret"),
        ]));
        assert!(halves.aws.is_none() && halves.gcp_oauth.is_none());
        let no_token = ConnectorConfig::from_vars(&Variables::from_iter([
            ("AURORA_AWS_ACCESS_KEY_ID", "AKIAOWN"),
            ("AURORA_AWS_SECRET_ACCESS_KEY", "own-secret"),
        ]));
        assert_eq!(no_token.aws.expect("an identity").session_token, None);
    }
}
