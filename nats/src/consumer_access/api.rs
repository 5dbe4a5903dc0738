//! The consumer API Aurora serves external credentials, in its own account: create and delete
//! consumers of their own on `EVENTS` ([`super::request`] says what is allowed). Any number of
//! Aurora processes may serve it: they share one queue group, and the grant is only ever changed
//! by compare-and-set ([`super::Registry::modify`]).
//!
//! A create is recorded in the grant first (so the limit holds against concurrent requests),
//! then, once the server's config has taken the grant in, made with Aurora's own JetStream — the
//! checked request is passed on and JetStream's answer relayed as it is, its own errors included
//! — so the credential can pull from the consumer as soon as it hears back. A delete, likewise,
//! is taken out of the grant first, then done. Either change is counted against the credential's
//! pace ([`super::churn`]) in the same compare-and-set, so a refused one has done nothing; undoing
//! a change that could not be carried out (JetStream refused the create) is not counted.

use std::time::Duration;

use async_nats::jetstream;
use async_nats::Message;
use bytes::Bytes;
use chrono::Utc;
use futures::StreamExt as _;
use serde::Deserialize;

use super::consumers::delete_one;
use super::refusal::Refusal;
use super::request::{release, CheckedCreate, Verb};
use super::{AccessError, Grant, Modified, Registry, EXTERNAL_ACCOUNT};

