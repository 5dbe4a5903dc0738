//! Netdata Cloud alert notifications (the centralized "Webhook" integration). Netdata does not
//! sign its webhooks: authenticated by a bearer secret Aurora generates, which the integration
//! sends as `Authorization: Bearer <secret>` (Authentication Mechanism "Bearer").
//!
//! One delivery is one alert transition of one node:
//! - `severity` `critical` / `warning` → firing (critical → critical, warning → high, as upstream);
//! - `severity` `clear` → resolved;
//! - any other status (an agent's `REMOVED`, `UNDEFINED`, `UNINITIALIZED`) → ignored;
//! - a reachability notification (`status: {reachable, text}`): unreachable → firing (critical,
//!   the node is down), reachable → resolved;
//! - the "Test Notification" (`title` + verification `token`) → ignored; the reason quotes the
//!   token, which Netdata asks for in the integration's Verification field.
//!
//! The Cloud's documented fields are read (`alert`, `message`, `info`, `chart`, `context`, `space`,
//! `severity`, `date`, `alert_url`…), with the older names (`alarm`, `alarm_url`), an agent's flat
//! payload (`name`, `status`, `host`, `when`) and the nested `alert: {name, state: {status}}` form
//! understood as well.
//!
//! Identity (SPEC: host + alarm + status): the fingerprint is the node (`host`, else the space),
//! the alert name and its chart — the same for warning, critical and clear, so `clear` finds the
//! incident. The alert id adds the status and the transition time (`date`), so each transition
//! is its own alert and a retried delivery is the same one. Netdata sends no delivery id.

use aurora_domain::intake::{FiringAlert, Signal};
use aurora_domain::Severity;
use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;

use super::common::{json, non_blank, Loose, BEARER_SECRET};
use super::{Delivery, Parsed, Refusal, Source, SourceDescriptor};

pub struct Netdata;

#[derive(Debug, Deserialize)]
struct Payload {
    #[serde(default)]
    message: Option<String>,
    /// The alert's name (Cloud webhook), or the whole alert (nested form).
    #[serde(default)]
    alert: Option<AlertField>,
    /// The alert's name in older Cloud payloads.
    #[serde(default)]
    alarm: Option<String>,
    /// The alert's name in an agent's payload.
    #[serde(default)]
    name: Option<String>,
    /// `Test Notification` in the test ping.
    #[serde(default)]
    title: Option<String>,
    /// The verification token of the test ping.
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    info: Option<String>,
    #[serde(default)]
    chart: Option<String>,
    #[serde(default)]
    context: Option<String>,
    #[serde(default)]
    space: Option<Named>,
    #[serde(default)]
    class: Option<String>,
    /// `warning`, `critical` or `clear` (Cloud); `info` / `critical` for reachability.
    #[serde(default)]
    severity: Option<String>,
    /// An agent's status (`CRITICAL`…), or reachability's `{reachable, text}`.
    #[serde(default)]
    status: Option<Status>,
    /// ISO 8601.
    #[serde(default)]
    date: Option<String>,
    /// An agent's transition time, Unix seconds.
    #[serde(default)]
    when: Option<Loose>,
    #[serde(default)]
    alert_url: Option<String>,
    #[serde(default)]
    alarm_url: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default)]
    node: Option<Named>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum AlertField {
    Name(String),
    Nested(Box<NestedAlert>),
}

#[derive(Debug, Deserialize)]
struct NestedAlert {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    state: Option<NestedState>,
    #[serde(default)]
    chart: Option<Named>,
    #[serde(default)]
    context: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    rendered: Option<Rendered>,
}

#[derive(Debug, Deserialize)]
struct NestedState {
    #[serde(default)]
    status: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Rendered {
    #[serde(default)]
    info: Option<String>,
    #[serde(default)]
    summary: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Status {
    Text(String),
    Reachability {
        reachable: bool,
        #[serde(default)]
        text: Option<String>,
    },
}

/// A name given as a string or as an object (`{"name": …}`, `{"hostname": …}`, `{"slug": …}`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Named {
    Text(String),
    Object {
        #[serde(default)]
        hostname: Option<String>,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        id: Option<serde_json::Value>,
        #[serde(default)]
        slug: Option<String>,
    },
}

impl Named {
    fn text(&self) -> Option<&str> {
        match self {
            Self::Text(t) => Some(t.as_str()),
            Self::Object {
                hostname,
                name,
                id,
                slug,
            } => hostname
                .as_deref()
                .filter(|s| !s.trim().is_empty())
                .or(name.as_deref().filter(|s| !s.trim().is_empty()))
                .or(slug.as_deref().filter(|s| !s.trim().is_empty()))
                .or(id.as_ref().and_then(serde_json::Value::as_str)),
        }
        .map(str::trim)
        .filter(|s| !s.is_empty())
    }
}

impl Payload {
    fn nested(&self) -> Option<&NestedAlert> {
        match &self.alert {
            Some(AlertField::Nested(n)) => Some(n),
            _ => None,
        }
    }

