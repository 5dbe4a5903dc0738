//! New Relic (alert workflows notifying a webhook destination). Authenticated by a bearer secret
//! Aurora generates: the destination sends it as `Authorization: Bearer <secret>` (its
//! "Bearer token" authorisation, or a custom header on the workflow's webhook).
//!
//! The workflow sends one JSON object per issue notification, rendered from its payload
//! template. Aurora reads New Relic's default webhook template; the same fields with `{{json …}}`
//! keep titles with quotes valid JSON, so this is the template to use:
//!
//! ```json
//! {
//!   "id": {{json issueId}},
//!   "issueUrl": {{json issuePageUrl}},
//!   "title": {{json annotations.title.[0]}},
//!   "priority": {{json priority}},
//!   "impactedEntities": {{json entitiesData.names}},
//!   "totalIncidents": {{json totalIncidents}},
//!   "state": {{json state}},
//!   "trigger": {{json triggerEvent}},
//!   "isCorrelated": {{json isCorrelated}},
//!   "createdAt": {{createdAt}},
//!   "updatedAt": {{updatedAt}},
//!   "sources": {{json accumulations.source}},
//!   "alertPolicyNames": {{json accumulations.policyName}},
//!   "alertConditionNames": {{json accumulations.conditionName}},
//!   "workflowName": {{json workflowName}}
//! }
//! ```
//!
//! The upstream Aurora template's names are read too (`issueId`, `issueTitle`,
//! `entitiesData.names`, `policyName`, `conditionName`), and a title may be a string or the whole
//! `annotations.title` list.
//!
//! One delivery is one signal about one issue: `state` `CREATED` / `ACTIVATED` fires, `CLOSED`
//! resolves, `ACKNOWLEDGED` (or an `ACKNOWLEDGED` trigger) acknowledges; other states are
//! ignored. A test notification (legacy `current_state: test`, an issue id starting with
//! `test`, or a title starting with "Test notification") is ignored.
//!
//! Identity (SPEC): the issue id. A New Relic issue never reopens (a recurrence is a new issue),
//! so the `alert_id` is the issue id and the fingerprint `newrelic-issue-<issue id>`; `CREATED`
//! then `ACTIVATED` for one issue is one alert. New Relic sends no per-notification id, so the
//! delivery id is left to the body hash.

use aurora_domain::intake::{FiringAlert, Signal};
use aurora_domain::Severity;
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Deserializer};

use super::common::{json, severity_from, BEARER_SECRET};
use super::{Delivery, Parsed, Refusal, Source, SourceDescriptor};

pub struct NewRelic;

#[derive(Debug, Deserialize)]
struct Payload {
    /// The default template's name for the issue id.
    #[serde(default)]
    id: Option<Id>,
    /// The upstream template's name for it.
    #[serde(default, rename = "issueId")]
    issue_id: Option<Id>,
    #[serde(default)]
    title: Option<Text>,
    #[serde(default, rename = "issueTitle")]
    issue_title: Option<Text>,
    #[serde(default, rename = "issueUrl")]
    issue_url: Option<String>,
    #[serde(default, rename = "issuePageUrl")]
    issue_page_url: Option<String>,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    trigger: Option<String>,
    #[serde(default, rename = "impactedEntities")]
    impacted_entities: Option<Vec<String>>,
    #[serde(default, rename = "entitiesData")]
    entities_data: Option<EntitiesData>,
    #[serde(default, rename = "alertPolicyNames")]
    alert_policy_names: Option<Text>,
    #[serde(default, rename = "policyName")]
    policy_name: Option<Text>,
    #[serde(default, rename = "alertConditionNames")]
    alert_condition_names: Option<Text>,
    #[serde(default, rename = "conditionName")]
    condition_name: Option<Text>,
    #[serde(default, rename = "createdAt", deserialize_with = "epoch_ms")]
    created_at: Option<DateTime<Utc>>,
    #[serde(default, rename = "updatedAt", deserialize_with = "epoch_ms")]
    updated_at: Option<DateTime<Utc>>,
    #[serde(default, rename = "closedAt", deserialize_with = "epoch_ms")]
    closed_at: Option<DateTime<Utc>>,
    #[serde(default, rename = "acknowledgedAt", deserialize_with = "epoch_ms")]
    acknowledged_at: Option<DateTime<Utc>>,
    /// Legacy notification channels; `test` for their test message.
    #[serde(default)]
    current_state: Option<String>,
}

