//! NATS access for consumers outside Aurora: one nkey user per issued credential, allowed to read
//! its tenant's events (`evt.<tenant>.>`) through one durable pull consumer on `EVENTS` that Aurora
//! creates for it, and nothing else.
//!
//! How, and why this way. Aurora's streams live in the account [`AURORA_ACCOUNT`]; external
//! consumers are nkey users of another account, [`EXTERNAL_ACCOUNT`], which imports only three
//! JetStream services from it: consumer info, next message, and acks. Two things a same-account
//! user could do were found by the tests and rule simpler designs out: JetStream answers a
//! request on whatever reply subject the requester names, and a push consumer delivers wherever
//! its `deliver_subject` says — both are publishes inside the stream's account, so a user of
//! Aurora's account with any JetStream API permission could append to `evt.<other tenant>.…`,
//! `inbox.…` or `cmd.…` (the streams capture them). In their own account their replies land in
//! their own account's subjects, where no stream listens; and they create no consumers (the
//! consumer is made by `aurora consumer-credentials`, filtered to the tenant, pull only).
//! Operator-mode JWTs would give the same accounts at the price of signing keys and a resolver
//! for every Aurora process; an auth callout is asked only at connect, so a revoked credential's
//! open connection would live on. Here a config reload re-checks every connected client: a
//! revoked or expired credential's connection is closed at once. The nkey's seed is printed
//! once and stored nowhere: the server and the event log hold only its public key.
//!
//! Where the grants live: the `consumer_credentials` KV bucket (one key per tenant and name). The
//! process that runs the nats-server ([`crate::server::NatsServer::enforce_grants`]) renders them
//! into the server's config, reloads it, and writes back the bucket revision it applied, which
//! `aurora consumer-credentials` waits for. The organisation's event log records each issue and
//! revocation (the audit trail); the bucket is the server's live copy.

use std::time::Duration;

use async_nats::jetstream::{self, kv};
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::subjects::EVENTS_STREAM;

pub const BUCKET: &str = "consumer_credentials";
const GRANT_PREFIX: &str = "grant.";
const APPLIED_KEY: &str = "applied";
/// Aurora's own user in the server's config.
pub const AURORA_USER: &str = "aurora";
/// The account Aurora's streams and its own user live in.
pub const AURORA_ACCOUNT: &str = "AURORA";
/// The account of every external consumer.
pub const EXTERNAL_ACCOUNT: &str = "EXTERNAL";

/// Where the external account reaches Aurora's JetStream API (a client uses it as its
/// JetStream API prefix): in an account without JetStream the server answers `$JS.API.>` itself
/// ("not enabled"), so the lent services are imported under another name.
pub const API_PREFIX: &str = "aurora.API";

/// The JetStream services Aurora's account lends the external one: the subject in Aurora's
/// account, the name it is imported as, and how it answers.
const LENT_SERVICES: [(&str, &str, &str); 3] = [
    (
        "$JS.API.CONSUMER.INFO.EVENTS.*",
        "aurora.API.CONSUMER.INFO.EVENTS.*",
        "singleton",
    ),
    // A pull request is answered by as many messages as it asked for.
    (
        "$JS.API.CONSUMER.MSG.NEXT.EVENTS.*",
        "aurora.API.CONSUMER.MSG.NEXT.EVENTS.*",
        "stream",
    ),
    ("$JS.ACK.EVENTS.>", "$JS.ACK.EVENTS.>", "singleton"),
];

/// One issued credential, as the server must know it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub credential_id: Uuid,
    pub tenant: String,
    /// Validated by the organisation aggregate: letters, digits, `-` and `_` (one subject token).
    pub name: String,
    /// The nkey user's public key (`U…`); the seed went to whoever asked, once.
    pub public_key: String,
    pub expires_at: Option<DateTime<Utc>>,
}

impl Grant {
    /// The one durable consumer the credential reads (Aurora creates it). The tenant is in the
    /// name, so another tenant's credential of the same name never reaches this one.
    pub fn consumer(&self) -> String {
        format!("ext-{}-{}", self.tenant, self.name)
    }

