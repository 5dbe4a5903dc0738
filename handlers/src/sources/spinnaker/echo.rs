//! Echo's event as its REST endpoint posts it (`{details: {source, type, application, created},
//! content: {execution, executionId}, eventId}`, each part an object or, with `flatten: true`, a
//! JSON string), read into a [`Run`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{millis, millis_value, non_empty, refuse, text, user, Run};
use crate::sources::common::parameters;
use crate::sources::Refusal;

/// Failed stages listed in an alert's description, at most.
const STAGES_SHOWN: usize = 5;

#[derive(Debug, Deserialize)]
struct Details {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    application: Option<String>,
    /// Epoch milliseconds, as a string.
    #[serde(default)]
    created: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Content {
    #[serde(default)]
    execution: Option<Execution>,
    #[serde(default, rename = "executionId")]
    execution_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Execution {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    application: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    trigger: Option<Trigger>,
    #[serde(default)]
    start_time: Option<i64>,
    #[serde(default)]
    end_time: Option<i64>,
    #[serde(default)]
    stages: Vec<Stage>,
    #[serde(default)]
    canceled_by: Option<String>,
    #[serde(default)]
    cancellation_reason: Option<String>,
}

/// What started the execution. Its many trigger-type-specific fields are read loosely.
#[derive(Debug, Default, Deserialize)]
struct Trigger {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    parameters: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    artifacts: Option<Vec<Value>>,
    /// Docker trigger: the image tag.
    #[serde(default)]
    tag: Option<Value>,
    /// Git trigger: the commit.
    #[serde(default)]
    hash: Option<Value>,
    /// Jenkins / CI trigger: `{number, url, scm: [{sha1, branch}]}`.
    #[serde(default, rename = "buildInfo")]
    build_info: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Stage {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    context: Option<Value>,
}

/// A part of the event: an object, or (Echo's `flatten: true`) a string holding one.
fn part<T: DeserializeOwned>(name: &str, value: Value) -> Result<T, Refusal> {
    let value = match value {
        Value::String(s) => serde_json::from_str(&s)
            .map_err(|e| refuse(format_args!("`{name}` is a string but not JSON: {e}")))?,
        other => other,
    };
    serde_json::from_value(value).map_err(|e| refuse(format_args!("`{name}`: {e}")))
}

/// A trigger parameter, whatever its case, as text.
fn parameter(params: Option<&BTreeMap<String, Value>>, names: &[&str]) -> Option<String> {
    parameters(params, names).find_map(|v| text(Some(v)))
}

impl Trigger {
    /// What was deployed: an artifact's version, the image tag, the commit, a parameter.
    fn version(&self) -> Option<String> {
        let artifact = self.artifacts.iter().flatten().find_map(|a| {
            text(a.get("version")).or_else(|| {
                // `gcr.io/acme/checkout:v2.14.0` → `v2.14.0`
                text(a.get("reference"))
                    .and_then(|r| r.rsplit_once(':').map(|(_, t)| t.to_owned()))
                    .filter(|t| !t.contains('/'))
            })
        });
        let build_commit = self
            .build_info
            .as_ref()
            .and_then(|b| b.get("scm"))
            .and_then(Value::as_array)
            .and_then(|scm| scm.iter().find_map(|s| text(s.get("sha1"))));
        artifact
            .or_else(|| text(self.tag.as_ref()))
            .or_else(|| text(self.hash.as_ref()))
            .or(build_commit)
            .or_else(|| {
                parameter(
                    self.parameters.as_ref(),
                    &[
                        "version",
                        "tag",
                        "imageTag",
                        "image_tag",
                        "revision",
                        "commit",
                    ],
                )
            })
    }
}

/// Why a stage failed, from what Orca records of the exception.
fn stage_error(context: Option<&Value>) -> Option<String> {
    let details = context?.get("exception")?.get("details")?;
    let errors: Vec<String> = details
        .get("errors")
        .and_then(Value::as_array)
        .map(|e| e.iter().filter_map(|e| text(Some(e))).collect())
        .unwrap_or_default();
    if errors.is_empty() {
        text(details.get("error"))
    } else {
        Some(errors.join("; "))
    }
}

fn failed_stages(stages: &[Stage]) -> Vec<String> {
    stages
        .iter()
        .filter(|s| {
            matches!(
                s.status.as_deref(),
                Some("TERMINAL" | "FAILED_CONTINUE" | "STOPPED")
            )
        })
        .take(STAGES_SHOWN)
        .map(|s| {
            let name = non_empty(s.name.as_deref()).unwrap_or_else(|| "unnamed stage".into());
            let mut line = match non_empty(s.kind.as_deref()) {
                Some(kind) => format!("Stage {name} ({kind})"),
                None => format!("Stage {name}"),
            };
            line.push(' ');
            line.push_str(s.status.as_deref().unwrap_or_default());
            if let Some(error) = stage_error(s.context.as_ref()) {
                line.push_str(": ");
                line.push_str(&error);
            }
            line
        })
        .collect()
}

/// Echo's event: `Err` refuses it, `Ok(Err(reason))` ignores it.
pub(super) fn echo_event(
    root: &mut Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<Result<Run, String>, Refusal> {
    let details: Details = part(
        "details",
        root.remove("details")
            .ok_or_else(|| refuse("`details` is required"))?,
    )?;
    let kind = details.kind.trim();
    if !matches!(kind, "orca:pipeline:complete" | "orca:pipeline:failed") {
        let what = if kind.starts_with("orca:pipeline:") {
            "a pipeline that has not finished"
        } else if kind.starts_with("orca:stage:") || kind.starts_with("orca:task:") {
            "a stage or task, not a pipeline outcome"
        } else if kind.starts_with("orca:orchestration:") {
            "an ad-hoc orchestration, not a pipeline"
        } else {
            "not a pipeline outcome"
        };
        let source = details.source.as_deref().unwrap_or("unknown source");
        return Ok(Err(format!(
            "Spinnaker event {kind:?} from {source}: {what}"
        )));
    }
    let content: Content = part(
        "content",
        root.remove("content")
            .ok_or_else(|| refuse("`content` is required for a pipeline event"))?,
    )?;
    let e = content
        .execution
        .ok_or_else(|| refuse("`content.execution` is required for a pipeline event"))?;
    let application = non_empty(e.application.as_deref())
        .or_else(|| non_empty(details.application.as_deref()))
        .ok_or_else(|| refuse("the execution's `application` is required"))?;
    let execution_id = non_empty(e.id.as_deref())
        .or_else(|| non_empty(content.execution_id.as_deref()))
        .ok_or_else(|| refuse("the execution's `id` is required"))?;
    let pipeline = non_empty(e.name.as_deref())
        .ok_or_else(|| refuse("the execution's `name` (the pipeline) is required"))?;
    let status = non_empty(e.status.as_deref())
        .map(|s| s.to_ascii_uppercase())
        .ok_or_else(|| refuse("the execution's `status` is required"))?;
    let trigger = e.trigger.unwrap_or_default();

    let mut lines = Vec::new();
    if status == "CANCELED" {
        match (
            user(e.canceled_by.as_deref()),
            non_empty(e.cancellation_reason.as_deref()),
        ) {
            (Some(by), Some(why)) => lines.push(format!("Canceled by {by}: {why}")),
            (Some(by), None) => lines.push(format!("Canceled by {by}")),
            (None, Some(why)) => lines.push(format!("Canceled: {why}")),
            (None, None) => {}
        }
    }
    lines.extend(failed_stages(&e.stages));

    Ok(Ok(Run {
        application,
        pipeline,
        execution_id,
        status,
        user: user(trigger.user.as_deref()),
        trigger_type: non_empty(trigger.kind.as_deref()),
        version: trigger.version(),
        environment: parameter(trigger.parameters.as_ref(), &["environment", "env"]),
        at: e
            .end_time
            .and_then(millis)
            .or_else(|| millis_value(details.created.as_ref()))
            .or_else(|| e.start_time.and_then(millis))
            .unwrap_or(now),
        url: None,
        details: lines,
    }))
}
