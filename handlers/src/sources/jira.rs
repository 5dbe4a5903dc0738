//! Jira issues (Jira Cloud / Data Center webhooks, and Jira Automation's "Send web request").
//! Jira does not sign admin webhooks: authenticated by a bearer secret Aurora generates, sent as
//! `Authorization: Bearer <secret>` — an Automation rule's web request sets it as a header.
//!
//! Only issues of type Bug, Incident, Problem or Defect (case-insensitive; Jira Service
//! Management's `[System] Incident` / `[System] Problem` count) are acted on; any other type is
//! ignored. One delivery is about one issue:
//! - `jira:issue_created` → firing (ignored if it was created already done);
//! - `jira:issue_updated` whose changelog moves the status into the `done` status category →
//!   resolved; one that reopens it (the resolution cleared, or the status moved out of a
//!   done-like status) → firing again, a new episode; one that turns the issue into a tracked
//!   type → firing; any other update → ignored;
//! - no `webhookEvent` (Automation's "Issue data (Jira format)" `{"issue": …}` or "Automation
//!   format" — the issue itself): the issue's state — done → resolved, else firing;
//! - `jira:issue_deleted`, comments, worklogs, sprints and every other event → ignored.
//!
//! Severity follows the priority: Highest / Blocker / Critical → critical, High / Major → high,
//! Medium / Normal → medium, Low / Minor / Lowest / Trivial → low, none → medium. The service is
//! the first component (else a `service:` label, else the project); the environment an `env:` /
//! `environment:` label.
//!
//! Identity (SPEC: issue key): the fingerprint is `jira-issue-<KEY>`, the same for every event of
//! the issue, so moving it to done finds the incident. The alert id is the key plus the episode's
//! start (creation, or the reopening). The delivery id is Jira's `X-Atlassian-Webhook-Identifier`
//! (unchanged across retries) when present.

use aurora_domain::intake::{FiringAlert, Signal};
use aurora_domain::Severity;
use chrono::{DateTime, TimeZone, Utc};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use super::common::{json, severity_from, BEARER_SECRET};
use super::{Delivery, Parsed, Refusal, SecretOrigin, Source, SourceDescriptor};

pub struct Jira;

/// Jira Cloud's id of one delivery, the same on every retry.
const DELIVERY_HEADER: &str = "x-atlassian-webhook-identifier";

/// The issue types that open incidents (lower case, without a `[System]` prefix).
const TRACKED_TYPES: &[&str] = &["bug", "incident", "problem", "defect"];

/// Status names that mean an issue was finished, for telling a reopening from a move between
/// open statuses (the changelog names statuses, not their categories).
const DONE_LIKE: &[&str] = &[
    "done",
    "closed",
    "resolved",
    "fixed",
    "complete",
    "completed",
    "cancelled",
    "canceled",
    "won't fix",
    "declined",
];