    fn alert_name(&self) -> Option<&str> {
        let direct = match &self.alert {
            Some(AlertField::Name(n)) => non_blank(Some(n)),
            Some(AlertField::Nested(n)) => non_blank(n.name.as_deref()),
            None => None,
        };
        direct
            .or(non_blank(self.alarm.as_deref()))
            .or(non_blank(self.name.as_deref()))
    }

    /// `critical`, `warning`, `clear`… in lower case.
    fn status(&self) -> Option<String> {
        let agent = match &self.status {
            Some(Status::Text(t)) => non_blank(Some(t)),
            _ => None,
        };
        non_blank(self.severity.as_deref())
            .or(agent)
            .or(self
                .nested()
                .and_then(|n| n.state.as_ref())
                .and_then(|s| non_blank(s.status.as_deref())))
            .map(str::to_ascii_lowercase)
    }

    fn host(&self) -> Option<&str> {
        non_blank(self.host.as_deref())
            .or(non_blank(self.hostname.as_deref()))
            .or(self.node.as_ref().and_then(Named::text))
    }

    fn chart(&self) -> Option<&str> {
        non_blank(self.chart.as_deref())
            .or(self
                .nested()
                .and_then(|n| n.chart.as_ref())
                .and_then(Named::text))
            .or(non_blank(self.context.as_deref()))
            .or(self.nested().and_then(|n| non_blank(n.context.as_deref())))
    }

    fn url(&self) -> Option<String> {
        non_blank(self.alert_url.as_deref())
            .or(non_blank(self.alarm_url.as_deref()))
            .or(self.nested().and_then(|n| non_blank(n.url.as_deref())))
            .or(non_blank(self.url.as_deref()))
            .map(str::to_owned)
    }

    fn info(&self) -> Option<&str> {
        non_blank(self.info.as_deref()).or(self
            .nested()
            .and_then(|n| n.rendered.as_ref())
            .and_then(|r| non_blank(r.info.as_deref()).or(non_blank(r.summary.as_deref()))))
    }

    /// When the transition happened: `date` (ISO 8601), else an agent's `when`.
    fn at(&self) -> Option<DateTime<Utc>> {
        non_blank(self.date.as_deref())
            .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
            .map(|d| d.with_timezone(&Utc))
            .or_else(|| {
                self.when
                    .as_ref()
                    .and_then(Loose::whole)
                    .filter(|s| *s > 0)
                    .and_then(|s| Utc.timestamp_opt(s, 0).single())
            })
    }

