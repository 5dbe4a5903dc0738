//! GCP through a Google account, the second way beside a service-account key: OAuth 2.0's
//! authorization code with PKCE (S256, RFC 7636) and, at tool time, the refresh grant — both
//! through the `oauth2` crate. The admin's browser is sent to Google ([`authorize`]); the
//! gateway keeps the state and the PKCE verifier where every gateway finds them and, on the
//! callback, exchanges the code ([`connect`]): the refresh token goes to the secret store, the
//! projects are listed as for a key. A command is given a short-lived access token
//! ([`GcpTokens`]), never the refresh token.

use aurora_domain::connector::{ConnectorSettings, GcpAuth};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, TimeDelta, Utc};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, ExtraTokenFields, HttpClientError, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, RefreshToken, RequestTokenError, Scope, StandardRevocableToken,
    StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

use super::check::{gcp, Call};
use super::connect::Verified;
use super::expiring::Expires;
use super::{redact_all, ConnectError, ConnectorConfig, Credentials};

/// What the account grants: the Cloud Platform (as gcloud asks for) and who the account is.
const SCOPES: [&str; 3] = [
    "openid",
    "email",
    "https://www.googleapis.com/auth/cloud-platform",
];

/// Google's token answer carries an OpenID Connect ID token beside the access token (the scope
/// asks for `openid email`): it names the account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GoogleFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

impl ExtraTokenFields for GoogleFields {}

type GoogleToken = StandardTokenResponse<GoogleFields, BasicTokenType>;
type GoogleClient = oauth2::Client<
    BasicErrorResponse,
    GoogleToken,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;
type TokenError = RequestTokenError<HttpClientError<reqwest::Error>, BasicErrorResponse>;

/// Where the admin's browser goes, and what the callback needs back (kept by the gateway, never
/// shown but for the state inside the URL).
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub verifier: String,
}

impl std::fmt::Debug for Authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorization").finish_non_exhaustive()
    }
}

/// An access token from the refresh grant.
#[derive(Clone)]
pub struct GcpAccessToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for GcpAccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcpAccessToken")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

fn client(
    config: &ConnectorConfig,
    redirect_uri: Option<&str>,
) -> Result<GoogleClient, ConnectError> {
    let oauth = config.gcp_oauth.as_ref().ok_or_else(|| {
        ConnectError::GcpOauthNotConfigured(
            "set AURORA_GCP_OAUTH_CLIENT_ID and AURORA_GCP_OAUTH_CLIENT_SECRET".into(),
        )
    })?;
    let bad = |what: &str, url: &str, e: url::ParseError| {
        ConnectError::GcpOauthNotConfigured(format!("{what} {url:?} does not parse: {e}"))
    };
    let auth = config.gcp_authorization_url();
    let token = config.gcp_token_url();
    let mut client = oauth2::Client::new(ClientId::new(oauth.client_id.clone()))
        .set_client_secret(ClientSecret::new(oauth.client_secret.clone()))
        // As Google documents its token requests: the client's id and secret in the form.
        .set_auth_type(AuthType::RequestBody)
        .set_auth_uri(
            AuthUrl::new(auth.clone()).map_err(|e| bad("the authorization URL", &auth, e))?,
        )
        .set_token_uri(TokenUrl::new(token.clone()).map_err(|e| bad("the token URL", &token, e))?);
    if let Some(uri) = redirect_uri {
        client = client.set_redirect_uri(
            RedirectUrl::new(uri.to_owned()).map_err(|e| bad("the redirect URI", uri, e))?,
        );
    }
    Ok(client)
}

/// Token requests follow no redirect (a token endpoint that redirects is not one to trust
/// with a code or a refresh token).
fn http(config: &ConnectorConfig) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(config.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// Google's authorization URL for a new flow coming back to `redirect_uri`: a fresh state and
/// a PKCE pair (the challenge in the URL, the verifier kept for the exchange).
pub fn authorize(
    config: &ConnectorConfig,
    redirect_uri: &str,
) -> Result<Authorization, ConnectError> {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client(config, Some(redirect_uri))?
        .authorize_url(CsrfToken::new_random)
        .add_scopes(SCOPES.map(|s| Scope::new(s.to_owned())))
        .set_pkce_challenge(challenge)
        // A refresh token is issued only for offline access, and again only when consent is
        // asked (an account that consented before would otherwise come back without one).
        .add_extra_param("access_type", "offline")
        .add_extra_param("prompt", "consent")
        .url();
    Ok(Authorization {
        url: url.to_string(),
        state: state.secret().clone(),
        verifier: verifier.secret().clone(),
    })
}

/// Exchanges the callback's `code` with the flow's PKCE `verifier`, then lists the projects the
/// account reaches: the account, ready to be recorded.
pub async fn connect(
    config: &ConnectorConfig,
    redirect_uri: &str,
    code: &str,
    verifier: &str,
) -> Result<Verified, ConnectError> {
    let http = http(config);
    let answer = client(config, Some(redirect_uri))?
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()))
        .request_async(&http)
        .await
        .map_err(|e| token_error(e, &[code.to_owned()]))?;
    let unexpected = |reason: &str| ConnectError::Unexpected {
        provider: "Google",
        reason: reason.to_owned(),
    };
    let refresh_token = answer
        .refresh_token()
        .ok_or_else(|| unexpected("no refresh token came with the access token"))?
        .secret()
        .clone();
    let access = answer.access_token().secret().clone();
    let email = answer
        .extra_fields()
        .id_token
        .as_deref()
        .and_then(email_of)
        .ok_or_else(|| unexpected("no ID token naming the account's e-mail"))?;
    let base = config.gcp_api_url();
    let secrets = [refresh_token.clone(), access.clone()];
    let call = Call {
        http: &http,
        base: &base,
        secrets: &secrets,
    };
    let projects = gcp::projects(&call, &access).await?;
    let project_id = projects
        .first()
        .cloned()
        .ok_or_else(|| unexpected("the account reaches no active project"))?;
    Ok(Verified {
        settings: ConnectorSettings::Gcp {
            project_id,
            client_email: email,
            auth: GcpAuth::Oauth,
        },
        credentials: Some(Credentials::GcpOauth { refresh_token }),
        projects,
        reached: Ok(()),
    })
}