/// The envelope; `issue` and `changelog` are read only for the events acted on, so an event
/// Aurora ignores is never refused for their shape.
#[derive(Debug, Deserialize)]
struct Payload {
    #[serde(default, rename = "webhookEvent")]
    webhook_event: Option<String>,
    #[serde(default)]
    issue: Option<Value>,
    #[serde(default)]
    changelog: Option<Value>,
    /// Epoch milliseconds.
    #[serde(default)]
    timestamp: Option<Value>,
    /// Automation format: the issue itself.
    #[serde(default)]
    key: Option<Value>,
    #[serde(default)]
    fields: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Issue {
    key: String,
    #[serde(default, rename = "self")]
    self_url: Option<String>,
    fields: Fields,
}

#[derive(Debug, Default, Deserialize)]
struct Fields {
    #[serde(default)]
    issuetype: Option<Named>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    priority: Option<Named>,
    #[serde(default)]
    status: Option<Status>,
    #[serde(default)]
    components: Option<Vec<Named>>,
    #[serde(default)]
    labels: Option<Vec<String>>,
    #[serde(default)]
    project: Option<Project>,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    resolutiondate: Option<String>,
    /// Wiki text (REST v2) or an Atlassian Document Format tree (v3).
    #[serde(default)]
    description: Option<Value>,
    /// The Environment system field (free text).
    #[serde(default)]
    environment: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Named {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Status {
    #[serde(default, rename = "statusCategory")]
    category: Option<Category>,
}

#[derive(Debug, Deserialize)]
struct Category {
    #[serde(default)]
    key: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Project {
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Changelog {
    #[serde(default)]
    items: Option<Vec<ChangeItem>>,
}

#[derive(Debug, Deserialize)]
struct ChangeItem {
    #[serde(default)]
    field: Option<String>,
    #[serde(default, rename = "fieldId")]
    field_id: Option<String>,
    #[serde(default)]
    from: Option<Value>,
    #[serde(default, rename = "fromString")]
    from_string: Option<String>,
    #[serde(default)]
    to: Option<Value>,
    #[serde(default, rename = "toString")]
    to_string: Option<String>,
}

impl ChangeItem {
    fn is(&self, name: &str) -> bool {
        self.field_id
            .as_deref()
            .or(self.field.as_deref())
            .is_some_and(|f| f.eq_ignore_ascii_case(name))
    }
}

fn nonempty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

fn value_present(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(_) => true,
    }
}

/// Jira writes `2026-11-23T10:00:00.000+0000`.
fn jira_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// The text of an Atlassian Document Format tree.
fn adf_text(node: &Value, out: &mut String) {
    if let Some(text) = node.get("text").and_then(Value::as_str) {
        out.push_str(text);
    }
    if let Some(children) = node.get("content").and_then(Value::as_array) {
        for child in children {
            adf_text(child, out);
        }
    }
    let block = matches!(
        node.get("type").and_then(Value::as_str),
        Some("paragraph" | "heading" | "listItem" | "codeBlock" | "blockquote")
    );
    if block && !out.ends_with('\n') {
        out.push('\n');
    }
}

fn text_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => nonempty(Some(s)).map(str::to_owned),
        node @ Value::Object(_) => {
            let mut out = String::new();
            adf_text(node, &mut out);
            nonempty(Some(&out)).map(str::to_owned)
        }
        _ => None,
    }
}

fn priority_severity(name: &str) -> Severity {
    match name.trim().to_ascii_lowercase().as_str() {
        "highest" | "blocker" | "critical" | "urgent" => Severity::Critical,
        "high" | "major" => Severity::High,
        "medium" | "normal" => Severity::Medium,
        "low" | "minor" | "lowest" | "trivial" => Severity::Low,
        other => severity_from(other),
    }
}

/// `label` is `<prefix>:<value>` for one of `prefixes`.
fn labelled(labels: &[String], prefixes: &[&str]) -> Option<String> {
    labels.iter().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        prefixes
            .iter()
            .any(|p| k.trim().eq_ignore_ascii_case(p))
            .then(|| nonempty(Some(v)).map(str::to_owned))
            .flatten()
    })
}

impl Issue {
    /// The type's name in lower case, without Jira Service Management's `[System] ` prefix.
    fn kind(&self) -> String {
        let name = self
            .fields
            .issuetype
            .as_ref()
            .and_then(|t| nonempty(t.name.as_deref()))
            .unwrap_or("");
        let name = match name.strip_prefix('[') {
            Some(rest) => rest.split_once(']').map_or(rest, |(_, n)| n),
            None => name,
        };
        name.trim().to_ascii_lowercase()
    }

    fn tracked(&self) -> bool {
        TRACKED_TYPES.contains(&self.kind().as_str())
    }

    fn done(&self) -> bool {
        self.fields
            .status
            .as_ref()
            .and_then(|s| s.category.as_ref())
            .and_then(|c| c.key.as_deref())
            .is_some_and(|k| k.eq_ignore_ascii_case("done"))
    }

    fn fingerprint(&self) -> String {
        format!("jira-issue-{}", self.key)
    }

