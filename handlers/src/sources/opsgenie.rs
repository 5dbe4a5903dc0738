//! OpsGenie and Jira Service Management Operations (the outgoing "Webhook" integration).
//! Authenticated by a bearer secret Aurora generates: the webhook integration sends it as the
//! custom header `Authorization: Bearer <secret>`.
//!
//! One delivery is one alert action (`action` + `alert`). `Create` fires an alert, `Close`
//! resolves it, `Acknowledge` is recorded; every other action (notes, escalations, ownership,
//! tags, priority updates, deletes, custom actions) is ignored with the reason. Identity is
//! OpsGenie's `alertId` (each alert is one firing episode: while an alert with the same alias is
//! open OpsGenie only counts duplicates, and after it closes a new alert gets a new id). The
//! fingerprint is the alert's `alias` (OpsGenie's own de-duplication key), else its `alertId`;
//! `Close` carries the same alias, so the resolve finds the incident. OpsGenie sends no delivery
//! id, so a repeated delivery is deduplicated on the body hash.

use std::collections::BTreeMap;

use aurora_domain::intake::{FiringAlert, Signal};
use aurora_domain::Severity;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::common::{json, non_blank, severity_from, BEARER_SECRET};
use super::{Delivery, Parsed, Refusal, Source, SourceDescriptor};

pub struct OpsGenie;

#[derive(Debug, Deserialize)]
struct Payload {
    action: String,
    alert: Alert,
}

#[derive(Debug, Deserialize)]
struct Alert {
    #[serde(rename = "alertId")]
    alert_id: String,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    alias: Option<String>,
    #[serde(default, rename = "tinyId")]
    tiny_id: Option<Value>,
    #[serde(default)]
    entity: Option<String>,
    #[serde(default)]
    tags: Option<Tags>,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    details: Option<BTreeMap<String, Value>>,
    /// Epoch milliseconds.
    #[serde(default, rename = "createdAt")]
    created_at: Option<Value>,
    /// Epoch milliseconds, or nanoseconds in some payloads (OpsGenie's own example has both).
    #[serde(default, rename = "updatedAt")]
    updated_at: Option<Value>,
}

/// Tags arrive as a list; older integrations and some JSM payloads send one comma-separated string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Tags {
    List(Vec<String>),
    Text(String),
}

impl Tags {
    fn iter(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        match self {
            Tags::List(list) => Box::new(list.iter().map(|t| t.trim())),
            Tags::Text(text) => Box::new(text.split(',').map(str::trim)),
        }
    }
}

/// What OpsGenie's `action` names, whatever the spelling (`Create`, `Create Alert`, `close`).
#[derive(Debug, PartialEq, Eq)]
enum Action {
    Create,
    Close,
    Acknowledge,
    Test,
    Other,
}

fn action(name: &str) -> Action {
    let key: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    match key.as_str() {
        "create" | "createalert" => Action::Create,
        "close" | "closealert" => Action::Close,
        "acknowledge" | "acknowledgealert" | "ack" => Action::Acknowledge,
        "test" | "testalert" | "testaction" => Action::Test,
        _ => Action::Other,
    }
}

/// An epoch timestamp in seconds, milliseconds, microseconds or nanoseconds (told apart by size),
/// as a number or a numeric string.
fn epoch(value: &Value) -> Option<DateTime<Utc>> {
    let n = match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))?,
        Value::String(s) => s.trim().parse::<i64>().ok()?,
        _ => return None,
    };
    let t = match n.unsigned_abs() {
        m if m >= 100_000_000_000_000_000 => DateTime::from_timestamp_nanos(n),
        m if m >= 100_000_000_000_000 => DateTime::from_timestamp_micros(n)?,
        m if m >= 100_000_000_000 => DateTime::from_timestamp_millis(n)?,
        _ => DateTime::from_timestamp(n, 0)?,
    };
    (t.timestamp() > 0).then_some(t)
}

impl Alert {
    /// `alias` when OpsGenie has one (its de-duplication key), else the alert id.
    fn fingerprint(&self) -> String {
        non_blank(self.alias.as_deref())
            .unwrap_or(&self.alert_id)
            .to_owned()
    }

