//! PagerDuty v3 webhooks (generic webhook subscriptions). Authenticated by PagerDuty's own
//! signature: `X-PagerDuty-Signature: v1=<hex hmac-sha256 of the raw body>` with the signing
//! secret PagerDuty generates for the subscription (the user gives it to Aurora). During a secret
//! rotation the header carries several comma-separated `v1=` signatures; any one matching is
//! enough.
//!
//! One delivery is one event, `{"event": {id, event_type, resource_type, occurred_at, data}}`:
//! - `incident.triggered` → a firing alert (title, service, severity from the incident's priority
//!   `P1`…`P5`, else its urgency), `incident.reopened` → firing again;
//! - `incident.acknowledged` → acknowledged, `incident.resolved` → resolved;
//! - `pagey.ping` (the subscription's test) and every other event kind (annotated, reassigned,
//!   escalated, priority updated, responders, status updates, service events…) → ignored, saying
//!   why.
//!
//! Identity is the incident id: the fingerprint is `pagerduty-incident-<id>` for every event of
//! that incident, so `incident.resolved` finds the incident the trigger opened. The alert id is
//! the incident id for the trigger and `<id>@<unix time of the reopen>` for a reopen, so each
//! firing episode is its own alert. The delivery id is the event's `id` (PagerDuty keeps it on
//! retries).

use aurora_domain::intake::{FiringAlert, Signal};
use aurora_domain::Severity;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::common::{json, severity_from};
use super::{Auth, Delivery, Parsed, Refusal, SecretOrigin, Source, SourceDescriptor};

pub struct PagerDuty;

#[derive(Debug, Deserialize)]
struct Payload {
    event: Event,
}

#[derive(Debug, Deserialize)]
struct Event {
    #[serde(default)]
    id: Option<String>,
    event_type: String,
    #[serde(default)]
    resource_type: Option<String>,
    #[serde(default)]
    occurred_at: Option<String>,
    /// Its shape depends on the event kind: read only for the kinds Aurora acts on.
    #[serde(default)]
    data: Option<serde_json::Value>,
}

/// `event.data` of an incident event.
#[derive(Debug, Deserialize)]
struct Incident {
    id: String,
    #[serde(default)]
    number: Option<u64>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    urgency: Option<String>,
    #[serde(default)]
    service: Option<Reference>,
    #[serde(default)]
    priority: Option<Reference>,
    #[serde(default)]
    escalation_policy: Option<Reference>,
    #[serde(default)]
    assignees: Option<Vec<Reference>>,
}

/// A PagerDuty `*_reference` object; only its `summary` (the display name) is used.
#[derive(Debug, Deserialize)]
struct Reference {
    #[serde(default)]
    summary: Option<String>,
}

