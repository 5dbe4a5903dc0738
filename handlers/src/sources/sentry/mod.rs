//! Sentry (integration-platform webhooks of an internal integration). Sentry signs every
//! delivery itself: `Sentry-Hook-Signature: <hex hmac-sha256 of the raw body>`, keyed with the
//! integration's client secret, which Sentry generates and the user gives Aurora.
//!
//! `Sentry-Hook-Resource` says what the delivery is about (when it is missing the resource is
//! inferred from `data`); the body is `{action, installation: {uuid}, data, actor}`. One delivery
//! is one signal:
//! - `issue` `created` fires; `unresolved` (reopened by hand, or regressed/escalating) fires again
//!   as a new episode; `resolved` resolves; `assigned`, `archived`, `ignored` are ignored.
//! - `event_alert` `triggered` (an issue alert rule with this integration as its action) fires for
//!   the event's issue; Sentry's "Send Test Notification" (a sample event, tagged
//!   `sample_event: yes`) is ignored.
//! - `metric_alert` `critical` / `warning` fire; `resolved` resolves.
//! - `installation`, `comment`, `error` (one per ingested event: the issue webhooks already say
//!   when a problem starts), and anything else are ignored.
//!
//! Identity (SPEC): installation (one per Sentry organisation) + issue id + action, so
//! `alert_id` is `<installation>:<issue>:created`; a reopening adds the issue's `lastSeen`
//! (`…:unresolved@<ms>`) to be its own episode, an issue alert the event id. The fingerprint is
//! `sentry-issue-<issue id>` for issues and issue alerts alike, so `issue` `resolved` resolves
//! incidents opened by either; metric alerts use `sentry-metric-alert-<incident id>`.
//!
//! Delivery id: the `Request-ID` header. Sentry draws it afresh for every attempt (retries come
//! 5 minutes apart, past the de-duplication window anyway), so it never merges two distinct
//! deliveries; a retried alert is recognised by its stable `alert_id` instead.

mod payload;
#[cfg(test)]
mod tests;

use aurora_domain::intake::{FiringAlert, Signal};
use aurora_domain::Severity;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use self::payload::{
    EventAlertData, EventAlertDelivery, IssueData, IssueDelivery, MetricAlertDelivery,
};
use super::common::{json, severity_from};
use super::{Auth, Delivery, Parsed, Refusal, SecretOrigin, Source, SourceDescriptor};

pub struct Sentry;

const RESOURCE_HEADER: &str = "sentry-hook-resource";
const REQUEST_ID_HEADER: &str = "request-id";

/// What every Sentry delivery has.
#[derive(Debug, Deserialize)]
struct Envelope {
    action: String,
    #[serde(default)]
    installation: Option<Installation>,
    #[serde(default)]
    data: Option<serde_json::Map<String, Value>>,
}

#[derive(Debug, Deserialize)]
struct Installation {
    uuid: String,
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

/// Sentry levels (`fatal`, `error`, `warning`, `info`, `debug`) → Aurora's; an issue without a
/// level is an error, Sentry's default.
fn level_severity(level: Option<&str>) -> Severity {
    level.map_or(Severity::High, severity_from)
}

/// The value of tag `key` in an event's `tags`.
fn tag<'a>(tags: &'a [Value], key: &str) -> Option<&'a str> {
    tags.iter().find_map(|t| match t {
        Value::Array(pair) if pair.first().and_then(Value::as_str) == Some(key) => {
            pair.get(1).and_then(Value::as_str)
        }
        Value::Object(o) if o.get("key").and_then(Value::as_str) == Some(key) => {
            o.get("value").and_then(Value::as_str)
        }
        _ => None,
    })
}

/// The project slug in an event API URL (`…/projects/<org>/<project>/events/…`).
fn project_from_url(url: &str) -> Option<String> {
    let mut parts = url.split('/');
    parts.find(|p| *p == "projects")?;
    let _org = parts.next()?;
    parts.next().filter(|p| !p.is_empty()).map(str::to_owned)
}