    fn detail(&self, names: &[&str]) -> Option<&str> {
        let details = self.details.as_ref()?;
        names
            .iter()
            .find_map(|n| details.get(*n).and_then(Value::as_str))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    /// The value of the first `key:value` tag among `keys`.
    fn tag(&self, keys: &[&str]) -> Option<&str> {
        self.tags.as_ref()?.iter().find_map(|t| {
            let (k, v) = t.split_once(':')?;
            let v = v.trim();
            (keys.iter().any(|key| k.trim().eq_ignore_ascii_case(key)) && !v.is_empty())
                .then_some(v)
        })
    }

    fn service(&self) -> Option<String> {
        self.detail(&["service", "service_name", "Service"])
            .or_else(|| self.tag(&["service"]))
            .or_else(|| non_blank(self.entity.as_deref()))
            .map(str::to_owned)
    }

    fn environment(&self) -> Option<String> {
        self.detail(&["environment", "env", "Environment"])
            .or_else(|| self.tag(&["env", "environment"]))
            .map(str::to_owned)
    }

    /// P1..P5 → critical, high, medium, low, low (SPEC §1). No priority: OpsGenie's default, P3.
    fn severity(&self) -> Severity {
        match non_blank(self.priority.as_deref()).map(str::to_ascii_uppercase) {
            None => Severity::Medium,
            Some(p) => match p.as_str() {
                "P1" => Severity::Critical,
                "P2" => Severity::High,
                "P3" => Severity::Medium,
                "P4" | "P5" => Severity::Low,
                other => severity_from(other),
            },
        }
    }

    /// How people refer to the alert: `#<tinyId>`, else its id.
    fn label(&self) -> String {
        match &self.tiny_id {
            Some(Value::String(s)) if !s.is_empty() => format!("#{s}"),
            Some(Value::Number(n)) => format!("#{n}"),
            _ => self.alert_id.clone(),
        }
    }

    /// The OpsGenie integration test, or an alert JSM raises for one of its own incidents.
    fn not_a_problem(&self) -> Option<String> {
        let message = self.message.as_deref().unwrap_or_default().trim();
        let lower = message.to_ascii_lowercase();
        if [
            "[opsgenie test]",
            "[opsgenie] test",
            "[jira service management] test",
        ]
        .iter()
        .any(|p| lower.starts_with(p))
        {
            return Some("an OpsGenie test alert".into());
        }
        // Upstream skips these too: JSM automation raises an alert for an incident already open.
        if message.starts_with('[') && message.contains("Incident raised") {
            return Some(format!(
                "a Jira Service Management alert for an incident it raised itself ({message})"
            ));
        }
        None
    }
}

const DESCRIPTOR: SourceDescriptor = SourceDescriptor::new(
    "opsgenie",
    "OpsGenie",
    BEARER_SECRET,
    "Settings → Integrations → Add integration → \"Webhook\" (outgoing; in Jira Service Management: Operations → Integrations); tick \"Add alert description to payload\" and \"Add alert details to payload\", select the alert actions Create, Acknowledge and Close, and add the custom header Authorization",
);

impl Source for OpsGenie {
    fn descriptor(&self) -> &'static SourceDescriptor {
        &DESCRIPTOR
    }

