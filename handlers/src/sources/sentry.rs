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

use aurora_domain::intake::{FiringAlert, Signal};
use aurora_domain::Severity;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

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

/// An id Sentry sends as a string (documented) or, in older payloads, as a number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Id {
    Text(String),
    Number(i64),
}

impl Id {
    fn text(&self) -> String {
        match self {
            Id::Text(s) => s.clone(),
            Id::Number(n) => n.to_string(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct Project {
    #[serde(default)]
    slug: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

// resource `issue`
#[derive(Debug, Deserialize)]
struct IssueDelivery {
    data: IssueData,
}

#[derive(Debug, Deserialize)]
struct IssueData {
    issue: Issue,
}

#[derive(Debug, Deserialize)]
struct Issue {
    id: Id,
    #[serde(default)]
    title: Option<String>,
    #[serde(default, rename = "shortId")]
    short_id: Option<String>,
    #[serde(default)]
    culprit: Option<String>,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    project: Option<Project>,
    #[serde(default)]
    web_url: Option<String>,
    #[serde(default)]
    permalink: Option<String>,
    #[serde(default, rename = "firstSeen")]
    first_seen: Option<DateTime<Utc>>,
    #[serde(default, rename = "lastSeen")]
    last_seen: Option<DateTime<Utc>>,
}

// resource `event_alert`
#[derive(Debug, Deserialize)]
struct EventAlertDelivery {
    data: EventAlertData,
}

#[derive(Debug, Deserialize)]
struct EventAlertData {
    event: Event,
    #[serde(default)]
    triggered_rule: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Event {
    issue_id: Id,
    #[serde(default)]
    event_id: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    culprit: Option<String>,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    /// `[["key", "value"], …]` (or `{key, value}` objects in some serialisations).
    #[serde(default)]
    tags: Option<Vec<Value>>,
    #[serde(default)]
    datetime: Option<DateTime<Utc>>,
    /// The event's API URL: `…/api/0/projects/<org>/<project>/events/<id>/`.
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    web_url: Option<String>,
}

// resource `metric_alert`
#[derive(Debug, Deserialize)]
struct MetricAlertDelivery {
    data: MetricAlertData,
}

#[derive(Debug, Deserialize)]
struct MetricAlertData {
    metric_alert: MetricAlert,
    #[serde(default)]
    description_title: Option<String>,
    #[serde(default)]
    description_text: Option<String>,
    #[serde(default)]
    web_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct MetricAlert {
    /// The Sentry incident the alert rule opened.
    id: Id,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    projects: Option<Vec<String>>,
    #[serde(default)]
    date_started: Option<DateTime<Utc>>,
    #[serde(default)]
    date_closed: Option<DateTime<Utc>>,
    #[serde(default)]
    alert_rule: Option<AlertRule>,
}

#[derive(Debug, Deserialize)]
struct AlertRule {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    projects: Option<Vec<String>>,
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
    name: "sentry",
    title: "Sentry",
    auth: Auth::HmacSha256 {
        header: "sentry-hook-signature",
        prefix: "",
        bare_hex_too: false,
    },
    secret_origin: SecretOrigin::Source,
    rca_by_default: true,
    kept_headers: &[RESOURCE_HEADER, REQUEST_ID_HEADER],
    where_to_configure: "Settings → Developer Settings → Custom Integrations → Create New Integration → Internal Integration; set the Webhook URL, turn on Alert Rule Action, grant Issue & Event read, subscribe to the issue webhooks, save, and copy the Client Secret",
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
        Ok(Parsed {
            delivery_id: delivery.value(REQUEST_ID_HEADER).map(str::to_owned),
            signals: vec![signal],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::common::tests_support::*;

    const INSTALL: &str = "24b397fc-a86e-43ef-9297-949e21b82480";

    /// `issue.created`, as documented by Sentry (trimmed of fields Aurora does not read).
    const ISSUE_CREATED: &str = r#"{
      "action": "created",
      "installation": {"uuid": "24b397fc-a86e-43ef-9297-949e21b82480"},
      "data": {
        "issue": {
          "url": "https://sentry.io/api/0/organizations/example-org/issues/1234567890/",
          "web_url": "https://example-org.sentry.io/issues/1234567890/",
          "project_url": "https://example-org.sentry.io/issues/?project=4509877862268928",
          "id": "1234567890",
          "shareId": null,
          "shortId": "PYTHON-Y",
          "title": "ZeroDivisionError: division by zero",
          "culprit": "app.views.checkout in total",
          "permalink": "https://example-org.sentry.io/issues/1234567890/",
          "logger": "edge-function",
          "level": "fatal",
          "status": "unresolved",
          "statusDetails": {},
          "substatus": "new",
          "isPublic": false,
          "platform": "python",
          "project": {"id": "112313123123134", "name": "checkout", "slug": "checkout", "platform": "python"},
          "type": "default",
          "metadata": {"title": "ZeroDivisionError: division by zero", "severity": 1, "initial_priority": 75},
          "numComments": 0,
          "assignedTo": null,
          "isBookmarked": false,
          "hasSeen": false,
          "annotations": [],
          "issueType": "error",
          "issueCategory": "error",
          "priority": "high",
          "isUnhandled": false,
          "count": "3",
          "userCount": 3,
          "firstSeen": "2025-11-10T20:56:00.679000+00:00",
          "lastSeen": "2025-11-10T20:56:00.738000+00:00"
        }
      },
      "actor": {"type": "application", "id": "sentry", "name": "Sentry"}
    }"#;

    /// `event_alert.triggered`, as documented by Sentry (stack frames trimmed).
    const EVENT_ALERT: &str = r##"{
      "action": "triggered",
      "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
      "data": {
        "event": {
          "_ref": 1,
          "_ref_version": 2,
          "contexts": {"browser": {"name": "Chrome", "type": "browser", "version": "75.0.3770"}},
          "culprit": "?(<anonymous>)",
          "datetime": "2019-08-19T21:06:17.677000Z",
          "dist": null,
          "event_id": "e4874d664c3540c1a32eab185f12c5ab",
          "exception": {"values": [{"type": "ReferenceError", "value": "heck is not defined",
            "stacktrace": {"frames": [{"abs_path": "<anonymous>", "colno": 5, "lineno": 3, "in_app": false}]}}]},
          "fingerprint": ["{{ default }}"],
          "hashes": ["29f7ffc4903a8a990408b80a3b4c95a2"],
          "issue_url": "https://sentry.io/api/0/issues/1117540176/",
          "issue_id": "1117540176",
          "key_id": "667532",
          "level": "error",
          "location": "<anonymous>",
          "logger": "",
          "message": "",
          "metadata": {"filename": "<anonymous>", "type": "ReferenceError", "value": "heck is not defined"},
          "platform": "javascript",
          "project": 1,
          "received": 1566248777.677,
          "release": null,
          "tags": [["browser", "Chrome 75.0.3770"], ["environment", "production"], ["handled", "no"], ["level", "error"]],
          "timestamp": 1566248777.677,
          "title": "ReferenceError: heck is not defined",
          "type": "error",
          "url": "https://sentry.io/api/0/projects/test-org/front-end/events/e4874d664c3540c1a32eab185f12c5ab/",
          "user": {"ip_address": "162.218.85.90"},
          "version": "7",
          "web_url": "https://sentry.io/organizations/test-org/issues/1117540176/events/e4874d664c3540c1a32eab185f12c5ab/"
        },
        "triggered_rule": "Very Important Alert Rule!",
        "issue_alert": {"title": "Very Important Alert Rule!", "settings": [{"name": "channel", "value": "#general"}]}
      },
      "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"}
    }"##;

    /// `metric_alert.critical`, shaped as Sentry documents it.
    const METRIC_CRITICAL: &str = r#"{
      "action": "critical",
      "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
      "data": {
        "description_text": "1000 events in the last 10 minutes\nFilter: level:error",
        "description_title": "Critical: Too many errors",
        "metric_alert": {
          "alert_rule": {
            "aggregate": "count()", "created_by": null, "dataset": "events",
            "date_created": "2020-09-13T12:26:40.000000Z", "date_modified": "2020-09-13T12:26:40.000000Z",
            "environment": "production", "id": "7", "include_all_projects": false, "name": "Too many errors",
            "organization_id": "5", "projects": ["bar"], "query": "level:error", "resolution": 1,
            "resolve_threshold": null, "status": 0, "threshold_period": 1, "threshold_type": 0,
            "time_window": 10, "triggers": []
          },
          "date_closed": null,
          "date_created": "2020-09-13T12:26:40.000000Z",
          "date_detected": "2020-09-13T12:26:40.000000Z",
          "date_started": "2020-09-13T12:26:40.000000Z",
          "id": "4", "identifier": "1", "organization_id": "5", "projects": ["bar"],
          "status": 2, "status_method": 3, "title": "Sacred Marmot", "type": 2
        },
        "web_url": "https://sentry.io/organizations/baz/alerts/1/"
      },
      "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"}
    }"#;

    fn parse(resource: &str, body: &str) -> Parsed {
        let h = headers(&[
            ("sentry-hook-resource", resource),
            ("request-id", "6d4cbbe5a2cd4e8f9f3c7bd6b1f0a7e2"),
        ]);
        Sentry.parse(&delivery(&h, body)).expect("parses")
    }

    fn only(parsed: Parsed) -> Signal {
        let [signal] = <[Signal; 1]>::try_from(parsed.signals).expect("one signal");
        signal
    }

    fn with_action(body: &str, action: &str) -> String {
        let (before, after) = body.split_once(r#""action": "#).expect("has an action");
        let rest = after.split_once(',').expect("action ends").1;
        format!("{before}\"action\": \"{action}\",{rest}")
    }

    fn sign(secret: &[u8], body: &str) -> String {
        crate::sources::common::tests_support::sign(super::DESCRIPTOR.auth, secret, body)
    }

    #[test]
    fn a_created_issue_fires_as_one_alert_identified_by_org_issue_and_action() {
        let parsed = parse("issue", ISSUE_CREATED);
        assert_eq!(
            parsed.delivery_id.as_deref(),
            Some("6d4cbbe5a2cd4e8f9f3c7bd6b1f0a7e2")
        );
        let Signal::Firing(a) = only(parsed) else {
            panic!("firing expected")
        };
        assert_eq!(a.alert_id, format!("{INSTALL}:1234567890:created"));
        assert_eq!(a.fingerprint, "sentry-issue-1234567890");
        assert_eq!(a.title, "ZeroDivisionError: division by zero");
        assert_eq!(a.service.as_deref(), Some("checkout"));
        assert_eq!(a.severity, Severity::Critical, "fatal is critical");
        assert_eq!(
            a.description.as_deref(),
            Some("app.views.checkout in total")
        );
        assert_eq!(
            a.url.as_deref(),
            Some("https://example-org.sentry.io/issues/1234567890/")
        );
        assert_eq!(a.fired_at.to_rfc3339(), "2025-11-10T20:56:00.679+00:00");
        assert_eq!(a.environment, None);
    }

    #[test]
    fn issue_levels_map_onto_aurora_severities() {
        for (level, expected) in [
            ("fatal", Severity::Critical),
            ("error", Severity::High),
            ("warning", Severity::Medium),
            ("info", Severity::Info),
            ("debug", Severity::Info),
        ] {
            let body =
                ISSUE_CREATED.replace(r#""level": "fatal""#, &format!(r#""level": "{level}""#));
            let Signal::Firing(a) = only(parse("issue", &body)) else {
                panic!("firing expected")
            };
            assert_eq!(a.severity, expected, "{level}");
        }
        let body = ISSUE_CREATED.replace(r#""level": "fatal","#, "");
        let Signal::Firing(a) = only(parse("issue", &body)) else {
            panic!("firing expected")
        };
        assert_eq!(
            a.severity,
            Severity::High,
            "no level: Sentry's default, error"
        );
    }

    #[test]
    fn a_resolved_issue_resolves_the_issue_fingerprint() {
        let body = with_action(ISSUE_CREATED, "resolved")
            .replace(r#""status": "unresolved""#, r#""status": "resolved""#);
        match only(parse("issue", &body)) {
            Signal::Resolved {
                fingerprint,
                source_alert_id,
                at,
            } => {
                assert_eq!(fingerprint, "sentry-issue-1234567890");
                assert_eq!(source_alert_id, format!("{INSTALL}:1234567890:resolved"));
                assert_eq!(at.to_rfc3339(), "2026-11-23T10:00:30+00:00");
            }
            other => panic!("resolved expected, got {other:?}"),
        }
    }

    #[test]
    fn a_reopened_issue_fires_again_as_a_new_episode_of_the_same_problem() {
        let regressed = with_action(ISSUE_CREATED, "unresolved")
            .replace(r#""substatus": "new""#, r#""substatus": "regressed""#)
            .replace(
                r#""lastSeen": "2025-11-10T20:56:00.738000+00:00""#,
                r#""lastSeen": "2025-11-12T08:00:00.000000+00:00""#,
            );
        let Signal::Firing(a) = only(parse("issue", &regressed)) else {
            panic!("firing expected")
        };
        assert_eq!(a.fingerprint, "sentry-issue-1234567890");
        assert_eq!(
            a.alert_id,
            format!("{INSTALL}:1234567890:unresolved@1762934400000")
        );
        assert_ne!(a.alert_id, format!("{INSTALL}:1234567890:created"));
        assert_eq!(a.fired_at.to_rfc3339(), "2026-11-23T10:00:30+00:00");

        let again = regressed.replace("2025-11-12T08:00:00", "2025-11-14T08:00:00");
        let Signal::Firing(b) = only(parse("issue", &again)) else {
            panic!("firing expected")
        };
        assert_ne!(a.alert_id, b.alert_id, "each reopening is its own episode");
    }

    #[test]
    fn assigning_archiving_or_ignoring_an_issue_is_ignored_with_a_reason() {
        for action in ["assigned", "archived", "ignored", "something_new"] {
            let body = with_action(ISSUE_CREATED, action);
            match only(parse("issue", &body)) {
                Signal::Ignored { reason } => assert!(!reason.is_empty(), "{action}"),
                other => panic!("{action}: ignored expected, got {other:?}"),
            }
        }
    }

    #[test]
    fn a_triggered_issue_alert_fires_for_the_event_issue() {
        let Signal::Firing(a) = only(parse("event_alert", EVENT_ALERT)) else {
            panic!("firing expected")
        };
        assert_eq!(
            a.alert_id,
            "a8e5d37a-696c-4c54-adb5-b3f28d64c7de:1117540176:triggered:e4874d664c3540c1a32eab185f12c5ab"
        );
        assert_eq!(a.fingerprint, "sentry-issue-1117540176");
        assert_eq!(a.title, "ReferenceError: heck is not defined");
        assert_eq!(a.service.as_deref(), Some("front-end"));
        assert_eq!(a.environment.as_deref(), Some("production"));
        assert_eq!(a.severity, Severity::High);
        assert_eq!(a.fired_at.to_rfc3339(), "2019-08-19T21:06:17.677+00:00");
        assert_eq!(
            a.description.as_deref(),
            Some("Alert rule \"Very Important Alert Rule!\" triggered in ?(<anonymous>)")
        );
        assert!(a
            .url
            .as_deref()
            .is_some_and(|u| u.ends_with("/events/e4874d664c3540c1a32eab185f12c5ab/")));
    }

    #[test]
    fn an_issue_resolved_webhook_resolves_what_an_issue_alert_opened() {
        let Signal::Firing(fired) = only(parse("event_alert", EVENT_ALERT)) else {
            panic!("firing expected")
        };
        let resolved = with_action(ISSUE_CREATED, "resolved").replace("1234567890", "1117540176");
        let Signal::Resolved { fingerprint, .. } = only(parse("issue", &resolved)) else {
            panic!("resolved expected")
        };
        assert_eq!(fingerprint, fired.fingerprint);
    }

    #[test]
    fn the_send_test_notification_sample_event_is_accepted_and_ignored() {
        let body = r#"{
          "action": "triggered",
          "installation": {"uuid": "00000000-0000-0000-0000-000000000000"},
          "data": {
            "event": {
              "event_id": "00000000000000000000000000000000",
              "project": 1234567890123456,
              "platform": "other",
              "message": "This is an example exception",
              "datetime": "2026-02-02T06:06:01.944000Z",
              "tags": [["browser", "Chrome 99.0.0000"], ["level", "error"], ["sample_event", "yes"], ["user", "id:0"]],
              "culprit": "Test notification",
              "title": "TypeError: Object has no method 'updateFrom'",
              "web_url": "https://sentry.io/organizations/demo-org/issues/1234567890/events/00000000000000000000000000000000/",
              "issue_id": "1234567890"
            },
            "triggered_rule": "Error Monitor"
          },
          "actor": {"type": "application", "id": "sentry", "name": "Sentry"}
        }"#;
        assert!(matches!(
            only(parse("event_alert", body)),
            Signal::Ignored { .. }
        ));
    }

    #[test]
    fn a_metric_alert_fires_while_critical_or_warning_and_resolves_by_its_incident() {
        let Signal::Firing(critical) = only(parse("metric_alert", METRIC_CRITICAL)) else {
            panic!("firing expected")
        };
        assert_eq!(
            critical.alert_id,
            "a8e5d37a-696c-4c54-adb5-b3f28d64c7de:metric_alert:4:critical"
        );
        assert_eq!(critical.fingerprint, "sentry-metric-alert-4");
        assert_eq!(critical.title, "Critical: Too many errors");
        assert_eq!(critical.service.as_deref(), Some("bar"));
        assert_eq!(critical.environment.as_deref(), Some("production"));
        assert_eq!(critical.severity, Severity::Critical);
        assert_eq!(critical.fired_at.to_rfc3339(), "2020-09-13T12:26:40+00:00");
        assert_eq!(
            critical.description.as_deref(),
            Some("1000 events in the last 10 minutes\nFilter: level:error")
        );
        assert_eq!(
            critical.url.as_deref(),
            Some("https://sentry.io/organizations/baz/alerts/1/")
        );

        let warning = with_action(METRIC_CRITICAL, "warning")
            .replace("Critical: Too many errors", "Warning: Too many errors");
        let Signal::Firing(w) = only(parse("metric_alert", &warning)) else {
            panic!("firing expected")
        };
        assert_eq!(w.severity, Severity::Medium);
        assert_eq!(w.fingerprint, critical.fingerprint);
        assert_ne!(w.alert_id, critical.alert_id);

        let resolved = with_action(METRIC_CRITICAL, "resolved")
            .replace("Critical: Too many errors", "Resolved: Too many errors")
            .replace(
                r#""date_closed": null"#,
                r#""date_closed": "2020-09-13T12:46:40.000000Z""#,
            );
        match only(parse("metric_alert", &resolved)) {
            Signal::Resolved {
                fingerprint, at, ..
            } => {
                assert_eq!(fingerprint, "sentry-metric-alert-4");
                assert_eq!(at.to_rfc3339(), "2020-09-13T12:46:40+00:00");
            }
            other => panic!("resolved expected, got {other:?}"),
        }
    }

    #[test]
    fn installations_comments_errors_and_unknown_resources_are_ignored() {
        let installation = r#"{"action": "created", "actor": {"id": 1, "name": "Meredith Heller", "type": "user"},
          "data": {"installation": {"status": "installed", "organization": {"slug": "test-org", "id": 1},
            "app": {"uuid": "2ebf071f-28df-4989-aca9-c37c763b278f", "slug": "aurora", "sentryAppId": 1},
            "uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"}},
          "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"}}"#;
        let comment = r#"{"action": "created", "data": {"comment": "adding a comment", "project_slug": "sentry",
          "comment_id": 1234, "issue_id": 100, "timestamp": "2022-03-02T21:51:44.118160Z"},
          "installation": {"uuid": "eac5a0ae-60ec-418f-9318-46dc5e7e52ec"}, "actor": {"type": "user", "id": 1, "name": "colleen"}}"#;
        let error = r#"{"action": "created", "data": {"error": {"event_id": "e4874d664c3540c1a32eab185f12c5ab",
          "issue_id": "1117540176", "title": "ReferenceError: heck is not defined", "level": "error"}},
          "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"}}"#;
        let seer = r#"{"action": "root_cause_started", "data": {"run_id": 1, "group_id": 2},
          "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"}}"#;
        for (resource, body) in [
            ("installation", installation),
            ("comment", comment),
            ("error", error),
            ("seer", seer),
        ] {
            match only(parse(resource, body)) {
                Signal::Ignored { reason } => assert!(!reason.is_empty(), "{resource}"),
                other => panic!("{resource}: ignored expected, got {other:?}"),
            }
        }
    }

    #[test]
    fn without_the_resource_header_the_resource_is_read_from_the_data() {
        let h = headers(&[]);
        let parsed = Sentry
            .parse(&delivery(&h, METRIC_CRITICAL))
            .expect("parses");
        assert_eq!(parsed.delivery_id, None, "no Request-ID, no delivery id");
        assert!(
            matches!(&parsed.signals[..], [Signal::Firing(a)] if a.fingerprint == "sentry-metric-alert-4")
        );
        let parsed = Sentry.parse(&delivery(&h, EVENT_ALERT)).expect("parses");
        assert!(
            matches!(&parsed.signals[..], [Signal::Firing(a)] if a.fingerprint == "sentry-issue-1117540176")
        );
        let parsed = Sentry.parse(&delivery(&h, ISSUE_CREATED)).expect("parses");
        assert!(
            matches!(&parsed.signals[..], [Signal::Firing(a)] if a.fingerprint == "sentry-issue-1234567890")
        );
    }

    #[test]
    fn numeric_ids_are_accepted_like_string_ids() {
        let body = ISSUE_CREATED.replace(r#""id": "1234567890""#, r#""id": 1234567890"#);
        let Signal::Firing(a) = only(parse("issue", &body)) else {
            panic!("firing expected")
        };
        assert_eq!(a.fingerprint, "sentry-issue-1234567890");
    }

    #[test]
    fn malformed_payloads_are_refused_saying_why() {
        let cases = [
            ("issue", "not json".to_owned(), "invalid_json"),
            ("issue", r#"{"action": "created"#.to_owned(), "invalid_json"),
            ("issue", "[]".to_owned(), "invalid_payload"),
            ("issue", r#"{"data": {}}"#.to_owned(), "invalid_payload"),
            (
                "issue",
                r#"{"action": 7, "data": {}}"#.to_owned(),
                "invalid_payload",
            ),
            (
                "issue",
                r#"{"action": "created", "data": {}}"#.to_owned(),
                "invalid_payload",
            ),
            (
                "issue",
                ISSUE_CREATED.replace(r#""id": "1234567890","#, ""),
                "invalid_payload",
            ),
            (
                "issue",
                ISSUE_CREATED.replace(r#""id": "1234567890""#, r#""id": {"n": 1}"#),
                "invalid_payload",
            ),
            (
                "issue",
                ISSUE_CREATED.replace(
                    r#""title": "ZeroDivisionError: division by zero","#,
                    r#""title": ["x"],"#,
                ),
                "invalid_payload",
            ),
            (
                "event_alert",
                EVENT_ALERT.replace(r#""issue_id": "1117540176","#, ""),
                "invalid_payload",
            ),
            (
                "metric_alert",
                METRIC_CRITICAL.replace(r#""id": "4", "#, ""),
                "invalid_payload",
            ),
            (
                "metric_alert",
                r#"{"action": "critical", "data": {"metric_alert": "4"}}"#.to_owned(),
                "invalid_payload",
            ),
        ];
        for (resource, body, code) in cases {
            let h = headers(&[("sentry-hook-resource", resource)]);
            refuses_malformed(&Sentry, &h, "", &[(body, code)]);
        }
    }

    #[test]
    fn only_a_signature_of_this_body_with_the_client_secret_gets_in() {
        only_the_right_secret_gets_in(&Sentry, ISSUE_CREATED, "{}");
        let secret = b"7f1c2e5d9a0b4c3e8f6a1d2b3c4e5f60";
        let good = headers(&[("sentry-hook-signature", &sign(secret, ISSUE_CREATED))]);
        assert!(Sentry
            .verify(&delivery(&good, ISSUE_CREATED), secret)
            .is_ok());

        let wrong_secret = headers(&[(
            "sentry-hook-signature",
            &sign(b"another secret", ISSUE_CREATED),
        )]);
        let other_body = headers(&[("sentry-hook-signature", &sign(secret, EVENT_ALERT))]);
        let not_hex = headers(&[("sentry-hook-signature", "not-a-signature")]);
        let bearer = headers(&[("authorization", "Bearer 7f1c2e5d9a0b4c3e8f6a1d2b3c4e5f60")]);
        for bad in [wrong_secret, other_body, not_hex, bearer, headers(&[])] {
            assert!(matches!(
                Sentry.verify(&delivery(&bad, ISSUE_CREATED), secret),
                Err(Refusal::Unauthorized(_))
            ));
        }
        let tampered = ISSUE_CREATED.replace("fatal", "debug");
        assert!(matches!(
            Sentry.verify(&delivery(&good, &tampered), secret),
            Err(Refusal::Unauthorized(_))
        ));
    }

    #[test]
    fn setup_asks_for_the_client_secret_sentry_generates() {
        assert_eq!(Sentry.descriptor().secret_origin, SecretOrigin::Source);
        assert!(Sentry
            .descriptor()
            .kept_headers
            .contains(&"sentry-hook-resource"));
        let setup = Sentry.setup("https://aurora.example.com/webhooks/sentry/1", None);
        assert_eq!(setup.header, None, "Sentry signs deliveries itself");
        assert!(setup
            .steps
            .iter()
            .any(|s| s.contains("Internal Integration")));
    }
}
