//! Grafana alerting (unified alerting webhooks; legacy dashboard alerts too). Authenticated by a
//! bearer secret Aurora generates: Grafana's webhook contact point sends it as
//! `Authorization: Bearer <secret>`.
//!
//! One delivery carries a group of alerts: each `alerts[]` item is one signal — firing, or
//! resolved by `status: resolved`. Identity is Grafana's `fingerprint` (a hash of the labels);
//! the alert id adds `startsAt`, so each firing episode is its own alert.

use std::collections::BTreeMap;

use aurora_domain::intake::{FiringAlert, Placement, Signal};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::common::{json, severity_from, BEARER_SECRET};
use super::{Delivery, Parsed, Refusal, Source, SourceDescriptor};

pub struct Grafana;

#[derive(Debug, Deserialize)]
struct Payload {
    /// Unified alerting: the group.
    #[serde(default)]
    alerts: Option<Vec<GrafanaAlert>>,
    #[serde(default)]
    title: Option<String>,
    // Legacy dashboard alerting.
    #[serde(default)]
    state: Option<String>,
    #[serde(default, rename = "ruleId")]
    rule_id: Option<i64>,
    #[serde(default, rename = "ruleName")]
    rule_name: Option<String>,
    #[serde(default, rename = "ruleUrl")]
    rule_url: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct GrafanaAlert {
    status: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    starts_at: DateTime<Utc>,
    #[serde(default, rename = "endsAt")]
    ends_at: Option<DateTime<Utc>>,
    #[serde(default, rename = "generatorURL")]
    generator_url: Option<String>,
    #[serde(default)]
    fingerprint: Option<String>,
}

/// The first label present among `names`.
fn label<'a>(labels: &'a BTreeMap<String, String>, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| labels.get(*n))
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// A fingerprint when Grafana sent none: the sorted labels, which is what Grafana hashes.
fn labels_fingerprint(labels: &BTreeMap<String, String>) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for (k, v) in labels {
        hasher.update(k.as_bytes());
        hasher.update([0]);
        hasher.update(v.as_bytes());
        hasher.update([0]);
    }
    hex::encode(&hasher.finalize()[..8])
}

impl Grafana {
    fn unified(&self, alerts: Vec<GrafanaAlert>, at: DateTime<Utc>) -> Vec<Signal> {
        alerts
            .into_iter()
            .map(|a| {
                let fingerprint = a
                    .fingerprint
                    .clone()
                    .filter(|f| !f.is_empty())
                    .unwrap_or_else(|| labels_fingerprint(&a.labels));
                let alert_id = format!("{fingerprint}@{}", a.starts_at.timestamp());
                let name = label(&a.labels, &["alertname"]).unwrap_or("Grafana alert");
                if name == "TestAlert" && label(&a.labels, &["instance"]) == Some("Grafana") {
                    return Signal::Ignored {
                        reason: "a Grafana test notification".into(),
                    };
                }
                match a.status.as_str() {
                    "resolved" => Signal::Resolved {
                        fingerprint,
                        source_alert_id: alert_id,
                        at: a.ends_at.filter(|e| e.timestamp() > 0).unwrap_or(at),
                    },
                    _ => Signal::Firing(FiringAlert {
                        alert_id,
                        fingerprint,
                        title: label(&a.annotations, &["summary", "title"])
                            .unwrap_or(name)
                            .to_owned(),
                        service: label(&a.labels, &["service", "service_name", "app", "job"])
                            .map(str::to_owned),
                        environment: label(&a.labels, &["env", "environment", "cluster"])
                            .map(str::to_owned),
                        severity: label(&a.labels, &["severity", "priority", "level"])
                            .map_or(aurora_domain::Severity::Unknown, severity_from),
                        fired_at: a.starts_at,
                        description: label(&a.annotations, &["description", "message"])
                            .map(str::to_owned),
                        url: a.generator_url.filter(|u| !u.is_empty()),
                        placement: Placement::from_labels(|n| label(&a.labels, &[n])),
                    }),
                }
            })
            .collect()
    }

