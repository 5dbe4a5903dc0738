//! incident.io (v2 incident webhooks, sent through Svix). Authenticated by Svix's signature:
//! `webhook-signature: v1,<base64 hmac-sha256>` (several, space-separated, during a rotation;
//! any one matching is enough) of `<webhook-id>.<webhook-timestamp>.<raw body>`, keyed with the
//! base64 part of the endpoint's signing secret `whsec_<base64>`, which incident.io generates and
//! the user gives Aurora. The `webhook-timestamp` (unix seconds) must be within five minutes of
//! the delivery's arrival, either way, so a captured delivery cannot be replayed later.
//!
//! One delivery is one event, named by `event_type`, its object under a key of the same name.
//! A public incident created (declared, or opened in triage) fires; its status moving to the
//! closed category (or declined, canceled, merged into another) resolves it, whether that comes
//! as a status update or as an incident update. Identity is incident.io's incident id: the
//! fingerprint is `incidentio-<id>`, the alert id the incident id itself (an incident is declared
//! once). Test and tutorial incidents, private incidents (their payload carries only an id),
//! other status changes and every other event kind are ignored with the reason. Retries are
//! deduplicated on `webhook-id`, Svix's id of the message.

use aurora_domain::intake::{FiringAlert, Signal};
use aurora_domain::Severity;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::Sha256;

use super::common::{constant_time_eq, json, severity_from};
use super::{Auth, Delivery, Parsed, Refusal, SecretOrigin, Source, SourceDescriptor};

pub struct IncidentIo;

const ID_HEADER: &str = "webhook-id";
const TIMESTAMP_HEADER: &str = "webhook-timestamp";
const SIGNATURE_HEADER: &str = "webhook-signature";
const SECRET_PREFIX: &str = "whsec_";
/// How far the signed timestamp may be from the delivery's arrival, either way.
const TOLERANCE_SECONDS: i64 = 5 * 60;

const CREATED: &str = "public_incident.incident_created_v2";
const UPDATED: &str = "public_incident.incident_updated_v2";
const STATUS_UPDATED: &str = "public_incident.incident_status_updated_v2";

