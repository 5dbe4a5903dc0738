//! Datadog monitor notifications (the Webhooks integration). Datadog does not sign webhooks:
//! authenticated by a secret Aurora generates, which the user puts in the webhook's Custom Headers
//! as `{"X-Aurora-Secret": "<secret>"}`.
//!
//! Datadog's body is whatever template the webhook is given; Aurora's is this one (shown in the
//! setup steps):
//!
//! ```json
//! {"id": "$ID", "alert_id": "$ALERT_ID", "cycle_key": "$ALERT_CYCLE_KEY", "title": "$EVENT_TITLE",
//!  "body": "$EVENT_MSG", "transition": "$ALERT_TRANSITION", "priority": "$ALERT_PRIORITY",
//!  "alert_type": "$ALERT_TYPE", "hostname": "$HOSTNAME", "tags": "$TAGS", "date": "$DATE",
//!  "url": "$LINK", "aggregate": "$AGGREG_KEY", "org": {"id": "$ORG_ID", "name": "$ORG_NAME"}}
//! ```
//!
//! It is read tolerantly: ids and `date` (epoch milliseconds) may be strings or numbers, `tags` a
//! comma-separated `key:value` string (or a list), variables Datadog left unsubstituted
//! (`"$ALERT_CYCLE_KEY"`) count as absent, and the common alternative names (`alert_transition`,
//! `link`, `aggreg_key`, `alert_priority`, `alert_cycle_key`) are understood.
//!
//! One delivery is one monitor transition:
//! - `Triggered` / `Re-Triggered` → firing; severity from the monitor priority (`P1`…`P5`), else
//!   `alert_type` (error → high, warning → medium, info/success → low), else high;
//! - `Warn` / `Re-Warn` → firing, medium;
//! - `No Data` / `Re-No Data` → firing, low: the monitor cannot see its metric, which is worth an
//!   incident (a host or pipeline may be down) but is less certain than a breached threshold;
//! - `Recovered` → resolved;
//! - a test notification (title `[TEST] …`), `Renotify`, an empty transition (not a monitor) and
//!   anything else → ignored, saying why.
//!
//! Identity is the monitor (`alert_id`) and, for multi-alert monitors, the group's aggregation
//! key: the fingerprint is `datadog-monitor-<alert_id>[/<aggregate>]`, the same for every
//! transition of that monitor group, so `Recovered` finds the incident its trigger opened. The
//! alert id is that monitor group + the transition + the episode (`$ALERT_CYCLE_KEY` when the
//! template has it, so renotifications of one episode are one alert; else `$DATE`). The
//! delivery id is `$ID`, the notification event's id.

use aurora_domain::intake::{FiringAlert, Signal};
use aurora_domain::Severity;
use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;

use super::common::{json, severity_from};
use super::{Auth, Delivery, Parsed, Refusal, SecretOrigin, Source, SourceDescriptor};

pub struct Datadog;

/// Aurora's recommended Datadog webhook payload (a macro so it can be spliced into
/// [`Source::where_to_configure`] at compile time).
macro_rules! payload_template {
    () => {
        r#"{"id": "$ID", "alert_id": "$ALERT_ID", "cycle_key": "$ALERT_CYCLE_KEY", "title": "$EVENT_TITLE", "body": "$EVENT_MSG", "transition": "$ALERT_TRANSITION", "priority": "$ALERT_PRIORITY", "alert_type": "$ALERT_TYPE", "hostname": "$HOSTNAME", "tags": "$TAGS", "date": "$DATE", "url": "$LINK", "aggregate": "$AGGREG_KEY", "org": {"id": "$ORG_ID", "name": "$ORG_NAME"}}"#
    };
}

#[cfg(test)]
fn payload_template() -> &'static str {
    payload_template!()
}

