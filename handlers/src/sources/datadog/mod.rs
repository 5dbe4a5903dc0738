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
//!   `alert_type` (error → high, warning → medium, info/success → low), else unknown;
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

use aurora_domain::intake::{FiringAlert, Placement, Signal};
use aurora_domain::Severity;
use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;

use super::common::{json, severity_from};
use super::{Auth, Delivery, Parsed, Refusal, Source, SourceDescriptor};

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
                    Some(_) => Severity::High,
                    None => Severity::Unknown,
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
            placement: Placement::from_labels(tag),
        }))
    }
}

const DESCRIPTOR: SourceDescriptor = SourceDescriptor::new(
    "datadog",
    "Datadog",
    Auth::Secret {
        header: "x-aurora-secret",
        prefix: "",
    },
    concat!(
        "Integrations → Webhooks → New (name it e.g. aurora); leave \"Encode as form\" unchecked; set Payload to ",
        payload_template!(),
        " and Custom Headers to {\"X-Aurora-Secret\": \"<secret>\"}; then add @webhook-aurora to each monitor's notification message, outside any {{#is_alert}} block so recoveries are sent too"
    ),
);

impl Source for Datadog {
    fn descriptor(&self) -> &'static SourceDescriptor {
        &DESCRIPTOR
    }

    fn parse(&self, delivery: &Delivery<'_>) -> Result<Parsed, Refusal> {
        let payload: Payload = json("Datadog", delivery.body)?;
        let signal = Self::signal(&payload, delivery.received_at)?;
        Ok(Parsed::one(text(&payload.id).map(str::to_owned), signal))
    }
}

#[cfg(test)]
mod tests;