    fn created(&self) -> Option<DateTime<Utc>> {
        self.fields.created.as_deref().and_then(jira_time)
    }

    fn labels(&self) -> &[String] {
        self.fields.labels.as_deref().unwrap_or_default()
    }

    fn service(&self) -> Option<String> {
        self.fields
            .components
            .iter()
            .flatten()
            .find_map(|c| nonempty(c.name.as_deref()))
            .map(str::to_owned)
            .or_else(|| labelled(self.labels(), &["service"]))
            .or_else(|| {
                self.fields.project.as_ref().and_then(|p| {
                    nonempty(p.name.as_deref())
                        .or(nonempty(p.key.as_deref()))
                        .map(str::to_owned)
                })
            })
    }

    fn environment(&self) -> Option<String> {
        labelled(self.labels(), &["env", "environment"]).or_else(|| {
            // The Environment field is free text: only a short, one-line value names one.
            text_of(self.fields.environment.as_ref())
                .filter(|e| e.chars().count() <= 40 && !e.contains('\n'))
        })
    }

    /// The issue's page: `https://<site>/browse/<KEY>`, from its REST `self` link.
    fn url(&self) -> Option<String> {
        let (base, _) = self.self_url.as_deref()?.split_once("/rest/api/")?;
        base.starts_with("http")
            .then(|| format!("{}/browse/{}", base.trim_end_matches('/'), self.key))
    }

    fn firing(&self, episode: DateTime<Utc>) -> Signal {
        const MAX_DESCRIPTION: usize = 4000;
        let description = text_of(self.fields.description.as_ref()).map(|d| {
            match d.char_indices().nth(MAX_DESCRIPTION) {
                Some((cut, _)) => format!("{}…", &d[..cut]),
                None => d,
            }
        });
        Signal::Firing(FiringAlert {
            alert_id: format!("{}@{}", self.key, episode.timestamp()),
            fingerprint: self.fingerprint(),
            title: match nonempty(self.fields.summary.as_deref()) {
                Some(summary) => format!("[{}] {summary}", self.key),
                None => format!("[{}]", self.key),
            },
            service: self.service(),
            environment: self.environment(),
            severity: self
                .fields
                .priority
                .as_ref()
                .and_then(|p| nonempty(p.name.as_deref()))
                .map_or(Severity::Medium, priority_severity),
            fired_at: episode,
            description,
            url: self.url(),
        })
    }

    fn resolved(&self, at: DateTime<Utc>) -> Signal {
        Signal::Resolved {
            fingerprint: self.fingerprint(),
            source_alert_id: self.key.clone(),
            at: self
                .fields
                .resolutiondate
                .as_deref()
                .and_then(jira_time)
                .unwrap_or(at),
        }
    }
}

fn read<T: DeserializeOwned>(what: &str, value: Value) -> Result<T, Refusal> {
    serde_json::from_value(value).map_err(|e| {
        Refusal::bad(
            "invalid_payload",
            format!("not a Jira webhook payload: `{what}`: {e}"),
        )
    })
}

/// The changelog reopens the issue: its resolution cleared, or its status moved out of a
/// done-like status.
fn reopens(items: &[ChangeItem]) -> bool {
    items.iter().any(|i| {
        (i.is("resolution")
            && (value_present(i.from.as_ref()) || nonempty(i.from_string.as_deref()).is_some())
            && !value_present(i.to.as_ref())
            && nonempty(i.to_string.as_deref()).is_none())
            || (i.is("status")
                && nonempty(i.from_string.as_deref())
                    .is_some_and(|s| DONE_LIKE.contains(&s.to_ascii_lowercase().as_str())))
    })
}

