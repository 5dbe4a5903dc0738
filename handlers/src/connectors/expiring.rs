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
