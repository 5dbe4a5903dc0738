//! NATS access for consumers outside Aurora: one nkey user per issued credential, allowed to read
//! its tenant's events (`evt.<tenant>.>`) through durable pull consumers on `EVENTS` — the one
//! Aurora creates when it issues the credential, and up to [`MAX_OWN_CONSUMERS`] the credential
//! asks Aurora for — and nothing else.
//!
//! - this file: a grant, what one credential may reach.
//! - [`accounts()`]: the server config's accounts, rendered from the grants.
//! - [`registry`]: the `consumer_credentials` KV bucket the grants live in.
//! - [`consumers`]: the consumers Aurora makes for a grant and removes with it.
//! - [`request`]: a credential's request to create or delete a consumer of its own, checked;
//!   [`refusal`]: what it is told when refused; [`churn`]: how often it may change its grant.
//! - [`api`]: the service in Aurora's account that answers those requests.
//!
//! How, and why this way. Aurora's streams live in the account [`AURORA_ACCOUNT`]; external
//! consumers are nkey users of another account, [`EXTERNAL_ACCOUNT`], which imports only a few
//! services from it: consumer info, next message and acks (JetStream's own), and consumer create
//! and delete (Aurora's, see below). Two things a same-account user could do were found by the
//! tests and rule simpler designs out: JetStream answers a request on whatever reply subject the
//! requester names, and a push consumer delivers wherever its `deliver_subject` says — both are
//! publishes inside the stream's account, so a user of Aurora's account with any JetStream API
//! permission could append to `evt.<other tenant>.…`, `inbox.…` or `cmd.…` (the streams capture
//! them). In their own account their replies land in their own account's subjects, where no
//! stream listens; and JetStream's consumer-create API is not theirs to call.
//! Operator-mode JWTs would give the same accounts at the price of signing keys and a resolver
//! for every Aurora process; an auth callout is asked only at connect, so a revoked credential's
//! open connection would live on. Here a config reload re-checks every connected client: a
//! revoked or expired credential's connection is closed at once. The nkey's seed is printed
//! once and stored nowhere: the server and the event log hold only its public key.
//!
//! Consumers of their own. Creating one goes through Aurora, never straight to JetStream: Aurora
//! answers `aurora.API.CONSUMER.CREATE.EVENTS.<consumer>.<filter>` and
//! `aurora.API.CONSUMER.DELETE.EVENTS.<consumer>` — JetStream's own subjects and bodies under
//! the credential's API prefix, so a client's ordinary create/delete calls work. The user's
//! permission pins the tenant (`…CREATE.EVENTS.*.evt.<tenant>.>`, and only its own consumers'
//! delete); the import is `share`d, so the server stamps each request with who sent it
//! (`Nats-Request-Info`, replacing any the client wrote), and the service checks the rest: pull
//! only, the filter within the tenant, the name within the grant ([`Grant::own_prefix`]), the
//! limit. It creates the consumer with Aurora's JetStream, records it in the grant, and answers
//! once the server's config lets the credential pull from it. Each create or delete that changes
//! the grant reloads the server's config, so a credential may make [`CHANGE_BURST`] of them at
//! once, then one per [`CHANGE_INTERVAL`] (20 a minute); asking again for a consumer it has
//! changes nothing and is never limited ([`churn`]).
//!
//! Where the grants live: the `consumer_credentials` KV bucket (one key per tenant and name). The
//! process that runs the nats-server ([`crate::server::NatsServer::enforce_grants`]) renders them
//! into the server's config, reloads it, writes back the bucket revision it applied (which
//! `aurora consumer-credentials` and the service wait for), and serves [`api`]. The
//! organisation's event log records each issue and revocation (the audit trail); the bucket is
//! the server's live copy.

use std::collections::BTreeSet;

use async_nats::jetstream::{self, kv};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::subjects::{self, EVENTS_STREAM};

mod accounts;
pub mod api;
pub mod churn;
pub mod consumers;
pub mod refusal;
mod registry;
pub mod request;

pub use accounts::accounts;
pub use churn::{Churn, CHANGE_BURST, CHANGE_INTERVAL};
pub use consumers::{create_consumer, delete_consumers};
pub use registry::{Modified, Registry};

pub const BUCKET: &str = "consumer_credentials";
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

/// How many consumers of its own one credential may have (the one Aurora made not counted).
/// Each is server state kept until deleted, and four subjects in the credential's permissions,
/// rendered into the config at every reload; one consumer per reading purpose needs few.
pub const MAX_OWN_CONSUMERS: usize = 10;

/// The longest name a credential may give a consumer of its own after its grant's prefix
/// ([`Grant::own_prefix`]): [`request`] checks it, [`refusal`] names it to the client.
pub const MAX_OWN_NAME_CHARS: usize = 64;

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
    /// The consumers the credential made for itself through [`api`], by full name (each starts
    /// with [`Grant::own_prefix`]). Grants stored before there were any have none.
    #[serde(default)]
    pub own_consumers: BTreeSet<String>,
}

impl Grant {
    /// The one durable consumer Aurora creates for the credential. The tenant is in the name,
    /// so another tenant's credential of the same name never reaches this one.
    pub fn consumer(&self) -> String {
        given_consumer(&self.tenant, &self.name)
    }

    /// What the name of every consumer the credential makes for itself starts with. `~` cannot
    /// be in a credential's name, so no grant's prefix is another's: with `-`, credential `a`
    /// could name `ext-<tenant>-a-b`, the consumer of credential `a-b`.
    pub fn own_prefix(&self) -> String {
        own_prefix(&self.tenant, &self.name)
    }