    fn is_test(&self) -> bool {
        let titled = non_blank(self.title.as_deref())
            .is_some_and(|t| t.eq_ignore_ascii_case("test notification"));
        let token_only = non_blank(self.token.as_deref()).is_some() && self.alert_name().is_none();
        titled || token_only
    }
}

impl Netdata {
    fn reachability(
        &self,
        p: &Payload,
        reachable: bool,
        text: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Signal, Refusal> {
        let host = p.host().ok_or_else(|| {
            Refusal::bad(
                "invalid_payload",
                "a Netdata reachability notification needs `host`",
            )
        })?;
        let fingerprint = format!("netdata:{host}:reachability");
        let when = p.at().unwrap_or(at);
        if reachable {
            return Ok(Signal::Resolved {
                source_alert_id: format!("{fingerprint}:reachable@{}", when.timestamp()),
                fingerprint,
                at: when,
            });
        }
        Ok(Signal::Firing(FiringAlert {
            alert_id: format!("{fingerprint}:unreachable@{}", when.timestamp()),
            fingerprint,
            title: non_blank(p.message.as_deref())
                .map_or_else(|| format!("{host} is unreachable"), str::to_owned),
            service: Some(host.to_owned()),
            environment: None,
            severity: Severity::Critical,
            fired_at: when,
            description: non_blank(text).map(|t| format!("Netdata Cloud reports the node {t}")),
            url: p.url(),
            placement: Default::default(),
        }))
    }

    fn alert(&self, p: &Payload, at: DateTime<Utc>) -> Result<Signal, Refusal> {
        let name = p.alert_name().ok_or_else(|| {
            Refusal::bad(
                "invalid_payload",
                "a Netdata alert notification needs `alert` (the alert's name)",
            )
        })?;
        let status = p.status().ok_or_else(|| {
            Refusal::bad(
                "invalid_payload",
                "a Netdata alert notification needs `severity` (critical, warning or clear)",
            )
        })?;
        let host = p.host();
        let scope = match (host, p.space.as_ref().and_then(Named::text)) {
            (Some(h), _) => h.to_owned(),
            (None, Some(space)) => format!("space:{space}"),
            (None, None) => "-".to_owned(),
        };
        let fingerprint = format!("netdata:{scope}:{name}:{}", p.chart().unwrap_or("-"));
        let when = p.at().unwrap_or(at);
        let alert_id = format!("{fingerprint}:{status}@{}", when.timestamp());
        let severity = match status.as_str() {
            "critical" => Severity::Critical,
            "warning" => Severity::High,
            "clear" => {
                return Ok(Signal::Resolved {
                    fingerprint,
                    source_alert_id: alert_id,
                    at: when,
                })
            }
            other => {
                return Ok(Signal::Ignored {
                    reason: format!("Netdata alert status {other:?} is not acted on"),
                })
            }
        };
        let title = non_blank(p.message.as_deref()).map_or_else(
            || match host {
                Some(h) => format!("{name} is {status} on {h}"),
                None => format!("{name} is {status}"),
            },
            str::to_owned,
        );
        let description = match (p.info(), non_blank(p.class.as_deref())) {
            (Some(info), Some(class)) => Some(format!("{info} ({class})")),
            (Some(info), None) => Some(info.to_owned()),
            (None, Some(class)) => Some(format!("{class} alert {name}")),
            (None, None) => None,
        };
        Ok(Signal::Firing(FiringAlert {
            alert_id,
            fingerprint,
            title,
            service: host.map(str::to_owned),
            environment: None,
            severity,
            fired_at: when,
            description,
            url: p.url(),
            placement: Default::default(),
        }))
    }
}

const DESCRIPTOR: SourceDescriptor = SourceDescriptor::new(
    "netdata",
    "Netdata",
    BEARER_SECRET,
    "Netdata Cloud → Space settings (cog) → Alerts & Notifications → + Add configuration → Webhook; choose the Rooms and notification types, set Authentication Mechanism \"Bearer\" with the secret as the token, press Test (Aurora accepts and ignores the test notification; its delivery shows the verification token) and paste that token into Verification",
);

impl Source for Netdata {
    fn descriptor(&self) -> &'static SourceDescriptor {
        &DESCRIPTOR
    }