#[derive(Debug, Deserialize)]
struct Envelope {
    event_type: String,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
struct Incident {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    reference: Option<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    permalink: Option<String>,
    /// `standard`, `retrospective`, `test`, `tutorial`.
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    severity: Option<Named>,
    #[serde(default)]
    incident_status: Option<Status>,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    updated_at: Option<DateTime<Utc>>,
    /// Kept loose: custom fields come in many shapes and only a few are read.
    #[serde(default)]
    custom_field_entries: Option<Vec<Value>>,
}

#[derive(Debug, Deserialize)]
struct Named {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Status {
    /// `triage`, `live`, `learning`, `closed`, `declined`, `merged`, `canceled`, `paused` (and
    /// older names: `active`, `post-incident`).
    category: String,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct StatusUpdate {
    incident: Incident,
    #[serde(default)]
    new_status: Option<Status>,
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn ignored(reason: String) -> Signal {
    Signal::Ignored { reason }
}

fn unauthorized(message: impl Into<String>) -> Refusal {
    Refusal::Unauthorized(message.into())
}

/// The HMAC key: the base64 after `whsec_` (Svix's own libraries accept it without the prefix).
fn signing_key(secret: &[u8]) -> Result<Vec<u8>, Refusal> {
    let bad = || {
        unauthorized(
            "the integration's secret is not an incident.io signing secret (\"whsec_<base64>\"); update it with the one the webhook endpoint shows",
        )
    };
    let text = std::str::from_utf8(secret).map_err(|_| bad())?.trim();
    let encoded = text.strip_prefix(SECRET_PREFIX).unwrap_or(text);
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .filter(|key| !key.is_empty())
        .ok_or_else(bad)
}

/// Svix's check: the timestamp within the tolerance, then any `v1` signature matching.
fn verify_svix(delivery: &Delivery<'_>, secret: &[u8]) -> Result<(), Refusal> {
    let header = |name: &str| {
        delivery
            .value(name)
            .ok_or_else(|| unauthorized(format!("the {name} header is missing")))
    };
    let id = header(ID_HEADER)?;
    let timestamp = header(TIMESTAMP_HEADER)?;
    let signatures = header(SIGNATURE_HEADER)?;
    let sent: i64 = timestamp.parse().map_err(|_| {
        unauthorized(format!(
            "the {TIMESTAMP_HEADER} header must be unix seconds, not {timestamp:?}"
        ))
    })?;
    let skew = delivery.received_at.timestamp().saturating_sub(sent);
    if skew.saturating_abs() > TOLERANCE_SECONDS {
        return Err(unauthorized(format!(
            "the {TIMESTAMP_HEADER} is {}s {} the delivery's arrival: outside the 5-minute tolerance (a replayed delivery, or a clock far off)",
            skew.saturating_abs(),
            if skew > 0 { "before" } else { "after" }
        )));
    }
    let key = signing_key(secret)?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key)
        .map_err(|_| unauthorized("the signing secret cannot key an HMAC"))?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(delivery.body);
    let expected = mac.finalize().into_bytes();
    let mut saw_v1 = false;
    for candidate in signatures.split_whitespace() {
        let Some(encoded) = candidate.strip_prefix("v1,") else {
            continue;
        };
        saw_v1 = true;
        let Ok(signature) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
            continue;
        };
        if constant_time_eq(&signature, &expected) {
            return Ok(());
        }
    }
    Err(unauthorized(if saw_v1 {
        format!("the {SIGNATURE_HEADER} does not match the delivery (id, timestamp and body)")
    } else {
        format!("the {SIGNATURE_HEADER} header must be \"v1,<base64 signature>\"")
    }))
}

/// The event's object, read as `T`.
fn event_object<T: DeserializeOwned>(
    rest: &mut Map<String, Value>,
    event: &str,
) -> Result<T, Refusal> {
    let object = rest.remove(event).ok_or_else(|| {
        Refusal::bad(
            "invalid_payload",
            format!("not an incident.io webhook payload: {event} without its {event:?} object"),
        )
    })?;
    serde_json::from_value(object).map_err(|e| {
        Refusal::bad(
            "invalid_payload",
            format!("not an incident.io {event} payload: {e}"),
        )
    })
}

/// The incident of a created or updated event: the object itself (incident.io's shape), or
/// wrapped as `{"incident": {…}}`.
fn incident_of(rest: &mut Map<String, Value>, event: &str) -> Result<Incident, Refusal> {
    if let Some(Value::Object(object)) = rest.get_mut(event) {
        if let Some(inner @ Value::Object(_)) = object.remove("incident") {
            rest.insert(event.to_owned(), inner);
        }
    }
    event_object(rest, event)
}

/// Whether the status category means the incident is over.
fn is_over(category: &str) -> bool {
    matches!(
        category.to_ascii_lowercase().as_str(),
        "closed" | "resolved" | "declined" | "canceled" | "cancelled" | "merged"
    )
}

/// A custom field's first value, for the first field whose name is among `names`.
fn custom_field(entries: &[Value], names: &[&str]) -> Option<String> {
    entries.iter().find_map(|entry| {
        let name = entry.pointer("/custom_field/name")?.as_str()?;
        let name = name.trim().to_ascii_lowercase().replace(['_', '-'], " ");
        if !names.contains(&name.as_str()) {
            return None;
        }
        entry.get("values")?.as_array()?.iter().find_map(|v| {
            [
                "/value_catalog_entry/name",
                "/value_option/value",
                "/value_text",
                "/label",
                "/value",
            ]
            .iter()
            .find_map(|p| v.pointer(p).and_then(Value::as_str))
            .and_then(|s| non_empty(Some(s)))
        })
    })
}

impl Incident {
    fn fingerprint(&self) -> String {
        format!("incidentio-{}", self.id)
    }

    fn described(&self) -> String {
        non_empty(self.reference.as_deref()).unwrap_or_else(|| self.id.clone())
    }

    fn is_test(&self) -> bool {
        matches!(self.mode.as_deref(), Some("test" | "tutorial"))
    }

    fn firing(self, now: DateTime<Utc>) -> Signal {
        let entries = self.custom_field_entries.as_deref().unwrap_or_default();
        let service = custom_field(
            entries,
            &[
                "service",
                "services",
                "affected service",
                "affected services",
                "component",
                "components",
                "affected component",
                "affected components",
            ],
        );
        let environment = custom_field(entries, &["environment", "environments", "env"]);
        let severity = self
            .severity
            .as_ref()
            .and_then(|s| non_empty(s.name.as_deref()))
            .map_or(Severity::High, |s| severity_from(&s));
        Signal::Firing(FiringAlert {
            alert_id: self.id.clone(),
            fingerprint: self.fingerprint(),
            title: non_empty(self.name.as_deref())
                .or_else(|| non_empty(self.reference.as_deref()))
                .unwrap_or_else(|| format!("incident.io incident {}", self.id)),
            service,
            environment,
            severity,
            fired_at: self.created_at.unwrap_or(now),
            description: non_empty(self.summary.as_deref()),
            url: non_empty(self.permalink.as_deref()),
        })
    }