#[derive(Debug, Deserialize)]
struct Payload {
    /// `$ID`: the notification event's id.
    #[serde(default)]
    id: Option<Loose>,
    /// `$ALERT_ID`: the monitor's id.
    #[serde(default)]
    alert_id: Option<Loose>,
    /// `$ALERT_CYCLE_KEY`: one id from when the alert triggers until it resolves.
    #[serde(default, alias = "alert_cycle_key")]
    cycle_key: Option<Loose>,
    #[serde(default)]
    title: Option<Loose>,
    #[serde(default)]
    body: Option<Loose>,
    /// `$ALERT_TRANSITION`.
    #[serde(default, alias = "alert_transition")]
    transition: Option<Loose>,
    /// `$ALERT_PRIORITY` in Aurora's template; `$PRIORITY` (normal/low) in some others.
    #[serde(default)]
    priority: Option<Loose>,
    #[serde(default)]
    alert_priority: Option<Loose>,
    /// `$ALERT_TYPE`: error, warning, info, success.
    #[serde(default)]
    alert_type: Option<Loose>,
    #[serde(default)]
    hostname: Option<Loose>,
    #[serde(default)]
    tags: Option<Tags>,
    /// `$DATE`: epoch milliseconds.
    #[serde(default)]
    date: Option<Loose>,
    #[serde(default, alias = "link")]
    url: Option<Loose>,
    /// `$AGGREG_KEY`: the same for every event of one monitor group.
    #[serde(default, alias = "aggreg_key", alias = "aggregation_key")]
    aggregate: Option<Loose>,
}