    fn parse(&self, delivery: &Delivery<'_>) -> Result<Parsed, Refusal> {
        let Payload {
            action: name,
            alert,
        } = json("OpsGenie", delivery.body)?;
        if alert.alert_id.trim().is_empty() {
            return Err(Refusal::bad(
                "invalid_payload",
                "not an OpsGenie webhook payload: `alert.alertId` is empty",
            ));
        }
        let now = delivery.received_at;
        // A time in the future is a clock or unit mistake: it is at most now.
        let time = |v: &Option<Value>| v.as_ref().and_then(epoch).map(|t| t.min(now));
        let signal = match action(&name) {
            Action::Test => Signal::Ignored {
                reason: format!("an OpsGenie test ({name})"),
            },
            Action::Create => match alert.not_a_problem() {
                Some(reason) => Signal::Ignored { reason },
                None => Signal::Firing(FiringAlert {
                    fingerprint: alert.fingerprint(),
                    title: non_blank(alert.message.as_deref())
                        .map_or_else(|| format!("OpsGenie alert {}", alert.label()), str::to_owned),
                    service: alert.service(),
                    environment: alert.environment(),
                    severity: alert.severity(),
                    fired_at: time(&alert.created_at).unwrap_or(now),
                    description: non_blank(alert.description.as_deref()).map(str::to_owned),
                    url: None,
                    alert_id: alert.alert_id,
                    placement: Default::default(),
                }),
            },
            Action::Close => Signal::Resolved {
                fingerprint: alert.fingerprint(),
                at: time(&alert.updated_at).unwrap_or(now),
                source_alert_id: alert.alert_id,
            },
            Action::Acknowledge => Signal::Acknowledged {
                fingerprint: alert.fingerprint(),
                at: time(&alert.updated_at).unwrap_or(now),
                source_alert_id: alert.alert_id,
            },
            Action::Other => Signal::Ignored {
                reason: format!(
                    "OpsGenie action {name:?} on alert {} is not acted on (only Create, Acknowledge and Close are)",
                    alert.label()
                ),
            },
        };
        Ok(Parsed::one(None, signal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::common::tests_support::*;

    /// A Create as the outgoing webhook sends it with "Add alert description/details to payload".
    const CREATE: &str = r#"{
      "source": {"name": "Datadog", "type": "API"},
      "alert": {
        "updatedAt": 1795427581166002000,
        "tags": ["production", "service:checkout", "env:prod"],
        "teams": ["e0b2b6a2-0000-4000-8000-000000000001"],
        "recipients": ["checkout-oncall"],
        "message": "Checkout p99 latency above 2s",
        "username": "System",
        "alertId": "052652ac-5d1c-464a-812a-7dd18bbfba8c",
        "source": "Datadog",
        "alias": "datadog-monitor-4711",
        "tinyId": "23",
        "createdAt": 1795427580000,
        "userId": "daed1180-0ce8-438b-8f8e-57e1a5920a2d",
        "entity": "checkout-api",
        "description": "p99 latency is 3.1s for 5 minutes",
        "priority": "P1",
        "details": {"monitor_id": "4711", "service": "checkout-svc", "environment": "production"}
      },
      "action": "Create",
      "integrationId": "37c8f316-17c6-49d7-899b-9c7e540c048d",
      "integrationName": "Aurora",
      "integrationType": "Webhook"
    }"#;

    /// A Close: no description or details (OpsGenie sends those on Create only).
    const CLOSE: &str = r#"{
      "source": {"name": "", "type": "web"},
      "alert": {
        "updatedAt": 1795428010000,
        "tags": ["production", "service:checkout"],
        "message": "Checkout p99 latency above 2s",
        "username": "jane@example.com",
        "alertId": "052652ac-5d1c-464a-812a-7dd18bbfba8c",
        "source": "Datadog",
        "alias": "datadog-monitor-4711",
        "tinyId": "23",
        "createdAt": 1795427580000,
        "userId": "daed1180-0ce8-438b-8f8e-57e1a5920a2d",
        "entity": "checkout-api"
      },
      "action": "Close",
      "integrationId": "37c8f316-17c6-49d7-899b-9c7e540c048d",
      "integrationName": "Aurora"
    }"#;

    fn one(body: &str) -> Signal {
        one_signal(&OpsGenie, body)
    }

    #[test]
    fn a_created_alert_fires_with_its_priority_service_and_description() {
        let Signal::Firing(a) = one(CREATE) else {
            panic!("firing expected")
        };
        assert_eq!(a.alert_id, "052652ac-5d1c-464a-812a-7dd18bbfba8c");
        assert_eq!(a.fingerprint, "datadog-monitor-4711", "the alias");
        assert_eq!(a.title, "Checkout p99 latency above 2s");
        assert_eq!(
            a.service.as_deref(),
            Some("checkout-svc"),
            "details.service first"
        );
        assert_eq!(a.environment.as_deref(), Some("production"));
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.fired_at.to_rfc3339(), "2026-11-23T09:53:00+00:00");
        assert_eq!(
            a.description.as_deref(),
            Some("p99 latency is 3.1s for 5 minutes")
        );
        assert_eq!(a.url, None);
    }

    #[test]
    fn the_close_of_an_alert_resolves_the_same_fingerprint() {
        let Signal::Firing(fired) = one(CREATE) else {
            panic!("firing expected")
        };
        assert_eq!(
            one(CLOSE),
            resolved(
                &fired.fingerprint,
                &fired.alert_id,
                "2026-11-23T10:00:10+00:00"
            )
        );
    }