/// The `email` claim of an ID token received straight from Google's token endpoint over TLS,
/// which OpenID Connect (Core §3.1.3.7) accepts in place of checking its signature.
fn email_of(id_token: &str) -> Option<String> {
    let claims = id_token.split('.').nth(1)?;
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).ok()?).ok()?;
    claims["email"].as_str().map(str::to_owned)
}

/// A fresh access token from the refresh grant.
pub async fn refresh(
    config: &ConnectorConfig,
    refresh_token: &str,
) -> Result<GcpAccessToken, ConnectError> {
    let refresh = RefreshToken::new(refresh_token.to_owned());
    let answer = client(config, None)?
        .exchange_refresh_token(&refresh)
        .request_async(&http(config))
        .await
        .map_err(|e| token_error(e, &[refresh_token.to_owned()]))?;
    let lasts = answer
        .expires_in()
        .and_then(|d| TimeDelta::from_std(d).ok())
        .unwrap_or(TimeDelta::hours(1));
    Ok(GcpAccessToken {
        token: answer.access_token().secret().clone(),
        expires_at: Utc::now() + lasts,
    })
}

/// What a failed token request means, in words without `secrets`.
fn token_error(e: TokenError, secrets: &[String]) -> ConnectError {
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let unexpected = |reason: String| ConnectError::Unexpected {
        provider: "Google",
        reason,
    };
    match e {
        RequestTokenError::ServerResponse(answer) => ConnectError::OauthRefused {
            provider: "Google",
            error: redact_all(answer.error().as_ref(), &secrets),
            detail: answer
                .error_description()
                .map(|d| redact_all(d, &secrets))
                .unwrap_or_default(),
        },
        RequestTokenError::Request(HttpClientError::Reqwest(source)) => ConnectError::Unreachable {
            provider: "Google",
            source: *source,
        },
        RequestTokenError::Request(other) => unexpected(redact_all(&other.to_string(), &secrets)),
        // Only where the answer failed to read: serde's words may quote a value.
        RequestTokenError::Parse(e, _) => {
            unexpected(format!("the token answer does not read at {}", e.path()))
        }
        RequestTokenError::Other(text) => unexpected(redact_all(&text, &secrets)),
    }
}

impl Expires for GcpAccessToken {
    fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }

    fn secrets(&self) -> Vec<String> {
        vec![self.token.clone()]
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use sha2::{Digest, Sha256};

    fn config() -> ConnectorConfig {
        ConnectorConfig {
            gcp_oauth: Some(super::super::GcpOauthClient::new("aurora-client", "s3cret")),
            ..ConnectorConfig::default()
        }
    }

    #[test]
    fn the_authorization_url_asks_for_offline_access_with_an_s256_challenge() {
        let flow = authorize(&config(), "https://aurora.example/cb").expect("a flow");
        let url = url::Url::parse(&flow.url).expect("a URL");
        assert!(flow
            .url
            .starts_with("https://accounts.google.com/o/oauth2/v2/auth?"));
        let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(q["client_id"], "aurora-client");
        assert_eq!(q["redirect_uri"], "https://aurora.example/cb");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["access_type"], "offline");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["state"], flow.state);
        assert!(q["scope"].contains("https://www.googleapis.com/auth/cloud-platform"));
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(flow.verifier.as_bytes()));
        assert_eq!(q["code_challenge"], challenge);
        assert!(!flow.url.contains("s3cret"), "the client secret stays home");
    }

    #[test]
    fn without_a_client_there_is_no_flow() {
        let e = authorize(&ConnectorConfig::default(), "https://aurora.example/cb")
            .expect_err("no client, no flow");
        assert!(matches!(e, ConnectError::GcpOauthNotConfigured(_)), "{e}");
    }

    #[test]
    fn the_id_token_names_the_account() {
        let claims = URL_SAFE_NO_PAD.encode(r#"{"email":"ana@acme.io","sub":"1"}"#);
        assert_eq!(
            email_of(&format!("h.{claims}.s")).as_deref(),
            Some("ana@acme.io")
        );
        assert_eq!(email_of("not a token"), None);
    }
}