    fn legacy(&self, p: Payload, at: DateTime<Utc>) -> Result<Vec<Signal>, Refusal> {
        let state = p.state.unwrap_or_default();
        let rule = p.rule_id.map_or_else(
            || p.rule_name.clone().unwrap_or_default(),
            |id| id.to_string(),
        );
        if rule.is_empty() {
            return Err(Refusal::bad(
                "invalid_payload",
                "a Grafana webhook needs `alerts` (unified alerting) or `ruleId`/`ruleName` (legacy alerting)",
            ));
        }
        let fingerprint = format!("legacy-rule-{rule}");
        Ok(vec![match state.as_str() {
            "ok" => Signal::Resolved {
                fingerprint,
                source_alert_id: format!("rule-{rule}"),
                at,
            },
            "alerting" => Signal::Firing(FiringAlert {
                alert_id: format!("rule-{rule}@{}", at.timestamp()),
                fingerprint,
                title: p
                    .rule_name
                    .or(p.title)
                    .unwrap_or_else(|| "Grafana alert".into()),
                service: None,
                environment: None,
                // The legacy notification carries no labels, so no severity.
                severity: aurora_domain::Severity::Unknown,
                fired_at: at,
                description: p.message,
                url: p.rule_url,
                placement: Default::default(),
            }),
            other => Signal::Ignored {
                reason: format!("legacy alert state {other:?} is not acted on"),
            },
        }])
    }
}

const DESCRIPTOR: SourceDescriptor = SourceDescriptor::new(
    "grafana",
    "Grafana",
    BEARER_SECRET,
    "Alerting → Contact points → New contact point → Integration \"Webhook\"; under Optional settings set Authorization header scheme \"Bearer\" and the credentials",
);

