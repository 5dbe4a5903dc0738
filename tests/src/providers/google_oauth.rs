//! The fake Google's OAuth 2.0 side: the consent screen a test plays ([`FakeProviders::consent`]:
//! it reads the authorization URL as Google would and hands out a code bound to its PKCE
//! challenge), and the token endpoint's authorization-code and refresh-token grants, which check
//! what Google checks — the client, the redirect URI, a code used once, and that the
//! `code_verifier` hashes (S256) to the challenge the code was given for.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::routes::answer;
use super::{FakeProviders, Shared};

/// Aurora's OAuth client at the fake Google ([`FakeProviders::config`] sets it).
pub const GCP_OAUTH_CLIENT_ID: &str = "aurora-test.apps.googleusercontent.com";
pub const GCP_OAUTH_CLIENT_SECRET: &str = "GOCSPX-aurora-test-client-secret";

/// A code the consent screen gave out.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    challenge: String,
    redirect_uri: String,
    email: String,
    used: bool,
}

impl FakeProviders {
    /// Plays the admin at Google's consent screen for `authorization_url` as `email`: checks the
    /// request is one Google accepts (this client, a code, an S256 challenge, offline access)
    /// and returns the authorization code Google would send the browser back with.
    pub fn consent(&self, authorization_url: &str, email: &str) -> String {
        let url = url::Url::parse(authorization_url).expect("an authorization URL");
        let q: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(url.path(), "/o/oauth2/v2/auth", "{authorization_url}");
        assert_eq!(
            q.get("client_id").map(String::as_str),
            Some(GCP_OAUTH_CLIENT_ID)
        );
        assert_eq!(q.get("response_type").map(String::as_str), Some("code"));
        assert_eq!(
            q.get("code_challenge_method").map(String::as_str),
            Some("S256")
        );
        assert_eq!(q.get("access_type").map(String::as_str), Some("offline"));
        assert!(
            q.get("state").is_some_and(|s| s.len() >= 16),
            "{authorization_url}"
        );
        let code = format!("4/0fake-code-{}", uuid::Uuid::new_v4().simple());
        self.lock().google_codes.insert(
            code.clone(),
            Grant {
                challenge: q["code_challenge"].clone(),
                redirect_uri: q["redirect_uri"].clone(),
                email: email.to_owned(),
                used: false,
            },
        );
        code
    }

    /// The refresh tokens the fake Google issued, in order.
    pub fn google_refresh_tokens(&self) -> Vec<String> {
        self.lock().google_refresh_tokens.clone()
    }

    /// The access tokens the fake Google issued (from keys, codes and refresh tokens), in order.
    pub fn google_access_tokens(&self) -> Vec<String> {
        self.lock().gcp_tokens.clone()
    }
}

fn refused(s: &Arc<Mutex<Shared>>, error: &str, description: &str) -> Response {
    answer(
        s,
        StatusCode::BAD_REQUEST,
        json!({"error": error, "error_description": description}),
    )
}

fn client_ok(form: &BTreeMap<String, String>) -> bool {
    form.get("client_id").map(String::as_str) == Some(GCP_OAUTH_CLIENT_ID)
        && form.get("client_secret").map(String::as_str) == Some(GCP_OAUTH_CLIENT_SECRET)
}

fn access_token(s: &Arc<Mutex<Shared>>) -> String {
    let token = format!("ya29.fake-{}", uuid::Uuid::new_v4().simple());
    s.lock().expect("state").gcp_tokens.push(token.clone());
    token
}

/// `grant_type=authorization_code`.
pub(super) fn code_grant(s: &Arc<Mutex<Shared>>, form: &BTreeMap<String, String>) -> Response {
    if !client_ok(form) {
        return answer(
            s,
            StatusCode::UNAUTHORIZED,
            json!({"error": "invalid_client", "error_description": "Unauthorized"}),
        );
    }
    let code = form.get("code").cloned().unwrap_or_default();
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    let grant = {
        let mut shared = s.lock().expect("state");
        match shared.google_codes.get_mut(&code) {
            Some(grant) if !grant.used => {
                grant.used = true;
                Some(grant.clone())
            }
            _ => None,
        }
    };
    let Some(grant) = grant else {
        return refused(s, "invalid_grant", "Malformed auth code.");
    };
    if form.get("redirect_uri") != Some(&grant.redirect_uri) {
        return refused(s, "redirect_uri_mismatch", "Bad Request");
    }
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != grant.challenge {
        return refused(s, "invalid_grant", "Invalid code verifier.");
    }
    let refresh = format!("1//0fake-refresh-{}", uuid::Uuid::new_v4().simple());
    s.lock()
        .expect("state")
        .google_refresh_tokens
        .push(refresh.clone());
    let claims =
        json!({"iss": "https://accounts.google.com", "email": grant.email, "email_verified": true});
    let id_token = format!(
        "{}.{}.fake-signature",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let token = access_token(s);
    answer(
        s,
        StatusCode::OK,
        json!({
            "access_token": token, "expires_in": 3599, "token_type": "Bearer",
            "refresh_token": refresh, "id_token": id_token,
            "scope": "openid https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/cloud-platform",
        }),
    )
}

/// `grant_type=refresh_token`.
pub(super) fn refresh_grant(s: &Arc<Mutex<Shared>>, form: &BTreeMap<String, String>) -> Response {
    if !client_ok(form) {
        return answer(
            s,
            StatusCode::UNAUTHORIZED,
            json!({"error": "invalid_client", "error_description": "Unauthorized"}),
        );
    }
    let known = form
        .get("refresh_token")
        .is_some_and(|t| s.lock().expect("state").google_refresh_tokens.contains(t));
    if !known {
        return refused(s, "invalid_grant", "Token has been expired or revoked.");
    }
    let token = access_token(s);
    answer(
        s,
        StatusCode::OK,
        json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"}),
    )
}