    fn resolved(&self, now: DateTime<Utc>) -> Signal {
        Signal::Resolved {
            fingerprint: self.fingerprint(),
            source_alert_id: self.id.clone(),
            at: self.updated_at.unwrap_or(now),
        }
    }
}

fn status_text(status: Option<&Status>) -> String {
    match status {
        Some(s) => match non_empty(s.name.as_deref()) {
            Some(name) => format!("{name:?} ({})", s.category),
            None => format!("{:?}", s.category),
        },
        None => "no status".to_owned(),
    }
}

fn created(incident: Incident, now: DateTime<Utc>) -> Signal {
    if incident.is_test() {
        return ignored(format!(
            "incident.io {} is a {} incident",
            incident.described(),
            incident.mode.as_deref().unwrap_or("test")
        ));
    }
    let category = incident
        .incident_status
        .as_ref()
        .map(|s| s.category.to_ascii_lowercase());
    match category.as_deref() {
        Some(c) if is_over(c) || c == "learning" || c == "post-incident" => ignored(format!(
            "incident.io {} was declared already {}: nothing is live",
            incident.described(),
            status_text(incident.incident_status.as_ref())
        )),
        _ => incident.firing(now),
    }
}

/// A status change (a status update, or an incident update carrying the status): closed
/// resolves, anything else is not acted on.
fn status_changed(incident: Incident, status: Option<&Status>, now: DateTime<Utc>) -> Signal {
    if incident.is_test() {
        return ignored(format!(
            "incident.io {} is a {} incident",
            incident.described(),
            incident.mode.as_deref().unwrap_or("test")
        ));
    }
    match status {
        Some(s) if is_over(&s.category) => incident.resolved(now),
        other => ignored(format!(
            "incident.io {} is now {}: it resolves only when closed",
            incident.described(),
            status_text(other)
        )),
    }
}

const DESCRIPTOR: SourceDescriptor = SourceDescriptor {
    name: "incidentio",
    title: "incident.io",
    auth: Auth::Svix,
    secret_origin: SecretOrigin::Source,
    rca_by_default: true,
    kept_headers: &[ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER],
    where_to_configure: "Settings → Webhooks → Add endpoint; subscribe to \"Public incident created (v2)\" and \"Public incident status updated (v2)\" (\"Public incident updated (v2)\" also works), then copy the endpoint's signing secret (whsec_…) into Aurora",
};

impl Source for IncidentIo {
    fn descriptor(&self) -> &'static SourceDescriptor {
        &DESCRIPTOR
    }

    fn verify(&self, delivery: &Delivery<'_>, secret: &[u8]) -> Result<(), Refusal> {
        verify_svix(delivery, secret)
    }