impl Reference {
    fn name(this: &Option<Self>) -> Option<&str> {
        this.as_ref()
            .and_then(|r| r.summary.as_deref())
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

/// An RFC 3339 time, when there is one that parses.
fn time(text: Option<&str>) -> Option<DateTime<Utc>> {
    text.and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn fingerprint(incident_id: &str) -> String {
    format!("pagerduty-incident-{incident_id}")
}

impl Incident {
    /// Priority when the account uses priorities (`P1`…`P5`, or names like `SEV-1`), else
    /// urgency: high → high, low → low.
    fn severity(&self) -> Severity {
        if let Some(priority) = Reference::name(&self.priority) {
            return severity_from(priority);
        }
        match self.urgency.as_deref().map(str::trim) {
            Some(u) if u.eq_ignore_ascii_case("high") => Severity::High,
            Some(u) if u.eq_ignore_ascii_case("low") => Severity::Low,
            _ => Severity::Medium,
        }
    }

    /// What the payload says beyond the title: number, urgency, who it is with.
    fn description(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(n) = self.number {
            parts.push(format!("PagerDuty incident #{n}"));
        }
        if let Some(u) = self.urgency.as_deref().filter(|u| !u.is_empty()) {
            parts.push(format!("urgency {u}"));
        }
        if let Some(p) = Reference::name(&self.escalation_policy) {
            parts.push(format!("escalation policy {p}"));
        }
        let assignees: Vec<&str> = self
            .assignees
            .iter()
            .flatten()
            .filter_map(|a| a.summary.as_deref())
            .filter(|s| !s.is_empty())
            .collect();
        if !assignees.is_empty() {
            parts.push(format!("assigned to {}", assignees.join(", ")));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    fn firing(self, alert_id: String, fired_at: DateTime<Utc>) -> Signal {
        let description = self.description();
        let severity = self.severity();
        let title = self
            .title
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map_or_else(
                || match self.number {
                    Some(n) => format!("PagerDuty incident #{n}"),
                    None => format!("PagerDuty incident {}", self.id),
                },
                str::to_owned,
            );
        Signal::Firing(FiringAlert {
            alert_id,
            fingerprint: fingerprint(&self.id),
            title,
            service: Reference::name(&self.service).map(str::to_owned),
            environment: None,
            severity,
            fired_at,
            description,
            url: self.html_url.filter(|u| !u.is_empty()),
            placement: Default::default(),
        })
    }
}

impl PagerDuty {
    /// The incident an incident event is about.
    fn incident(event: &Event) -> Result<Incident, Refusal> {
        let data = event.data.clone().ok_or_else(|| {
            Refusal::bad(
                "invalid_payload",
                format!(
                    "a PagerDuty {} event needs `event.data` (the incident)",
                    event.event_type
                ),
            )
        })?;
        serde_json::from_value(data).map_err(|e| {
            Refusal::bad(
                "invalid_payload",
                format!(
                    "not a PagerDuty webhook payload: `event.data` of {} is not an incident: {e}",
                    event.event_type
                ),
            )
        })
    }

    fn signal(event: &Event, received_at: DateTime<Utc>) -> Result<Signal, Refusal> {
        let at = time(event.occurred_at.as_deref()).unwrap_or(received_at);
        let kind = event.event_type.as_str();
        Ok(match kind {
            "incident.triggered" => {
                let incident = Self::incident(event)?;
                let fired_at = time(incident.created_at.as_deref()).unwrap_or(at);
                let alert_id = incident.id.clone();
                incident.firing(alert_id, fired_at)
            }
            "incident.reopened" => {
                let incident = Self::incident(event)?;
                let alert_id = format!("{}@{}", incident.id, at.timestamp());
                incident.firing(alert_id, at)
            }
            "incident.acknowledged" => {
                let incident = Self::incident(event)?;
                Signal::Acknowledged {
                    fingerprint: fingerprint(&incident.id),
                    source_alert_id: incident.id,
                    at,
                }
            }
            "incident.resolved" => {
                let incident = Self::incident(event)?;
                Signal::Resolved {
                    fingerprint: fingerprint(&incident.id),
                    source_alert_id: incident.id,
                    at,
                }
            }
            "pagey.ping" => Signal::Ignored {
                reason: "a PagerDuty webhook test (pagey.ping)".into(),
            },
            other if other.starts_with("incident.") => Signal::Ignored {
                reason: format!(
                    "PagerDuty {other} does not fire, acknowledge or resolve an incident"
                ),
            },
            other => Signal::Ignored {
                reason: format!(
                    "PagerDuty {other} is not an incident event (resource {})",
                    event.resource_type.as_deref().unwrap_or("unknown")
                ),
            },
        })
    }
}

const DESCRIPTOR: SourceDescriptor = SourceDescriptor {
    secret_origin: SecretOrigin::Source,
    ..SourceDescriptor::new(
        "pagerduty",
        "PagerDuty",
        Auth::hmac_sha256("x-pagerduty-signature", "v1="),
        "Integrations → Generic Webhooks (v3) → New Webhook; scope it to a service or team, subscribe at least to incident.triggered, incident.acknowledged and incident.resolved (and incident.reopened), and copy the signing secret PagerDuty shows once",
    )
};

impl Source for PagerDuty {
    fn descriptor(&self) -> &'static SourceDescriptor {
        &DESCRIPTOR
    }

    fn parse(&self, delivery: &Delivery<'_>) -> Result<Parsed, Refusal> {
        let Payload { event } = json("PagerDuty", delivery.body)?;
        let signal = Self::signal(&event, delivery.received_at)?;
        Ok(Parsed::one(event.id.filter(|id| !id.is_empty()), signal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::common::tests_support::*;

    /// As PagerDuty's v3 webhook documentation shows an `incident.triggered` event.
    const TRIGGERED: &str = r#"{
      "event": {
        "id": "01DEN4HPBQAAAG05V5QQYBRZMF",
        "event_type": "incident.triggered",
        "resource_type": "incident",
        "occurred_at": "2026-11-23T09:58:12.147Z",
        "agent": {
          "html_url": "https://acme.pagerduty.com/users/PLH1HKV",
          "id": "PLH1HKV",
          "self": "https://api.pagerduty.com/users/PLH1HKV",
          "summary": "Tenex Engineer",
          "type": "user_reference"
        },
        "client": {"name": "PagerDuty"},
        "data": {
          "id": "Q3S7IX2U5KTCOY",
          "type": "incident",
          "self": "https://api.pagerduty.com/incidents/Q3S7IX2U5KTCOY",
          "html_url": "https://acme.pagerduty.com/incidents/Q3S7IX2U5KTCOY",
          "number": 2,
          "status": "triggered",
          "incident_key": "d3640fbd41094207a1c11e58e46b1662",
          "created_at": "2026-11-23T09:58:11Z",
          "title": "Checkout API error rate above 5%",
          "service": {
            "html_url": "https://acme.pagerduty.com/services/PF9KMXH",
            "id": "PF9KMXH",
            "self": "https://api.pagerduty.com/services/PF9KMXH",
            "summary": "checkout-api",
            "type": "service_reference"
          },
          "assignees": [
            {"html_url": "https://acme.pagerduty.com/users/PTUXL6G", "id": "PTUXL6G",
             "self": "https://api.pagerduty.com/users/PTUXL6G", "summary": "User 123", "type": "user_reference"}
          ],
          "escalation_policy": {
            "html_url": "https://acme.pagerduty.com/escalation_policies/PUS0KTE", "id": "PUS0KTE",
            "self": "https://api.pagerduty.com/escalation_policies/PUS0KTE", "summary": "Default", "type": "escalation_policy_reference"
          },
          "teams": [
            {"html_url": "https://acme.pagerduty.com/teams/PFCVPS0", "id": "PFCVPS0",
             "self": "https://api.pagerduty.com/teams/PFCVPS0", "summary": "Engineering", "type": "team_reference"}
          ],
          "priority": {
            "html_url": "https://acme.pagerduty.com/account/incident_priorities", "id": "PSO75BM",
            "self": "https://api.pagerduty.com/priorities/PSO75BM", "summary": "P1", "type": "priority_reference"
          },
          "urgency": "high",
          "conference_bridge": {"conference_number": "+1 1234123412,,987654321#", "conference_url": "https://example.com"},
          "resolve_reason": null,
          "incident_type": {"name": "major_incident"}
        }
      }
    }"#;

    /// The same incident, as another event kind at another time.
    fn event(kind: &str, status: &str, at: &str) -> String {
        TRIGGERED
            .replace("\"incident.triggered\"", &format!("\"{kind}\""))
            .replace(
                "\"status\": \"triggered\"",
                &format!("\"status\": \"{status}\""),
            )
            .replace("2026-11-23T09:58:12.147Z", at)
            .replace("01DEN4HPBQAAAG05V5QQYBRZMF", "01DEN4J2ZRBBBG05V5QQYBRZMG")
    }

    fn sign(secret: &[u8], body: &str) -> String {
        crate::sources::common::tests_support::sign(super::DESCRIPTOR.auth, secret, body)
    }

    fn parse(body: &str) -> Parsed {
        let h = headers(&[]);
        PagerDuty.parse(&delivery(&h, body)).expect("parses")
    }

    #[test]
    fn a_triggered_incident_fires_one_alert_named_after_the_incident() {
        let parsed = parse(TRIGGERED);
        assert_eq!(
            parsed.delivery_id.as_deref(),
            Some("01DEN4HPBQAAAG05V5QQYBRZMF")
        );
        let [Signal::Firing(a)] = &parsed.signals[..] else {
            panic!("one firing alert: {:?}", parsed.signals)
        };
        assert_eq!(a.alert_id, "Q3S7IX2U5KTCOY");
        assert_eq!(a.fingerprint, "pagerduty-incident-Q3S7IX2U5KTCOY");
        assert_eq!(a.title, "Checkout API error rate above 5%");
        assert_eq!(a.service.as_deref(), Some("checkout-api"));
        assert_eq!(a.environment, None);
        assert_eq!(a.severity, Severity::Critical, "priority P1");
        assert_eq!(a.fired_at.to_rfc3339(), "2026-11-23T09:58:11+00:00");
        assert_eq!(
            a.url.as_deref(),
            Some("https://acme.pagerduty.com/incidents/Q3S7IX2U5KTCOY")
        );
        assert_eq!(
            a.description.as_deref(),
            Some("PagerDuty incident #2; urgency high; escalation policy Default; assigned to User 123")
        );
    }

    #[test]
    fn without_a_priority_the_urgency_sets_the_severity() {
        let no_priority = |urgency: &str| {
            let start = TRIGGERED.find("\"priority\": {").expect("priority");
            let end = start + TRIGGERED[start..].find('}').expect("end") + 1;
            format!(
                "{}\"priority\": null{}",
                &TRIGGERED[..start],
                &TRIGGERED[end..]
            )
            .replace(
                "\"urgency\": \"high\"",
                &format!("\"urgency\": \"{urgency}\""),
            )
        };
        for (urgency, severity) in [
            ("high", Severity::High),
            ("low", Severity::Low),
            ("suppressed", Severity::Medium),
        ] {
            let parsed = parse(&no_priority(urgency));
            let Signal::Firing(a) = &parsed.signals[0] else {
                panic!("firing")
            };
            assert_eq!(a.severity, severity, "urgency {urgency}");
        }
        let p4 = TRIGGERED.replace("\"summary\": \"P1\"", "\"summary\": \"P4\"");
        let Signal::Firing(a) = &parse(&p4).signals[0] else {
            panic!("firing")
        };
        assert_eq!(a.severity, Severity::Low, "a priority wins over urgency");
    }

    #[test]
    fn a_minimal_triggered_incident_still_fires() {
        let body = r#"{"event":{"id":"E1","event_type":"incident.triggered","resource_type":"incident","occurred_at":"2026-11-23T09:58:12Z","data":{"id":"PABC123","type":"incident","number":17}}}"#;
        let Signal::Firing(a) = &parse(body).signals[0] else {
            panic!("firing")
        };
        assert_eq!(a.title, "PagerDuty incident #17");
        assert_eq!(a.service, None);
        assert_eq!(a.severity, Severity::Medium);
        assert_eq!(
            a.fired_at.to_rfc3339(),
            "2026-11-23T09:58:12+00:00",
            "no created_at: when it occurred"
        );
    }

    #[test]
    fn an_acknowledged_incident_is_acknowledged_by_its_fingerprint() {
        let parsed = parse(&event(
            "incident.acknowledged",
            "acknowledged",
            "2026-11-23T10:02:00.000Z",
        ));
        assert_eq!(
            parsed.delivery_id.as_deref(),
            Some("01DEN4J2ZRBBBG05V5QQYBRZMG")
        );
        match &parsed.signals[..] {
            [Signal::Acknowledged {
                fingerprint,
                source_alert_id,
                at,
            }] => {
                assert_eq!(fingerprint, "pagerduty-incident-Q3S7IX2U5KTCOY");
                assert_eq!(source_alert_id, "Q3S7IX2U5KTCOY");
                assert_eq!(at.to_rfc3339(), "2026-11-23T10:02:00+00:00");
            }
            other => panic!("acknowledged expected, got {other:?}"),
        }
    }

    #[test]
    fn a_resolved_incident_resolves_the_fingerprint_its_trigger_fired() {
        let Signal::Firing(fired) = &parse(TRIGGERED).signals[0] else {
            panic!("firing")
        };
        let parsed = parse(&event(
            "incident.resolved",
            "resolved",
            "2026-11-23T10:31:45.000Z",
        ));
        assert_eq!(
            parsed.signals,
            [resolved(
                &fired.fingerprint,
                &fired.alert_id,
                "2026-11-23T10:31:45+00:00"
            )]
        );
    }

    #[test]
    fn a_reopened_incident_fires_again_as_a_new_alert_with_the_same_fingerprint() {
        let parsed = parse(&event(
            "incident.reopened",
            "triggered",
            "2026-11-23T11:00:00.000Z",
        ));
        let [Signal::Firing(a)] = &parsed.signals[..] else {
            panic!("firing: {:?}", parsed.signals)
        };
        assert_eq!(a.alert_id, "Q3S7IX2U5KTCOY@1795431600");
        assert_eq!(a.fingerprint, "pagerduty-incident-Q3S7IX2U5KTCOY");
        assert_eq!(a.fired_at.to_rfc3339(), "2026-11-23T11:00:00+00:00");
        assert_eq!(a.title, "Checkout API error rate above 5%");
    }

    #[test]
    fn the_webhook_test_ping_is_accepted_and_ignored() {
        let body = r#"{"event":{"id":"01DFBUTXDNHMWPFT8GS4QG5MSM","event_type":"pagey.ping","resource_type":"pagey","occurred_at":"2026-11-23T09:50:00.000Z","agent":null,"client":null,"data":{"message":"Hello from your friend Pagey!","type":"ping"}}}"#;
        let parsed = parse(body);
        assert_eq!(
            parsed.delivery_id.as_deref(),
            Some("01DFBUTXDNHMWPFT8GS4QG5MSM")
        );
        assert!(
            matches!(&parsed.signals[..], [Signal::Ignored { reason }] if reason.contains("pagey.ping"))
        );
    }

    #[test]
    fn other_incident_events_are_accepted_and_ignored_saying_which() {
        let annotated = r#"{"event":{"id":"01DA2MLYN0J5EFC1LKWXUKDDKT","event_type":"incident.annotated","resource_type":"incident","occurred_at":"2026-11-23T10:05:00.000Z","agent":{"id":"PLH1HKV","summary":"Tenex Engineer","type":"user_reference"},"client":null,"data":{"incident":{"html_url":"https://acme.pagerduty.com/incidents/Q3S7IX2U5KTCOY","id":"Q3S7IX2U5KTCOY","self":"https://api.pagerduty.com/incidents/Q3S7IX2U5KTCOY","summary":"Checkout API error rate above 5%","type":"incident_reference"},"id":"PXPB4J1","content":"Rolled back 1.42.0","trimmed":false,"type":"incident_note"}}}"#;
        let mut bodies = vec![annotated.to_owned()];
        for kind in [
            "incident.priority_updated",
            "incident.reassigned",
            "incident.escalated",
            "incident.delegated",
            "incident.unacknowledged",
            "incident.responder.added",
            "incident.status_update_published",
            "incident.custom_field_values.updated",
        ] {
            bodies.push(event(kind, "triggered", "2026-11-23T10:05:00.000Z"));
        }
        for body in &bodies {
            let parsed = parse(body);
            match &parsed.signals[..] {
                [Signal::Ignored { reason }] => {
                    assert!(reason.contains("incident."), "{reason}")
                }
                other => panic!("ignored expected, got {other:?}"),
            }
            assert!(parsed.delivery_id.is_some());
        }
    }

    #[test]
    fn service_events_are_accepted_and_ignored() {
        let body = r#"{"event":{"id":"01E1","event_type":"service.updated","resource_type":"service","occurred_at":"2026-11-23T10:05:00.000Z","agent":null,"client":null,"data":{"id":"PF9KMXH","type":"service","summary":"checkout-api"}}}"#;
        assert!(matches!(
            &parse(body).signals[..],
            [Signal::Ignored { reason }] if reason.contains("service.updated") && reason.contains("resource service")
        ));
    }

    #[test]
    fn malformed_payloads_are_refused_saying_why() {
        let h = headers(&[]);
        refuses_malformed(
&PagerDuty,
&h,
"",
&[
            ("not json", "invalid_json"),
            ("{\"event\": {\"id\": \"E1\"", "invalid_json"),
            ("{}", "invalid_payload"),
            ("[]", "invalid_payload"),
            ("{\"event\": \"incident.triggered\"}", "invalid_payload"),
            ("{\"event\": {\"id\": \"E1\", \"resource_type\": \"incident\"}}", "invalid_payload"),
            ("{\"event\": {\"event_type\": 7}}", "invalid_payload"),
            (
                "{\"event\": {\"event_type\": \"incident.triggered\", \"resource_type\": \"incident\"}}",
                "invalid_payload",
            ),
            (
                "{\"event\": {\"event_type\": \"incident.triggered\", \"data\": {\"title\": \"no id\"}}}",
                "invalid_payload",
            ),
            (
                "{\"event\": {\"event_type\": \"incident.resolved\", \"data\": \"Q3S7IX2U5KTCOY\"}}",
                "invalid_payload",
            ),
            (
                "{\"event\": {\"event_type\": \"incident.triggered\", \"data\": {\"id\": \"Q1\", \"priority\": \"P1\"}}}",
                "invalid_payload",
            ),
],
);
    }

    #[test]
    fn only_a_signature_of_this_body_with_the_signing_secret_gets_in() {
        only_the_right_secret_gets_in(&PagerDuty, TRIGGERED, "{}");
        let secret = b"whsec-pd-3f9a";
        let good = headers(&[("x-pagerduty-signature", &sign(secret, TRIGGERED))]);
        assert!(PagerDuty
            .verify(&delivery(&good, TRIGGERED), secret)
            .is_ok());

        let rotating = format!(
            "{}, {}",
            sign(b"the-old-secret", TRIGGERED),
            sign(secret, TRIGGERED)
        );
        let rotating = headers(&[("x-pagerduty-signature", &rotating)]);
        assert!(
            PagerDuty
                .verify(&delivery(&rotating, TRIGGERED), secret)
                .is_ok(),
            "any one of several signatures"
        );

        let other_body = event("incident.resolved", "resolved", "2026-11-23T10:31:45.000Z");
        let unprefixed = sign(secret, TRIGGERED).replacen("v1=", "", 1);
        for bad in [
            headers(&[("x-pagerduty-signature", &sign(b"wrong", TRIGGERED))]),
            headers(&[("x-pagerduty-signature", &sign(secret, &other_body))]),
            headers(&[("x-pagerduty-signature", &unprefixed)]),
            headers(&[("x-pagerduty-signature", "v1=not-hex")]),
            headers(&[("authorization", "Bearer whsec-pd-3f9a")]),
            headers(&[]),
        ] {
            assert!(matches!(
                PagerDuty.verify(&delivery(&bad, TRIGGERED), secret),
                Err(Refusal::Unauthorized(_))
            ));
        }
    }

    #[test]
    fn pagerduty_makes_the_secret_and_signs_itself() {
        assert_eq!(PagerDuty.descriptor().secret_origin, SecretOrigin::Source);
        let setup = PagerDuty.setup("https://aurora.example.com/webhooks/pagerduty/x", None);
        assert_eq!(setup.header, None);
        assert!(setup.steps[0].contains("Generic Webhooks (v3)"));
        assert!(PagerDuty.descriptor().kept_headers.is_empty());
    }
}
