//! Google Cloud: a service-account key is checked the way Google's client libraries use it — its
//! PEM private key signs a JWT (RS256, ring), the OAuth token endpoint exchanges it for an access
//! token (RFC 7523), and Cloud Resource Manager lists the projects the key reaches.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use serde_json::json;

use super::observability::expect;
use super::{Call, Probe};
use crate::connectors::credentials::GcpKey;
use crate::connectors::{ConnectError, ConnectorConfig};

/// Read-only is enough for everything the agent does with it at connect time.
const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform.read-only";
/// Pages of projects read at most (500 each).
const MAX_PAGES: usize = 20;

/// The key's RSA key pair, from its PEM (`-----BEGIN PRIVATE KEY-----`, PKCS#8).
fn key_pair(key: &GcpKey) -> Result<RsaKeyPair, ConnectError> {
    if key.key_type != "service_account" {
        return Err(ConnectError::Malformed(format!(
            "the key's type is {:?}; a service-account key is needed",
            key.key_type
        )));
    }
    let (label, der) = x509_cert::der::pem::decode_vec(key.private_key.as_bytes())
        .map_err(|e| ConnectError::Malformed(format!("the key's private_key is not PEM: {e}")))?;
    if label != "PRIVATE KEY" {
        return Err(ConnectError::Malformed(format!(
            "the key's private_key is a {label:?}, not a PKCS#8 PRIVATE KEY"
        )));
    }
    RsaKeyPair::from_pkcs8(&der).map_err(|e| {
        ConnectError::Malformed(format!("the key's private_key is not an RSA key: {e}"))
    })
}

/// The signed JWT of RFC 7523 for `audience`.
fn assertion(key: &GcpKey, pair: &RsaKeyPair, audience: &str) -> Result<String, ConnectError> {
    let now = chrono::Utc::now().timestamp();
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": key.private_key_id});
    let claims = json!({
        "iss": key.client_email, "scope": SCOPE, "aud": audience, "iat": now, "exp": now + 3600,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut signature = vec![0; pair.public().modulus_len()];
    pair.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| ConnectError::Malformed("the key's private_key cannot sign".into()))?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

/// Exchanges the key for an access token at Google's token endpoint.
async fn access_token(
    config: &ConnectorConfig,
    call: &Call<'_>,
    key: &GcpKey,
) -> Result<String, ConnectError> {
    let pair = key_pair(key)?;
    let audience = config.gcp_token_url();
    let jwt = assertion(key, &pair, &audience)?;
    let answer = call
        .json(
            "Google",
            call.http.post(&audience).form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", jwt.as_str()),
            ]),
        )
        .await?;
    let token = answer["access_token"]
        .as_str()
        .ok_or(ConnectError::Unexpected {
            provider: "Google",
            reason: "the token endpoint gave no access_token".into(),
        })?;
    Ok(token.to_owned())
}

pub(super) async fn probe(
    config: &ConnectorConfig,
    call: &Call<'_>,
    key: &GcpKey,
) -> Result<Probe, ConnectError> {
    let token = access_token(config, call, key).await?;
    let mut projects = projects(call, &token).await?;
    if !projects.contains(&key.project_id) {
        projects.insert(0, key.project_id.clone());
    }
    Ok(Probe { projects })
}

/// The active projects `token` reaches, from Cloud Resource Manager at `call`'s base.
pub(crate) async fn projects(call: &Call<'_>, token: &str) -> Result<Vec<String>, ConnectError> {
    // The token is a secret too, while it lives.
    let mut secrets = call.secrets.to_vec();
    secrets.push(token.to_owned());
    let call = Call {
        secrets: &secrets,
        ..*call
    };
    let mut projects = Vec::new();
    let mut page: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut url = call.url("/v1/projects?filter=lifecycleState%3AACTIVE&pageSize=500");
        if let Some(page) = &page {
            url.push_str(&format!("&pageToken={page}"));
        }
        let answer = call
            .json("Google", call.http.get(url).bearer_auth(token))
            .await?;
        expect(
            answer["projects"].is_array() || answer.get("projects").is_none(),
            "Google",
            "no project list",
        )?;
        projects.extend(
            answer["projects"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["projectId"].as_str())
                .map(str::to_owned),
        );
        page = answer["nextPageToken"]
            .as_str()
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        if page.is_none() {
            break;
        }
    }
    Ok(projects)
}