#[derive(Debug, Deserialize)]
struct EntitiesData {
    #[serde(default)]
    names: Option<Vec<String>>,
}

/// An issue id: a UUID string (a number is accepted too).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Id {
    Text(String),
    Number(i64),
}

impl Id {
    fn text(&self) -> String {
        match self {
            Id::Text(s) => s.trim().to_owned(),
            Id::Number(n) => n.to_string(),
        }
    }
}

/// A template value that is one string, or a list of them (`{{json accumulations.…}}`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Text {
    One(String),
    Many(Vec<String>),
}

impl Text {
    fn first(&self) -> Option<&str> {
        match self {
            Text::One(s) => Some(s.as_str()),
            Text::Many(v) => v.first().map(String::as_str),
        }
        .map(str::trim)
        .filter(|s| !s.is_empty())
    }

    fn joined(&self) -> Option<String> {
        let parts: Vec<&str> = match self {
            Text::One(s) => vec![s.as_str()],
            Text::Many(v) => v.iter().map(String::as_str).collect(),
        };
        let parts: Vec<&str> = parts
            .into_iter()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// Epoch milliseconds as New Relic renders `{{createdAt}}`: a number, or a numeric string when
/// the template quotes it; `null` or an empty string is no time.
fn epoch_ms<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Ms {
        Int(i64),
        Float(f64),
        Text(String),
    }
    let ms = match Option::<Ms>::deserialize(d)? {
        None => return Ok(None),
        Some(Ms::Int(ms)) => ms,
        // Whole milliseconds are enough; the fraction is dropped on purpose.
        Some(Ms::Float(ms)) => ms as i64,
        Some(Ms::Text(s)) if s.trim().is_empty() => return Ok(None),
        Some(Ms::Text(s)) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("{s:?} is not epoch milliseconds")))?,
    };
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("{ms} is out of range for a time")))
}

/// New Relic priorities → Aurora's; no priority is unknown (its investigation assesses it).
fn priority_severity(priority: Option<&str>) -> Severity {
    match priority.map(|p| p.trim().to_ascii_uppercase()).as_deref() {
        None | Some("") => Severity::Unknown,
        Some("CRITICAL") => Severity::Critical,
        Some("HIGH") => Severity::High,
        Some("MEDIUM") => Severity::Medium,
        Some("LOW") => Severity::Low,
        Some(other) => severity_from(other),
    }
}

fn is_test(p: &Payload, id: Option<&str>) -> bool {
    let title = p
        .title
        .as_ref()
        .or(p.issue_title.as_ref())
        .and_then(Text::first)
        .unwrap_or_default()
        .to_ascii_lowercase();
    p.current_state
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("test"))
        || id.is_some_and(|id| id.to_ascii_lowercase().starts_with("test"))
        || title.starts_with("test notification")
}

impl NewRelic {
    fn signal(&self, p: Payload, at: DateTime<Utc>) -> Result<Signal, Refusal> {
        let id = p
            .issue_id
            .as_ref()
            .or(p.id.as_ref())
            .map(Id::text)
            .filter(|id| !id.is_empty());
        if is_test(&p, id.as_deref()) {
            return Ok(Signal::Ignored {
                reason: "a New Relic test notification".into(),
            });
        }
        let id = id.ok_or_else(|| {
            Refusal::bad(
                "invalid_payload",
                "a New Relic notification needs the issue id (`id` or `issueId`: {{issueId}})",
            )
        })?;
        let state = p
            .state
            .as_deref()
            .map(|s| s.trim().to_ascii_uppercase())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                Refusal::bad(
                    "invalid_payload",
                    "a New Relic notification needs the issue `state` ({{state}})",
                )
            })?;
        let trigger = p
            .trigger
            .as_deref()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let fingerprint = format!("newrelic-issue-{id}");
        Ok(match state.as_str() {
            "CLOSED" | "RESOLVED" => Signal::Resolved {
                fingerprint,
                source_alert_id: id,
                at: p.closed_at.or(p.updated_at).unwrap_or(at),
            },
            "ACKNOWLEDGED" => Signal::Acknowledged {
                fingerprint,
                source_alert_id: id,
                at: p.acknowledged_at.or(p.updated_at).unwrap_or(at),
            },
            "CREATED" | "ACTIVATED" if trigger == "ACKNOWLEDGED" => Signal::Acknowledged {
                fingerprint,
                source_alert_id: id,
                at: p.acknowledged_at.or(p.updated_at).unwrap_or(at),
            },
            "CREATED" | "ACTIVATED" => {
                let condition = p
                    .alert_condition_names
                    .as_ref()
                    .or(p.condition_name.as_ref());
                let policy = p.alert_policy_names.as_ref().or(p.policy_name.as_ref());
                let description = match (
                    policy.and_then(Text::joined),
                    condition.and_then(Text::joined),
                ) {
                    (Some(p), Some(c)) => Some(format!("Policy: {p}. Condition: {c}.")),
                    (Some(p), None) => Some(format!("Policy: {p}.")),
                    (None, Some(c)) => Some(format!("Condition: {c}.")),
                    (None, None) => None,
                };
                let service = p
                    .impacted_entities
                    .as_deref()
                    .into_iter()
                    .chain(p.entities_data.as_ref().and_then(|e| e.names.as_deref()))
                    .flatten()
                    .map(|e| e.trim())
                    .find(|e| !e.is_empty())
                    .map(str::to_owned);
                Signal::Firing(FiringAlert {
                    title: p
                        .title
                        .as_ref()
                        .or(p.issue_title.as_ref())
                        .and_then(Text::first)
                        .or_else(|| condition.and_then(Text::first))
                        .map_or_else(|| format!("New Relic issue {id}"), str::to_owned),
                    alert_id: id,
                    fingerprint,
                    service,
                    environment: None,
                    severity: priority_severity(p.priority.as_deref()),
                    fired_at: p.created_at.unwrap_or(at),
                    description,
                    url: p
                        .issue_url
                        .or(p.issue_page_url)
                        .filter(|u| !u.trim().is_empty()),
                    placement: Default::default(),
                })
            }
            other => Signal::Ignored {
                reason: format!("New Relic issue state {other:?} is not acted on"),
            },
        })
    }
}