/// A string or a number, as Datadog's variables arrive depending on the template's quoting.
#[derive(Debug)]
struct Loose(String);

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Loose;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Loose, E> {
                Ok(Loose(v.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Loose, E> {
                Ok(Loose(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Loose, E> {
                Ok(Loose(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Loose, E> {
                Ok(Loose(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Loose, E> {
                Ok(Loose(v.to_string()))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// `$TAGS`: `"env:prod,service:checkout"`, or a list when a template builds one.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Tags {
    Text(String),
    List(Vec<String>),
}

impl Tags {
    /// The value of the first `key:value` tag named `key`.
    fn get(&self, key: &str) -> Option<String> {
        let found = |tag: &str| {
            tag.trim()
                .split_once(':')
                .filter(|(k, _)| k.trim().eq_ignore_ascii_case(key))
                .map(|(_, v)| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        match self {
            Tags::Text(text) => text.split(',').find_map(found),
            Tags::List(list) => list.iter().find_map(|t| found(t)),
        }
    }
}

/// The value, unless empty or a variable Datadog left as it was (`$ALERT_CYCLE_KEY`).
fn text(value: &Option<Loose>) -> Option<&str> {
    let v = value.as_ref()?.0.trim();
    let unsubstituted = v.len() > 1
        && v.starts_with('$')
        && v[1..]
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    (!v.is_empty() && !unsubstituted).then_some(v)
}

/// `$DATE`: epoch milliseconds (seconds when it is too small to be milliseconds), or RFC 3339.
fn date(value: &Option<Loose>) -> Option<DateTime<Utc>> {
    let v = text(value)?;
    let number = v.parse::<i64>().ok().or_else(|| {
        v.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(|f| f as i64)
    });
    if let Some(n) = number {
        return if n.abs() < 100_000_000_000 {
            Utc.timestamp_opt(n, 0).single()
        } else {
            Utc.timestamp_millis_opt(n).single()
        };
    }
    DateTime::parse_from_rfc3339(v)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `$EVENT_MSG` without Datadog's `%%%` markdown fences.
fn message(body: &str) -> String {
    body.trim()
        .trim_start_matches("%%%")
        .trim_end_matches("%%%")
        .trim()
        .to_owned()
}

/// What a firing transition says about severity.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Firing {
    Triggered,
    Warn,
    NoData,
}

impl Firing {
    fn key(self) -> &'static str {
        match self {
            Firing::Triggered => "triggered",
            Firing::Warn => "warn",
            Firing::NoData => "no-data",
        }
    }
}

enum Transition {
    Firing(Firing),
    Recovered,
    /// Not acted on, and why.
    Other(String),
}

fn transition(name: &str) -> Transition {
    let lower = name.trim().to_ascii_lowercase();
    let base = lower.strip_prefix("re-").unwrap_or(&lower);
    match base {
        "triggered" | "alert" => Transition::Firing(Firing::Triggered),
        "warn" | "warning" => Transition::Firing(Firing::Warn),
        "no data" | "nodata" | "no_data" => Transition::Firing(Firing::NoData),
        "recovered" | "resolved" | "ok" => Transition::Recovered,
        "renotify" => {
            Transition::Other("a Datadog renotification of an alert that already fired".into())
        }
        _ => Transition::Other(format!(
            "Datadog transition {name:?} does not fire or resolve an alert"
        )),
    }
}

impl Payload {
    fn is_test(&self) -> bool {
        text(&self.title).is_some_and(|t| {
            let t = t.to_ascii_lowercase();
            t.starts_with("[test]") || t.starts_with("test notification")
        })
    }

    /// The monitor priority (`P1`…`P5`), from whichever field carries one.
    fn monitor_priority(&self) -> Option<&str> {
        [&self.priority, &self.alert_priority]
            .into_iter()
            .filter_map(text)
            .find(|p| {
                let p = p.as_bytes();
                p.len() == 2 && p[0].eq_ignore_ascii_case(&b'p') && p[1].is_ascii_digit()
            })
    }

    fn severity(&self, kind: Firing) -> Severity {
        match kind {
            Firing::Warn => Severity::Medium,
            Firing::NoData => Severity::Low,
            Firing::Triggered => {
                if let Some(p) = self.monitor_priority() {
                    return severity_from(p);
                }
                match text(&self.alert_type)
                    .map(str::to_ascii_lowercase)
                    .as_deref()
                {
                    Some("warning") => Severity::Medium,
                    Some("info" | "success") => Severity::Low,
                    _ => Severity::High,
                }
            }
        }
    }

    fn description(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(body) = text(&self.body).map(message).filter(|b| !b.is_empty()) {
            parts.push(body);
        }
        if let Some(host) = text(&self.hostname) {
            parts.push(format!("Host: {host}"));
        }
        (!parts.is_empty()).then(|| parts.join("\n\n"))
    }
}

impl Datadog {
    fn signal(p: &Payload, received_at: DateTime<Utc>) -> Result<Signal, Refusal> {
        if p.is_test() {
            return Ok(Signal::Ignored {
                reason: "a Datadog test notification".into(),
            });
        }
        if p.transition.is_none() {
            return Err(Refusal::bad(
                "invalid_payload",
                concat!(
                    "a Datadog webhook for Aurora needs `transition` ($ALERT_TRANSITION): set the webhook's Payload to ",
                    payload_template!()
                ),
            ));
        }
        let Some(name) = text(&p.transition) else {
            return Ok(Signal::Ignored {
                reason: "a Datadog notification without an alert transition (not a monitor alert)"
                    .into(),
            });
        };
        let kind = match transition(name) {
            Transition::Other(reason) => return Ok(Signal::Ignored { reason }),
            Transition::Firing(kind) => Some(kind),
            Transition::Recovered => None,
        };
        let monitor = text(&p.alert_id).ok_or_else(|| {
            Refusal::bad(
                "invalid_payload",
                "a Datadog monitor notification needs `alert_id` ($ALERT_ID), the monitor's id",
            )
        })?;
        let group = match text(&p.aggregate) {
            Some(aggregate) => format!("{monitor}/{aggregate}"),
            None => monitor.to_owned(),
        };
        let fingerprint = format!("datadog-monitor-{group}");
        let at = date(&p.date).unwrap_or(received_at);
        let episode = text(&p.cycle_key)
            .map(str::to_owned)
            .or_else(|| date(&p.date).map(|d| d.timestamp_millis().to_string()))
            .or_else(|| text(&p.id).map(str::to_owned))
            .unwrap_or_else(|| received_at.timestamp_millis().to_string());
        let Some(kind) = kind else {
            return Ok(Signal::Resolved {
                fingerprint,
                source_alert_id: format!("{group}:recovered@{episode}"),
                at,
            });
        };
        let tag = |key: &str| p.tags.as_ref().and_then(|t| t.get(key));
        Ok(Signal::Firing(FiringAlert {
            alert_id: format!("{group}:{}@{episode}", kind.key()),
            fingerprint,
            title: text(&p.title)
                .map_or_else(|| format!("Datadog monitor {monitor}"), str::to_owned),
            service: tag("service"),
            environment: tag("env").or_else(|| tag("environment")),
            severity: p.severity(kind),
            fired_at: at,
            description: p.description(),
            url: text(&p.url).map(str::to_owned),
        }))
    }
}

const DESCRIPTOR: SourceDescriptor = SourceDescriptor {
    name: "datadog",
    title: "Datadog",
    auth: Auth::Secret {
        header: "x-aurora-secret",
        prefix: "",
    },
    secret_origin: SecretOrigin::Aurora,
    rca_by_default: true,
    kept_headers: &[],
    where_to_configure: concat!(
        "Integrations → Webhooks → New (name it e.g. aurora); leave \"Encode as form\" unchecked; set Payload to ",
        payload_template!(),
        " and Custom Headers to {\"X-Aurora-Secret\": \"<secret>\"}; then add @webhook-aurora to each monitor's notification message, outside any {{#is_alert}} block so recoveries are sent too"
    ),
};

impl Source for Datadog {
    fn descriptor(&self) -> &'static SourceDescriptor {
        &DESCRIPTOR
    }

    fn parse(&self, delivery: &Delivery<'_>) -> Result<Parsed, Refusal> {
        let payload: Payload = json("Datadog", delivery.body)?;
        let signal = Self::signal(&payload, delivery.received_at)?;
        Ok(Parsed {
            delivery_id: text(&payload.id).map(str::to_owned),
            signals: vec![signal],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::common::tests_support::*;

    /// Aurora's template as Datadog fills it for a multi-alert monitor that triggered.
    const TRIGGERED: &str = r#"{
      "id": "7813547281823746294",
      "alert_id": "48213961",
      "cycle_key": "7813547281823746294",
      "title": "[P2] [Triggered on {service:checkout,env:prod}] Checkout p99 latency above 2s",
      "body": "%%%\nCheckout p99 latency is 3.1s, above the 2s threshold.\n\n@webhook-aurora\n\nThe monitor was last triggered at Mon Nov 23 2026 09:59:55 UTC.\n%%%",
      "transition": "Triggered",
      "priority": "P2",
      "alert_type": "error",
      "hostname": "web-3",
      "tags": "env:prod,monitor,service:checkout,team:payments",
      "date": "1795427995000",
      "url": "https://app.datadoghq.com/monitors/48213961?group=env%3Aprod%2Cservice%3Acheckout&from_ts=1795427095000&to_ts=1795428295000&event_id=7813547281823746294",
      "aggregate": "9bd4ac313a4d1e8fae2482df7b77628",
      "org": {"id": "218537", "name": "Acme"}
    }"#;

    fn parse(body: &str) -> Parsed {
        let h = headers(&[]);
        Datadog.parse(&delivery(&h, body)).expect("parses")
    }

    fn firing(body: &str) -> FiringAlert {
        match parse(body).signals.as_slice() {
            [Signal::Firing(a)] => a.clone(),
            other => panic!("one firing alert expected, got {other:?}"),
        }
    }

    /// The triggered delivery as another transition, later, in another cycle.
    fn transitioned(transition: &str, date_ms: &str, event_id: &str) -> String {
        TRIGGERED
            .replace(
                "\"transition\": \"Triggered\"",
                &format!("\"transition\": \"{transition}\""),
            )
            .replace(
                "\"date\": \"1795427995000\"",
                &format!("\"date\": \"{date_ms}\""),
            )
            .replace("7813547281823746294", event_id)
    }

    #[test]
    fn a_triggered_monitor_fires_one_alert_for_its_group() {
        let parsed = parse(TRIGGERED);
        assert_eq!(parsed.delivery_id.as_deref(), Some("7813547281823746294"));
        let [Signal::Firing(a)] = &parsed.signals[..] else {
            panic!("firing: {:?}", parsed.signals)
        };
        assert_eq!(
            a.fingerprint,
            "datadog-monitor-48213961/9bd4ac313a4d1e8fae2482df7b77628"
        );
        assert_eq!(
            a.alert_id,
            "48213961/9bd4ac313a4d1e8fae2482df7b77628:triggered@7813547281823746294"
        );
        assert_eq!(
            a.title,
            "[P2] [Triggered on {service:checkout,env:prod}] Checkout p99 latency above 2s"
        );
        assert_eq!(a.service.as_deref(), Some("checkout"));
        assert_eq!(a.environment.as_deref(), Some("prod"));
        assert_eq!(a.severity, Severity::High, "P2");
        assert_eq!(a.fired_at.to_rfc3339(), "2026-11-23T09:59:55+00:00");
        assert!(a
            .url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://app.datadoghq.com/monitors/48213961")));
        let description = a.description.as_deref().expect("description");
        assert!(
            description.starts_with("Checkout p99 latency is 3.1s"),
            "{description}"
        );
        assert!(!description.contains("%%%"));
        assert!(description.ends_with("Host: web-3"));
    }

    #[test]
    fn ids_and_dates_may_arrive_as_numbers() {
        let body = r#"{"id": 7813547281823746294, "alert_id": 48213961, "title": "CPU high on web-3",
          "body": "cpu > 90%", "transition": "Triggered", "priority": "P1", "alert_type": "error",
          "hostname": "web-3", "tags": "", "date": 1795427995000, "url": "https://app.datadoghq.com/monitors/48213961",
          "aggregate": "", "org": {"id": 218537, "name": "Acme"}}"#;
        let parsed = parse(body);
        assert_eq!(parsed.delivery_id.as_deref(), Some("7813547281823746294"));
        let Signal::Firing(a) = &parsed.signals[0] else {
            panic!("firing")
        };
        assert_eq!(a.fingerprint, "datadog-monitor-48213961", "no group");
        assert_eq!(
            a.alert_id, "48213961:triggered@1795427995000",
            "no cycle key: the date"
        );
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.fired_at.to_rfc3339(), "2026-11-23T09:59:55+00:00");
        assert_eq!(
            (a.service.as_deref(), a.environment.as_deref()),
            (None, None)
        );
    }

    #[test]
    fn without_a_monitor_priority_the_alert_type_sets_the_severity() {
        let without = |alert_type: &str, priority: &str| {
            TRIGGERED
                .replace(
                    "\"priority\": \"P2\"",
                    &format!("\"priority\": \"{priority}\""),
                )
                .replace(
                    "\"alert_type\": \"error\"",
                    &format!("\"alert_type\": \"{alert_type}\""),
                )
        };
        for (alert_type, priority, severity) in [
            ("error", "", Severity::High),
            ("warning", "", Severity::Medium),
            ("info", "$ALERT_PRIORITY", Severity::Low),
            ("error", "normal", Severity::High),
            ("warning", "low", Severity::Medium),
            ("", "", Severity::High),
        ] {
            assert_eq!(
                firing(&without(alert_type, priority)).severity,
                severity,
                "{alert_type:?} {priority:?}"
            );
        }
    }

    #[test]
    fn warn_fires_at_medium_and_no_data_at_low_on_the_same_fingerprint() {
        let triggered = firing(TRIGGERED);
        for (transition, severity, key) in [
            ("Warn", Severity::Medium, "warn"),
            ("Re-Warn", Severity::Medium, "warn"),
            ("No Data", Severity::Low, "no-data"),
            ("Re-No Data", Severity::Low, "no-data"),
        ] {
            let a = firing(&transitioned(
                transition,
                "1795428595000",
                "7813547281823746300",
            ));
            assert_eq!(a.severity, severity, "{transition}");
            assert_eq!(a.fingerprint, triggered.fingerprint, "{transition}");
            assert_eq!(
                a.alert_id,
                format!("48213961/9bd4ac313a4d1e8fae2482df7b77628:{key}@7813547281823746300")
            );
        }
    }

    #[test]
    fn a_re_triggered_renotification_of_one_cycle_is_the_same_alert() {
        let first = firing(TRIGGERED);
        let again = TRIGGERED
            .replace(
                "\"transition\": \"Triggered\"",
                "\"transition\": \"Re-Triggered\"",
            )
            .replace(
                "\"id\": \"7813547281823746294\"",
                "\"id\": \"7813547281823799999\"",
            )
            .replace("\"date\": \"1795427995000\"", "\"date\": \"1795429795000\"");
        let parsed = parse(&again);
        assert_eq!(parsed.delivery_id.as_deref(), Some("7813547281823799999"));
        let Signal::Firing(a) = &parsed.signals[0] else {
            panic!("firing")
        };
        assert_eq!(
            (&a.alert_id, &a.fingerprint),
            (&first.alert_id, &first.fingerprint)
        );

        let next_cycle = transitioned("Triggered", "1795439995000", "7813547281823811111");
        assert_ne!(
            firing(&next_cycle).alert_id,
            first.alert_id,
            "a new episode"
        );
    }

    #[test]
    fn a_recovered_monitor_resolves_the_fingerprint_its_trigger_fired() {
        let fired = firing(TRIGGERED);
        let recovered = TRIGGERED
            .replace(
                "\"transition\": \"Triggered\"",
                "\"transition\": \"Recovered\"",
            )
            .replace("\"alert_type\": \"error\"", "\"alert_type\": \"success\"")
            .replace("[Triggered on", "[Recovered on")
            .replace(
                "\"id\": \"7813547281823746294\"",
                "\"id\": \"7813547281823755555\"",
            )
            .replace("\"date\": \"1795427995000\"", "\"date\": \"1795428420000\"");
        let parsed = parse(&recovered);
        assert_eq!(parsed.delivery_id.as_deref(), Some("7813547281823755555"));
        match &parsed.signals[..] {
            [Signal::Resolved {
                fingerprint,
                source_alert_id,
                at,
            }] => {
                assert_eq!(fingerprint, &fired.fingerprint);
                assert_eq!(
                    source_alert_id,
                    "48213961/9bd4ac313a4d1e8fae2482df7b77628:recovered@7813547281823746294"
                );
                assert_eq!(at.to_rfc3339(), "2026-11-23T10:07:00+00:00");
            }
            other => panic!("resolved expected, got {other:?}"),
        }
    }

    #[test]
    fn other_templates_field_names_and_unsubstituted_variables_are_understood() {
        let body = r#"{"body": "$EVENT_MSG", "last_updated": "1795427995000", "event_type": "query_alert_monitor",
          "title": "[Triggered] Disk almost full", "date": "1795427995000", "org": {"id": "1", "name": "Acme"},
          "id": "42", "alert_id": "777", "alert_transition": "Triggered", "alert_priority": "P3",
          "priority": "normal", "alert_cycle_key": "$ALERT_CYCLE_KEY", "link": "https://app.datadoghq.eu/monitors/777",
          "aggreg_key": "$AGGREG_KEY", "tags": ["env:staging", "service:disk-agent"]}"#;
        let a = firing(body);
        assert_eq!(a.fingerprint, "datadog-monitor-777");
        assert_eq!(a.alert_id, "777:triggered@1795427995000");
        assert_eq!(a.severity, Severity::Medium, "alert_priority P3");
        assert_eq!(
            a.url.as_deref(),
            Some("https://app.datadoghq.eu/monitors/777")
        );
        assert_eq!(
            a.description, None,
            "an unsubstituted $EVENT_MSG is no description"
        );
        assert_eq!(
            (a.service.as_deref(), a.environment.as_deref()),
            (Some("disk-agent"), Some("staging"))
        );
    }

    #[test]
    fn a_test_notification_is_accepted_and_ignored() {
        for title in [
            "[TEST] [P2] [Triggered on {service:checkout,env:prod}] Checkout p99 latency above 2s",
            "[Test] Checkout p99 latency above 2s",
            "Test notification",
        ] {
            let body = TRIGGERED.replace(
                "[P2] [Triggered on {service:checkout,env:prod}] Checkout p99 latency above 2s",
                title,
            );
            assert!(
                matches!(&parse(&body).signals[..], [Signal::Ignored { reason }] if reason.contains("test")),
                "{title}"
            );
        }
        let minimal = r#"{"title": "[TEST] Webhook test", "body": "This is a test", "transition": "", "id": "1"}"#;
        assert!(matches!(
            &parse(minimal).signals[..],
            [Signal::Ignored { .. }]
        ));
    }

    #[test]
    fn renotifications_unknown_and_empty_transitions_are_accepted_and_ignored() {
        for transition in ["Renotify", "Muted", "", "$ALERT_TRANSITION"] {
            let body = transitioned(transition, "1795428595000", "7813547281823746301");
            match &parse(&body).signals[..] {
                [Signal::Ignored { reason }] => assert!(!reason.is_empty()),
                other => panic!("{transition:?}: ignored expected, got {other:?}"),
            }
        }
        let event = r#"{"id": "5", "title": "Deployed checkout 1.42", "body": "@webhook-aurora", "transition": "", "alert_id": ""}"#;
        assert!(matches!(
            &parse(event).signals[..],
            [Signal::Ignored { .. }]
        ));
    }

    #[test]
    fn malformed_payloads_are_refused_saying_why() {
        let h = headers(&[]);
        let no_monitor = TRIGGERED.replace("\"alert_id\": \"48213961\"", "\"alert_id\": \"\"");
        let default_payload = r#"{"body": "%%%\nCPU high\n%%%", "last_updated": "1795427995000", "event_type": "query_alert_monitor", "title": "[Triggered] CPU high", "date": "1795427995000", "org": {"id": "1", "name": "Acme"}, "id": "42"}"#;
        refuses_malformed_saying(
            &Datadog,
            &h,
            &[
                ("not json", "invalid_json", ""),
                ("{\"transition\": \"Triggered\"", "invalid_json", ""),
                ("[]", "invalid_payload", ""),
                ("\"Triggered\"", "invalid_payload", ""),
                (default_payload, "invalid_payload", "$ALERT_TRANSITION"),
                ("{}", "invalid_payload", "transition"),
                (&no_monitor, "invalid_payload", "alert_id"),
                (
                    "{\"transition\": \"Recovered\", \"date\": \"1795428420000\"}",
                    "invalid_payload",
                    "alert_id",
                ),
                (
                    "{\"transition\": \"Triggered\", \"alert_id\": {\"id\": 1}}",
                    "invalid_payload",
                    "a string or a number",
                ),
                (
                    "{\"transition\": [\"Triggered\"], \"alert_id\": \"1\"}",
                    "invalid_payload",
                    "",
                ),
                (
                    "{\"transition\": \"Triggered\", \"alert_id\": \"1\", \"tags\": 5}",
                    "invalid_payload",
                    "",
                ),
            ],
        );
    }

    #[test]
    fn only_the_right_secret_in_the_custom_header_gets_in() {
        only_the_right_secret_gets_in(&Datadog, TRIGGERED, "{}");
        let good = headers(&[("x-aurora-secret", "dd-s3cret")]);
        assert!(Datadog
            .verify(&delivery(&good, TRIGGERED), b"dd-s3cret")
            .is_ok());
        for bad in [
            headers(&[("x-aurora-secret", "wrong")]),
            headers(&[("x-aurora-secret", "Bearer dd-s3cret")]),
            headers(&[("x-aurora-secret", "")]),
            headers(&[("authorization", "Bearer dd-s3cret")]),
            headers(&[]),
        ] {
            assert!(matches!(
                Datadog.verify(&delivery(&bad, TRIGGERED), b"dd-s3cret"),
                Err(Refusal::Unauthorized(_))
            ));
        }
    }

    #[test]
    fn the_setup_shows_the_template_and_the_custom_header() {
        let setup = Datadog.setup(
            "https://aurora.example.com/webhooks/datadog/x",
            Some("dd-s3cret"),
        );
        assert_eq!(setup.header.as_deref(), Some("x-aurora-secret"));
        assert_eq!(setup.header_value.as_deref(), Some("dd-s3cret"));
        assert!(setup.steps[0].contains(payload_template()));
        assert!(setup.steps[0].contains("X-Aurora-Secret"));
        let template: serde_json::Value =
            serde_json::from_str(payload_template()).expect("the template is JSON");
        assert_eq!(template["transition"], "$ALERT_TRANSITION");
        assert!(Datadog.descriptor().kept_headers.is_empty());
    }
}