impl Jira {
    fn updated(&self, issue: &Issue, changelog: &Changelog, at: DateTime<Utc>) -> Signal {
        let items = changelog.items.as_deref().unwrap_or_default();
        let status_changed = items.iter().any(|i| i.is("status"));
        let type_changed = items.iter().any(|i| i.is("issuetype"));
        let done = issue.done();
        if status_changed && done {
            issue.resolved(at)
        } else if status_changed && reopens(items) {
            issue.firing(at)
        } else if type_changed && !done {
            issue.firing(issue.created().unwrap_or(at))
        } else {
            Signal::Ignored {
                reason: format!(
                    "an update to Jira issue {} that neither resolves nor reopens it",
                    issue.key
                ),
            }
        }
    }
}

const DESCRIPTOR: SourceDescriptor = SourceDescriptor {
    name: "jira",
    title: "Jira",
    auth: BEARER_SECRET,
    secret_origin: SecretOrigin::Aurora,
    rca_by_default: true,
    kept_headers: &[DELIVERY_HEADER],
    where_to_configure: "Project settings (or Settings → System → Global automation) → Automation → Create rule: trigger \"Work item created\" (add a second rule, or a branch, for \"Work item transitioned\" so closing a bug resolves its incident), optionally the condition \"Issue type is one of Bug, Incident, Problem, Defect\", then the action \"Send web request\" with method POST, web request body \"Issue data (Jira format)\" and the header below (Jira's admin WebHooks under Settings → System → WebHooks send the same issue events, but cannot add the header)",
};