    fn parse(&self, delivery: &Delivery<'_>) -> Result<Parsed, Refusal> {
        let Envelope {
            event_type,
            mut rest,
        } = json("incident.io", delivery.body)?;
        let now = delivery.received_at;
        let signal = match event_type.as_str() {
            CREATED => created(incident_of(&mut rest, CREATED)?, now),
            STATUS_UPDATED => {
                let StatusUpdate {
                    incident,
                    new_status,
                } = event_object(&mut rest, STATUS_UPDATED)?;
                let status = new_status.or_else(|| incident.incident_status.clone());
                status_changed(incident, status.as_ref(), now)
            }
            UPDATED => {
                let incident = incident_of(&mut rest, UPDATED)?;
                let status = incident.incident_status.clone();
                status_changed(incident, status.as_ref(), now)
            }
            other if other.starts_with("private_incident.") => ignored(format!(
                "incident.io {other}: a private incident's payload carries only its id"
            )),
            other => ignored(format!("incident.io {other} events are not acted on")),
        };
        Ok(Parsed {
            delivery_id: delivery.value(ID_HEADER).map(str::to_owned),
            signals: vec![signal],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::common::tests_support::*;
    use base64::engine::general_purpose::STANDARD;

    const MESSAGE_ID: &str = "msg_2Lh9KRb0pzN5GaWkkjRuJhGpn0w";

    /// incident.io's `public_incident.incident_created_v2` example (API reference), trimmed of
    /// role assignments and duration metrics.
    const CREATED_BODY: &str = r#"{
      "event_type": "public_incident.incident_created_v2",
      "public_incident.incident_created_v2": {
        "call_url": "https://zoom.us/foo",
        "created_at": "2026-11-23T09:58:12.801578Z",
        "creator": {"user": {"email": "lisa@incident.io", "id": "01FCNDV6P870EA6S7TK1DSYDG0", "name": "Lisa Karlin Curtis", "role": "viewer", "slack_user_id": "U02AYNF2XJM"}},
        "custom_field_entries": [
          {"custom_field": {"description": "Which team is impacted by this issue", "field_type": "single_select", "id": "01FCNDV6P870EA6S7TK1DSYDG0", "name": "Affected Team", "options": []},
           "values": [{"value_option": {"custom_field_id": "01FCNDV6P870EA6S7TK1DSYDG0", "id": "01FCNDV6P870EA6S7TK1DSYDG1", "sort_key": 10, "value": "Product"}}]},
          {"custom_field": {"description": "The affected services", "field_type": "multi_select", "id": "01FCNDV6P870EA6S7TK1DSYDG2", "name": "Affected services", "options": []},
           "values": [{"value_catalog_entry": {"aliases": ["payments"], "external_id": "761722cd", "id": "01FCNDV6P870EA6S7TK1DSYDG3", "name": "payments-api"}}]},
          {"custom_field": {"description": "", "field_type": "single_select", "id": "01FCNDV6P870EA6S7TK1DSYDG4", "name": "Environment", "options": []},
           "values": [{"value_option": {"custom_field_id": "01FCNDV6P870EA6S7TK1DSYDG4", "id": "01FCNDV6P870EA6S7TK1DSYDG5", "sort_key": 10, "value": "production"}}]}
        ],
        "external_issue_reference": {"issue_name": "INC-123", "issue_permalink": "https://linear.app/incident-io/issue/INC-1609", "provider": "asana"},
        "has_debrief": false,
        "id": "01FDAG4SAP5TYPT98WGR2N7W91",
        "incident_role_assignments": [],
        "incident_status": {"category": "live", "created_at": "2021-08-17T13:28:57.801578Z", "description": "We're investigating", "id": "01FCNDV6P870EA6S7TK1DSYD5H", "name": "Investigating", "rank": 1, "updated_at": "2021-08-17T13:28:57.801578Z"},
        "incident_timestamp_values": [{"incident_timestamp": {"id": "01FCNDV6P870EA6S7TK1DSYD5H", "name": "Impact started", "rank": 1}, "value": {"value": "2026-11-23T09:50:00Z"}}],
        "incident_type": {"create_in_triage": "always", "description": "Customer facing production outages", "id": "01FCNDV6P870EA6S7TK1DSYDG0", "is_default": false, "name": "Production Outage", "private_incidents_only": false},
        "mode": "standard",
        "name": "Our database is sad",
        "permalink": "https://app.incident.io/incidents/123",
        "reference": "INC-123",
        "severity": {"description": "Issues with **high impact**.", "id": "01FCNDV6P870EA6S7TK1DSYDG0", "name": "Critical", "rank": 3},
        "slack_channel_id": "C02AW36C1M5",
        "slack_channel_name": "inc-123-our-database-is-sad",
        "slack_team_id": "T02A1FSLE8J",
        "summary": "Our database is really really sad, and we don't know why yet.",
        "updated_at": "2026-11-23T09:58:12.801578Z",
        "visibility": "public",
        "workload_minutes_late": 0, "workload_minutes_sleeping": 0, "workload_minutes_total": 0, "workload_minutes_working": 0
      }
    }"#;

    /// incident.io's `public_incident.incident_status_updated_v2`: the incident with its new and
    /// previous status.
    const STATUS_BODY: &str = r#"{
      "event_type": "public_incident.incident_status_updated_v2",
      "public_incident.incident_status_updated_v2": {
        "incident": {
          "created_at": "2026-11-23T09:58:12.801578Z",
          "custom_field_entries": [],
          "id": "01FDAG4SAP5TYPT98WGR2N7W91",
          "incident_status": {"category": "closed", "id": "01FCNDV6P870EA6S7TK1DSYD5J", "name": "Closed", "rank": 4},
          "mode": "standard",
          "name": "Our database is sad",
          "permalink": "https://app.incident.io/incidents/123",
          "reference": "INC-123",
          "severity": {"id": "01FCNDV6P870EA6S7TK1DSYDG0", "name": "Critical", "rank": 3},
          "summary": "Fixed by failing over.",
          "updated_at": "2026-11-23T11:04:00Z",
          "visibility": "public"
        },
        "message": "We failed over to the replica; all good.",
        "new_status": {"category": "closed", "description": "Impact has been **fully mitigated**.", "id": "01FCNDV6P870EA6S7TK1DSYD5J", "name": "Closed", "rank": 4},
        "previous_status": {"category": "live", "id": "01FCNDV6P870EA6S7TK1DSYD5H", "name": "Monitoring", "rank": 3}
      }
    }"#;

    fn parse(body: &str) -> Result<Parsed, Refusal> {
        let h = headers(&[(ID_HEADER, MESSAGE_ID)]);
        IncidentIo.parse(&delivery(&h, body))
    }

    fn one(body: &str) -> Signal {
        let parsed = parse(body).expect("parses");
        assert_eq!(parsed.signals.len(), 1);
        parsed.signals.into_iter().next().expect("one signal")
    }

    fn ignored_reason(body: &str) -> String {
        match one(body) {
            Signal::Ignored { reason } => reason,
            other => panic!("expected ignored, got {other:?}"),
        }
    }

    fn with_status(body: &str, category: &str, name: &str) -> String {
        body.replace(
            r#""new_status": {"category": "closed", "description": "Impact has been **fully mitigated**.", "id": "01FCNDV6P870EA6S7TK1DSYD5J", "name": "Closed""#,
            &format!(r#""new_status": {{"category": "{category}", "id": "x", "name": "{name}""#),
        )
    }

    #[test]
    fn a_declared_incident_fires_with_its_fields() {
        let parsed = parse(CREATED_BODY).expect("parses");
        assert_eq!(parsed.delivery_id.as_deref(), Some(MESSAGE_ID));
        let [Signal::Firing(a)] = &parsed.signals[..] else {
            panic!("firing: {:?}", parsed.signals)
        };
        assert_eq!(a.alert_id, "01FDAG4SAP5TYPT98WGR2N7W91");
        assert_eq!(a.fingerprint, "incidentio-01FDAG4SAP5TYPT98WGR2N7W91");
        assert_eq!(a.title, "Our database is sad");
        assert_eq!(a.service.as_deref(), Some("payments-api"));
        assert_eq!(a.environment.as_deref(), Some("production"));
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.fired_at.to_rfc3339(), "2026-11-23T09:58:12.801578+00:00");
        assert_eq!(
            a.description.as_deref(),
            Some("Our database is really really sad, and we don't know why yet.")
        );
        assert_eq!(
            a.url.as_deref(),
            Some("https://app.incident.io/incidents/123")
        );
    }

    #[test]
    fn an_incident_opened_in_triage_fires_too() {
        let body = CREATED_BODY.replace(
            r#""category": "live", "created_at""#,
            r#""category": "triage", "created_at""#,
        );
        assert!(matches!(one(&body), Signal::Firing(_)));
    }

    #[test]
    fn severity_names_map_and_a_missing_severity_is_high() {
        for (name, severity) in [
            ("Minor", Severity::Low),
            ("Major", Severity::High),
            ("SEV1", Severity::Critical),
            ("Custom level", Severity::Medium),
        ] {
            let body =
                CREATED_BODY.replace(r#""name": "Critical""#, &format!(r#""name": "{name}""#));
            let Signal::Firing(a) = one(&body) else {
                panic!("firing")
            };
            assert_eq!(a.severity, severity, "{name}");
        }
        let body = CREATED_BODY.replace(
            r#""severity": {"description": "Issues with **high impact**.", "id": "01FCNDV6P870EA6S7TK1DSYDG0", "name": "Critical", "rank": 3},"#,
            "",
        );
        let Signal::Firing(a) = one(&body) else {
            panic!("firing")
        };
        assert_eq!(a.severity, Severity::High);
    }

    #[test]
    fn a_sparse_incident_falls_back_on_reference_and_arrival_time() {
        let body = r#"{"event_type": "public_incident.incident_created_v2",
          "public_incident.incident_created_v2": {"id": "01HX", "reference": "INC-9", "name": "", "severity": null, "incident_status": {"category": "live"}, "custom_field_entries": null}}"#;
        let Signal::Firing(a) = one(body) else {
            panic!("firing")
        };
        assert_eq!(a.title, "INC-9");
        assert_eq!(a.fired_at.to_rfc3339(), "2026-11-23T10:00:30+00:00");
        assert_eq!((a.service, a.environment, a.url), (None, None, None));
    }

    #[test]
    fn an_incident_wrapped_in_an_incident_key_is_read_too() {
        let body = r#"{"event_type": "public_incident.incident_created_v2",
          "public_incident.incident_created_v2": {"incident": {"id": "01HY", "name": "Checkout down", "incident_status": {"category": "active", "name": "Investigating"}}}}"#;
        let Signal::Firing(a) = one(body) else {
            panic!("firing")
        };
        assert_eq!(
            (a.alert_id.as_str(), a.title.as_str()),
            ("01HY", "Checkout down")
        );
    }

