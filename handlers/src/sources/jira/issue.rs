//! A Jira issue as a webhook carries it, and what it says: tracked or not, done or not, its
//! service, environment and severity, and the firing or resolved signal it makes.

use aurora_domain::intake::{FiringAlert, Signal};
use aurora_domain::Severity;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::sources::common::{non_blank, severity_from};

/// The issue types that open incidents (lower case, without a `[System]` prefix).
const TRACKED_TYPES: &[&str] = &["bug", "incident", "problem", "defect"];

#[derive(Debug, Deserialize)]
pub(super) struct Issue {
    pub(super) key: String,
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
        Value::String(s) => non_blank(Some(s)).map(str::to_owned),
        node @ Value::Object(_) => {
            let mut out = String::new();
            adf_text(node, &mut out);
            non_blank(Some(&out)).map(str::to_owned)
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
            .then(|| non_blank(Some(v)).map(str::to_owned))
            .flatten()
    })
}

impl Issue {
    /// The type's name in lower case, without Jira Service Management's `[System] ` prefix.
    pub(super) fn kind(&self) -> String {
        let name = self
            .fields
            .issuetype
            .as_ref()
            .and_then(|t| non_blank(t.name.as_deref()))
            .unwrap_or("");
        let name = match name.strip_prefix('[') {
            Some(rest) => rest.split_once(']').map_or(rest, |(_, n)| n),
            None => name,
        };
        name.trim().to_ascii_lowercase()
    }

    pub(super) fn tracked(&self) -> bool {
        TRACKED_TYPES.contains(&self.kind().as_str())
    }

    pub(super) fn done(&self) -> bool {
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

    pub(super) fn created(&self) -> Option<DateTime<Utc>> {
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
            .find_map(|c| non_blank(c.name.as_deref()))
            .map(str::to_owned)
            .or_else(|| labelled(self.labels(), &["service"]))
            .or_else(|| {
                self.fields.project.as_ref().and_then(|p| {
                    non_blank(p.name.as_deref())
                        .or(non_blank(p.key.as_deref()))
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

    pub(super) fn firing(&self, episode: DateTime<Utc>) -> Signal {
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
            title: match non_blank(self.fields.summary.as_deref()) {
                Some(summary) => format!("[{}] {summary}", self.key),
                None => format!("[{}]", self.key),
            },
            service: self.service(),
            environment: self.environment(),
            severity: self
                .fields
                .priority
                .as_ref()
                .and_then(|p| non_blank(p.name.as_deref()))
                .map_or(Severity::Unknown, priority_severity),
            fired_at: episode,
            description,
            url: self.url(),
            placement: Default::default(),
        })
    }

    pub(super) fn resolved(&self, at: DateTime<Utc>) -> Signal {
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