impl Source for Jira {
    fn descriptor(&self) -> &'static SourceDescriptor {
        &DESCRIPTOR
    }

    fn parse(&self, delivery: &Delivery<'_>) -> Result<Parsed, Refusal> {
        let payload: Payload = json("Jira", delivery.body)?;
        let at = payload
            .timestamp
            .as_ref()
            .and_then(Value::as_i64)
            .filter(|ms| *ms > 0)
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
            .unwrap_or(delivery.received_at);
        let event = nonempty(payload.webhook_event.as_deref()).map(str::to_owned);
        let acted_on = matches!(
            event.as_deref(),
            None | Some("jira:issue_created" | "jira:issue_updated")
        );
        let signal = if !acted_on {
            Signal::Ignored {
                reason: match event.as_deref() {
                    Some("jira:issue_deleted") => {
                        "a deleted Jira issue: its incident is left as it is".into()
                    }
                    Some(other) => format!("Jira event {other:?} is not acted on"),
                    None => "not a Jira issue event".into(),
                },
            }
        } else {
            let issue: Issue = match payload.issue {
                Some(issue) => read("issue", issue)?,
                // Automation format: the body is the issue.
                None if payload.key.is_some() || payload.fields.is_some() => {
                    json("Jira", delivery.body)?
                }
                None => {
                    return Err(Refusal::bad(
                        "invalid_payload",
                        "a Jira issue webhook needs `issue` (or the issue itself, with `key` and `fields`)",
                    ))
                }
            };
            if !issue.tracked() {
                Signal::Ignored {
                    reason: format!(
                        "Jira issue {} is of type {:?}; only bugs, incidents, problems and defects open incidents",
                        issue.key,
                        issue.kind()
                    ),
                }
            } else {
                match event.as_deref() {
                    Some("jira:issue_created") if issue.done() => Signal::Ignored {
                        reason: format!("Jira issue {} was created already done", issue.key),
                    },
                    Some("jira:issue_created") => issue.firing(issue.created().unwrap_or(at)),
                    Some(_) => {
                        let changelog: Changelog = match payload.changelog {
                            Some(Value::Null) | None => Changelog::default(),
                            Some(c) => read("changelog", c)?,
                        };
                        self.updated(&issue, &changelog, at)
                    }
                    None if issue.done() => issue.resolved(at),
                    None => issue.firing(issue.created().unwrap_or(at)),
                }
            }
        };
        Ok(Parsed {
            delivery_id: delivery.value(DELIVERY_HEADER).map(str::to_owned),
            signals: vec![signal],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::common::tests_support::*;

    /// A Jira Cloud `jira:issue_created` webhook (trimmed to the fields that matter, with
    /// the shapes Jira sends).
    const CREATED: &str = r#"{
      "timestamp": 1795428000123,
      "webhookEvent": "jira:issue_created",
      "issue_event_type_name": "issue_created",
      "user": {"self": "https://acme.atlassian.net/rest/api/2/user?accountId=5b10a2844c20165700ede21g", "accountId": "5b10a2844c20165700ede21g", "displayName": "Dana Ops", "active": true},
      "issue": {
        "id": "10042",
        "self": "https://acme.atlassian.net/rest/api/2/issue/10042",
        "key": "OPS-42",
        "fields": {
          "issuetype": {"self": "https://acme.atlassian.net/rest/api/2/issuetype/10004", "id": "10004", "name": "Bug", "subtask": false},
          "project": {"self": "https://acme.atlassian.net/rest/api/2/project/10000", "id": "10000", "key": "OPS", "name": "Operations"},
          "summary": "Checkout returns 502 for EU customers",
          "priority": {"self": "https://acme.atlassian.net/rest/api/2/priority/2", "name": "High", "id": "2"},
          "status": {"self": "https://acme.atlassian.net/rest/api/2/status/10000", "name": "To Do", "id": "10000", "statusCategory": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"}},
          "components": [{"self": "https://acme.atlassian.net/rest/api/2/component/10001", "id": "10001", "name": "checkout"}],
          "labels": ["env:prod", "customer-impact"],
          "created": "2026-11-23T09:59:00.000+0000",
          "updated": "2026-11-23T09:59:00.000+0000",
          "resolutiondate": null,
          "description": "Since 09:50 UTC every EU checkout fails with 502.",
          "environment": null
        }
      }
    }"#;

    fn parse_with(body: &str, pairs: &[(&str, &str)]) -> Parsed {
        let h = headers(pairs);
        Jira.parse(&delivery(&h, body)).expect("parses")
    }

    fn one(body: &str) -> Signal {
        let parsed = parse_with(body, &[]);
        assert_eq!(parsed.signals.len(), 1);
        parsed.signals.into_iter().next().expect("one signal")
    }

    /// CREATED as an update with `changelog` items, in status `status` of category `category`.
    fn updated(status: &str, category: &str, items: &str) -> String {
        CREATED
            .replace("jira:issue_created", "jira:issue_updated")
            .replace(
                r#""name": "To Do", "id": "10000", "statusCategory": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"}"#,
                &format!(r#""name": "{status}", "id": "10001", "statusCategory": {{"id": 3, "key": "{category}", "name": "{status}"}}"#),
            )
            .replace(
                r#""webhookEvent": "jira:issue_updated","#,
                &format!(r#""webhookEvent": "jira:issue_updated", "changelog": {{"id": "10200", "items": {items}}},"#),
            )
    }

    #[test]
    fn a_created_bug_fires_one_alert() {
        let parsed = parse_with(
            CREATED,
            &[(
                "x-atlassian-webhook-identifier",
                "4d6e7f60-1b2c-4a3d-9e8f-0a1b2c3d4e5f",
            )],
        );
        assert_eq!(
            parsed.delivery_id.as_deref(),
            Some("4d6e7f60-1b2c-4a3d-9e8f-0a1b2c3d4e5f")
        );
        let Signal::Firing(a) = &parsed.signals[0] else {
            panic!("firing expected: {:?}", parsed.signals)
        };
        assert_eq!(a.fingerprint, "jira-issue-OPS-42");
        assert_eq!(a.alert_id, "OPS-42@1795427940");
        assert_eq!(a.title, "[OPS-42] Checkout returns 502 for EU customers");
        assert_eq!(a.service.as_deref(), Some("checkout"));
        assert_eq!(a.environment.as_deref(), Some("prod"));
        assert_eq!(a.severity, Severity::High);
        assert_eq!(a.fired_at.to_rfc3339(), "2026-11-23T09:59:00+00:00");
        assert_eq!(
            a.description.as_deref(),
            Some("Since 09:50 UTC every EU checkout fails with 502.")
        );
        assert_eq!(
            a.url.as_deref(),
            Some("https://acme.atlassian.net/browse/OPS-42")
        );
    }

    #[test]
    fn without_the_delivery_header_the_body_is_the_identity() {
        assert_eq!(parse_with(CREATED, &[]).delivery_id, None);
        assert_eq!(
            Jira.descriptor().kept_headers,
            &["x-atlassian-webhook-identifier"]
        );
    }

    #[test]
    fn incidents_problems_and_defects_are_tracked_whatever_the_case() {
        for kind in [
            "Incident",
            "[System] Incident",
            "[System] Problem",
            "DEFECT",
            "bug",
        ] {
            let body = CREATED.replace(r#""name": "Bug""#, &format!(r#""name": "{kind}""#));
            assert!(matches!(one(&body), Signal::Firing(_)), "{kind}");
        }
    }

    #[test]
    fn other_issue_types_are_ignored() {
        for kind in [
            "Story",
            "Task",
            "Epic",
            "[System] Service request",
            "Sub-task",
        ] {
            let body = CREATED.replace(r#""name": "Bug""#, &format!(r#""name": "{kind}""#));
            assert!(
                matches!(one(&body), Signal::Ignored { reason } if reason.contains("OPS-42")),
                "{kind}"
            );
        }
    }

    #[test]
    fn priorities_map_onto_severities() {
        for (priority, expected) in [
            ("Highest", Severity::Critical),
            ("Blocker", Severity::Critical),
            ("High", Severity::High),
            ("Major", Severity::High),
            ("Medium", Severity::Medium),
            ("Low", Severity::Low),
            ("Lowest", Severity::Low),
            ("P1", Severity::Critical),
        ] {
            let body = CREATED.replace(r#""name": "High""#, &format!(r#""name": "{priority}""#));
            let Signal::Firing(a) = one(&body) else {
                panic!("firing expected")
            };
            assert_eq!(a.severity, expected, "{priority}");
        }
        let body = CREATED.replace(
            r#""priority": {"self": "https://acme.atlassian.net/rest/api/2/priority/2", "name": "High", "id": "2"},"#,
            r#""priority": null,"#,
        );
        let Signal::Firing(a) = one(&body) else {
            panic!("firing expected")
        };
        assert_eq!(a.severity, Severity::Medium, "no priority: medium");
    }

    #[test]
    fn moving_to_done_resolves_the_issue() {
        let body = updated(
            "Done",
            "done",
            r#"[{"field": "resolution", "fieldtype": "jira", "fieldId": "resolution", "from": null, "fromString": null, "to": "10000", "toString": "Done"}, {"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "10000", "fromString": "To Do", "to": "10001", "toString": "Done"}]"#,
        )
        .replace(
            r#""resolutiondate": null"#,
            r#""resolutiondate": "2026-11-23T10:20:00.000+0000""#,
        );
        match one(&body) {
            Signal::Resolved {
                fingerprint,
                source_alert_id,
                at,
            } => {
                assert_eq!(fingerprint, "jira-issue-OPS-42");
                assert_eq!(source_alert_id, "OPS-42");
                assert_eq!(at.to_rfc3339(), "2026-11-23T10:20:00+00:00");
            }
            other => panic!("resolved expected, got {other:?}"),
        }
    }

    #[test]
    fn reopening_fires_a_new_episode_of_the_same_issue() {
        let body = updated(
            "To Do",
            "new",
            r#"[{"field": "resolution", "fieldtype": "jira", "fieldId": "resolution", "from": "10000", "fromString": "Done", "to": null, "toString": null}, {"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "10001", "fromString": "Done", "to": "10000", "toString": "To Do"}]"#,
        );
        let Signal::Firing(reopened) = one(&body) else {
            panic!("firing expected")
        };
        let Signal::Firing(first) = one(CREATED) else {
            panic!("firing expected")
        };
        assert_eq!(reopened.fingerprint, first.fingerprint);
        assert_ne!(reopened.alert_id, first.alert_id);
        assert_eq!(
            reopened.alert_id, "OPS-42@1795428000",
            "the reopening's time"
        );
    }

    #[test]
    fn moving_between_open_statuses_and_other_edits_are_ignored() {
        for items in [
            r#"[{"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "10000", "fromString": "To Do", "to": "3", "toString": "In Progress"}]"#,
            r#"[{"field": "priority", "fieldtype": "jira", "fieldId": "priority", "from": "3", "fromString": "Medium", "to": "2", "toString": "High"}]"#,
            r#"[]"#,
        ] {
            let body = updated("In Progress", "indeterminate", items);
            assert!(
                matches!(one(&body), Signal::Ignored { .. }),
                "{items} should be ignored"
            );
        }
    }

    #[test]
    fn turning_an_issue_into_a_bug_fires() {
        let body = updated(
            "To Do",
            "new",
            r#"[{"field": "issuetype", "fieldtype": "jira", "fieldId": "issuetype", "from": "10002", "fromString": "Task", "to": "10004", "toString": "Bug"}]"#,
        );
        let Signal::Firing(a) = one(&body) else {
            panic!("firing expected")
        };
        assert_eq!(a.alert_id, "OPS-42@1795427940", "the issue's creation");
    }

    #[test]
    fn a_bug_created_already_done_is_ignored() {
        let body = CREATED.replace(r#""key": "new""#, r#""key": "done""#);
        assert!(matches!(one(&body), Signal::Ignored { reason } if reason.contains("done")));
    }

    #[test]
    fn other_events_are_ignored() {
        let comment = CREATED
            .replace("jira:issue_created", "comment_created")
            .replace(
                r#""timestamp": 1795428000123,"#,
                r#""timestamp": 1795428000123, "comment": {"id": "10100", "body": "Looking into it"},"#,
            );
        let deleted = CREATED.replace("jira:issue_created", "jira:issue_deleted");
        for body in [
            comment.as_str(),
            deleted.as_str(),
            r#"{"timestamp": 1795428000123, "webhookEvent": "jira:version_released", "version": {"id": "10000", "name": "2.4.0", "released": true}}"#,
            r#"{"timestamp": 1795428000123, "webhookEvent": "sprint_started", "sprint": {"id": 5, "state": "active"}}"#,
            r#"{"webhookEvent": "comment_created", "issue": {"unexpected": "shape"}}"#,
        ] {
            assert!(
                matches!(one(body), Signal::Ignored { .. }),
                "{body} should be ignored"
            );
        }
    }

    #[test]
    fn automation_jira_format_fires_and_resolves_by_state() {
        // "Send web request" with body "Issue data (Jira format)": no webhookEvent, numeric ids.
        let open = r#"{"issue": {"self": "https://acme.atlassian.net/rest/api/2/issue/11111", "id": 11111, "key": "SP-53", "changelog": {"startAt": 0, "maxResults": 0, "total": 0, "histories": null}, "fields": {"statuscategorychangedate": "2026-11-23T09:58:00.000+0530", "issuetype": {"id": 22222, "name": "[System] Incident", "subtask": false, "namedValue": "[System] Incident"}, "project": {"id": 10002, "key": "SP", "name": "Service Project"}, "priority": {"name": "Highest", "id": "1"}, "status": {"name": "Work in progress", "statusCategory": {"id": 4, "key": "indeterminate"}}, "summary": "Payments API down", "components": [], "labels": [], "created": "2026-11-23T15:28:00.000+0530", "description": {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "All card payments fail."}]}, {"type": "paragraph", "content": [{"type": "text", "text": "Started 09:55."}]}]}}}}"#;
        let Signal::Firing(a) = one(open) else {
            panic!("firing expected")
        };
        assert_eq!(a.fingerprint, "jira-issue-SP-53");
        assert_eq!(a.alert_id, "SP-53@1795427880");
        assert_eq!(a.service.as_deref(), Some("Service Project"));
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(
            a.description.as_deref(),
            Some("All card payments fail.\nStarted 09:55.")
        );
        assert_eq!(
            a.url.as_deref(),
            Some("https://acme.atlassian.net/browse/SP-53")
        );
        let done = open.replace(
            r#"{"name": "Work in progress", "statusCategory": {"id": 4, "key": "indeterminate"}}"#,
            r#"{"name": "Resolved", "statusCategory": {"id": 3, "key": "done"}}"#,
        );
        assert!(matches!(
            one(&done),
            Signal::Resolved { fingerprint, .. } if fingerprint == "jira-issue-SP-53"
        ));
    }

    #[test]
    fn automation_format_the_bare_issue_is_understood() {
        let bare = r#"{"self": "https://acme.atlassian.net/rest/api/2/issue/11112", "id": 11112, "key": "OPS-7", "changelog": {"startAt": 0, "maxResults": 0, "total": 0, "histories": null}, "fields": {"issuetype": {"id": 10004, "name": "Bug"}, "project": {"key": "OPS", "name": "Operations"}, "status": {"name": "Open", "statusCategory": {"key": "new"}}, "summary": "Login slow", "labels": ["service:auth"], "created": "2026-11-23T10:00:00.000+0000"}}"#;
        let Signal::Firing(a) = one(bare) else {
            panic!("firing expected")
        };
        assert_eq!(a.fingerprint, "jira-issue-OPS-7");
        assert_eq!(a.service.as_deref(), Some("auth"));
        assert_eq!(a.title, "[OPS-7] Login slow");
    }

    #[test]
    fn malformed_payloads_are_refused_saying_why() {
        let h = headers(&[]);
        refuses_malformed(
            &Jira,
            &h,
            "",
            &[
                ("not json", "invalid_json"),
                ("{}", "invalid_payload"),
                (r#"{"webhookEvent": 5}"#, "invalid_payload"),
                (
                    r#"{"webhookEvent": "jira:issue_created"}"#,
                    "invalid_payload",
                ),
                (
                    r#"{"webhookEvent": "jira:issue_created", "issue": {"fields": {}}}"#,
                    "invalid_payload",
                ),
                (
                    r#"{"webhookEvent": "jira:issue_created", "issue": {"key": "A-1"}}"#,
                    "invalid_payload",
                ),
                (
                    r#"{"webhookEvent": "jira:issue_created", "issue": {"key": "A-1", "fields": {"summary": 5}}}"#,
                    "invalid_payload",
                ),
                (
                    r#"{"webhookEvent": "jira:issue_updated", "changelog": {"items": "many"}, "issue": {"key": "A-1", "fields": {"issuetype": {"name": "Bug"}}}}"#,
                    "invalid_payload",
                ),
                (r#"{"key": "A-1", "fields": "x"}"#, "invalid_payload"),
            ],
        );
    }

    #[test]
    fn only_the_right_bearer_secret_gets_in() {
        only_the_right_secret_gets_in(&Jira, CREATED, "{}");
        let good = headers(&[("authorization", "Bearer s3cret")]);
        assert!(Jira.verify(&delivery(&good, CREATED), b"s3cret").is_ok());
        for bad in [
            headers(&[("authorization", "Bearer wrong")]),
            headers(&[("authorization", "bearer s3cret")]),
            headers(&[("authorization", "s3cret")]),
            headers(&[("x-atlassian-webhook-identifier", "abc")]),
            headers(&[]),
        ] {
            assert!(matches!(
                Jira.verify(&delivery(&bad, CREATED), b"s3cret"),
                Err(Refusal::Unauthorized(_))
            ));
        }
    }

    #[test]
    fn rca_starts_by_default_and_setup_names_the_header() {
        assert!(Jira.descriptor().rca_by_default);
        let setup = Jira.setup("https://aurora.example.com/webhooks/jira/x", Some("abc"));
        assert_eq!(setup.header_value.as_deref(), Some("Bearer abc"));
    }
}
