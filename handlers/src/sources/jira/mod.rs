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
//! Medium / Normal → medium, Low / Minor / Lowest / Trivial → low, none → unknown. The service is
//! the first component (else a `service:` label, else the project); the environment an `env:` /
//! `environment:` label.
//!
//! Identity (SPEC: issue key): the fingerprint is `jira-issue-<KEY>`, the same for every event of
//! the issue, so moving it to done finds the incident. The alert id is the key plus the episode's
//! start (creation, or the reopening). The delivery id is Jira's `X-Atlassian-Webhook-Identifier`
//! (unchanged across retries) when present.

mod issue;
#[cfg(test)]
mod tests;

use aurora_domain::intake::Signal;
use chrono::{DateTime, TimeZone, Utc};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use self::issue::Issue;
use super::common::{json, non_blank, BEARER_SECRET};
use super::{Delivery, Parsed, Refusal, Source, SourceDescriptor};

pub struct Jira;

/// Jira Cloud's id of one delivery, the same on every retry.
const DELIVERY_HEADER: &str = "x-atlassian-webhook-identifier";

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

fn value_present(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(_) => true,
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
            && (value_present(i.from.as_ref()) || non_blank(i.from_string.as_deref()).is_some())
            && !value_present(i.to.as_ref())
            && non_blank(i.to_string.as_deref()).is_none())
            || (i.is("status")
                && non_blank(i.from_string.as_deref())
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
    kept_headers: &[DELIVERY_HEADER],
    ..SourceDescriptor::new(
        "jira",
        "Jira",
        BEARER_SECRET,
        "Project settings (or Settings → System → Global automation) → Automation → Create rule: trigger \"Work item created\" (add a second rule, or a branch, for \"Work item transitioned\" so closing a bug resolves its incident), optionally the condition \"Issue type is one of Bug, Incident, Problem, Defect\", then the action \"Send web request\" with method POST, web request body \"Issue data (Jira format)\" and the header below (Jira's admin WebHooks under Settings → System → WebHooks send the same issue events, but cannot add the header)",
    )
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
        let event = non_blank(payload.webhook_event.as_deref()).map(str::to_owned);
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
        Ok(Parsed::one(
            delivery.value(DELIVERY_HEADER).map(str::to_owned),
            signal,
        ))
    }
}
