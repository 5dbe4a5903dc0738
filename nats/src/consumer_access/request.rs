//! A credential's request for a consumer of its own, as it reaches [`super::api`]: JetStream's
//! consumer API subject and body (so any client's ordinary calls send it), checked against the
//! credential's grant before anything is made. What a refused request is told is here too, in
//! JetStream's error shape, so clients show it as they show JetStream's own.

use async_nats::jetstream::consumer;
use serde::{Deserialize, Serialize};

use super::{Grant, API_PREFIX, MAX_OWN_CONSUMERS};
use crate::subjects::{covers, EVENTS_STREAM};

/// The longest name a credential may give a consumer after its grant's prefix.
pub const MAX_OWN_NAME_CHARS: usize = 64;

/// What a request asks for, read from its subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    /// `…CONSUMER.CREATE.EVENTS.<consumer>.<filter>`
    Create { consumer: String, filter: String },
    /// `…CONSUMER.DELETE.EVENTS.<consumer>`
    Delete { consumer: String },
}

impl Verb {
    /// `None` for anything else — a create without a filter in its subject included (a client
    /// sends that for several filters or none; the credential's permissions refuse it anyway).
    pub fn parse(subject: &str) -> Option<Self> {
        let rest = subject
            .strip_prefix(API_PREFIX)?
            .strip_prefix(".CONSUMER.")?;
        if let Some(rest) = rest.strip_prefix(&format!("CREATE.{EVENTS_STREAM}.")) {
            let (consumer, filter) = rest.split_once('.')?;
            return Some(Self::Create {
                consumer: consumer.to_owned(),
                filter: filter.to_owned(),
            });
        }
        let consumer = rest.strip_prefix(&format!("DELETE.{EVENTS_STREAM}."))?;
        (!consumer.contains('.')).then(|| Self::Delete {
            consumer: consumer.to_owned(),
        })
    }

    /// The JetStream response type a client expects back.
    pub fn response_type(verb: Option<&Self>) -> &'static str {
        match verb {
            Some(Self::Delete { .. }) => "io.nats.jetstream.api.v1.consumer_delete_response",
            _ => "io.nats.jetstream.api.v1.consumer_create_response",
        }
    }
}

/// JetStream's `action` of a create request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Action {
    /// Create it, or update it if it exists.
    #[default]
    #[serde(rename = "")]
    CreateOrUpdate,
    #[serde(rename = "create")]
    Create,
    #[serde(rename = "update")]
    Update,
}

/// JetStream's consumer-create request body.
#[derive(Debug, Deserialize)]
struct CreateBody {
    #[serde(default)]
    stream_name: Option<String>,
    config: consumer::Config,
    #[serde(default)]
    action: Action,
}

/// A create request that passed every check: what to ask JetStream for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedCreate {
    pub name: String,
    pub filter: String,
    pub action: Action,
    /// Re-serialised from the typed config: a field Aurora does not know is not passed on.
    pub config: consumer::Config,
}

impl CheckedCreate {
    /// Checks `body`, sent to create `consumer` filtered to `filter` (from the subject), against
    /// `grant`. The tenant is pinned by the credential's permissions too; this holds the rest.
    pub fn check(
        consumer: &str,
        filter: &str,
        body: &[u8],
        grant: &Grant,
    ) -> Result<Self, Refusal> {
        let mut body: serde_json::Value = serde_json::from_slice(body).map_err(Refusal::BadBody)?;
        // JetStream's default, which the typed config cannot do without.
        if let Some(config) = body.get_mut("config").and_then(|c| c.as_object_mut()) {
            config
                .entry("deliver_policy")
                .or_insert_with(|| "all".into());
        }
        let body: CreateBody = serde_json::from_value(body).map_err(Refusal::BadBody)?;
        if let Some(stream) = body.stream_name.filter(|s| s != EVENTS_STREAM) {
            return Err(Refusal::WrongStream { stream });
        }
        let mut config = body.config;
        if config.deliver_subject.is_some() || config.deliver_group.is_some() {
            return Err(Refusal::PushConsumer);
        }
        let Some(name) = config.durable_name.clone() else {
            return Err(Refusal::NotDurable);
        };
        if name != consumer || config.name.as_ref().is_some_and(|n| *n != name) {
            return Err(Refusal::NameMismatch {
                subject: consumer.to_owned(),
                body: name,
            });
        }
        check_name(&name, grant)?;
        if config.filter_subject != filter || !config.filter_subjects.is_empty() {
            return Err(Refusal::FilterMismatch {
                subject: filter.to_owned(),
            });
        }
        let allowed = grant.filter_subject();
        if filter.split('.').any(str::is_empty) || !covers(&allowed, filter) {
            return Err(Refusal::FilterOutsideTenant {
                filter: filter.to_owned(),
                allowed,
            });
        }
        // The durable name says it all; JetStream refuses a body whose two names differ.
        config.name = None;
        Ok(Self {
            name,
            filter: filter.to_owned(),
            action: body.action,
            config,
        })
    }

