//! The `consumer_credentials` KV bucket: one key per grant (`grant.<tenant>.<name>`), and the
//! revision the nats-server's config was last rendered at (`applied`).

use std::time::Duration;

use async_nats::jetstream::{self, kv};
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};

use super::{AccessError, Churn, Grant, BUCKET};

const GRANT_PREFIX: &str = "grant.";
const APPLIED_KEY: &str = "applied";

fn grant_key(tenant: &str, name: &str) -> String {
    format!("{GRANT_PREFIX}{tenant}.{name}")
}

fn read_error(e: impl std::error::Error + Send + Sync + 'static) -> AccessError {
    AccessError::Read(Box::new(e))
}

/// What [`Registry::modify`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Modified<R> {
    /// There is no such grant (any more).
    Missing,
    /// The change refused, for this reason; nothing was written.
    Refused(R),
    /// The grant already was as the change wanted; nothing was written.
    Unchanged(super::Grant),
    /// Written at this bucket revision.
    Written { grant: super::Grant, revision: u64 },
}

/// A grant as the bucket keeps it: the grant, and beside it the pace of its credential's changes
/// to it — the consumer service's bookkeeping, which the server's config never needs (so it is
/// not part of [`Grant`]), changed in the same write as the grant. A grant stored anew
/// ([`Registry::put`]: a credential issued) starts with none.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    #[serde(flatten)]
    grant: Grant,
    #[serde(default, skip_serializing_if = "Churn::is_fresh")]
    churn: Churn,
}

/// The grants bucket.
#[derive(Clone)]
pub struct Registry {
    kv: kv::Store,
    js: jetstream::Context,
}

impl Registry {
    /// Opens the bucket, creating it if missing (file storage: grants outlive restarts).
    pub async fn open(js: &jetstream::Context) -> Result<Self, AccessError> {
        let kv = js
            .create_key_value(kv::Config {
                bucket: BUCKET.into(),
                description:
                    "credentials of external event consumers (see aurora_nats::consumer_access)"
                        .into(),
                history: 1,
                storage: jetstream::stream::StorageType::File,
                ..Default::default()
            })
            .await
            .map_err(AccessError::Bucket)?;
        Ok(Self { kv, js: js.clone() })
    }

    /// Stores `grant` (replacing one of the same tenant and name); returns the bucket revision.
    pub async fn put(&self, grant: &Grant) -> Result<u64, AccessError> {
        let key = grant_key(&grant.tenant, &grant.name);
        let body = serde_json::to_vec(grant).map_err(|source| AccessError::Corrupt {
            key: key.clone(),
            source,
        })?;
        self.kv
            .put(key, body.into())
            .await
            .map_err(AccessError::Put)
    }

    /// Changes the grant of `tenant` named `name` with `change` — which answers whether it
    /// changed anything, or why it refuses — and stores the result only if nobody wrote the
    /// grant meanwhile; otherwise reads it again and asks `change` again. Several processes
    /// answer a credential's requests, and a revocation may remove the grant at any moment.
    /// `change` is given the pace of the credential's changes too, to count one in (or refuse);
    /// the pace is stored only with a change of the grant.
    pub async fn modify<R>(
        &self,
        tenant: &str,
        name: &str,
        mut change: impl FnMut(&mut Grant, &mut Churn) -> Result<bool, R>,
    ) -> Result<Modified<R>, AccessError> {
        let key = grant_key(tenant, name);
        loop {
            let Some(entry) = self.kv.entry(&key).await.map_err(read_error)? else {
                return Ok(Modified::Missing);
            };
            if entry.operation != kv::Operation::Put {
                return Ok(Modified::Missing);
            }
            let mut record: Record =
                serde_json::from_slice(&entry.value).map_err(|source| AccessError::Corrupt {
                    key: key.clone(),
                    source,
                })?;
            match change(&mut record.grant, &mut record.churn) {
                Err(reason) => return Ok(Modified::Refused(reason)),
                Ok(false) => return Ok(Modified::Unchanged(record.grant)),
                Ok(true) => {}
            }
            let body = serde_json::to_vec(&record).map_err(|source| AccessError::Corrupt {
                key: key.clone(),
                source,
            })?;
            match self.kv.update(&key, body.into(), entry.revision).await {
                Ok(revision) => {
                    return Ok(Modified::Written {
                        grant: record.grant,
                        revision,
                    })
                }
                Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => continue,
                Err(source) => return Err(AccessError::Update { key, source }),
            }
        }
    }

