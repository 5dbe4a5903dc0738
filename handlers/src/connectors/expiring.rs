//! Short-lived credentials by connector — AWS's assumed sessions, GCP's access tokens — kept
//! until [`RENEW_BEFORE`] their expiry, then fetched again by the next call that needs one.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::ConnectError;

/// How long before its expiry a credential is renewed rather than used, so a command never
/// starts with credentials about to lapse.
pub const RENEW_BEFORE: TimeDelta = TimeDelta::minutes(5);

/// A credential that stops working at a known moment.
pub trait Expires: Clone {
    fn expires_at(&self) -> DateTime<Utc>;
    /// Its secret values, for redaction.
    fn secrets(&self) -> Vec<String>;
}

/// The credentials of each connector, while fresh.
pub struct Expiring<T> {
    held: Mutex<HashMap<Uuid, T>>,
}

impl<T> Default for Expiring<T> {
    fn default() -> Self {
        Self {
            held: Mutex::default(),
        }
    }
}

impl<T: Expires> Expiring<T> {
    /// The connector's credential: the held one while it is fresh, else `fetch`'s.
    pub async fn get<F>(&self, connector: Uuid, fetch: F) -> Result<T, ConnectError>
    where
        F: Future<Output = Result<T, ConnectError>>,
    {
        let held = self
            .held
            .lock()
            .ok()
            .and_then(|h| h.get(&connector).cloned())
            .filter(|c| c.expires_at() - RENEW_BEFORE > Utc::now());
        if let Some(credential) = held {
            return Ok(credential);
        }
        let credential = fetch.await?;
        if let Ok(mut held) = self.held.lock() {
            held.insert(connector, credential.clone());
        }
        Ok(credential)
    }

    /// Forgets a disconnected connector's credential.
    pub fn forget(&self, connector: Uuid) {
        if let Ok(mut held) = self.held.lock() {
            held.remove(&connector);
        }
    }

    /// The secret values of the connector's held credential, if any (for redaction).
    pub fn secret_values(&self, connector: Uuid) -> Vec<String> {
        self.held
            .lock()
            .ok()
            .and_then(|h| h.get(&connector).map(Expires::secrets))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct Token {
        number: u32,
        expires_at: DateTime<Utc>,
    }

    impl Expires for Token {
        fn expires_at(&self) -> DateTime<Utc> {
            self.expires_at
        }

        fn secrets(&self) -> Vec<String> {
            vec![format!("token-{}", self.number)]
        }
    }

    /// A source of tokens living `life`, counting how many it gave.
    struct Issuer {
        issued: AtomicU32,
    }

    impl Issuer {
        async fn issue(&self, life: TimeDelta) -> Result<Token, ConnectError> {
            let number = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(Token {
                number,
                expires_at: Utc::now() + life,
            })
        }
    }

    async fn numbers(
        held: &Expiring<Token>,
        issuer: &Issuer,
        connector: Uuid,
        life: TimeDelta,
        calls: usize,
    ) -> Vec<u32> {
        let mut seen = Vec::new();
        for _ in 0..calls {
            let token = held
                .get(connector, issuer.issue(life))
                .await
                .expect("a token");
            seen.push(token.number);
        }
        seen
    }

    #[tokio::test]
    async fn a_credential_is_reused_until_five_minutes_before_it_expires_then_renewed() {
        let held = Expiring::default();
        let issuer = Issuer {
            issued: AtomicU32::new(0),
        };
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        // An hour, and six minutes: outside the margin, reused.
        assert_eq!(
            numbers(&held, &issuer, a, TimeDelta::hours(1), 3).await,
            [1, 1, 1]
        );
        assert_eq!(
            numbers(&held, &issuer, b, TimeDelta::minutes(6), 2).await,
            [2, 2]
        );
        // Four minutes: within the margin, so every call renews it.
        let c = Uuid::now_v7();
        assert_eq!(
            numbers(&held, &issuer, c, TimeDelta::minutes(4), 2).await,
            [3, 4]
        );
        // Each connector has its own; a forgotten one is fetched again.
        assert_eq!(held.secret_values(a), ["token-1"]);
        held.forget(a);
        assert!(held.secret_values(a).is_empty());
        assert_eq!(
            numbers(&held, &issuer, a, TimeDelta::hours(1), 1).await,
            [5]
        );
        assert_eq!(
            numbers(&held, &issuer, b, TimeDelta::minutes(6), 1).await,
            [2]
        );
    }

    #[tokio::test]
    async fn a_failed_renewal_keeps_nothing_and_the_next_call_tries_again() {
        let held: Expiring<Token> = Expiring::default();
        let connector = Uuid::now_v7();
        let refused = held
            .get(connector, async {
                Err(ConnectError::Malformed("refused".into()))
            })
            .await;
        assert!(refused.is_err());
        assert!(held.secret_values(connector).is_empty());
        let issuer = Issuer {
            issued: AtomicU32::new(0),
        };
        assert_eq!(
            numbers(&held, &issuer, connector, TimeDelta::hours(1), 2).await,
            [1, 1]
        );
    }
}