impl Sentry {
    fn issue(
        &self,
        org: &str,
        action: &str,
        body: &[u8],
        at: DateTime<Utc>,
    ) -> Result<Signal, Refusal> {
        let IssueDelivery {
            data: IssueData { issue },
        } = json("Sentry issue", body)?;
        let id = issue.id.text();
        let fingerprint = format!("sentry-issue-{id}");
        let firing = |alert_id: String, fired_at: DateTime<Utc>| {
            Signal::Firing(FiringAlert {
                alert_id,
                fingerprint: fingerprint.clone(),
                title: nonempty(issue.title.clone())
                    .or_else(|| issue.short_id.clone().map(|s| format!("Sentry issue {s}")))
                    .unwrap_or_else(|| format!("Sentry issue {id}")),
                service: issue
                    .project
                    .as_ref()
                    .and_then(|p| nonempty(p.slug.clone()).or_else(|| nonempty(p.name.clone()))),
                environment: None,
                severity: level_severity(issue.level.as_deref()),
                fired_at,
                description: nonempty(issue.culprit.clone()),
                url: nonempty(issue.web_url.clone()).or_else(|| nonempty(issue.permalink.clone())),
                placement: Default::default(),
            })
        };
        Ok(match action {
            "created" => firing(
                format!("{org}:{id}:created"),
                issue.first_seen.unwrap_or(at),
            ),
            // Reopened: a new episode of the same problem. `lastSeen` tells a regression from
            // the previous one and stays the same when Sentry retries the delivery.
            "unresolved" => {
                let episode = issue.last_seen.unwrap_or(at).timestamp_millis();
                firing(format!("{org}:{id}:unresolved@{episode}"), at)
            }
            "resolved" => Signal::Resolved {
                fingerprint,
                source_alert_id: format!("{org}:{id}:resolved"),
                at,
            },
            "assigned" | "archived" | "ignored" => Signal::Ignored {
                reason: format!("Sentry issue {id} was {action}: no change to the problem"),
            },
            other => Signal::Ignored {
                reason: format!("Sentry issue action {other:?} is not acted on"),
            },
        })
    }

    fn event_alert(
        &self,
        org: &str,
        action: &str,
        body: &[u8],
        at: DateTime<Utc>,
    ) -> Result<Signal, Refusal> {
        let EventAlertDelivery {
            data:
                EventAlertData {
                    event,
                    triggered_rule,
                },
        } = json("Sentry issue alert", body)?;
        if action != "triggered" {
            return Ok(Signal::Ignored {
                reason: format!("Sentry issue alert action {action:?} is not acted on"),
            });
        }
        let tags = event.tags.unwrap_or_default();
        if tag(&tags, "sample_event") == Some("yes") {
            return Ok(Signal::Ignored {
                reason: "a Sentry test notification (sample event)".into(),
            });
        }
        let issue = event.issue_id.text();
        let episode = event
            .event_id
            .clone()
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| at.timestamp_millis().to_string());
        let rule = nonempty(triggered_rule);
        let description = match (rule.as_deref(), nonempty(event.culprit)) {
            (Some(r), Some(c)) => Some(format!("Alert rule \"{r}\" triggered in {c}")),
            (Some(r), None) => Some(format!("Alert rule \"{r}\" triggered")),
            (None, c) => c,
        };
        Ok(Signal::Firing(FiringAlert {
            alert_id: format!("{org}:{issue}:triggered:{episode}"),
            fingerprint: format!("sentry-issue-{issue}"),
            title: nonempty(event.title)
                .or_else(|| nonempty(event.message))
                .or_else(|| rule.map(|r| format!("Sentry alert: {r}")))
                .unwrap_or_else(|| format!("Sentry issue {issue}")),
            service: event.url.as_deref().and_then(project_from_url),
            environment: nonempty(event.environment)
                .or_else(|| tag(&tags, "environment").map(str::to_owned)),
            severity: level_severity(event.level.as_deref().or(tag(&tags, "level"))),
            fired_at: event.datetime.unwrap_or(at),
            description,
            url: nonempty(event.web_url),
            placement: Default::default(),
        }))
    }

    fn metric_alert(
        &self,
        org: &str,
        action: &str,
        body: &[u8],
        at: DateTime<Utc>,
    ) -> Result<Signal, Refusal> {
        let MetricAlertDelivery { data } = json("Sentry metric alert", body)?;
        let alert = data.metric_alert;
        let id = alert.id.text();
        let fingerprint = format!("sentry-metric-alert-{id}");
        let severity = match action {
            "critical" => Severity::Critical,
            "warning" => Severity::Medium,
            "resolved" => {
                return Ok(Signal::Resolved {
                    fingerprint,
                    source_alert_id: format!("{org}:metric_alert:{id}:resolved"),
                    at: alert.date_closed.unwrap_or(at),
                })
            }
            other => {
                return Ok(Signal::Ignored {
                    reason: format!("Sentry metric alert action {other:?} is not acted on"),
                })
            }
        };
        let rule = alert.alert_rule;
        let rule_name = rule.as_ref().and_then(|r| nonempty(r.name.clone()));
        let service = rule
            .as_ref()
            .and_then(|r| r.projects.clone())
            .or(alert.projects)
            .and_then(|p| p.into_iter().find(|p| !p.is_empty()));
        Ok(Signal::Firing(FiringAlert {
            alert_id: format!("{org}:metric_alert:{id}:{action}"),
            fingerprint,
            title: nonempty(data.description_title)
                .or(rule_name)
                .or_else(|| nonempty(alert.title))
                .unwrap_or_else(|| format!("Sentry metric alert {id}")),
            service,
            environment: rule.and_then(|r| nonempty(r.environment)),
            severity,
            fired_at: alert.date_started.unwrap_or(at),
            description: nonempty(data.description_text),
            url: nonempty(data.web_url),
            placement: Default::default(),
        }))
    }
}

