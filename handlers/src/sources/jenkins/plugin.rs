//! The Notification plugin's job state (`{name, url, build: {number, phase, status, full_url,
//! scm, parameters, log, notes, test_summary, …}}`), read into an [`Outcome`].

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{non_empty, refuse, BuildNumber, Outcome, Payload};
use crate::sources::common::{non_blank_owned, parameters};
use crate::sources::Refusal;

/// The only Notification plugin phase acted on.
const FINAL_PHASE: &str = "FINALIZED";

/// How much of the build log's tail goes into an alert's description.
pub(super) const LOG_TAIL: usize = 2_000;

#[derive(Debug, Deserialize)]
pub(super) struct Build {
    #[serde(default)]
    number: Option<BuildNumber>,
    #[serde(default)]
    full_url: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    phase: Option<String>,
    #[serde(default)]
    status: Option<String>,
    /// `2026-11-23T09:58:41.512+00:00` (plugin 1.13+) or epoch milliseconds (older).
    #[serde(default)]
    timestamp: Option<Value>,
    #[serde(default)]
    scm: Option<Scm>,
    #[serde(default)]
    parameters: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    log: Option<String>,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    test_summary: Option<TestSummary>,
}

#[derive(Debug, Deserialize)]
struct Scm {
    #[serde(default)]
    branch: Option<String>,
    #[serde(default)]
    commit: Option<String>,
    #[serde(default)]
    culprits: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct TestSummary {
    #[serde(default)]
    total: Option<u64>,
    #[serde(default)]
    failed: Option<u64>,
    #[serde(default)]
    failed_tests: Option<Vec<String>>,
}

/// `%20` and friends, as Jenkins encodes job names in URLs.
pub(super) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The job's full name from its URL: `job/shop/job/checkout/job/main/` → `shop/checkout/main`
/// (the plugin's `name` is only the last part, `main` for every multibranch job).
pub(super) fn job_from_url(url: &str) -> Option<String> {
    let segments: Vec<&str> = url.split('/').collect();
    let mut names = Vec::new();
    let mut i = 0;
    while i < segments.len() {
        match segments.get(i + 1) {
            Some(name) if segments[i] == "job" && !name.is_empty() => {
                names.push(percent_decode(name));
                i += 2;
            }
            _ => i += 1,
        }
    }
    (!names.is_empty()).then(|| names.join("/"))
}

/// A build parameter, whatever its case (`SERVICE`, `service`).
fn parameter(params: Option<&BTreeMap<String, Value>>, names: &[&str]) -> Option<String> {
    parameters(params, names).find_map(|v| non_blank_owned(v.as_str()))
}

fn timestamp(value: Option<&Value>) -> Option<DateTime<Utc>> {
    match value? {
        Value::String(s) => DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        Value::Number(n) => n
            .as_i64()
            .filter(|ms| *ms > 0)
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single()),
        _ => None,
    }
}

/// The last `max` bytes of `s` (on a character boundary), from the start of a line if it can.
fn tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    let cut = &s[start..];
    cut.find('\n').map_or(cut, |nl| &cut[nl + 1..])
}

/// The Notification plugin's job state: `Err` refuses it, `Ok(Err(reason))` ignores it.
pub(super) fn plugin(
    title: &str,
    p: Payload,
    b: Build,
    now: DateTime<Utc>,
) -> Result<Result<Outcome, String>, Refusal> {
    let job = p
        .url
        .as_deref()
        .and_then(job_from_url)
        .or_else(|| non_empty(p.name.as_ref()))
        .ok_or_else(|| refuse(title, "the job's `name` (or `url`) is required"))?;
    let number = b
        .number
        .as_ref()
        .and_then(BuildNumber::text)
        .ok_or_else(|| refuse(title, "`build.number` is required"))?;
    let phase = non_empty(b.phase.as_ref()).map(|p| p.to_ascii_uppercase());
    if let Some(phase) = phase.filter(|p| p != FINAL_PHASE) {
        return Ok(Err(format!(
            "{title} {job} #{number} {phase}: only the {FINAL_PHASE} notification of a build is acted on"
        )));
    }
    let Some(result) = non_empty(b.status.as_ref()).map(|s| s.to_ascii_uppercase()) else {
        return Ok(Err(format!(
            "{title} {job} #{number} finalized without a result"
        )));
    };
    let params = b.parameters.as_ref();
    let scm = b.scm.as_ref();
    let commit = non_empty(scm.and_then(|s| s.commit.as_ref()));
    let branch = non_empty(scm.and_then(|s| s.branch.as_ref()));
    let culprits: Vec<String> = scm
        .and_then(|s| s.culprits.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|c| non_empty(Some(c)))
        .collect();

    let mut details = Vec::new();
    if let Some(notes) = non_empty(b.notes.as_ref()) {
        details.push(notes);
    }
    if let Some(t) = &b.test_summary {
        let failed_tests = t.failed_tests.as_deref().unwrap_or_default();
        if t.failed.unwrap_or(0) > 0 || !failed_tests.is_empty() {
            let mut line = format!(
                "Tests: {} of {} failed",
                t.failed.unwrap_or(failed_tests.len() as u64),
                t.total.map_or_else(|| "?".to_owned(), |n| n.to_string())
            );
            if !failed_tests.is_empty() {
                line.push_str(": ");
                line.push_str(
                    &failed_tests
                        .iter()
                        .take(10)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", "),
                );
                if failed_tests.len() > 10 {
                    line.push_str(", …");
                }
            }
            details.push(line);
        }
    }
    match (&branch, &commit) {
        (Some(b), Some(c)) => details.push(format!("Branch {b} at {c}")),
        (Some(b), None) => details.push(format!("Branch {b}")),
        (None, Some(c)) => details.push(format!("Commit {c}")),
        (None, None) => {}
    }
    if !culprits.is_empty() {
        details.push(format!("Culprits: {}", culprits.join(", ")));
    }
    if let Some(log) = b
        .log
        .as_deref()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
    {
        details.push(format!("Last log lines:\n{}", tail(log, LOG_TAIL)));
    }

    Ok(Ok(Outcome {
        service: parameter(params, &["service"]).unwrap_or_else(|| job.clone()),
        environment: parameter(params, &["environment", "env"]),
        job,
        number,
        result,
        commit,
        author: culprits.into_iter().next(),
        at: timestamp(b.timestamp.as_ref()).unwrap_or(now),
        url: non_empty(b.full_url.as_ref()).or_else(|| non_empty(b.url.as_ref())),
        details,
    }))
}