    fn parse(&self, delivery: &Delivery<'_>) -> Result<Parsed, Refusal> {
        let payload: Payload = json("Netdata", delivery.body)?;
        let signal = if payload.is_test() {
            Signal::Ignored {
                reason: match non_blank(payload.token.as_deref()) {
                    Some(token) => {
                        format!("a Netdata test notification (verification token {token})")
                    }
                    None => "a Netdata test notification".into(),
                },
            }
        } else if let Some(Status::Reachability { reachable, text }) = &payload.status {
            self.reachability(&payload, *reachable, text.as_deref(), delivery.received_at)?
        } else {
            self.alert(&payload, delivery.received_at)?
        };
        Ok(Parsed::one(None, signal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::common::tests_support::*;

    /// As Netdata Cloud's webhook integration sends it (documented fields; `host` as the Cloud
    /// adds it for the node).
    const CRITICAL: &str = r#"{
      "message": "web-01: 10min_cpu_usage is critical, system.cpu (cpu), 97.3%",
      "alert": "10min_cpu_usage",
      "info": "average CPU utilization over the last 10 minutes (excluding iowait, nice and steal)",
      "chart": "system.cpu",
      "context": "system.cpu",
      "space": "Production",
      "Rooms": {"All nodes": "https://app.netdata.cloud/spaces/production/rooms/all-nodes"},
      "family": "cpu",
      "class": "Utilization",
      "severity": "critical",
      "date": "2026-11-23T09:58:00Z",
      "duration": "2 minutes",
      "additional_active_critical_alerts": 1,
      "additional_active_warning_alerts": 0,
      "alert_url": "https://app.netdata.cloud/spaces/production/rooms/all-nodes/alerts/10min_cpu_usage",
      "host": "web-01"
    }"#;

    fn one(body: &str) -> Signal {
        one_signal(&Netdata, body)
    }

    #[test]
    fn a_critical_alert_fires_one_critical_alert_for_its_node() {
        let Signal::Firing(a) = one(CRITICAL) else {
            panic!("firing expected")
        };
        assert_eq!(a.fingerprint, "netdata:web-01:10min_cpu_usage:system.cpu");
        assert_eq!(
            a.alert_id,
            "netdata:web-01:10min_cpu_usage:system.cpu:critical@1795427880"
        );
        assert_eq!(
            a.title,
            "web-01: 10min_cpu_usage is critical, system.cpu (cpu), 97.3%"
        );
        assert_eq!(a.service.as_deref(), Some("web-01"));
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.fired_at.to_rfc3339(), "2026-11-23T09:58:00+00:00");
        assert_eq!(
            a.description.as_deref(),
            Some("average CPU utilization over the last 10 minutes (excluding iowait, nice and steal) (Utilization)")
        );
        assert_eq!(
            a.url.as_deref(),
            Some("https://app.netdata.cloud/spaces/production/rooms/all-nodes/alerts/10min_cpu_usage")
        );
    }

    #[test]
    fn a_warning_is_high_and_a_separate_alert_of_the_same_problem() {
        let body = CRITICAL
            .replace(r#""severity": "critical""#, r#""severity": "warning""#)
            .replace("2026-11-23T09:58:00Z", "2026-11-23T09:50:00Z");
        let Signal::Firing(warning) = one(&body) else {
            panic!("firing expected")
        };
        let Signal::Firing(critical) = one(CRITICAL) else {
            panic!("firing expected")
        };
        assert_eq!(warning.severity, Severity::High);
        assert_eq!(warning.fingerprint, critical.fingerprint);
        assert_ne!(warning.alert_id, critical.alert_id);
    }

    #[test]
    fn clear_resolves_the_same_fingerprint() {
        let body = CRITICAL
            .replace(r#""severity": "critical""#, r#""severity": "clear""#)
            .replace("2026-11-23T09:58:00Z", "2026-11-23T10:07:00Z");
        match one(&body) {
            Signal::Resolved {
                fingerprint,
                source_alert_id,
                at,
            } => {
                assert_eq!(fingerprint, "netdata:web-01:10min_cpu_usage:system.cpu");
                assert!(source_alert_id.contains(":clear@"));
                assert_eq!(at.to_rfc3339(), "2026-11-23T10:07:00+00:00");
            }
            other => panic!("resolved expected, got {other:?}"),
        }
    }

    #[test]
    fn without_a_host_the_space_scopes_the_fingerprint() {
        let body = CRITICAL.replace(r#""host": "web-01""#, r#""hostless": true"#);
        let Signal::Firing(a) = one(&body) else {
            panic!("firing expected: {body}")
        };
        assert_eq!(
            a.fingerprint,
            "netdata:space:Production:10min_cpu_usage:system.cpu"
        );
        assert_eq!(a.service, None);
    }

    #[test]
    fn an_agent_payload_with_alarm_status_and_when_is_understood() {
        let body = r#"{"alarm": "disk_space_usage", "status": "WARNING", "chart": "disk_space._", "family": "/", "host": "db-02", "when": 1795428000, "info": "disk / space utilization", "value": "91.2"}"#;
        let Signal::Firing(a) = one(body) else {
            panic!("firing expected")
        };
        assert_eq!(a.fingerprint, "netdata:db-02:disk_space_usage:disk_space._");
        assert_eq!(a.severity, Severity::High);
        assert_eq!(a.title, "disk_space_usage is warning on db-02");
        assert_eq!(a.fired_at.timestamp(), 1_795_428_000);
        let clear = body.replace("WARNING", "CLEAR");
        assert!(matches!(
            one(&clear),
            Signal::Resolved { fingerprint, .. } if fingerprint == "netdata:db-02:disk_space_usage:disk_space._"
        ));
    }

    #[test]
    fn the_nested_alert_form_is_understood() {
        let body = r#"{"alert": {"name": "ram_in_use", "state": {"status": "critical", "value": 97.1}, "chart": {"id": "system.ram", "name": "system.ram"}, "context": "system.ram", "url": "https://app.netdata.cloud/a/1", "rendered": {"info": "system memory utilization"}}, "node": {"hostname": "cache-03"}, "space": {"name": "Prod", "slug": "prod"}}"#;
        let Signal::Firing(a) = one(body) else {
            panic!("firing expected")
        };
        assert_eq!(a.fingerprint, "netdata:cache-03:ram_in_use:system.ram");
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.description.as_deref(), Some("system memory utilization"));
        assert_eq!(a.url.as_deref(), Some("https://app.netdata.cloud/a/1"));
        assert_eq!(
            a.fired_at.to_rfc3339(),
            "2026-11-23T10:00:30+00:00",
            "no date: received"
        );
    }

    #[test]
    fn removed_and_undefined_statuses_are_ignored() {
        for status in ["REMOVED", "UNDEFINED", "UNINITIALIZED"] {
            let body = format!(
                r#"{{"alarm": "disk_space_usage", "status": "{status}", "host": "db-02"}}"#
            );
            assert!(
                matches!(one(&body), Signal::Ignored { reason } if reason.contains(&status.to_ascii_lowercase())),
                "{status}"
            );
        }
    }

    #[test]
    fn an_unreachable_node_fires_and_reachable_again_resolves() {
        let down = r#"{"message": "web-01 is unreachable", "url": "https://app.netdata.cloud/spaces/production/nodes/abc", "host": "web-01", "severity": "critical", "status": {"reachable": false, "text": "unreachable"}}"#;
        let Signal::Firing(a) = one(down) else {
            panic!("firing expected")
        };
        assert_eq!(a.fingerprint, "netdata:web-01:reachability");
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.title, "web-01 is unreachable");
        assert_eq!(
            a.url.as_deref(),
            Some("https://app.netdata.cloud/spaces/production/nodes/abc")
        );
        let up = r#"{"message": "web-01 is reachable", "url": "https://app.netdata.cloud/spaces/production/nodes/abc", "host": "web-01", "severity": "info", "status": {"reachable": true, "text": "reachable"}}"#;
        assert!(matches!(
            one(up),
            Signal::Resolved { fingerprint, .. } if fingerprint == "netdata:web-01:reachability"
        ));
    }

    #[test]
    fn the_test_notification_is_ignored_and_shows_its_token() {
        let body = r#"{"message": "This is a Test Notification. If you're receiving it, your Webhook integration is configured properly!", "title": "Test Notification", "token": "2b633082-34ec-4ec3-946c-5e81076c39af"}"#;
        match one(body) {
            Signal::Ignored { reason } => {
                assert!(reason.contains("test notification"), "{reason}");
                assert!(
                    reason.contains("2b633082-34ec-4ec3-946c-5e81076c39af"),
                    "{reason}"
                );
            }
            other => panic!("ignored expected, got {other:?}"),
        }
    }

    #[test]
    fn malformed_payloads_are_refused_saying_why() {
        let h = headers(&[]);
        refuses_malformed(
            &Netdata,
            &h,
            "",
            &[
                ("not json", "invalid_json"),
                ("[1, 2]", "invalid_payload"),
                ("{}", "invalid_payload"),
                (r#"{"alert": "cpu", "host": "a"}"#, "invalid_payload"),
                (
                    r#"{"severity": "critical", "host": "a"}"#,
                    "invalid_payload",
                ),
                (r#"{"alert": "cpu", "severity": 3}"#, "invalid_payload"),
                (r#"{"alert": 7, "severity": "critical"}"#, "invalid_payload"),
                (
                    r#"{"status": {"reachable": false}, "severity": "critical"}"#,
                    "invalid_payload",
                ),
            ],
        );
    }

    #[test]
    fn only_the_right_bearer_secret_gets_in() {
        the_bearer_secret_alone_gets_in(
            &Netdata,
            (CRITICAL, "{}"),
            &[("authorization", "Basic czNjcmV0"), ("x-api-key", "s3cret")],
        );
    }

    #[test]
    fn setup_asks_for_a_bearer_token() {
        let setup = Netdata.setup("https://aurora.example.com/webhooks/netdata/x", Some("abc"));
        assert_eq!(setup.header.as_deref(), Some("authorization"));
        assert_eq!(setup.header_value.as_deref(), Some("Bearer abc"));
        assert!(Netdata.descriptor().rca_by_default);
    }
}