    /// The credential's private reply subjects: a client sets it as its inbox prefix. Shared
    /// `_INBOX.>` would let it read the replies meant for every other client, Aurora's included.
    pub fn inbox_prefix(&self) -> String {
        format!("_INBOX_{}", self.credential_id.simple())
    }

    /// What its consumers must filter within: the tenant's events.
    pub fn filter_subject(&self) -> String {
        subjects::all_events_of(&self.tenant)
    }

    pub fn is_active_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|expiry| now < expiry)
    }

    /// Subject permissions, within the external account: publish only the requests of its own
    /// consumers (info, next message, and delete for those it made) and their acks, and
    /// consumer-create requests filtered within its tenant; subscribe only its own inbox.
    /// Everything else is refused, stream info and message or direct get included; Aurora's
    /// subjects are not even in that account.
    pub fn permissions(&self) -> Permissions {
        let api = |verb: &str, consumer: &str| {
            format!("{API_PREFIX}.CONSUMER.{verb}.{EVENTS_STREAM}.{consumer}")
        };
        let ack = |consumer: &str| format!("$JS.ACK.{EVENTS_STREAM}.{consumer}.>");
        let given = self.consumer();
        let mut allow = vec![
            api("INFO", &given),
            api("MSG.NEXT", &given),
            ack(&given),
            // The consumer's name is any one token here; the service holds it to the grant.
            api("CREATE", &format!("*.{}", self.filter_subject())),
        ];
        for own in &self.own_consumers {
            allow.extend([
                api("INFO", own),
                api("MSG.NEXT", own),
                api("DELETE", own),
                ack(own),
            ]);
        }
        Permissions {
            publish: Allow { allow },
            subscribe: Allow {
                allow: vec![format!("{}.>", self.inbox_prefix())],
            },
        }
    }
}

/// The consumer Aurora makes for credential `name` of `tenant` ([`Grant::consumer`]).
pub fn given_consumer(tenant: &str, name: &str) -> String {
    format!("ext-{tenant}-{name}")
}

/// What the consumers credential `name` of `tenant` makes start with ([`Grant::own_prefix`]).
pub fn own_prefix(tenant: &str, name: &str) -> String {
    format!("{}~", given_consumer(tenant, name))
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

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("cannot create, list or delete external consumers")]
    Consumer(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the {BUCKET} bucket is unavailable")]
    Bucket(#[source] jetstream::context::CreateKeyValueError),
    #[error("cannot write the {BUCKET} bucket")]
    Put(#[source] kv::PutError),
    #[error("cannot update grant {key} in the {BUCKET} bucket")]
    Update {
        key: String,
        #[source]
        source: kv::UpdateError,
    },
    #[error("cannot read the {BUCKET} bucket")]
    Read(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("grant {key} in the {BUCKET} bucket does not parse")]
    Corrupt {
        key: String,
        #[source]
        source: serde_json::Error,
    },
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    pub(crate) fn grant(tenant: &str, name: &str, expires_at: Option<DateTime<Utc>>) -> Grant {
        Grant {
            credential_id: Uuid::nil(),
            tenant: tenant.into(),
            name: name.into(),
            public_key: format!("U{tenant}{name}"),
            expires_at,
            own_consumers: BTreeSet::new(),
        }
    }

    #[test]
    fn a_grant_reaches_its_own_consumers_and_inbox_only() {
        let mut audit = grant("t1", "audit", None);
        let p = audit.permissions();
        assert_eq!(
            p.publish.allow,
            vec![
                "aurora.API.CONSUMER.INFO.EVENTS.ext-t1-audit",
                "aurora.API.CONSUMER.MSG.NEXT.EVENTS.ext-t1-audit",
                "$JS.ACK.EVENTS.ext-t1-audit.>",
                "aurora.API.CONSUMER.CREATE.EVENTS.*.evt.t1.>",
            ]
        );
        assert_eq!(
            p.subscribe.allow,
            vec!["_INBOX_00000000000000000000000000000000.>"]
        );
        audit.own_consumers.insert("ext-t1-audit~orders".into());
        let p = audit.permissions();
        assert_eq!(
            p.publish.allow[4..],
            [
                "aurora.API.CONSUMER.INFO.EVENTS.ext-t1-audit~orders",
                "aurora.API.CONSUMER.MSG.NEXT.EVENTS.ext-t1-audit~orders",
                "aurora.API.CONSUMER.DELETE.EVENTS.ext-t1-audit~orders",
                "$JS.ACK.EVENTS.ext-t1-audit~orders.>",
            ]
        );
    }

    #[test]
    fn no_grants_prefix_is_another_grants() {
        let (a, ab) = (grant("t1", "a", None), grant("t1", "a-b", None));
        assert_eq!(a.own_prefix(), "ext-t1-a~");
        assert!(!ab.consumer().starts_with(&a.own_prefix()));
        assert!(!ab.own_prefix().starts_with(&a.own_prefix()));
    }

    #[test]
    fn grants_stored_before_own_consumers_still_parse() {
        let old = r#"{"credential_id":"00000000-0000-0000-0000-000000000000","tenant":"t1",
            "name":"audit","public_key":"Ut1audit","expires_at":null}"#;
        let parsed: Grant = serde_json::from_str(old).unwrap();
        assert_eq!(parsed, grant("t1", "audit", None));
    }
}