impl Source for Grafana {
    fn descriptor(&self) -> &'static SourceDescriptor {
        &DESCRIPTOR
    }

    fn parse(&self, delivery: &Delivery<'_>) -> Result<Parsed, Refusal> {
        let mut payload: Payload = json("Grafana", delivery.body)?;
        let signals = match payload.alerts.take() {
            Some(alerts) if alerts.is_empty() => vec![Signal::Ignored {
                reason: "a Grafana notification without alerts".into(),
            }],
            Some(alerts) => self.unified(alerts, delivery.received_at),
            None => self.legacy(payload, delivery.received_at)?,
        };
        Ok(Parsed {
            delivery_id: None,
            signals,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::common::tests_support::*;

    const FIRING: &str = r#"{
      "receiver": "aurora", "status": "firing", "orgId": 1,
      "alerts": [
        {"status": "firing",
         "labels": {"alertname": "HighLatency", "service": "checkout", "severity": "critical", "env": "prod", "grafana_folder": "SLOs"},
         "annotations": {"summary": "Checkout p99 latency above 2s", "description": "p99 is 3.1s"},
         "startsAt": "2026-11-23T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
         "generatorURL": "https://grafana.example.com/alerting/grafana/abc/view", "fingerprint": "9f3c2a1b", "silenceURL": "", "dashboardURL": "", "panelURL": "", "values": {"B": 3.1}},
        {"status": "firing",
         "labels": {"alertname": "ErrorRate", "job": "payments"},
         "annotations": {},
         "startsAt": "2026-11-23T10:00:05Z", "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "77aa"}
      ],
      "groupLabels": {"alertname": "HighLatency"}, "commonLabels": {}, "commonAnnotations": {},
      "externalURL": "https://grafana.example.com/", "version": "1", "groupKey": "{}:{alertname=\"HighLatency\"}",
      "truncatedAlerts": 0, "title": "[FIRING:2] HighLatency", "state": "alerting", "message": "..."
    }"#;

    #[test]
    fn a_firing_group_is_one_alert_per_item() {
        let h = headers(&[]);
        let parsed = Grafana.parse(&delivery(&h, FIRING)).expect("parses");
        assert_eq!(parsed.signals.len(), 2);
        let Signal::Firing(a) = &parsed.signals[0] else {
            panic!("firing: {:?}", parsed.signals[0])
        };
        assert_eq!(a.fingerprint, "9f3c2a1b");
        assert_eq!(a.alert_id, "9f3c2a1b@1795428000");
        assert_eq!(a.title, "Checkout p99 latency above 2s");
        assert_eq!(a.service.as_deref(), Some("checkout"));
        assert_eq!(a.environment.as_deref(), Some("prod"));
        assert_eq!(a.severity, aurora_domain::Severity::Critical);
        assert_eq!(a.description.as_deref(), Some("p99 is 3.1s"));
        let Signal::Firing(b) = &parsed.signals[1] else {
            panic!("firing")
        };
        assert_eq!(
            (b.title.as_str(), b.service.as_deref()),
            ("ErrorRate", Some("payments"))
        );
        assert_eq!(
            b.severity,
            aurora_domain::Severity::Unknown,
            "no severity label: unknown"
        );
    }

    #[test]
    fn kubernetes_labels_say_where_it_fires() {
        let body = FIRING.replacen(
            r#""env": "prod", "grafana_folder": "SLOs"}"#,
            r#""env": "prod", "grafana_folder": "SLOs", "cluster": "gke-prod", "namespace": "shop", "pod": "checkout-6d8f7c9b5d-x2kqp"}"#,
            1,
        );
        let h = headers(&[]);
        let parsed = Grafana.parse(&delivery(&h, &body)).expect("parses");
        let [Signal::Firing(a), Signal::Firing(b)] = &parsed.signals[..] else {
            panic!("two firing: {:?}", parsed.signals)
        };
        assert_eq!(
            a.placement,
            Placement {
                cluster: Some("gke-prod".into()),
                namespace: Some("shop".into()),
                pod: Some("checkout-6d8f7c9b5d-x2kqp".into()),
            }
        );
        assert!(b.placement.is_empty());
    }

    #[test]
    fn a_resolved_item_resolves_its_fingerprint() {
        let body = FIRING
            .replacen(
                r#""status": "firing",
         "labels": {"alertname": "HighLatency""#,
                r#""status": "resolved",
         "labels": {"alertname": "HighLatency""#,
                1,
            )
            .replacen(
                r#""endsAt": "0001-01-01T00:00:00Z",
         "generatorURL""#,
                r#""endsAt": "2026-11-23T10:07:00Z",
         "generatorURL""#,
                1,
            );
        let h = headers(&[]);
        let parsed = Grafana.parse(&delivery(&h, &body)).expect("parses");
        match &parsed.signals[0] {
            Signal::Resolved {
                fingerprint, at, ..
            } => {
                assert_eq!(fingerprint, "9f3c2a1b");
                assert_eq!(at.to_rfc3339(), "2026-11-23T10:07:00+00:00");
            }
            other => panic!("resolved expected, got {other:?}"),
        }
        assert!(matches!(parsed.signals[1], Signal::Firing(_)));
    }

    #[test]
    fn the_test_notification_is_accepted_and_ignored() {
        let body = r#"{"receiver":"test","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"TestAlert","instance":"Grafana"},"annotations":{"summary":"Notification test"},"startsAt":"2026-11-23T10:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"57c6d9296de2ad39"}],"title":"[FIRING:1] TestAlert Grafana"}"#;
        let h = headers(&[]);
        let parsed = Grafana.parse(&delivery(&h, body)).expect("parses");
        assert!(matches!(&parsed.signals[..], [Signal::Ignored { .. }]));
    }

    #[test]
    fn legacy_dashboard_alerts_fire_and_resolve_by_rule() {
        let firing = r#"{"title":"[Alerting] CPU high","ruleId":7,"ruleName":"CPU high","ruleUrl":"https://g/d/x","state":"alerting","message":"cpu > 90%","evalMatches":[{"value":97,"metric":"cpu","tags":null}]}"#;
        let h = headers(&[]);
        let parsed = Grafana.parse(&delivery(&h, firing)).expect("parses");
        let Signal::Firing(a) = &parsed.signals[0] else {
            panic!("firing")
        };
        assert_eq!(
            (a.title.as_str(), a.fingerprint.as_str()),
            ("CPU high", "legacy-rule-7")
        );
        let ok = firing.replace(r#""state":"alerting""#, r#""state":"ok""#);
        let parsed = Grafana.parse(&delivery(&h, &ok)).expect("parses");
        assert!(
            matches!(&parsed.signals[0], Signal::Resolved { fingerprint, .. } if fingerprint == "legacy-rule-7")
        );
    }

    #[test]
    fn malformed_payloads_are_refused_saying_why() {
        let h = headers(&[]);
        refuses_malformed(
            &Grafana,
            &h,
            "",
            &[
                ("not json", "invalid_json"),
                (
                    "{\"alerts\": [{\"status\": \"firing\"}]}",
                    "invalid_payload",
                ),
                ("{\"alerts\": \"many\"}", "invalid_payload"),
                ("{}", "invalid_payload"),
            ],
        );
    }

    #[test]
    fn only_the_right_bearer_secret_gets_in() {
        the_bearer_secret_alone_gets_in(&Grafana, (FIRING, "{}"), &[]);
    }
}