    #[test]
    fn test_and_tutorial_incidents_are_ignored() {
        for mode in ["test", "tutorial"] {
            let body =
                CREATED_BODY.replace(r#""mode": "standard""#, &format!(r#""mode": "{mode}""#));
            let reason = ignored_reason(&body);
            assert!(
                reason.contains(mode) && reason.contains("INC-123"),
                "{reason}"
            );
        }
        let body = STATUS_BODY.replace(r#""mode": "standard""#, r#""mode": "test""#);
        assert!(ignored_reason(&body).contains("test"));
    }

    #[test]
    fn an_incident_declared_already_closed_is_ignored() {
        for category in ["closed", "learning", "declined"] {
            let body = CREATED_BODY.replace(
                r#""category": "live", "created_at""#,
                &format!(r#""category": "{category}", "created_at""#),
            );
            let reason = ignored_reason(&body);
            assert!(reason.contains(category), "{reason}");
        }
    }

    #[test]
    fn closing_the_incident_resolves_its_fingerprint() {
        match one(STATUS_BODY) {
            Signal::Resolved {
                fingerprint,
                source_alert_id,
                at,
            } => {
                assert_eq!(fingerprint, "incidentio-01FDAG4SAP5TYPT98WGR2N7W91");
                assert_eq!(source_alert_id, "01FDAG4SAP5TYPT98WGR2N7W91");
                assert_eq!(at.to_rfc3339(), "2026-11-23T11:04:00+00:00");
            }
            other => panic!("resolved expected, got {other:?}"),
        }
    }

    #[test]
    fn a_declined_canceled_or_merged_incident_resolves_too() {
        for category in ["declined", "canceled", "merged"] {
            let body = with_status(STATUS_BODY, category, "Done");
            assert!(matches!(one(&body), Signal::Resolved { .. }), "{category}");
        }
    }

    #[test]
    fn other_status_changes_are_ignored_naming_the_status() {
        for (category, name) in [
            ("live", "Fixing"),
            ("learning", "Post-incident"),
            ("paused", "Paused"),
            ("triage", "Triage"),
        ] {
            let body = with_status(STATUS_BODY, category, name);
            let reason = ignored_reason(&body);
            assert!(
                reason.contains(name) && reason.contains(category) && reason.contains("INC-123"),
                "{reason}"
            );
        }
    }

    #[test]
    fn a_status_update_without_new_status_reads_the_incidents_status() {
        let body = STATUS_BODY.replace(r#""new_status""#, r#""unrelated""#);
        assert!(matches!(one(&body), Signal::Resolved { .. }));
    }

    #[test]
    fn an_incident_update_resolves_only_once_closed() {
        let closed = CREATED_BODY
            .replace(CREATED, UPDATED)
            .replace(r#""category": "live""#, r#""category": "closed""#);
        assert!(
            matches!(one(&closed), Signal::Resolved { fingerprint, .. } if fingerprint == "incidentio-01FDAG4SAP5TYPT98WGR2N7W91")
        );
        let live = CREATED_BODY.replace(CREATED, UPDATED);
        assert!(ignored_reason(&live).contains("Investigating"));
    }

    #[test]
    fn private_incidents_and_other_events_are_ignored_by_name() {
        for event in [
            "private_incident.incident_created_v2",
            "private_incident.incident_updated_v2",
        ] {
            let body = format!(r#"{{"event_type": "{event}", "{event}": {{"id": "01HZ"}}}}"#);
            let reason = ignored_reason(&body);
            assert!(
                reason.contains(event) && reason.contains("private"),
                "{reason}"
            );
        }
        for event in [
            "public_incident.follow_up_created_v2",
            "public_incident.action_updated_v1",
            "public_alert.alert_created_v1",
            "public_incident.postmortem_document_status_updated_v1",
        ] {
            let body = format!(
                r#"{{"event_type": "{event}", "{event}": {{"id": "01HZ", "title": "x"}}}}"#
            );
            assert!(ignored_reason(&body).contains(event));
        }
    }

    #[test]
    fn without_a_message_id_the_body_hash_deduplicates() {
        let h = headers(&[]);
        let parsed = IncidentIo
            .parse(&delivery(&h, CREATED_BODY))
            .expect("parses");
        assert_eq!(parsed.delivery_id, None);
        assert_eq!(
            IncidentIo.descriptor().kept_headers,
            ["webhook-id", "webhook-timestamp", "webhook-signature"]
        );
    }

    #[test]
    fn malformed_payloads_are_refused_saying_why() {
        refuses_malformed(
            &IncidentIo,
            &headers(&[]),
            "incident.io",
            &[
                ("not json", "invalid_json"),
                (r#"{"event_type": "#, "invalid_json"),
                ("[1, 2]", "invalid_payload"),
                ("{}", "invalid_payload"),
                (r#"{"event_type": 7}"#, "invalid_payload"),
                (
                    r#"{"event_type": "public_incident.incident_created_v2"}"#,
                    "invalid_payload",
                ),
                (
                    r#"{"event_type": "public_incident.incident_created_v2", "public_incident.incident_created_v2": {"name": "no id"}}"#,
                    "invalid_payload",
                ),
                (
                    r#"{"event_type": "public_incident.incident_created_v2", "public_incident.incident_created_v2": {"id": 42}}"#,
                    "invalid_payload",
                ),
                (
                    r#"{"event_type": "public_incident.incident_created_v2", "public_incident.incident_created_v2": {"id": "a", "created_at": "yesterday"}}"#,
                    "invalid_payload",
                ),
                (
                    r#"{"event_type": "public_incident.incident_status_updated_v2", "public_incident.incident_status_updated_v2": {"new_status": {"category": "closed"}}}"#,
                    "invalid_payload",
                ),
                (
                    r#"{"event_type": "public_incident.incident_updated_v2", "public_incident.incident_updated_v2": "01HZ"}"#,
                    "invalid_payload",
                ),
            ],
        );
    }

    // --- Svix signatures ---------------------------------------------------------------------

    const KEY: &[u8] = b"aurora-test-signing-key-0123456789";

    fn secret() -> String {
        format!("whsec_{}", STANDARD.encode(KEY))
    }

    fn svix_sign(key: &[u8], id: &str, timestamp: &str, body: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("key");
        mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }

    fn now_ts() -> i64 {
        let h = headers(&[]);
        delivery(&h, "").received_at.timestamp()
    }

    fn verify(pairs: &[(&str, &str)], body: &str, secret: &str) -> Result<(), Refusal> {
        let h = headers(pairs);
        IncidentIo.verify(&delivery(&h, body), secret.as_bytes())
    }

    fn signed(ts: &str, signature: &str) -> Vec<(&'static str, String)> {
        vec![
            (ID_HEADER, MESSAGE_ID.to_owned()),
            (TIMESTAMP_HEADER, ts.to_owned()),
            (SIGNATURE_HEADER, signature.to_owned()),
        ]
    }

    fn verify_owned(
        pairs: &[(&'static str, String)],
        body: &str,
        secret: &str,
    ) -> Result<(), Refusal> {
        let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        verify(&borrowed, body, secret)
    }

    fn assert_unauthorized(result: Result<(), Refusal>, says: &str) {
        match result {
            Err(Refusal::Unauthorized(message)) => {
                assert!(message.contains(says), "{message:?} should say {says:?}")
            }
            other => panic!("expected 401 saying {says:?}, got {other:?}"),
        }
    }

    #[test]
    fn a_svix_signature_of_this_delivery_with_the_secret_gets_in() {
        let ts = now_ts().to_string();
        let good = svix_sign(KEY, MESSAGE_ID, &ts, CREATED_BODY);
        assert!(verify_owned(&signed(&ts, &good), CREATED_BODY, &secret()).is_ok());
        // During a rotation Svix sends several signatures; any one matching is enough.
        let rotated = format!("v1,c2lnbmF0dXJlLW9mLWFub3RoZXIta2V5 {good}");
        assert!(verify_owned(&signed(&ts, &rotated), CREATED_BODY, &secret()).is_ok());
        // Svix's libraries accept the secret without its prefix.
        let bare = STANDARD.encode(KEY);
        assert!(verify_owned(&signed(&ts, &good), CREATED_BODY, &bare).is_ok());
    }

    #[test]
    fn only_the_right_secret_gets_in_as_for_every_source() {
        let ts = now_ts().to_string();
        let prove = |secret: &[u8], body: &str| {
            let secret = std::str::from_utf8(secret).expect("a text secret");
            let key = STANDARD
                .decode(secret.trim_start_matches("whsec_"))
                .expect("a svix secret");
            let pairs = signed(&ts, &svix_sign(&key, MESSAGE_ID, &ts, body));
            let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            headers(&borrowed)
        };
        let another = format!("whsec_{}", STANDARD.encode(b"another integration's key"));
        only_the_right_secret_gets_in_by(
            &IncidentIo,
            (secret().as_bytes(), another.as_bytes()),
            (CREATED_BODY, STATUS_BODY),
            &prove,
        );
    }

    #[test]
    fn a_timestamp_within_five_minutes_either_way_is_accepted() {
        for offset in [-299, -60, 0, 60, 299] {
            let ts = (now_ts() + offset).to_string();
            let sig = svix_sign(KEY, MESSAGE_ID, &ts, STATUS_BODY);
            assert!(
                verify_owned(&signed(&ts, &sig), STATUS_BODY, &secret()).is_ok(),
                "{offset}"
            );
        }
    }

    #[test]
    fn a_timestamp_outside_five_minutes_is_refused_even_if_signed() {
        for offset in [-301, -3600, 301, 86_400] {
            let ts = (now_ts() + offset).to_string();
            let sig = svix_sign(KEY, MESSAGE_ID, &ts, STATUS_BODY);
            assert_unauthorized(
                verify_owned(&signed(&ts, &sig), STATUS_BODY, &secret()),
                "5-minute tolerance",
            );
        }
        let sig = svix_sign(KEY, MESSAGE_ID, "soon", STATUS_BODY);
        assert_unauthorized(
            verify_owned(&signed("soon", &sig), STATUS_BODY, &secret()),
            "unix seconds",
        );
    }

    #[test]
    fn a_wrong_secret_another_body_or_another_id_is_refused() {
        let ts = now_ts().to_string();
        let good = svix_sign(KEY, MESSAGE_ID, &ts, CREATED_BODY);
        for (sig, body) in [
            (
                svix_sign(b"another key", MESSAGE_ID, &ts, CREATED_BODY),
                CREATED_BODY,
            ),
            (svix_sign(KEY, MESSAGE_ID, &ts, STATUS_BODY), CREATED_BODY),
            (svix_sign(KEY, "msg_other", &ts, CREATED_BODY), CREATED_BODY),
            (good.clone(), STATUS_BODY),
            ("v1,not base64!".to_owned(), CREATED_BODY),
        ] {
            assert_unauthorized(
                verify_owned(&signed(&ts, &sig), body, &secret()),
                "does not match",
            );
        }
        let other_secret = format!("whsec_{}", STANDARD.encode(b"someone else's key"));
        assert_unauthorized(
            verify_owned(&signed(&ts, &good), CREATED_BODY, &other_secret),
            "does not match",
        );
        let bare = good.trim_start_matches("v1,").to_owned();
        assert_unauthorized(
            verify_owned(&signed(&ts, &bare), CREATED_BODY, &secret()),
            "v1,<base64 signature>",
        );
        assert_unauthorized(
            verify_owned(
                &signed(&ts, &good.replacen("v1,", "v2,", 1)),
                CREATED_BODY,
                &secret(),
            ),
            "v1,<base64 signature>",
        );
    }

    #[test]
    fn each_missing_svix_header_is_refused_by_name() {
        let ts = now_ts().to_string();
        let good = svix_sign(KEY, MESSAGE_ID, &ts, CREATED_BODY);
        for missing in [ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER] {
            let pairs: Vec<_> = signed(&ts, &good)
                .into_iter()
                .filter(|(k, _)| *k != missing)
                .collect();
            assert_unauthorized(verify_owned(&pairs, CREATED_BODY, &secret()), missing);
        }
        assert_unauthorized(verify(&[], CREATED_BODY, &secret()), "missing");
    }

    #[test]
    fn a_secret_that_is_not_a_svix_secret_is_refused_saying_so() {
        let ts = now_ts().to_string();
        let good = svix_sign(KEY, MESSAGE_ID, &ts, CREATED_BODY);
        for bad in ["whsec_!!!", "whsec_", "plain secret"] {
            assert_unauthorized(
                verify_owned(&signed(&ts, &good), CREATED_BODY, bad),
                "whsec_",
            );
        }
    }

    #[test]
    fn setup_asks_for_the_signing_secret_incident_io_generates() {
        let setup = IncidentIo.setup("https://aurora.example.com/webhooks/incidentio/x", None);
        assert_eq!(setup.header, None, "incident.io signs; no header to add");
        assert!(setup.steps[0].contains("Public incident created (v2)"));
        assert!(setup.steps[2].contains("whsec_"), "{}", setup.steps[2]);
        assert_eq!(IncidentIo.descriptor().auth, Auth::Svix);
        assert_eq!(IncidentIo.descriptor().secret_origin, SecretOrigin::Source);
        assert!(IncidentIo.descriptor().rca_by_default);
    }
}