    /// Removes the grant of `tenant` named `name`; the revision of the removal, or `None` if there
    /// was none.
    pub async fn remove(&self, tenant: &str, name: &str) -> Result<Option<u64>, AccessError> {
        if self.get(tenant, name).await?.is_none() {
            return Ok(None);
        }
        self.kv
            .delete(grant_key(tenant, name))
            .await
            .map_err(read_error)?;
        Ok(Some(self.revision().await?))
    }

    pub async fn get(&self, tenant: &str, name: &str) -> Result<Option<Grant>, AccessError> {
        let key = grant_key(tenant, name);
        match self.kv.get(&key).await.map_err(read_error)? {
            Some(body) => serde_json::from_slice(&body)
                .map(Some)
                .map_err(|source| AccessError::Corrupt { key, source }),
            None => Ok(None),
        }
    }

    /// Every grant, expired ones included.
    pub async fn grants(&self) -> Result<Vec<Grant>, AccessError> {
        let mut keys = self.kv.keys().await.map_err(read_error)?;
        let mut grants = Vec::new();
        while let Some(key) = keys.next().await {
            let key = key.map_err(read_error)?;
            let Some(rest) = key.strip_prefix(GRANT_PREFIX) else {
                continue;
            };
            let Some((tenant, name)) = rest.split_once('.') else {
                continue;
            };
            if let Some(grant) = self.get(tenant, name).await? {
                grants.push(grant);
            }
        }
        Ok(grants)
    }

    /// The grant whose nkey user is `public_key`, expired or not.
    pub async fn grant_of(&self, public_key: &str) -> Result<Option<Grant>, AccessError> {
        Ok(self
            .grants()
            .await?
            .into_iter()
            .find(|grant| grant.public_key == public_key))
    }

    /// The bucket's last revision, asked of the server (the store's own status is a snapshot).
    pub async fn revision(&self) -> Result<u64, AccessError> {
        let stream = self
            .js
            .get_stream(format!("KV_{BUCKET}"))
            .await
            .map_err(read_error)?;
        Ok(stream.cached_info().state.last_sequence)
    }

    /// Notes that the server's config holds every grant write up to `revision`.
    pub async fn mark_applied(&self, revision: u64) -> Result<(), AccessError> {
        self.kv
            .put(APPLIED_KEY, revision.to_string().into())
            .await
            .map_err(AccessError::Put)?;
        Ok(())
    }

    /// Waits (at most `limit`) until the server's config holds every grant write up to
    /// `revision`; `false` when no server applied it in time (an external NATS that no Aurora
    /// process renders the config of, or none running).
    pub async fn wait_applied(&self, revision: u64, limit: Duration) -> Result<bool, AccessError> {
        let started = std::time::Instant::now();
        loop {
            // Unreadable while the server reloads (no responders): not applied yet.
            let applied = match self.kv.get(APPLIED_KEY).await {
                Ok(Some(body)) => String::from_utf8_lossy(&body).parse::<u64>().unwrap_or(0),
                Ok(None) => 0,
                Err(e) if started.elapsed() >= limit => return Err(read_error(e)),
                Err(_) => 0,
            };
            if applied >= revision {
                return Ok(true);
            }
            if started.elapsed() >= limit {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Changes to grants from now on.
    pub async fn watch(&self) -> Result<kv::Watch, AccessError> {
        self.kv
            .watch(format!("{GRANT_PREFIX}>"))
            .await
            .map_err(read_error)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::Utc;

    use super::super::tests::grant;
    use super::*;

    #[test]
    fn a_record_keeps_the_pace_beside_the_grant_and_reads_as_the_grant() {
        let mut churn = Churn::default();
        churn.admit(Utc::now()).unwrap();
        let record = Record {
            grant: grant("t1", "audit", None),
            churn,
        };
        let stored = serde_json::to_vec(&record).unwrap();
        let read: Record = serde_json::from_slice(&stored).unwrap();
        assert_eq!((read.grant, read.churn), (record.grant.clone(), churn));
        let as_grant: Grant = serde_json::from_slice(&stored).unwrap();
        assert_eq!(as_grant, record.grant);
    }

    #[test]
    fn a_grant_stored_without_a_pace_reads_as_a_record_with_none() {
        let stored = serde_json::to_vec(&grant("t1", "audit", None)).unwrap();
        let read: Record = serde_json::from_slice(&stored).unwrap();
        assert!(read.churn.is_fresh());
        assert_eq!(read.grant, grant("t1", "audit", None));
    }
}