const DESCRIPTOR: SourceDescriptor = SourceDescriptor::new(
    "newrelic",
    "New Relic",
    BEARER_SECRET,
    "Alerts → Destinations → Webhook (endpoint URL, authorization Bearer token); then Alerts → Workflows → Add a workflow → Notify → Webhook with that destination, and Aurora's payload template (the default one works)",
);

impl Source for NewRelic {
    fn descriptor(&self) -> &'static SourceDescriptor {
        &DESCRIPTOR
    }

    fn parse(&self, delivery: &Delivery<'_>) -> Result<Parsed, Refusal> {
        let payload: Payload = json("New Relic", delivery.body)?;
        Ok(Parsed::one(
            None,
            self.signal(payload, delivery.received_at)?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::common::tests_support::*;

    /// An `ACTIVATED` issue as New Relic's default workflow template renders it.
    const ACTIVATED: &str = r#"{
      "id": "c5faa7e6-7b54-402d-af79-f99601e0278c",
      "issueUrl": "https://radar-api.service.newrelic.com/accounts/4420147/issues/c5faa7e6-7b54-402d-af79-f99601e0278c?notifier=WEBHOOK",
      "title": "checkout-api query result is > 2.0 for 1 minutes on 'High error rate'",
      "priority": "CRITICAL",
      "impactedEntities": ["checkout-api"],
      "totalIncidents": 1,
      "state": "ACTIVATED",
      "trigger": "STATE_CHANGE",
      "isCorrelated": false,
      "createdAt": 1713755131352,
      "updatedAt": 1713769708699,
      "sources": ["newrelic"],
      "alertPolicyNames": ["Golden Signals"],
      "alertConditionNames": ["High error rate"],
      "workflowName": "Aurora"
    }"#;

    fn parse(body: &str) -> Signal {
        let h = headers(&[("authorization", "Bearer s3cret")]);
        let parsed = NewRelic.parse(&delivery(&h, body)).expect("parses");
        assert_eq!(parsed.delivery_id, None, "New Relic sends no delivery id");
        let [signal] = <[Signal; 1]>::try_from(parsed.signals).expect("one signal");
        signal
    }

    fn with_state(state: &str, trigger: &str) -> String {
        ACTIVATED
            .replace(r#""state": "ACTIVATED""#, &format!(r#""state": "{state}""#))
            .replace(
                r#""trigger": "STATE_CHANGE""#,
                &format!(r#""trigger": "{trigger}""#),
            )
    }

    #[test]
    fn an_activated_issue_fires_as_one_alert_identified_by_the_issue_id() {
        let Signal::Firing(a) = parse(ACTIVATED) else {
            panic!("firing expected")
        };
        assert_eq!(a.alert_id, "c5faa7e6-7b54-402d-af79-f99601e0278c");
        assert_eq!(
            a.fingerprint,
            "newrelic-issue-c5faa7e6-7b54-402d-af79-f99601e0278c"
        );
        assert_eq!(
            a.title,
            "checkout-api query result is > 2.0 for 1 minutes on 'High error rate'"
        );
        assert_eq!(a.service.as_deref(), Some("checkout-api"));
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.fired_at.timestamp_millis(), 1713755131352);
        assert_eq!(
            a.description.as_deref(),
            Some("Policy: Golden Signals. Condition: High error rate.")
        );
        assert!(a
            .url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://radar-api.service.newrelic.com/")));
        assert_eq!(a.environment, None);
    }

    #[test]
    fn a_created_issue_fires_and_its_activation_is_the_same_alert() {
        let Signal::Firing(created) = parse(&with_state("CREATED", "INCIDENT_ADDED")) else {
            panic!("firing expected")
        };
        let Signal::Firing(activated) = parse(ACTIVATED) else {
            panic!("firing expected")
        };
        assert_eq!(created.alert_id, activated.alert_id);
        assert_eq!(created.fingerprint, activated.fingerprint);
    }

    #[test]
    fn priorities_map_onto_aurora_severities() {
        levels_map_onto(
            &[
                ("CRITICAL", Severity::Critical),
                ("HIGH", Severity::High),
                ("MEDIUM", Severity::Medium),
                ("LOW", Severity::Low),
            ],
            |priority| {
                ACTIVATED.replace(
                    r#""priority": "CRITICAL""#,
                    &format!(r#""priority": "{priority}""#),
                )
            },
            parse,
        );
        let Signal::Firing(a) = parse(&ACTIVATED.replace(r#""priority": "CRITICAL","#, "")) else {
            panic!("firing expected")
        };
        assert_eq!(a.severity, Severity::Unknown, "no priority: unknown");
    }

    #[test]
    fn a_closed_issue_resolves_its_fingerprint() {
        let body = with_state("CLOSED", "INCIDENT_CLOSED");
        match parse(&body) {
            Signal::Resolved {
                fingerprint,
                source_alert_id,
                at,
            } => {
                assert_eq!(
                    fingerprint,
                    "newrelic-issue-c5faa7e6-7b54-402d-af79-f99601e0278c"
                );
                assert_eq!(source_alert_id, "c5faa7e6-7b54-402d-af79-f99601e0278c");
                assert_eq!(at.timestamp_millis(), 1713769708699, "updatedAt");
            }
            other => panic!("resolved expected, got {other:?}"),
        }
    }

    #[test]
    fn an_acknowledged_issue_is_recorded_as_acknowledged() {
        for body in [
            with_state("ACKNOWLEDGED", "ACKNOWLEDGED"),
            with_state("ACTIVATED", "ACKNOWLEDGED"),
        ] {
            match parse(&body) {
                Signal::Acknowledged {
                    fingerprint,
                    source_alert_id,
                    ..
                } => {
                    assert_eq!(
                        fingerprint,
                        "newrelic-issue-c5faa7e6-7b54-402d-af79-f99601e0278c"
                    );
                    assert_eq!(source_alert_id, "c5faa7e6-7b54-402d-af79-f99601e0278c");
                }
                other => panic!("acknowledged expected, got {other:?}"),
            }
        }
    }

    #[test]
    fn other_states_are_ignored_with_a_reason() {
        match parse(&with_state("DEACTIVATED", "STATE_CHANGE")) {
            Signal::Ignored { reason } => assert!(reason.contains("DEACTIVATED")),
            other => panic!("ignored expected, got {other:?}"),
        }
    }

    #[test]
    fn the_upstream_template_is_read_too() {
        let body = r#"{
          "issueTitle": ["Disk almost full on db-primary"],
          "issueId": "0ea2df1c-adab-45d2-aae0-042b609d2322",
          "issueUrl": "https://radar-api.service.newrelic.com/accounts/1/issues/0ea2df1c-adab-45d2-aae0-042b609d2322",
          "state": "ACTIVATED",
          "priority": "HIGH",
          "conditionName": ["Disk usage"],
          "policyName": ["Database"],
          "totalIncidents": 2,
          "entitiesData": {"names": ["db-primary"], "types": ["HOST"]},
          "accountId": 1
        }"#;
        let Signal::Firing(a) = parse(body) else {
            panic!("firing expected")
        };
        assert_eq!(a.alert_id, "0ea2df1c-adab-45d2-aae0-042b609d2322");
        assert_eq!(a.title, "Disk almost full on db-primary");
        assert_eq!(a.service.as_deref(), Some("db-primary"));
        assert_eq!(a.severity, Severity::High);
        assert_eq!(
            a.description.as_deref(),
            Some("Policy: Database. Condition: Disk usage.")
        );
        assert_eq!(
            a.fired_at.to_rfc3339(),
            "2026-11-23T10:00:30+00:00",
            "no createdAt: received"
        );
    }

    #[test]
    fn quoted_timestamps_and_missing_optional_fields_are_tolerated() {
        let body = r#"{"id": "9d1e0c55-4c1b-4f6e-9a57-1f0d1d4f2b11", "state": "ACTIVATED",
          "createdAt": "1713755131352", "updatedAt": null, "impactedEntities": null, "title": ""}"#;
        let Signal::Firing(a) = parse(body) else {
            panic!("firing expected")
        };
        assert_eq!(a.fired_at.timestamp_millis(), 1713755131352);
        assert_eq!(
            a.title,
            "New Relic issue 9d1e0c55-4c1b-4f6e-9a57-1f0d1d4f2b11"
        );
        assert_eq!(a.service, None);
    }

    #[test]
    fn test_notifications_are_accepted_and_ignored() {
        let workflow_test = ACTIVATED.replace(
            "checkout-api query result is > 2.0 for 1 minutes on 'High error rate'",
            "Test notification",
        );
        let test_id = ACTIVATED.replace(
            r#""id": "c5faa7e6-7b54-402d-af79-f99601e0278c""#,
            r#""id": "test-issue-id""#,
        );
        let legacy = r#"{"owner": "Joseph Davis", "severity": "INFO", "current_state": "test",
          "policy_name": "New Relic Alert - Test Policy", "incident_id": 0, "event_type": "NOTIFICATION",
          "details": "New Relic Alert - Channel Test", "condition_name": "New Relic Alert - Test Condition",
          "timestamp": 1495029816255}"#;
        for body in [workflow_test.as_str(), test_id.as_str(), legacy] {
            assert!(matches!(parse(body), Signal::Ignored { .. }), "{body}");
        }
    }

    #[test]
    fn malformed_payloads_are_refused_saying_why() {
        let cases = [
            ("not json".to_owned(), "invalid_json"),
            (r#"{"id": "x", "state": "#.to_owned(), "invalid_json"),
            ("[]".to_owned(), "invalid_payload"),
            ("{}".to_owned(), "invalid_payload"),
            (
                ACTIVATED.replace(r#""id": "c5faa7e6-7b54-402d-af79-f99601e0278c","#, ""),
                "invalid_payload",
            ),
            (
                ACTIVATED.replace(
                    r#""id": "c5faa7e6-7b54-402d-af79-f99601e0278c""#,
                    r#""id": """#,
                ),
                "invalid_payload",
            ),
            (
                ACTIVATED.replace(r#""state": "ACTIVATED","#, ""),
                "invalid_payload",
            ),
            (
                ACTIVATED.replace(r#""state": "ACTIVATED""#, r#""state": 3"#),
                "invalid_payload",
            ),
            (
                ACTIVATED.replace(
                    r#""id": "c5faa7e6-7b54-402d-af79-f99601e0278c""#,
                    r#""id": {"a": 1}"#,
                ),
                "invalid_payload",
            ),
            (
                ACTIVATED.replace("1713755131352", r#""yesterday""#),
                "invalid_payload",
            ),
            (
                ACTIVATED.replace(r#"["checkout-api"]"#, r#""checkout-api""#),
                "invalid_payload",
            ),
        ];

        refuses_malformed(&NewRelic, &headers(&[]), "", &cases);
    }

    #[test]
    fn only_the_right_bearer_secret_gets_in() {
        the_bearer_secret_alone_gets_in(
            &NewRelic,
            (ACTIVATED, "{}"),
            &[("authorization", "Basic czNjcmV0"), ("x-api-key", "s3cret")],
        );
    }

    #[test]
    fn setup_shows_the_bearer_header_to_configure() {
        let setup = NewRelic.setup(
            "https://aurora.example.com/webhooks/newrelic/1",
            Some("s3cret"),
        );
        assert_eq!(setup.header.as_deref(), Some("authorization"));
        assert_eq!(setup.header_value.as_deref(), Some("Bearer s3cret"));
        assert!(setup.steps.iter().any(|s| s.contains("Destinations")));
    }
}
