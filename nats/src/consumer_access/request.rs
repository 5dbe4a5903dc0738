//! A credential's request for a consumer of its own, as it reaches [`super::api`]: JetStream's
//! consumer API subject and body (so any client's ordinary calls send it), checked against the
//! credential's grant before anything is made ([`super::refusal`] says what a refused one is
//! told).

use async_nats::jetstream::consumer;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::refusal::Refusal;
use super::{Churn, Grant, API_PREFIX, MAX_OWN_CONSUMERS, MAX_OWN_NAME_CHARS};
use crate::subjects::{covers, EVENTS_STREAM};

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

    /// Records the consumer in `grant` (which may have changed since the check), counting the
    /// change at `now` in `churn`: `Ok(true)` when it was added, `Ok(false)` when it was there
    /// already (nothing counted: a client asking again for what it has is never limited).
    pub fn record(
        &self,
        grant: &mut Grant,
        churn: &mut Churn,
        now: DateTime<Utc>,
    ) -> Result<bool, Refusal> {
        if grant.own_consumers.contains(&self.name) {
            return Ok(false);
        }
        if self.action == Action::Update {
            return Err(Refusal::NotYours {
                name: self.name.clone(),
            });
        }
        // Before the pace: waiting would not help.
        if grant.own_consumers.len() >= MAX_OWN_CONSUMERS {
            return Err(Refusal::TooMany {
                max: MAX_OWN_CONSUMERS,
            });
        }
        churn
            .admit(now)
            .map_err(|retry_after| Refusal::TooManyChanges { retry_after })?;
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

/// Takes `consumer` out of `grant` at the credential's request, counting the change at `now` in
/// `churn`: `Ok(true)` when it was taken out, `Ok(false)` when it was not there (a concurrent
/// delete took it: nothing counted).
pub fn release(
    consumer: &str,
    grant: &mut Grant,
    churn: &mut Churn,
    now: DateTime<Utc>,
) -> Result<bool, Refusal> {
    if !grant.own_consumers.contains(consumer) {
        return Ok(false);
    }
    churn
        .admit(now)
        .map_err(|retry_after| Refusal::TooManyChanges { retry_after })?;
    grant.own_consumers.remove(consumer);
    Ok(true)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::tests::grant;
    use super::super::{CHANGE_BURST, CHANGE_INTERVAL};
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
    fn the_response_type_is_the_one_a_client_expects_for_its_verb() {
        let create = Verb::Create {
            consumer: "ext-t1-a~x".into(),
            filter: "evt.t1.>".into(),
        };
        let delete = Verb::Delete {
            consumer: "ext-t1-a~x".into(),
        };
        assert_eq!(
            Verb::response_type(Some(&create)),
            "io.nats.jetstream.api.v1.consumer_create_response"
        );
        assert_eq!(
            Verb::response_type(Some(&delete)),
            "io.nats.jetstream.api.v1.consumer_delete_response"
        );
        // A subject that is neither (refused as unknown) is answered in a create's shape.
        assert_eq!(
            Verb::response_type(None),
            "io.nats.jetstream.api.v1.consumer_create_response"
        );
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

    fn create(g: &Grant, own: &str) -> CheckedCreate {
        let name = format!("ext-t1-audit~{own}");
        CheckedCreate::check(&name, "evt.t1.>", &body(pull(&name, "evt.t1.>")), g).unwrap()
    }

    /// `seconds` after an arbitrary start.
    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + chrono::TimeDelta::seconds(seconds)
    }

    #[test]
    fn a_grant_holds_at_most_its_limit_of_consumers() {
        let mut g = grant("t1", "audit", None);
        let mut churn = Churn::default();
        let requests: Vec<CheckedCreate> = (0..=MAX_OWN_CONSUMERS)
            .map(|n| create(&g, &format!("c{n}")))
            .collect();
        // A minute apart: the pace of changes is another test's.
        let mut minutes = (0..).map(|n| at(60 * n));
        let mut record =
            |r: &CheckedCreate, g: &mut Grant| r.record(g, &mut churn, minutes.next().unwrap());
        for r in &requests[..MAX_OWN_CONSUMERS] {
            assert!(record(r, &mut g).unwrap());
        }
        assert!(!record(&requests[0], &mut g).unwrap(), "already there");
        assert!(matches!(
            record(&requests[MAX_OWN_CONSUMERS], &mut g).unwrap_err(),
            Refusal::TooMany {
                max: MAX_OWN_CONSUMERS
            }
        ));
    }

    #[test]
    fn creates_and_deletes_past_the_pace_are_refused_and_change_nothing() {
        let mut g = grant("t1", "audit", None);
        let mut churn = Churn::default();
        let (kept, a, b) = (create(&g, "kept"), create(&g, "a"), create(&g, "b"));
        // One consumer made, then a client looping create/delete: the burst passes at once.
        assert!(kept.record(&mut g, &mut churn, at(0)).unwrap());
        for n in 1..CHANGE_BURST {
            let changed = if g.own_consumers.contains(&a.name) {
                release(&a.name, &mut g, &mut churn, at(0))
            } else {
                a.record(&mut g, &mut churn, at(0))
            };
            assert!(changed.unwrap(), "change {n}");
        }
        let (before, paced) = (g.clone(), churn);
        assert!(matches!(
            b.record(&mut g, &mut churn, at(0)),
            Err(Refusal::TooManyChanges { retry_after }) if retry_after == CHANGE_INTERVAL
        ));
        assert!(matches!(
            release(&kept.name, &mut g, &mut churn, at(1)),
            Err(Refusal::TooManyChanges { .. })
        ));
        assert_eq!(
            (&g, churn),
            (&before, paced),
            "nothing recorded, nothing counted"
        );
        // Asking again for what it has, or deleting what it has not, changes nothing: never
        // limited.
        assert!(!kept.record(&mut g, &mut churn, at(1)).unwrap());
        assert!(!release(&b.name, &mut g, &mut churn, at(1)).unwrap());
        // One interval later, one change more.
        assert!(b.record(&mut g, &mut churn, at(3)).unwrap());
        assert!(matches!(
            release(&b.name, &mut g, &mut churn, at(3)),
            Err(Refusal::TooManyChanges { .. })
        ));
    }
}
