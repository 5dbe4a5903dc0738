//! BigPanda (the Notifications Webhook: a shared incident, sent again on every update).
//! Authenticated by `X-Aurora-Signature: sha256=<hex hmac-sha256 of the raw body>`, keyed with
//! the secret Aurora generates. BigPanda's webhook can only add static headers, so the share is
//! sent through a small relay (a function, a script) that computes the signature.
//!
//! One delivery is one BigPanda incident (`{"incident": {…}}`, or the incident object itself)
//! with its correlated alerts. An active incident fires (updates fire again with the same ids);
//! a resolved one (`active: false`, `resolved: true`, or status `resolved`/`ok`) resolves it; an
//! incident in maintenance and any other status are ignored with the reason. Identity is
//! BigPanda's incident id: the fingerprint is `bigpanda-<id>`, the alert id adds the incident's
//! start, so a later episode of the same id is its own alert. BigPanda sends no delivery id:
//! retries are deduplicated on the body. RCA is opt-in (BigPanda already correlates).

use aurora_domain::intake::{FiringAlert, Signal};
use aurora_domain::Severity;
use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::common::{json, non_blank_owned, severity_from, AURORA_SIGNATURE};
use super::{Delivery, Parsed, Refusal, Source, SourceDescriptor};

pub struct BigPanda;

/// How many alerts the description lists.
const LISTED_ALERTS: usize = 20;

#[derive(Debug, Deserialize)]
struct Incident {
    id: String,
    /// The most severe status of its alerts (`critical`, `warning`, `unknown`, `ok`), or the
    /// lifecycle (`active`, `resolved`, `maintenance`).
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    active: Option<bool>,
    #[serde(default)]
    resolved: Option<bool>,
    /// The highest status any alert reached.
    #[serde(default)]
    severity: Option<String>,
    /// `partial` or `active` when alerts are in a maintenance window.
    #[serde(default)]
    maintenance: Option<Value>,
    /// Unix seconds (or an ISO time).
    #[serde(default, alias = "startedOn", alias = "started_on")]
    start: Option<Value>,
    #[serde(default, alias = "endedOn", alias = "ended_on")]
    end: Option<Value>,
    #[serde(
        default,
        alias = "last_change",
        alias = "changedOn",
        alias = "updatedOn"
    )]
    updated_at: Option<Value>,
    #[serde(default)]
    alerts: Option<Vec<Map<String, Value>>>,
    #[serde(default)]
    incident_tags: Option<Value>,
    #[serde(default)]
    environments: Option<Vec<Value>>,
    #[serde(default)]
    folders: Option<Vec<Value>>,
    #[serde(default, alias = "link")]
    url: Option<String>,
}

/// A time given as unix seconds (milliseconds when that large), a numeric string or RFC 3339.
fn time(value: Option<&Value>) -> Option<DateTime<Utc>> {
    let from_number = |n: f64| {
        let secs = if n > 1e12 { n / 1000.0 } else { n };
        // Whole seconds are enough for an alert's start.
        let secs = secs as i64;
        (secs > 0)
            .then(|| Utc.timestamp_opt(secs, 0).single())
            .flatten()
    };
    match value? {
        Value::Number(n) => n.as_f64().and_then(from_number),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(from_number)
            .or_else(|| {
                DateTime::parse_from_rfc3339(s.trim())
                    .ok()
                    .map(|t| t.with_timezone(&Utc))
            }),
        _ => None,
    }
}