    /// The credential's private reply subjects: a client sets it as its inbox prefix. Shared
    /// `_INBOX.>` would let it read the replies meant for every other client, Aurora's included.
    pub fn inbox_prefix(&self) -> String {
        format!("_INBOX_{}", self.credential_id.simple())
    }

    /// What the consumer must filter on.
    pub fn filter_subject(&self) -> String {
        format!("evt.{}.>", self.tenant)
    }

    pub fn is_active_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|expiry| now < expiry)
    }

    fn key(&self) -> String {
        grant_key(&self.tenant, &self.name)
    }

    /// Subject permissions, within the external account: publish only the requests of its own
    /// consumer (info, next message) and its acks; subscribe only its own inbox. Everything
    /// else is refused, creating or changing consumers, stream info and message or direct gets
    /// included; Aurora's subjects are not even in that account.
    pub fn permissions(&self) -> Permissions {
        let consumer = self.consumer();
        let api = |verb: &str| format!("{API_PREFIX}.CONSUMER.{verb}.{EVENTS_STREAM}.{consumer}");
        Permissions {
            publish: Allow {
                allow: vec![
                    api("INFO"),
                    api("MSG.NEXT"),
                    format!("$JS.ACK.{EVENTS_STREAM}.{consumer}.>"),
                ],
            },
            subscribe: Allow {
                allow: vec![format!("{}.>", self.inbox_prefix())],
            },
        }
    }
}

fn grant_key(tenant: &str, name: &str) -> String {
    format!("{GRANT_PREFIX}{tenant}.{name}")
}

/// nats-server's `permissions` block of one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Permissions {
    pub publish: Allow,
    pub subscribe: Allow,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Allow {
    pub allow: Vec<String>,
}

#[derive(Serialize)]
struct User<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nkey: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    permissions: Option<Permissions>,
}

/// The server config's `accounts` block (JSON is valid nats-server config): Aurora's account with
/// JetStream and its own user, unrestricted, lending [`LENT_SERVICES`] to the external account,
/// which holds one nkey user per grant still active at `now`. There is no `no_auth_user`: a
/// connection without credentials is refused.
pub fn accounts(aurora_password: &str, grants: &[Grant], now: DateTime<Utc>) -> String {
    let users: Vec<User<'_>> = grants
        .iter()
        .filter(|grant| grant.is_active_at(now))
        .map(|grant| User {
            user: None,
            password: None,
            nkey: Some(&grant.public_key),
            permissions: Some(grant.permissions()),
        })
        .collect();
    let exports: Vec<serde_json::Value> = LENT_SERVICES
        .iter()
        .map(|(subject, _, response)| {
            serde_json::json!({
                "service": subject,
                "response_type": response,
                "accounts": [EXTERNAL_ACCOUNT],
            })
        })
        .collect();
    let imports: Vec<serde_json::Value> = LENT_SERVICES
        .iter()
        .map(|(subject, to, _)| {
            serde_json::json!({
                "service": { "account": AURORA_ACCOUNT, "subject": subject },
                "to": to,
            })
        })
        .collect();
    let block = serde_json::json!({
        AURORA_ACCOUNT: {
            "jetstream": "enabled",
            "users": [User {
                user: Some(AURORA_USER),
                password: Some(aurora_password),
                nkey: None,
                permissions: None,
            }],
            "exports": exports,
        },
        EXTERNAL_ACCOUNT: { "users": users, "imports": imports },
    });
    // Serialising plain strings and vectors cannot fail.
    #[allow(clippy::unwrap_used)]
    let text = serde_json::to_string_pretty(&block).unwrap();
    format!("accounts: {text}\n")
}

/// Creates the grant's durable pull consumer, filtered to its tenant (replacing one left by an
/// earlier credential of the same name, so a new holder starts from the first event).
pub async fn create_consumer(js: &jetstream::Context, grant: &Grant) -> Result<(), AccessError> {
    delete_consumer(js, grant).await?;
    js.create_consumer_on_stream(
        jetstream::consumer::pull::Config {
            durable_name: Some(grant.consumer()),
            description: Some(format!(
                "external consumer {:?} of tenant {}",
                grant.name, grant.tenant
            )),
            filter_subject: grant.filter_subject(),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ..Default::default()
        },
        EVENTS_STREAM,
    )
    .await
    .map_err(|e| AccessError::Consumer(Box::new(e)))?;
    Ok(())
}