    #[test]
    fn an_acknowledgement_is_recorded_against_the_same_fingerprint() {
        let body = CLOSE.replace(r#""action": "Close""#, r#""action": "Acknowledge""#);
        match one(&body) {
            Signal::Acknowledged {
                fingerprint,
                source_alert_id,
                ..
            } => {
                assert_eq!(fingerprint, "datadog-monitor-4711");
                assert_eq!(source_alert_id, "052652ac-5d1c-464a-812a-7dd18bbfba8c");
            }
            other => panic!("acknowledged expected, got {other:?}"),
        }
    }

    #[test]
    fn without_an_alias_the_alert_id_is_the_fingerprint_on_create_and_close() {
        let create = CREATE.replace(r#""alias": "datadog-monitor-4711","#, "");
        let close = CLOSE.replace(r#""alias": "datadog-monitor-4711","#, r#""alias": "","#);
        let Signal::Firing(a) = one(&create) else {
            panic!("firing expected")
        };
        assert_eq!(a.fingerprint, "052652ac-5d1c-464a-812a-7dd18bbfba8c");
        assert!(
            matches!(one(&close), Signal::Resolved { fingerprint, .. } if fingerprint == a.fingerprint)
        );
    }

    #[test]
    fn other_actions_are_accepted_and_ignored_saying_which() {
        for action in [
            "AddNote",
            "Escalate",
            "AssignOwnership",
            "TakeOwnership",
            "UnAcknowledge",
            "AddTags",
            "UpdatePriority",
            "Delete",
            "Restart service",
        ] {
            let body = CLOSE.replace(r#""Close""#, &format!("{action:?}"));
            match one(&body) {
                Signal::Ignored { reason } => {
                    assert!(reason.contains(action), "{reason}");
                    assert!(reason.contains("#23"), "{reason}");
                }
                other => panic!("{action}: ignored expected, got {other:?}"),
            }
        }
    }

    #[test]
    fn spelled_out_action_names_are_understood() {
        let body = CREATE.replace(r#""action": "Create""#, r#""action": "Create Alert""#);
        assert!(matches!(one(&body), Signal::Firing(_)));
        let body = CLOSE.replace(r#""action": "Close""#, r#""action": "close""#);
        assert!(matches!(one(&body), Signal::Resolved { .. }));
    }

    #[test]
    fn priorities_map_p1_to_p5_onto_severities() {
        levels_map_onto(
            &[
                ("P1", Severity::Critical),
                ("P2", Severity::High),
                ("P3", Severity::Medium),
                ("P4", Severity::Low),
                ("P5", Severity::Low),
                ("p2", Severity::High),
            ],
            |priority| CREATE.replace(r#""P1""#, &format!("{priority:?}")),
            one,
        );
        let body = CREATE.replace(r#""priority": "P1","#, "");
        let Signal::Firing(a) = one(&body) else {
            panic!("firing expected")
        };
        assert_eq!(a.severity, Severity::Medium, "no priority: OpsGenie's P3");
    }

    #[test]
    fn the_service_comes_from_details_then_a_service_tag_then_the_entity() {
        let no_details = CREATE.replace(
            r#""details": {"monitor_id": "4711", "service": "checkout-svc", "environment": "production"}"#,
            r#""details": {}"#,
        );
        let Signal::Firing(a) = one(&no_details) else {
            panic!("firing expected")
        };
        assert_eq!(a.service.as_deref(), Some("checkout"));
        assert_eq!(a.environment.as_deref(), Some("prod"));
        let no_tag = no_details.replace(r#""service:checkout", "env:prod""#, r#""web""#);
        let Signal::Firing(a) = one(&no_tag) else {
            panic!("firing expected")
        };
        assert_eq!(a.service.as_deref(), Some("checkout-api"));
        assert_eq!(a.environment, None);
        let nothing = no_tag.replace(r#""entity": "checkout-api","#, r#""entity": "","#);
        let Signal::Firing(a) = one(&nothing) else {
            panic!("firing expected")
        };
        assert_eq!(a.service, None);
    }

    #[test]
    fn tags_sent_as_one_comma_separated_string_are_read() {
        let body = CREATE
            .replace(
                r#"["production", "service:checkout", "env:prod"]"#,
                r#""production, service:cart ,env:staging""#,
            )
            .replace(
                r#""service": "checkout-svc", "environment": "production""#,
                "",
            );
        let body = body.replace(r#""monitor_id": "4711", }"#, r#""monitor_id": "4711"}"#);
        let Signal::Firing(a) = one(&body) else {
            panic!("firing expected")
        };
        assert_eq!(a.service.as_deref(), Some("cart"));
        assert_eq!(a.environment.as_deref(), Some("staging"));
    }

    #[test]
    fn a_minimal_create_falls_back_on_delivery_time_and_a_generic_title() {
        let body = r#"{"action":"Create","alert":{"alertId":"a1","tinyId":"7","message":""}}"#;
        let Signal::Firing(a) = one(body) else {
            panic!("firing expected")
        };
        assert_eq!(a.title, "OpsGenie alert #7");
        assert_eq!(a.fingerprint, "a1");
        assert_eq!(a.fired_at.to_rfc3339(), "2026-11-23T10:00:30+00:00");
        assert_eq!((a.service, a.description), (None, None));
    }

    #[test]
    fn nanosecond_timestamps_are_read_and_future_ones_clamped_to_now() {
        // OpsGenie's own example sends updatedAt in nanoseconds.
        let body = CLOSE.replace("1795428010000", "1795428010123456789");
        let Signal::Resolved { at, .. } = one(&body) else {
            panic!("resolved expected")
        };
        assert_eq!(at.timestamp_millis(), 1_795_428_010_123);
        let future = CLOSE.replace("1795428010000", "1895428010000");
        let Signal::Resolved { at, .. } = one(&future) else {
            panic!("resolved expected")
        };
        assert_eq!(at.to_rfc3339(), "2026-11-23T10:00:30+00:00");
    }

    #[test]
    fn test_alerts_and_jsm_incident_alerts_are_accepted_and_ignored() {
        for message in [
            "[Opsgenie Test] Webhook integration test",
            "[OpsGenie] Test alert",
            "[ITSM-42] Incident raised: checkout down",
        ] {
            let body = CREATE.replace("Checkout p99 latency above 2s", message);
            assert!(
                matches!(one(&body), Signal::Ignored { .. }),
                "{message} should be ignored"
            );
        }
        let body = CREATE.replace(r#""action": "Create""#, r#""action": "Test""#);
        assert!(matches!(one(&body), Signal::Ignored { .. }));
    }

    #[test]
    fn malformed_payloads_are_refused_saying_why() {
        let h = headers(&[]);
        refuses_malformed(
            &OpsGenie,
            &h,
            "OpsGenie",
            &[
                ("not json", "invalid_json"),
                ("{\"action\": \"Create\"", "invalid_json"),
                ("{}", "invalid_payload"),
                ("{\"action\": \"Create\"}", "invalid_payload"),
                ("{\"alert\": {\"alertId\": \"a\"}}", "invalid_payload"),
                (
                    "{\"action\": \"Create\", \"alert\": {\"message\": \"no id\"}}",
                    "invalid_payload",
                ),
                (
                    "{\"action\": \"Create\", \"alert\": {\"alertId\": 42}}",
                    "invalid_payload",
                ),
                (
                    "{\"action\": \"Create\", \"alert\": {\"alertId\": \"a\", \"tags\": 3}}",
                    "invalid_payload",
                ),
                (
                    "{\"action\": \"Create\", \"alert\": {\"alertId\": \" \"}}",
                    "invalid_payload",
                ),
                (
                    "{\"action\": 1, \"alert\": {\"alertId\": \"a\"}}",
                    "invalid_payload",
                ),
                ("[]", "invalid_payload"),
            ],
        );
    }

    #[test]
    fn only_the_right_bearer_secret_gets_in() {
        the_bearer_secret_alone_gets_in(
            &OpsGenie,
            (CREATE, "{}"),
            &[
                ("authorization", "Bearer s3cret-and-more"),
                ("authorization", "GenieKey s3cret"),
                ("x-aurora-secret", "s3cret"),
            ],
        );
    }

    #[test]
    fn setup_tells_the_user_to_add_the_authorization_header() {
        let setup = OpsGenie.setup(
            "https://aurora.example.com/webhooks/opsgenie/x",
            Some("abc"),
        );
        assert_eq!(setup.header.as_deref(), Some("authorization"));
        assert_eq!(setup.header_value.as_deref(), Some("Bearer abc"));
        assert!(setup.steps[0].contains("Webhook"));
        assert!(OpsGenie.descriptor().rca_by_default);
        assert_eq!(OpsGenie.descriptor().name, "opsgenie");
    }
}