    /// Records the consumer in `grant` (which may have changed since the check): `Ok(true)` when
    /// it was added, `Ok(false)` when it was there already.
    pub fn record(&self, grant: &mut Grant) -> Result<bool, Refusal> {
        if grant.own_consumers.contains(&self.name) {
            return Ok(false);
        }
        if self.action == Action::Update {
            return Err(Refusal::NotYours {
                name: self.name.clone(),
            });
        }
        if grant.own_consumers.len() >= MAX_OWN_CONSUMERS {
            return Err(Refusal::TooMany {
                max: MAX_OWN_CONSUMERS,
            });
        }
        grant.own_consumers.insert(self.name.clone());
        Ok(true)
    }

    /// What Aurora sends JetStream: the request, checked.
    pub fn jetstream_request(&self) -> (String, serde_json::Value) {
        (
            format!(
                "$JS.API.CONSUMER.CREATE.{EVENTS_STREAM}.{}.{}",
                self.name, self.filter
            ),
            serde_json::json!({
                "stream_name": EVENTS_STREAM,
                "config": self.config,
                "action": self.action,
            }),
        )
    }
}

/// The grant's prefix, then 1 to [`MAX_OWN_NAME_CHARS`] letters, digits, `-` or `_`.
fn check_name(name: &str, grant: &Grant) -> Result<(), Refusal> {
    let prefix = grant.own_prefix();
    let valid = name.strip_prefix(&prefix).is_some_and(|own| {
        (1..=MAX_OWN_NAME_CHARS).contains(&own.len())
            && own
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    if valid {
        Ok(())
    } else {
        Err(Refusal::NameOutsideGrant {
            name: name.to_owned(),
            prefix,
        })
    }
}

/// Why a request was not done. Its text is the `description` the client sees.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("Aurora answers consumer create and delete on stream EVENTS only")]
    UnknownSubject,
    #[error(
        "the request carries no credential identity (Aurora answers external credentials only)"
    )]
    NoIdentity,
    #[error("these credentials are revoked, expired or unknown")]
    UnknownCredential,
    #[error("the body is not a JetStream consumer create request: {0}")]
    BadBody(#[source] serde_json::Error),
    #[error("consumers are made on stream EVENTS only, not {stream:?}")]
    WrongStream { stream: String },
    #[error(
        "pull consumers only: deliver_subject and deliver_group (a push consumer) are refused"
    )]
    PushConsumer,
    #[error("a consumer of your own must be durable: set durable_name")]
    NotDurable,
    #[error("the consumer named in the subject ({subject:?}) is not the body's ({body:?})")]
    NameMismatch { subject: String, body: String },
    #[error(
        "consumer {name:?} is not yours to make: its name must be {prefix:?} followed by 1 to \
         {MAX_OWN_NAME_CHARS} letters, digits, - or _"
    )]
    NameOutsideGrant { name: String, prefix: String },
    #[error(
        "the filter in the subject ({subject:?}) must be the body's one filter_subject \
         (filter_subjects is refused)"
    )]
    FilterMismatch { subject: String },
    #[error(
        "filter {filter:?} reaches outside your tenant's events: it must be within {allowed:?}"
    )]
    FilterOutsideTenant { filter: String, allowed: String },
    #[error("at most {max} consumers of your own: delete one first")]
    TooMany { max: usize },
    #[error("consumer {name:?} is not one you made")]
    NotYours { name: String },
    #[error(
        "the consumer is made, but the NATS server has not yet let these credentials read it: \
         send the same request again"
    )]
    NotApplied,
    #[error("Aurora cannot do that right now; try again")]
    Unavailable,
}