/// Deletes the grant's consumer, if there is one.
pub async fn delete_consumer(js: &jetstream::Context, grant: &Grant) -> Result<(), AccessError> {
    let exists = js
        .get_consumer_from_stream::<jetstream::consumer::pull::Config, _, _>(
            grant.consumer(),
            EVENTS_STREAM,
        )
        .await
        .is_ok();
    if exists {
        js.delete_consumer_from_stream(grant.consumer(), EVENTS_STREAM)
            .await
            .map_err(|e| AccessError::Consumer(Box::new(e)))?;
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("cannot create or delete the external consumer")]
    Consumer(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the {BUCKET} bucket is unavailable")]
    Bucket(#[source] jetstream::context::CreateKeyValueError),
    #[error("cannot write the {BUCKET} bucket")]
    Put(#[source] kv::PutError),
    #[error("cannot read the {BUCKET} bucket")]
    Read(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("grant {key} in the {BUCKET} bucket does not parse")]
    Corrupt {
        key: String,
        #[source]
        source: serde_json::Error,
    },
}

fn read_error(e: impl std::error::Error + Send + Sync + 'static) -> AccessError {
    AccessError::Read(Box::new(e))
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
        let body = serde_json::to_vec(grant).map_err(|source| AccessError::Corrupt {
            key: grant.key(),
            source,
        })?;
        self.kv
            .put(grant.key(), body.into())
            .await
            .map_err(AccessError::Put)
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
            let applied = match self.kv.get(APPLIED_KEY).await.map_err(read_error)? {
                Some(body) => String::from_utf8_lossy(&body).parse::<u64>().unwrap_or(0),
                None => 0,
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

    use super::*;

    fn grant(tenant: &str, name: &str, expires_at: Option<DateTime<Utc>>) -> Grant {
        Grant {
            credential_id: Uuid::nil(),
            tenant: tenant.into(),
            name: name.into(),
            public_key: format!("U{tenant}{name}"),
            expires_at,
        }
    }

    #[test]
    fn a_grant_reaches_its_own_consumer_and_inbox_only() {
        let p = grant("t1", "audit", None).permissions();
        assert_eq!(
            p.publish.allow,
            vec![
                "aurora.API.CONSUMER.INFO.EVENTS.ext-t1-audit",
                "aurora.API.CONSUMER.MSG.NEXT.EVENTS.ext-t1-audit",
                "$JS.ACK.EVENTS.ext-t1-audit.>",
            ]
        );
        assert_eq!(
            p.subscribe.allow,
            vec!["_INBOX_00000000000000000000000000000000.>"]
        );
    }

    #[test]
    fn expired_grants_are_left_out_of_the_servers_config() {
        let now = Utc::now();
        let text = accounts(
            "pw",
            &[
                grant("t1", "live", Some(now + chrono::Duration::hours(1))),
                grant("t1", "old", Some(now - chrono::Duration::seconds(1))),
                grant("t2", "forever", None),
            ],
            now,
        );
        let block: serde_json::Value =
            serde_json::from_str(text.strip_prefix("accounts: ").unwrap()).unwrap();
        assert_eq!(block["AURORA"]["users"][0]["user"], "aurora");
        assert_eq!(block["AURORA"]["users"][0]["password"], "pw");
        assert_eq!(block["AURORA"]["jetstream"], "enabled");
        let keys: Vec<&str> = block["EXTERNAL"]["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["nkey"].as_str().unwrap())
            .collect();
        assert_eq!(keys, vec!["Ut1live", "Ut2forever"]);
        assert_eq!(block["EXTERNAL"]["imports"].as_array().unwrap().len(), 3);
        assert!(block["EXTERNAL"].get("jetstream").is_none());
    }
}