/// The resource a delivery is about, from its header or, failing that, its `data`.
fn resource(delivery: &Delivery<'_>, envelope: &Envelope) -> String {
    if let Some(r) = delivery.header(RESOURCE_HEADER).filter(|r| !r.is_empty()) {
        return r.trim().to_ascii_lowercase();
    }
    let has = |key: &str| envelope.data.as_ref().is_some_and(|d| d.contains_key(key));
    if has("metric_alert") {
        "metric_alert"
    } else if has("event") {
        "event_alert"
    } else if has("issue") {
        "issue"
    } else if has("installation") {
        "installation"
    } else if has("error") {
        "error"
    } else if has("comment") {
        "comment"
    } else {
        "unknown"
    }
    .to_owned()
}

const DESCRIPTOR: SourceDescriptor = SourceDescriptor {
    secret_origin: SecretOrigin::Source,
    kept_headers: &[RESOURCE_HEADER, REQUEST_ID_HEADER],
    ..SourceDescriptor::new(
        "sentry",
        "Sentry",
        Auth::hmac_sha256("sentry-hook-signature", ""),
        "Settings → Developer Settings → Custom Integrations → Create New Integration → Internal Integration; set the Webhook URL, turn on Alert Rule Action, grant Issue & Event read, subscribe to the issue webhooks, save, and copy the Client Secret",
    )
};

impl Source for Sentry {
    fn descriptor(&self) -> &'static SourceDescriptor {
        &DESCRIPTOR
    }

    fn parse(&self, delivery: &Delivery<'_>) -> Result<Parsed, Refusal> {
        let envelope: Envelope = json("Sentry", delivery.body)?;
        let resource = resource(delivery, &envelope);
        let org = envelope
            .installation
            .as_ref()
            .map(|i| i.uuid.as_str())
            .filter(|u| !u.is_empty())
            .unwrap_or("sentry");
        let action = envelope.action.as_str();
        let at = delivery.received_at;
        let signal = match resource.as_str() {
            "issue" => self.issue(org, action, delivery.body, at)?,
            "event_alert" => self.event_alert(org, action, delivery.body, at)?,
            "metric_alert" => self.metric_alert(org, action, delivery.body, at)?,
            "installation" => Signal::Ignored {
                reason: format!("Sentry integration installation {action}"),
            },
            "error" => Signal::Ignored {
                reason: "a Sentry error event: the issue webhooks say when a problem starts".into(),
            },
            other => Signal::Ignored {
                reason: format!("Sentry {other} webhooks are not acted on"),
            },
        };
        Ok(Parsed::one(
            delivery.value(REQUEST_ID_HEADER).map(str::to_owned),
            signal,
        ))
    }
}