impl Refusal {
    /// An HTTP-like status, as JetStream's errors carry.
    pub fn code(&self) -> u16 {
        match self {
            Self::UnknownSubject
            | Self::BadBody(_)
            | Self::WrongStream { .. }
            | Self::PushConsumer
            | Self::NotDurable
            | Self::NameMismatch { .. }
            | Self::FilterMismatch { .. } => 400,
            Self::NoIdentity
            | Self::UnknownCredential
            | Self::NameOutsideGrant { .. }
            | Self::FilterOutsideTenant { .. } => 403,
            Self::NotYours { .. } => 404,
            Self::TooMany { .. } => 409,
            Self::NotApplied | Self::Unavailable => 503,
        }
    }

    /// Aurora's own error numbers, above JetStream's (10001…), so a client can tell them apart.
    pub fn err_code(&self) -> u32 {
        match self {
            Self::UnknownSubject => 30001,
            Self::NoIdentity => 30002,
            Self::UnknownCredential => 30003,
            Self::BadBody(_) => 30004,
            Self::WrongStream { .. } => 30005,
            Self::PushConsumer => 30006,
            Self::NotDurable => 30007,
            Self::NameMismatch { .. } => 30008,
            Self::NameOutsideGrant { .. } => 30009,
            Self::FilterMismatch { .. } => 30010,
            Self::FilterOutsideTenant { .. } => 30011,
            Self::TooMany { .. } => 30012,
            Self::NotYours { .. } => 30013,
            Self::NotApplied => 30014,
            Self::Unavailable => 30015,
        }
    }

    /// The answer, as JetStream shapes an error: `{"type", "error": {"code", "err_code",
    /// "description"}}`.
    pub fn to_json(&self, response_type: &str) -> Vec<u8> {
        let body = ErrorResponse {
            response_type,
            error: ErrorBody {
                code: self.code(),
                err_code: self.err_code(),
                description: self.to_string(),
            },
        };
        // Plain strings and numbers always serialise.
        #[allow(clippy::unwrap_used)]
        serde_json::to_vec(&body).unwrap()
    }
}

#[derive(Serialize)]
struct ErrorResponse<'a> {
    #[serde(rename = "type")]
    response_type: &'a str,
    error: ErrorBody,
}

#[derive(Serialize)]
struct ErrorBody {
    code: u16,
    err_code: u32,
    description: String,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::tests::grant;
    use super::*;

    fn body(config: serde_json::Value) -> Vec<u8> {
        serde_json::json!({"stream_name": "EVENTS", "config": config, "action": "create"})
            .to_string()
            .into_bytes()
    }

    fn pull(name: &str, filter: &str) -> serde_json::Value {
        serde_json::json!({"durable_name": name, "filter_subject": filter, "ack_policy": "explicit"})
    }

    #[test]
    fn subjects_are_read_as_jetstream_writes_them() {
        assert_eq!(
            Verb::parse("aurora.API.CONSUMER.CREATE.EVENTS.ext-t1-a~x.evt.t1.>"),
            Some(Verb::Create {
                consumer: "ext-t1-a~x".into(),
                filter: "evt.t1.>".into()
            })
        );
        assert_eq!(
            Verb::parse("aurora.API.CONSUMER.DELETE.EVENTS.ext-t1-a~x"),
            Some(Verb::Delete {
                consumer: "ext-t1-a~x".into()
            })
        );
        for other in [
            "aurora.API.CONSUMER.CREATE.EVENTS.ext-t1-a~x",
            "aurora.API.CONSUMER.CREATE.INBOX.x.inbox.t1.>",
            "aurora.API.CONSUMER.DELETE.EVENTS.a.b",
            "$JS.API.CONSUMER.CREATE.EVENTS.x.evt.t1.>",
        ] {
            assert_eq!(Verb::parse(other), None, "{other}");
        }
    }