fn text(alert: &Map<String, Value>, key: &str) -> Option<String> {
    match alert.get(key)? {
        Value::String(s) => non_blank_owned(Some(s)),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The first of `keys` the alert has.
fn first(alert: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| text(alert, k))
}

/// An alert's primary or secondary property: BigPanda names the property (`host`) and the
/// alert carries its value (`"host": "db-1"`); a payload giving the value directly works too.
fn property(alert: &Map<String, Value>, which: &str) -> Option<String> {
    let named = text(alert, which)?;
    Some(text(alert, &named).unwrap_or(named))
}

/// A tag of the incident: `incident_tags` is a map, or a list of `{tag_id, tag_value}`.
fn tag(tags: Option<&Value>, names: &[&str]) -> Option<String> {
    let value = match tags? {
        Value::Object(map) => names.iter().find_map(|n| map.get(*n)),
        Value::Array(list) => list.iter().find_map(|t| {
            let id = t.get("tag_id").or_else(|| t.get("name"))?.as_str()?;
            names
                .contains(&id)
                .then(|| t.get("tag_value").or_else(|| t.get("value")))
                .flatten()
        }),
        _ => None,
    }?;
    match value {
        Value::String(s) => non_blank_owned(Some(s)),
        Value::Array(values) => values.iter().find_map(|v| non_blank_owned(v.as_str())),
        _ => None,
    }
}

/// BigPanda's levels: `critical`, `warning`, `unknown`, `ok`.
fn severity(level: &str) -> Severity {
    match level.trim().to_ascii_lowercase().as_str() {
        "critical" => Severity::Critical,
        "warning" => Severity::High,
        other => severity_from(other),
    }
}

/// One line per alert: what, where, which status, from which tool.
fn describe(alerts: &[Map<String, Value>]) -> Option<String> {
    let mut lines: Vec<String> = alerts
        .iter()
        .take(LISTED_ALERTS)
        .map(|a| {
            let mut line = match (
                property(a, "primary_property"),
                property(a, "secondary_property"),
            ) {
                (Some(p), Some(s)) => format!("{p}: {s}"),
                (Some(one), None) | (None, Some(one)) => one,
                (None, None) => {
                    first(a, &["host", "check", "id"]).unwrap_or_else(|| "alert".into())
                }
            };
            if let Some(d) = first(a, &["description", "condition_name"]) {
                line.push_str(" — ");
                line.push_str(&d);
            }
            if let Some(s) = text(a, "status") {
                line.push_str(&format!(" [{s}]"));
            }
            if let Some(s) = text(a, "source_system") {
                line.push_str(&format!(" ({s})"));
            }
            format!("- {line}")
        })
        .collect();
    if alerts.len() > LISTED_ALERTS {
        lines.push(format!("- … and {} more", alerts.len() - LISTED_ALERTS));
    }
    (!lines.is_empty()).then(|| lines.join("\n"))
}

impl Incident {
    fn fingerprint(&self) -> String {
        format!("bigpanda-{}", self.id)
    }

    fn alerts(&self) -> &[Map<String, Value>] {
        self.alerts.as_deref().unwrap_or_default()
    }

    fn started(&self) -> Option<DateTime<Utc>> {
        time(self.start.as_ref()).or_else(|| {
            self.alerts()
                .iter()
                .filter_map(|a| time(a.get("start").or_else(|| a.get("started_on"))))
                .min()
        })
    }

    fn alert_id(&self) -> String {
        match self.started() {
            Some(start) => format!("{}@{}", self.id, start.timestamp()),
            None => self.id.clone(),
        }
    }

    fn status(&self) -> String {
        self.status
            .as_deref()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    }

    fn is_resolved(&self) -> bool {
        self.resolved == Some(true)
            || self.active == Some(false)
            || matches!(self.status().as_str(), "resolved" | "ok" | "closed")
    }

    fn in_maintenance(&self) -> bool {
        self.status() == "maintenance"
            || matches!(&self.maintenance, Some(Value::String(m)) if m.eq_ignore_ascii_case("active"))
            || matches!(&self.maintenance, Some(Value::Bool(true)))
    }

    fn is_active(&self) -> bool {
        self.active == Some(true)
            || matches!(
                self.status().as_str(),
                "active" | "critical" | "warning" | "unknown"
            )
    }

    fn title(&self) -> String {
        let alerts = self.alerts();
        let Some(a) = alerts.first() else {
            return format!("BigPanda incident {}", self.id);
        };
        first(a, &["description", "condition_name"])
            .or_else(|| {
                match (
                    property(a, "primary_property"),
                    property(a, "secondary_property"),
                ) {
                    (Some(p), Some(s)) => Some(format!("{p}: {s}")),
                    (one, None) | (None, one) => one,
                }
            })
            .unwrap_or_else(|| format!("BigPanda incident {}", self.id))
    }

    fn service(&self) -> Option<String> {
        let alerts = self.alerts();
        alerts
            .iter()
            .find_map(|a| first(a, &["service", "application", "app", "service_name"]))
            .or_else(|| {
                tag(
                    self.incident_tags.as_ref(),
                    &["service", "application", "app"],
                )
            })
            .or_else(|| alerts.first().and_then(|a| property(a, "primary_property")))
            .or_else(|| alerts.first().and_then(|a| text(a, "source_system")))
    }

    fn environment(&self) -> Option<String> {
        self.alerts()
            .iter()
            .find_map(|a| first(a, &["environment", "env"]))
            .or_else(|| tag(self.incident_tags.as_ref(), &["environment", "env"]))
    }

    fn description(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(alerts) = describe(self.alerts()) {
            parts.push(format!(
                "{} correlated alert(s):\n{alerts}",
                self.alerts().len()
            ));
        }
        let names = |list: Option<&Vec<Value>>| -> Vec<String> {
            list.map(|l| {
                l.iter()
                    .filter_map(|v| {
                        v.as_str()
                            .or_else(|| v.get("name").and_then(Value::as_str))
                            .map(str::to_owned)
                    })
                    .collect()
            })
            .unwrap_or_default()
        };
        let environments = names(self.environments.as_ref());
        if !environments.is_empty() {
            parts.push(format!(
                "BigPanda environments: {}",
                environments.join(", ")
            ));
        }
        let folders = names(self.folders.as_ref());
        if !folders.is_empty() {
            parts.push(format!("Folders: {}", folders.join(", ")));
        }
        (!parts.is_empty()).then(|| parts.join("\n"))
    }

    fn signal(self, now: DateTime<Utc>) -> Signal {
        if self.is_resolved() {
            return Signal::Resolved {
                fingerprint: self.fingerprint(),
                source_alert_id: self.alert_id(),
                at: time(self.end.as_ref())
                    .or_else(|| time(self.updated_at.as_ref()))
                    .unwrap_or(now),
            };
        }
        if self.in_maintenance() {
            return Signal::Ignored {
                reason: format!("BigPanda incident {} is in maintenance", self.id),
            };
        }
        if !self.is_active() {
            return Signal::Ignored {
                reason: format!(
                    "BigPanda incident {} has status {:?}: only active incidents fire",
                    self.id,
                    self.status.as_deref().unwrap_or("none")
                ),
            };
        }
        Signal::Firing(FiringAlert {
            alert_id: self.alert_id(),
            fingerprint: self.fingerprint(),
            title: self.title(),
            service: self.service(),
            environment: self.environment(),
            severity: non_blank_owned(self.severity.as_deref())
                .or_else(|| {
                    non_blank_owned(self.status.as_deref())
                        .filter(|s| !s.eq_ignore_ascii_case("active"))
                })
                .map_or(Severity::Unknown, |s| severity(&s)),
            fired_at: self.started().unwrap_or(now),
            description: self.description(),
            url: non_blank_owned(self.url.as_deref()),
            placement: Default::default(),
        })
    }
}

const DESCRIPTOR: SourceDescriptor = SourceDescriptor {
    rca_by_default: false,
    ..SourceDescriptor::new(
        "bigpanda",
        "BigPanda",
        AURORA_SIGNATURE,
        "Integrations → New Integration → Notifications Webhook (share incidents automatically with AutoShare); BigPanda only adds static headers, so point it at a relay that forwards the body unchanged with X-Aurora-Signature: sha256=$(printf '%s' \"$BODY\" | openssl dgst -sha256 -hmac \"$SECRET\" | cut -d' ' -f2)",
    )
};

impl Source for BigPanda {
    fn descriptor(&self) -> &'static SourceDescriptor {
        &DESCRIPTOR
    }

    fn parse(&self, delivery: &Delivery<'_>) -> Result<Parsed, Refusal> {
        let mut body: Map<String, Value> = json("BigPanda", delivery.body)?;
        let incident = match body.remove("incident") {
            Some(inner @ Value::Object(_)) => inner,
            Some(other) => {
                return Err(Refusal::bad(
                    "invalid_payload",
                    format!(
                        "not a BigPanda webhook payload: `incident` must be an object, not {other}"
                    ),
                ))
            }
            None => Value::Object(body),
        };
        let incident: Incident = serde_json::from_value(incident).map_err(|e| {
            Refusal::bad(
                "invalid_payload",
                format!("not a BigPanda webhook payload: {e}"),
            )
        })?;
        Ok(Parsed::one(None, incident.signal(delivery.received_at)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::common::tests_support::*;
    use crate::sources::SecretOrigin;

    /// A BigPanda Notifications Webhook share: the incident with its expanded alerts.
    const ACTIVE: &str = r#"{
      "incident": {
        "id": "5e2a1b7c9d3f4a0012ab34cd",
        "status": "critical",
        "active": true,
        "severity": "critical",
        "flapping": false,
        "snooze": {"snoozed": false, "end_time": null, "autoCancel": false},
        "maintenance": null,
        "start": 1795428000,
        "last_change": 1795428090,
        "end": null,
        "environments": ["Production", {"id": "5d11", "name": "Payments"}],
        "folders": ["active"],
        "incident_tags": [{"tag_id": "service", "tag_value": "checkout-api"}, {"tag_id": "priority", "tag_value": "P1"}],
        "correlation_matchers_log": [{"correlation_pattern_id": "cp1", "tags": ["host"], "window": 7200}],
        "alerts": [
          {"id": "a1", "status": "critical", "start": 1795428000, "updated": 1795428090, "end": null,
           "primary_property": "host", "secondary_property": "check",
           "host": "prod-db-1", "check": "CPU overloaded", "description": "CPU is above upper limit (70%)",
           "source_system": "nagios.main", "cluster": "production-databases", "environment": "production"},
          {"id": "a2", "status": "warning", "start": 1795428060, "updated": 1795428060, "end": null,
           "primary_property": "host", "secondary_property": "check",
           "host": "prod-db-2", "check": "Disk latency", "source_system": "datadog.prod"}
        ]
      }
    }"#;

    fn parse(body: &str) -> Result<Parsed, Refusal> {
        let h = headers(&[]);
        BigPanda.parse(&delivery(&h, body))
    }

    fn one(body: &str) -> Signal {
        let parsed = parse(body).expect("parses");
        assert_eq!(parsed.delivery_id, None, "BigPanda sends no delivery id");
        assert_eq!(parsed.signals.len(), 1);
        parsed.signals.into_iter().next().expect("one signal")
    }

    fn resolved_body() -> String {
        ACTIVE
            .replace(
                r#""status": "critical",
        "active": true"#,
                r#""status": "ok",
        "active": false"#,
            )
            .replace(
                r#""end": null,
        "environments""#,
                r#""end": 1795431600,
        "environments""#,
            )
    }

    #[test]
    fn an_active_incident_fires_with_its_alerts() {
        let Signal::Firing(a) = one(ACTIVE) else {
            panic!("firing")
        };
        assert_eq!(a.alert_id, "5e2a1b7c9d3f4a0012ab34cd@1795428000");
        assert_eq!(a.fingerprint, "bigpanda-5e2a1b7c9d3f4a0012ab34cd");
        assert_eq!(a.title, "CPU is above upper limit (70%)");
        assert_eq!(
            a.service.as_deref(),
            Some("checkout-api"),
            "the incident tag"
        );
        assert_eq!(a.environment.as_deref(), Some("production"));
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.fired_at.to_rfc3339(), "2026-11-23T10:00:00+00:00");
        let description = a.description.expect("description");
        assert!(
            description.contains("2 correlated alert(s)")
                && description.contains("- prod-db-1: CPU overloaded — CPU is above upper limit (70%) [critical] (nagios.main)")
                && description.contains("- prod-db-2: Disk latency [warning] (datadog.prod)")
                && description.contains("BigPanda environments: Production, Payments"),
            "{description}"
        );
        assert_eq!(a.url, None);
    }

    #[test]
    fn the_incident_object_may_come_unwrapped() {
        let body = r#"{"id": "inc-7", "status": "active", "severity": "warning", "start": "2026-11-23T09:59:00Z",
          "alerts": [{"primary_property": "checkout-api", "secondary_property": "latency", "source_system": "grafana"}]}"#;
        let Signal::Firing(a) = one(body) else {
            panic!("firing")
        };
        assert_eq!(a.alert_id, format!("inc-7@{}", a.fired_at.timestamp()));
        assert_eq!(a.fired_at.to_rfc3339(), "2026-11-23T09:59:00+00:00");
        assert_eq!(
            a.title, "checkout-api: latency",
            "properties given as values"
        );
        assert_eq!(a.service.as_deref(), Some("checkout-api"));
        assert_eq!(a.severity, Severity::High, "warning is high, as upstream");
    }

    #[test]
    fn an_incident_without_alerts_or_start_still_fires() {
        let Signal::Firing(a) = one(r#"{"incident": {"id": "inc-8", "active": true}}"#) else {
            panic!("firing")
        };
        assert_eq!(a.alert_id, "inc-8");
        assert_eq!(a.title, "BigPanda incident inc-8");
        assert_eq!(a.fired_at.to_rfc3339(), "2026-11-23T10:00:30+00:00");
        assert_eq!(a.severity, Severity::Unknown, "no severity given");
        assert_eq!((a.service, a.description), (None, None));
    }

    #[test]
    fn bigpanda_levels_map_onto_severities() {
        levels_map_onto(
            &[
                ("critical", Severity::Critical),
                ("Warning", Severity::High),
                ("unknown", Severity::Unknown),
            ],
            |level| {
                ACTIVE.replace(
                    r#""severity": "critical""#,
                    &format!(r#""severity": "{level}""#),
                )
            },
            one,
        );
    }

    #[test]
    fn a_resolved_incident_resolves_its_fingerprint() {
        assert_eq!(
            one(&resolved_body()),
            resolved(
                "bigpanda-5e2a1b7c9d3f4a0012ab34cd",
                "5e2a1b7c9d3f4a0012ab34cd@1795428000",
                "2026-11-23T11:00:00+00:00"
            )
        );
    }

    #[test]
    fn every_way_bigpanda_says_resolved_resolves() {
        for body in [
            r#"{"incident": {"id": "i", "status": "resolved"}}"#,
            r#"{"incident": {"id": "i", "status": "OK", "active": true}}"#,
            r#"{"incident": {"id": "i", "status": "critical", "active": false}}"#,
            r#"{"incident": {"id": "i", "resolved": true, "endedOn": 1795431600}}"#,
        ] {
            assert!(
                matches!(one(body), Signal::Resolved { fingerprint, .. } if fingerprint == "bigpanda-i"),
                "{body}"
            );
        }
    }

    #[test]
    fn an_incident_in_maintenance_is_ignored() {
        for body in [
            r#"{"incident": {"id": "i", "status": "maintenance"}}"#,
            r#"{"incident": {"id": "i", "status": "critical", "active": true, "maintenance": "active"}}"#,
        ] {
            match one(body) {
                Signal::Ignored { reason } => assert!(reason.contains("maintenance"), "{reason}"),
                other => panic!("{body}: ignored expected, got {other:?}"),
            }
        }
        // Partly in maintenance: still a live problem.
        assert!(matches!(
            one(r#"{"incident": {"id": "i", "active": true, "maintenance": "partial"}}"#),
            Signal::Firing(_)
        ));
    }

    #[test]
    fn other_statuses_are_ignored_naming_them() {
        for body in [
            r#"{"incident": {"id": "i", "status": "snoozed-forever"}}"#,
            r#"{"incident": {"id": "i"}}"#,
        ] {
            match one(body) {
                Signal::Ignored { reason } => {
                    assert!(reason.contains("only active incidents fire"), "{reason}")
                }
                other => panic!("{body}: ignored expected, got {other:?}"),
            }
        }
    }

    #[test]
    fn malformed_payloads_are_refused_saying_why() {
        refuses_malformed(
            &BigPanda,
            &headers(&[]),
            "BigPanda",
            &[
                ("not json", "invalid_json"),
                (r#"{"incident": "#, "invalid_json"),
                ("[1, 2]", "invalid_payload"),
                ("{}", "invalid_payload"),
                (r#"{"incident": {"status": "critical"}}"#, "invalid_payload"),
                (r#"{"incident": {"id": 42}}"#, "invalid_payload"),
                (
                    r#"{"incident": {"id": "i", "active": "yes"}}"#,
                    "invalid_payload",
                ),
                (
                    r#"{"incident": {"id": "i", "alerts": "many"}}"#,
                    "invalid_payload",
                ),
                (r#"{"incident": "i-1"}"#, "invalid_payload"),
            ],
        );
    }

    fn sign(secret: &[u8], body: &str) -> String {
        crate::sources::common::tests_support::sign(super::DESCRIPTOR.auth, secret, body)
    }

    #[test]
    fn only_a_signature_of_this_body_with_the_secret_gets_in() {
        only_the_right_secret_gets_in(&BigPanda, ACTIVE, &resolved_body());
        bare_hex_signatures_get_in_too(&BigPanda, ACTIVE, &resolved_body());
        let secret = b"aurora-generated-secret";
        let digest = sign(secret, ACTIVE);
        let bare = headers(&[("x-aurora-signature", digest.trim_start_matches("sha256="))]);
        assert!(BigPanda.verify(&delivery(&bare, ACTIVE), secret).is_ok());
        refused(
            &BigPanda,
            secret,
            ACTIVE,
            &[
                headers(&[("x-aurora-signature", "sha256=zz")]),
                headers(&[("x-aurora-signature", "zz")]),
                headers(&[("authorization", "Bearer aurora-generated-secret")]),
            ],
        );
    }

    #[test]
    fn setup_explains_how_to_sign_and_rca_is_opt_in() {
        let setup = BigPanda.setup("https://aurora.example.com/webhooks/bigpanda/x", Some("s"));
        assert_eq!(setup.header, None);
        assert!(setup.steps[0].contains("openssl dgst -sha256 -hmac"));
        assert!(setup.steps[2].contains("x-aurora-signature"));
        assert!(!BigPanda.descriptor().rca_by_default);
        assert_eq!(BigPanda.descriptor().secret_origin, SecretOrigin::Aurora);
        assert!(BigPanda.descriptor().kept_headers.is_empty());
    }
}