/// What Aurora answers, in its account and (imported as the same) in the external one.
pub const CREATE_SUBJECTS: &str = "aurora.API.CONSUMER.CREATE.EVENTS.>";
pub const DELETE_SUBJECTS: &str = "aurora.API.CONSUMER.DELETE.EVENTS.*";
const QUEUE_GROUP: &str = "aurora-consumer-api";
/// Requests answered at once by one process; each mostly waits on JetStream or a reload.
const CONCURRENCY: usize = 16;
/// How long an answer waits for the server to take a changed grant in: under a client's usual
/// 5 s request timeout (a reload takes milliseconds).
const APPLY_WAIT: Duration = Duration::from_secs(4);
/// Where the server writes who sent a request through a `share`d import.
const REQUEST_INFO: &str = "Nats-Request-Info";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("cannot subscribe to the consumer API subjects")]
    Subscribe(#[from] async_nats::SubscribeError),
    #[error(transparent)]
    Access(#[from] AccessError),
}

/// Answers requests until the connection's subscriptions end.
pub async fn serve(client: async_nats::Client) -> Result<(), ApiError> {
    let js = jetstream::new(client.clone());
    let registry = Registry::open(&js).await?;
    let create = client
        .queue_subscribe(CREATE_SUBJECTS, QUEUE_GROUP.into())
        .await?;
    let delete = client
        .queue_subscribe(DELETE_SUBJECTS, QUEUE_GROUP.into())
        .await?;
    let service = Service {
        client,
        js,
        registry,
    };
    futures::stream::select(create, delete)
        .for_each_concurrent(CONCURRENCY, |request| service.answer(request))
        .await;
    Ok(())
}

/// Why a request got no answer of its own making.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("JetStream did not answer Aurora's consumer request")]
    JetStream(#[from] async_nats::RequestError),
}

/// Who sent a request, as the server wrote it.
#[derive(Deserialize)]
struct RequestInfo {
    #[serde(default)]
    acc: String,
    #[serde(default)]
    user: String,
}

struct Service {
    client: async_nats::Client,
    js: jetstream::Context,
    registry: Registry,
}

impl Service {
    async fn answer(&self, request: Message) {
        let Some(reply) = request.reply.clone() else {
            return; // nobody to answer, and nothing is done unasked
        };
        let verb = Verb::parse(&request.subject);
        let response_type = Verb::response_type(verb.as_ref());
        let body = match self.handle(verb.as_ref(), &request).await {
            Ok(body) => body,
            Err(Failure::Refused(refusal)) => {
                tracing::info!(subject = %request.subject, %refusal, "consumer request refused");
                refusal.to_json(response_type).into()
            }
            Err(failure) => {
                tracing::warn!(subject = %request.subject, error = %failure, "consumer request failed: {failure:#}");
                Refusal::Unavailable.to_json(response_type).into()
            }
        };
        if let Err(e) = self.client.publish(reply, body).await {
            tracing::warn!(error = %e, "cannot answer a consumer request");
        }
    }

    async fn handle(&self, verb: Option<&Verb>, request: &Message) -> Result<Bytes, Failure> {
        let grant = self.requester(request).await?;
        match verb {
            Some(Verb::Create { consumer, filter }) => {
                let checked = CheckedCreate::check(consumer, filter, &request.payload, &grant)?;
                self.create(&grant, checked).await
            }
            Some(Verb::Delete { consumer }) => self.delete(&grant, consumer).await,
            None => Err(Refusal::UnknownSubject.into()),
        }
    }

    /// The active grant of the nkey user the server says sent `request`.
    async fn requester(&self, request: &Message) -> Result<Grant, Failure> {
        let info = request
            .headers
            .as_ref()
            .and_then(|headers| headers.get(REQUEST_INFO))
            .and_then(|info| serde_json::from_str::<RequestInfo>(info.as_str()).ok())
            .filter(|info| info.acc == EXTERNAL_ACCOUNT && !info.user.is_empty())
            .ok_or(Refusal::NoIdentity)?;
        match self.registry.grant_of(&info.user).await? {
            Some(grant) if grant.is_active_at(Utc::now()) => Ok(grant),
            _ => Err(Refusal::UnknownCredential.into()),
        }
    }

    async fn create(&self, grant: &Grant, checked: CheckedCreate) -> Result<Bytes, Failure> {
        let recorded = self
            .registry
            .modify(&grant.tenant, &grant.name, |current, churn| {
                if current.credential_id != grant.credential_id {
                    return Err(Refusal::UnknownCredential);
                }
                checked.record(current, churn, Utc::now())
            })
            .await?;
        let revision = match recorded {
            Modified::Missing => return Err(Refusal::UnknownCredential.into()),
            Modified::Refused(refusal) => return Err(refusal.into()),
            Modified::Unchanged(_) => None,
            Modified::Written { revision, .. } => Some(revision),
        };
        // The grant's change first reaches the server's config (a reload, during which JetStream
        // has no responders): then the consumer is made, and the credential can pull from it as
        // soon as it hears back.
        if let Some(revision) = revision {
            if !self.registry.wait_applied(revision, APPLY_WAIT).await? {
                self.forget(grant, &checked.name).await?;
                return Err(Refusal::NotApplied.into());
            }
        }
        let (subject, body) = checked.jetstream_request();
        let answer = self
            .client
            .request(subject, body.to_string().into())
            .await?
            .payload;
        if is_error(&answer) {
            if revision.is_some() {
                self.forget(grant, &checked.name).await?;
            }
            return Ok(answer);
        }
        // Revoked meanwhile: the revocation may have looked for the grant's consumers before
        // this one existed.
        let current = self.registry.get(&grant.tenant, &grant.name).await?;
        if current.is_none_or(|c| c.credential_id != grant.credential_id) {
            delete_one(&self.js, &checked.name).await?;
            return Err(Refusal::UnknownCredential.into());
        }
        Ok(answer)
    }

    async fn delete(&self, grant: &Grant, consumer: &str) -> Result<Bytes, Failure> {
        let not_yours = || Refusal::NotYours {
            name: consumer.to_owned(),
        };
        if !grant.own_consumers.contains(consumer) {
            return Err(not_yours().into());
        }
        // Out of the grant first, counted (or refused, with nothing done), then deleted.
        let released = self
            .registry
            .modify(&grant.tenant, &grant.name, |current, churn| {
                if current.credential_id != grant.credential_id {
                    return Err(Refusal::UnknownCredential);
                }
                release(consumer, current, churn, Utc::now())
            })
            .await?;
        let revision = match released {
            Modified::Missing => return Err(Refusal::UnknownCredential.into()),
            Modified::Refused(refusal) => return Err(refusal.into()),
            // A concurrent delete took it out (and deletes it), or the undoing of its create.
            Modified::Unchanged(_) => return Err(not_yours().into()),
            Modified::Written { revision, .. } => revision,
        };
        // Past the reload (JetStream has no responders during it); the consumer is deleted
        // whether or not its permissions are gone yet: out of the grant, it must not stay.
        if let Err(e) = self.registry.wait_applied(revision, APPLY_WAIT).await {
            tracing::warn!(error = %e, consumer, "cannot tell whether the server took a consumer's removal in: {e:#}");
        }
        if let Err(e) = delete_one(&self.js, consumer).await {
            self.restore(grant, consumer).await?;
            return Err(e.into());
        }
        Ok(Bytes::from_static(
            br#"{"type":"io.nats.jetstream.api.v1.consumer_delete_response","success":true}"#,
        ))
    }

    /// Takes `consumer` out of the grant, undoing a create that was not carried out (not
    /// counted); the revision written, if it was there.
    async fn forget(&self, grant: &Grant, consumer: &str) -> Result<Option<u64>, AccessError> {
        let removed = self
            .registry
            .modify(&grant.tenant, &grant.name, |current, _| {
                Ok::<_, std::convert::Infallible>(current.own_consumers.remove(consumer))
            })
            .await?;
        Ok(match removed {
            Modified::Written { revision, .. } => Some(revision),
            _ => None,
        })
    }

    /// Puts `consumer` back in the grant of the same credential, undoing a delete that was not
    /// carried out (not counted, and even past the limit of consumers: it still exists).
    async fn restore(&self, grant: &Grant, consumer: &str) -> Result<(), AccessError> {
        self.registry
            .modify(&grant.tenant, &grant.name, |current, _| {
                Ok::<_, std::convert::Infallible>(
                    current.credential_id == grant.credential_id
                        && current.own_consumers.insert(consumer.to_owned()),
                )
            })
            .await?;
        Ok(())
    }
}

/// Whether a JetStream API answer is an error (`{"error": …}`).
fn is_error(answer: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Probe {
        error: Option<serde_json::Value>,
    }
    serde_json::from_slice::<Probe>(answer).map_or(true, |probe| probe.error.is_some())
}