    #[test]
    fn a_pull_consumer_named_and_filtered_within_the_grant_passes() {
        let g = grant("t1", "audit", None);
        let checked = CheckedCreate::check(
            "ext-t1-audit~orders",
            "evt.t1.incident.>",
            &body(pull("ext-t1-audit~orders", "evt.t1.incident.>")),
            &g,
        )
        .unwrap();
        assert_eq!(checked.action, Action::Create);
        let (subject, sent) = checked.jetstream_request();
        assert_eq!(
            subject,
            "$JS.API.CONSUMER.CREATE.EVENTS.ext-t1-audit~orders.evt.t1.incident.>"
        );
        assert_eq!(sent["config"]["durable_name"], "ext-t1-audit~orders");
        assert_eq!(sent["action"], "create");
    }

    #[test]
    fn everything_else_is_refused_with_its_reason() {
        let g = grant("t1", "audit", None);
        let name = "ext-t1-audit~orders";
        let check = |consumer: &str, filter: &str, config: serde_json::Value| {
            CheckedCreate::check(consumer, filter, &body(config), &g).unwrap_err()
        };
        let mut push = pull(name, "evt.t1.>");
        push["deliver_subject"] = "evt.t2.incident.x".into();
        assert!(matches!(
            check(name, "evt.t1.>", push),
            Refusal::PushConsumer
        ));
        assert!(matches!(
            check(
                name,
                "evt.t1.>",
                serde_json::json!({"filter_subject": "evt.t1.>"})
            ),
            Refusal::NotDurable
        ));
        for outside in [
            "ext-t1-audit",
            "ext-t1-audit-orders",
            "ext-t2-audit~x",
            "ext-t1-audit~",
        ] {
            assert!(
                matches!(
                    check(outside, "evt.t1.>", pull(outside, "evt.t1.>")),
                    Refusal::NameOutsideGrant { .. }
                ),
                "{outside}"
            );
        }
        for filter in [
            "evt.t2.>",
            "evt.*.>",
            "evt.>",
            "inbox.t1.>",
            "evt.t1",
            "evt.t1..x",
        ] {
            assert!(
                matches!(
                    check(name, filter, pull(name, filter)),
                    Refusal::FilterOutsideTenant { .. }
                ),
                "{filter}"
            );
        }
        assert!(matches!(
            check(name, "evt.t1.>", pull(name, "evt.t2.>")),
            Refusal::FilterMismatch { .. }
        ));
        assert!(matches!(
            check("ext-t1-audit~other", "evt.t1.>", pull(name, "evt.t1.>")),
            Refusal::NameMismatch { .. }
        ));
        assert!(matches!(
            CheckedCreate::check(name, "evt.t1.>", b"{\"config\": 3}", &g).unwrap_err(),
            Refusal::BadBody(_)
        ));
    }

    #[test]
    fn a_grant_holds_at_most_its_limit_of_consumers() {
        let mut g = grant("t1", "audit", None);
        let request = |n: usize| {
            let name = format!("ext-t1-audit~c{n}");
            CheckedCreate::check(&name, "evt.t1.>", &body(pull(&name, "evt.t1.>")), &g).unwrap()
        };
        let requests: Vec<CheckedCreate> = (0..=MAX_OWN_CONSUMERS).map(request).collect();
        for r in &requests[..MAX_OWN_CONSUMERS] {
            assert!(r.record(&mut g).unwrap());
        }
        assert!(!requests[0].record(&mut g).unwrap(), "already there");
        assert!(matches!(
            requests[MAX_OWN_CONSUMERS].record(&mut g).unwrap_err(),
            Refusal::TooMany {
                max: MAX_OWN_CONSUMERS
            }
        ));
    }

    #[test]
    fn a_refusal_reads_as_a_jetstream_error() {
        let answer: serde_json::Value =
            serde_json::from_slice(&Refusal::PushConsumer.to_json(Verb::response_type(None)))
                .unwrap();
        assert_eq!(
            answer["type"],
            "io.nats.jetstream.api.v1.consumer_create_response"
        );
        assert_eq!(answer["error"]["code"], 400);
        assert_eq!(answer["error"]["err_code"], 30006);
        assert!(answer["error"]["description"]
            .as_str()
            .unwrap()
            .contains("pull consumers only"));
        let parsed: async_nats::jetstream::Error =
            serde_json::from_value(answer["error"].clone()).unwrap();
        assert_eq!(parsed.code(), 400);
    }
}
