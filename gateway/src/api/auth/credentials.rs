//! Secrets handed to clients (session, API and invitation tokens), their hashes, passwords and
//! the session cookie.
//!
//! A token is a kind prefix and 256 random bits in hex. Only its SHA-256 is stored: a leaked
//! table or event log gives nobody a usable token, and since the token has full entropy no slow
//! hash is needed. Passwords have little entropy, so they get Argon2id.

use std::sync::OnceLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use sha2::{Digest, Sha256};

use crate::api::ApiError;

pub const SESSION_COOKIE: &str = "aurora_session";
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Argon2 reads any length; a cap keeps one request from costing arbitrary CPU.
pub const MAX_PASSWORD_BYTES: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Session,
    Api,
    Invitation,
    /// A ticket for one WebSocket connection.
    WebSocket,
}

impl TokenKind {
    fn prefix(self) -> &'static str {
        match self {
            Self::Session => "aurora_s_",
            Self::Api => "aurora_t_",
            Self::Invitation => "aurora_i_",
            Self::WebSocket => "aurora_w_",
        }
    }

    /// The kind a presented token claims to be, from its prefix.
    pub fn of(token: &str) -> Option<Self> {
        [Self::Session, Self::Api, Self::Invitation, Self::WebSocket]
            .into_iter()
            .find(|k| token.starts_with(k.prefix()))
    }
}

/// A new token of `kind` and the hash to store.
pub fn new_token(kind: TokenKind) -> Result<(String, String), ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("the system random source failed: {e}"))?;
    let mut token = String::with_capacity(kind.prefix().len() + 64);
    token.push_str(kind.prefix());
    for b in bytes {
        token.push_str(&format!("{b:02x}"));
    }
    let hash = hash_token(&token);
    Ok((token, hash))
}

/// SHA-256 of a token, in hex.
pub fn hash_token(token: &str) -> String {
    format!("{:x}", Sha256::digest(token.as_bytes()))
}

/// Lower-cased, trimmed, and shaped like an address (the domain checks it again).
pub fn normalise_email(email: &str) -> Result<String, ApiError> {
    let email = email.trim().to_lowercase();
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && email.len() <= 254
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if valid {
        Ok(email)
    } else {
        Err(ApiError::bad_request(
            "invalid_email",
            format!("{email:?} is not an email address"),
        ))
    }
}

pub fn check_password(password: &str) -> Result<(), ApiError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::bad_request(
            "weak_password",
            format!("a password needs at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::bad_request(
            "invalid_password",
            format!("a password may have at most {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// The Argon2id PHC string of `password` (on a blocking thread: it takes tens of milliseconds).
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing a password failed: {e}"))
    })
    .await
    .map_err(|e| anyhow::anyhow!("the hashing thread failed: {e}"))?
    .map_err(ApiError::Internal)
}

/// Whether `password` matches `stored`. With no stored hash (unknown email) a hash of the same
/// cost is checked anyway, so both answers take the same time and say nothing about the email.
pub async fn verify_password(password: String, stored: Option<String>) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let matches = PasswordHash::new(&stored)
            .map(|hash| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &hash)
                    .is_ok()
            })
            .unwrap_or(false);
        known && matches
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("the hashing thread failed: {e}")))
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        Argon2::default()
            .hash_password(b"no user has this password")
            .map(|h| h.to_string())
            // Hashing a constant with default parameters cannot fail but for an allocation
            // failure; a malformed stored hash then simply never verifies.
            .unwrap_or_default()
    })
}

/// The `Set-Cookie` value that hands a session to the browser.
pub fn session_cookie(token: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    )
}

/// The `Set-Cookie` value that removes it.
pub fn clear_cookie(secure: bool) -> String {
    session_cookie("", 0, secure)
}

/// The session token in a `Cookie` header, if any.
pub fn cookie_token(cookie_header: &str) -> Option<&str> {
    cookie_header
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_only_their_hash_matches() {
        let (a, hash_a) = new_token(TokenKind::Api).expect("token");
        let (b, _) = new_token(TokenKind::Api).expect("token");
        assert_ne!(a, b);
        assert!(a.starts_with("aurora_t_") && a.len() == 9 + 64);
        assert_eq!(hash_token(&a), hash_a);
        assert_eq!(TokenKind::of(&a), Some(TokenKind::Api));
        assert_eq!(TokenKind::of("Bearer x"), None);
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalise_email("  Alice@Example.COM ").expect("valid"),
            "alice@example.com"
        );
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@example",
            "a@b@c.d",
            "a b@c.d",
        ] {
            assert!(normalise_email(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn the_session_cookie_is_http_only_and_lax() {
        let c = session_cookie("tok", 60, true);
        assert_eq!(
            c,
            "aurora_session=tok; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure"
        );
        assert_eq!(cookie_token("a=1; aurora_session=tok; b=2"), Some("tok"));
        assert_eq!(cookie_token("aurora_session="), None);
    }

    #[tokio::test]
    async fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse".into()).await.expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".into(), Some(hash.clone()))
            .await
            .expect("verify"));
        assert!(!verify_password("wrong horse".into(), Some(hash))
            .await
            .expect("verify"));
        assert!(!verify_password("correct horse".into(), None)
            .await
            .expect("verify"));
    }
}
