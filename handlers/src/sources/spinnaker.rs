//! Spinnaker (Echo's REST event endpoints, which forward every event Orca records). Authenticated
//! by `X-Aurora-Signature: sha256=<hex hmac-sha256 of the raw body>`, keyed with a secret Aurora
//! generates. Echo cannot compute it: a REST endpoint only adds fixed headers. So Echo posts to a
//! signing relay (any proxy or few-line script that computes the HMAC of the body, adds the
//! header and forwards to Aurora); unsigned deliveries are refused.
//!
//! Payloads read: Echo's raw event (`wrap: false`: `{details: {source, type, application,
//! created}, content: {execution, executionId}, eventId}`), the same wrapped (`wrap: true`:
//! `{eventName, payload: <event>}`) or flattened (`flatten: true`: `details` and `content` as JSON
//! strings), and the flat template upstream Aurora documents (`{application, pipeline,
//! execution_id, status, trigger_user, …}`).
//!
//! Only pipeline outcomes count (`orca:pipeline:complete` / `orca:pipeline:failed`), by the
//! execution's status: `TERMINAL` fires at high severity, `CANCELED` and `STOPPED` at medium;
//! `SUCCEEDED` is a `deployment` change event (author = the trigger's user, version from the
//! trigger's artifacts, tag, commit or parameters). Pipeline starts, stage and task events,
//! ad-hoc orchestrations, other sources' events and unfinished statuses are ignored with the
//! reason. Identity: alert and change id `<application>/<execution id>`, fingerprint
//! `spinnaker-<application>-<pipeline name>`. Retries are deduplicated on Echo's `eventId`
//! (the same for every retry of one event); nothing resolves.

use std::collections::BTreeMap;

use aurora_domain::intake::{ChangeEvent, FiringAlert, Signal};
use aurora_domain::Severity;
use chrono::{DateTime, TimeZone, Utc};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::common::{json, AURORA_SIGNATURE};
use super::{Delivery, Parsed, Refusal, SecretOrigin, Setup, Source, SourceDescriptor};

pub struct Spinnaker;

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

/// Upstream Aurora's Echo template: one flat object per event.
#[derive(Debug, Deserialize)]
struct Flat {
    #[serde(default)]
    application: Option<String>,
    #[serde(default)]
    pipeline: Option<String>,
    #[serde(default)]
    pipeline_name: Option<String>,
    #[serde(default)]
    execution_id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    trigger_type: Option<String>,
    #[serde(default)]
    trigger_user: Option<String>,
    #[serde(default)]
    start_time: Option<Value>,
    #[serde(default)]
    end_time: Option<Value>,
    #[serde(default)]
    execution_url: Option<String>,
    #[serde(default)]
    event_type: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    version: Option<String>,
}

/// A finished pipeline execution, whichever shape said so.
struct Run {
    application: String,
    pipeline: String,
    execution_id: String,
    status: String,
    user: Option<String>,
    trigger_type: Option<String>,
    version: Option<String>,
    environment: Option<String>,
    at: DateTime<Utc>,
    url: Option<String>,
    /// Why it failed, when it did: cancellation, failed stages.
    details: Vec<String>,
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty() && *s != "null")
        .map(str::to_owned)
}

/// A string, or a number written as one (Spinnaker mixes both).
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => non_empty(Some(s)),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn millis(ms: i64) -> Option<DateTime<Utc>> {
    (ms > 0)
        .then(|| Utc.timestamp_millis_opt(ms).single())
        .flatten()
}

/// Epoch milliseconds given as a number or a string (`"1795427921512"`).
fn millis_value(v: Option<&Value>) -> Option<DateTime<Utc>> {
    text(v)?.parse::<i64>().ok().and_then(millis)
}

fn refuse(message: impl std::fmt::Display) -> Refusal {
    Refusal::bad(
        "invalid_payload",
        format!("not a Spinnaker Echo event: {message}"),
    )
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

/// A user worth naming (`[anonymous]` is Spinnaker's "nobody").
fn user(u: Option<&str>) -> Option<String> {
    non_empty(u).filter(|u| u != "[anonymous]" && u != "anonymous")
}

fn parameter(params: Option<&BTreeMap<String, Value>>, names: &[&str]) -> Option<String> {
    let params = params?;
    names.iter().find_map(|n| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .and_then(|(_, v)| text(Some(v)))
    })
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
fn echo_event(
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

/// Upstream Aurora's flat template.
fn flat(root: Map<String, Value>, now: DateTime<Utc>) -> Result<Result<Run, String>, Refusal> {
    let f: Flat = serde_json::from_value(Value::Object(root))
        .map_err(|e| refuse(format_args!("the flat template's fields: {e}")))?;
    if let Some(kind) = non_empty(f.event_type.as_deref()) {
        if kind.starts_with("orca:")
            && !matches!(
                kind.as_str(),
                "orca:pipeline:complete" | "orca:pipeline:failed"
            )
        {
            return Ok(Err(format!(
                "Spinnaker event {kind:?}: not a pipeline outcome"
            )));
        }
    }
    let application =
        non_empty(f.application.as_deref()).ok_or_else(|| refuse("`application` is required"))?;
    let execution_id =
        non_empty(f.execution_id.as_deref()).ok_or_else(|| refuse("`execution_id` is required"))?;
    let pipeline = non_empty(f.pipeline.as_deref())
        .or_else(|| non_empty(f.pipeline_name.as_deref()))
        .ok_or_else(|| refuse("`pipeline` (or `pipeline_name`) is required"))?;
    let status = non_empty(f.status.as_deref())
        .map(|s| s.to_ascii_uppercase())
        .ok_or_else(|| refuse("`status` is required"))?;
    Ok(Ok(Run {
        application,
        pipeline,
        execution_id,
        status,
        user: user(f.trigger_user.as_deref()),
        trigger_type: non_empty(f.trigger_type.as_deref()),
        version: non_empty(f.version.as_deref()),
        environment: non_empty(f.environment.as_deref()),
        at: millis_value(f.end_time.as_ref())
            .or_else(|| millis_value(f.start_time.as_ref()))
            .unwrap_or(now),
        url: non_empty(f.execution_url.as_deref()),
        details: Vec::new(),
    }))
}

fn signal(run: Run) -> Signal {
    let id = format!("{}/{}", run.application, run.execution_id);
    let (verb, severity) = match run.status.as_str() {
        "SUCCEEDED" => {
            return Signal::Change(ChangeEvent {
                change_id: id,
                kind: "deployment".into(),
                title: format!(
                    "{}: pipeline {} succeeded",
                    run.application, run.pipeline
                ),
                service: run.application,
                environment: run.environment,
                version: run.version,
                author: run.user,
                at: run.at,
                url: run.url,
            })
        }
        "TERMINAL" => ("failed", Severity::High),
        "CANCELED" => ("was canceled", Severity::Medium),
        "STOPPED" => ("was stopped", Severity::Medium),
        other => {
            return Signal::Ignored {
                reason: format!(
                    "Spinnaker execution {id} of {} is {other}: only SUCCEEDED, TERMINAL, CANCELED and STOPPED executions are acted on",
                    run.pipeline
                ),
            }
        }
    };
    let mut lines = Vec::new();
    match (&run.user, &run.trigger_type) {
        (Some(u), Some(t)) => lines.push(format!("Triggered by {u} ({t} trigger)")),
        (Some(u), None) => lines.push(format!("Triggered by {u}")),
        (None, Some(t)) => lines.push(format!("Triggered by a {t} trigger")),
        (None, None) => {}
    }
    if let Some(v) = &run.version {
        lines.push(format!("Version: {v}"));
    }
    lines.extend(run.details);
    Signal::Firing(FiringAlert {
        alert_id: id,
        fingerprint: format!("spinnaker-{}-{}", run.application, run.pipeline),
        title: format!(
            "{}: pipeline {} {verb} ({})",
            run.application, run.pipeline, run.status
        ),
        service: Some(run.application),
        environment: run.environment,
        severity,
        fired_at: run.at,
        description: (!lines.is_empty()).then(|| lines.join("\n")),
        url: run.url,
    })
}

/// The signing relay Echo posts to, as a shell sketch (the URL is filled in).
const RELAY: &str = r#"BODY=$(cat)   # the event exactly as Echo sent it
SIG=$(printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$AURORA_SECRET" | awk '{print $NF}')
curl -fsS -X POST '{URL}' -H 'Content-Type: application/json' -H "X-Aurora-Signature: sha256=$SIG" --data-binary "$BODY""#;

const ECHO_CONFIG: &str = r#"rest:
  enabled: true
  endpoints:
    - wrap: false
      url: https://<your signing relay>/"#;

const DESCRIPTOR: SourceDescriptor = SourceDescriptor {
    name: "spinnaker",
    title: "Spinnaker",
    auth: AURORA_SIGNATURE,
    secret_origin: SecretOrigin::Aurora,
    rca_by_default: true,
    kept_headers: &[],
    where_to_configure: "Echo's REST event endpoints (rest.enabled and rest.endpoints in echo-local.yml, or the echo profile of the SpinnakerService), wrap: false, pointed at a signing relay: Echo sends every event but can only add fixed headers, so it cannot compute X-Aurora-Signature itself; the relay (any proxy or small script that can compute HMAC-SHA256) adds X-Aurora-Signature: sha256=<hex hmac of the exact body> and forwards the body unchanged to Aurora",
};

impl Source for Spinnaker {
    fn descriptor(&self) -> &'static SourceDescriptor {
        &DESCRIPTOR
    }

    fn parse(&self, delivery: &Delivery<'_>) -> Result<Parsed, Refusal> {
        let mut root: Map<String, Value> = json("Spinnaker Echo event", delivery.body)?;
        // `wrap: true`: `{eventName, payload: <event>}`.
        if !root.contains_key("details") && root.contains_key("eventName") {
            if let Some(Value::Object(inner)) = root.remove("payload") {
                root = inner;
            }
        }
        let delivery_id = root
            .get("eventId")
            .and_then(Value::as_str)
            .and_then(|id| non_empty(Some(id)));
        let now = delivery.received_at;
        let run = if root.contains_key("details") || root.contains_key("content") {
            echo_event(&mut root, now)?
        } else if root.contains_key("status") || root.contains_key("execution_id") {
            flat(root, now)?
        } else {
            return Err(refuse(
                "expected `details` and `content` (an Echo REST endpoint), or the flat template's `application`, `pipeline`, `execution_id` and `status`",
            ));
        };
        let signal = match run {
            Ok(run) => signal(run),
            Err(reason) => Signal::Ignored { reason },
        };
        Ok(Parsed {
            delivery_id,
            signals: vec![signal],
        })
    }

    fn setup(&self, url: &str, secret: Option<&str>) -> Setup {
        let secret = secret.map_or_else(
            || "the secret shown when the integration was created".to_owned(),
            |s| format!("the secret {s}"),
        );
        Setup {
            url: url.to_owned(),
            method: "POST",
            header: None,
            header_value: None,
            steps: vec![
                format!("In Spinnaker: {}.", DESCRIPTOR.where_to_configure),
                format!("Echo configuration (echo-local.yml, then restart Echo):\n{ECHO_CONFIG}"),
                format!(
                    "The relay, given {secret} as AURORA_SECRET, signs each body and forwards it to {url}, e.g.:\n{}",
                    RELAY.replace("{URL}", url)
                ),
                "Every delivery must carry X-Aurora-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with the secret> (the bare <hex>, as upstream Aurora's snippets send it, is accepted too); anything else is refused (401). TERMINAL, CANCELED and STOPPED pipeline executions open incidents; SUCCEEDED ones are recorded as deployments; every other event is accepted and ignored.".to_owned(),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::common::tests_support::*;

    /// Echo's raw event (`wrap: false`) for a pipeline Orca ended TERMINAL: a Docker-triggered
    /// deployment whose manifest stage failed. Trimmed of the execution's many other fields.
    const FAILED: &str = r#"{
      "details": {
        "source": "orca",
        "type": "orca:pipeline:failed",
        "created": "1795427935000",
        "organization": null,
        "project": null,
        "application": "checkout",
        "_content_id": null,
        "attributes": null,
        "requestHeaders": {}
      },
      "content": {
        "execution": {
          "type": "PIPELINE",
          "id": "01JD4Q8Z7X3M2K9P5R6T8V0W1Y",
          "application": "checkout",
          "name": "Deploy to production",
          "buildTime": 1795427400000,
          "canceled": false,
          "canceledBy": null,
          "cancellationReason": null,
          "limitConcurrent": true,
          "keepWaitingPipelines": false,
          "stages": [
            {"id": "01JD4Q8Z8A", "refId": "1", "type": "findImageFromTags", "name": "Find Image from Tags",
             "startTime": 1795427401000, "endTime": 1795427404000, "status": "SUCCEEDED",
             "context": {"imageNames": ["gcr.io/acme/checkout:v2.14.0"]}, "outputs": {}, "tasks": [],
             "requisiteStageRefIds": []},
            {"id": "01JD4Q8Z8B", "refId": "2", "type": "deployManifest", "name": "Deploy (Manifest)",
             "startTime": 1795427404000, "endTime": 1795427921000, "status": "TERMINAL",
             "context": {
               "account": "prod-gke",
               "exception": {
                 "exceptionType": "IllegalStateException",
                 "shouldRetry": false,
                 "details": {"errors": ["Deployment 'checkout' exceeded its progress deadline", "0 of 6 replicas available"]},
                 "timestamp": 1795427921000
               }
             },
             "outputs": {}, "tasks": [], "requisiteStageRefIds": ["1"]},
            {"id": "01JD4Q8Z8C", "refId": "3", "type": "manualJudgment", "name": "Promote",
             "status": "NOT_STARTED", "context": {}, "outputs": {}, "tasks": [], "requisiteStageRefIds": ["2"]}
          ],
          "startTime": 1795427400512,
          "endTime": 1795427921512,
          "status": "TERMINAL",
          "authentication": {"user": "deploy-bot@acme.com", "allowedAccounts": ["prod-gke"]},
          "origin": "api",
          "trigger": {
            "type": "docker",
            "user": "deploy-bot@acme.com",
            "parameters": {"environment": "production"},
            "artifacts": [
              {"type": "docker/image", "name": "gcr.io/acme/checkout", "version": "v2.14.0",
               "reference": "gcr.io/acme/checkout:v2.14.0", "metadata": {}}
            ],
            "notifications": [],
            "rebake": false,
            "dryRun": false,
            "strategy": false,
            "account": "gcr",
            "registry": "gcr.io",
            "repository": "acme/checkout",
            "tag": "v2.14.0"
          },
          "description": null,
          "pipelineConfigId": "6c1bd8f2-3b0e-4a7f-9a55-6f0b1d2c3e4f",
          "notifications": [],
          "initialConfig": {},
          "systemNotifications": [],
          "spelEvaluator": "v4"
        },
        "executionId": "01JD4Q8Z7X3M2K9P5R6T8V0W1Y"
      },
      "rawContent": null,
      "eventId": "5f0c7a4e-9a53-4ad2-8a7e-1c9d8f2b6e11"
    }"#;

    fn sign(secret: &[u8], body: &str) -> String {
        crate::sources::common::tests_support::sign(super::DESCRIPTOR.auth, secret, body)
    }

    fn parse(body: &str) -> Result<Parsed, Refusal> {
        let h = headers(&[]);
        Spinnaker.parse(&delivery(&h, body))
    }

    fn one(body: &str) -> Signal {
        let parsed = parse(body).expect("parses");
        assert_eq!(parsed.signals.len(), 1);
        parsed.signals.into_iter().next().expect("one signal")
    }

    fn firing(body: &str) -> FiringAlert {
        match one(body) {
            Signal::Firing(a) => a,
            other => panic!("firing expected, got {other:?}"),
        }
    }

    fn change(body: &str) -> ChangeEvent {
        match one(body) {
            Signal::Change(c) => c,
            other => panic!("change expected, got {other:?}"),
        }
    }

    fn ignored(body: &str) -> String {
        match one(body) {
            Signal::Ignored { reason } => reason,
            other => panic!("ignored expected, got {other:?}"),
        }
    }

    fn with_status(status: &str) -> String {
        FAILED.replace(
            r#""endTime": 1795427921512,
          "status": "TERMINAL""#,
            &format!(
                r#""endTime": 1795427921512,
          "status": "{status}""#
            ),
        )
    }

    #[test]
    fn a_terminal_pipeline_fires_an_alert_for_its_execution() {
        let parsed = parse(FAILED).expect("parses");
        assert_eq!(
            parsed.delivery_id.as_deref(),
            Some("5f0c7a4e-9a53-4ad2-8a7e-1c9d8f2b6e11"),
            "Echo's event id"
        );
        let a = firing(FAILED);
        assert_eq!(a.alert_id, "checkout/01JD4Q8Z7X3M2K9P5R6T8V0W1Y");
        assert_eq!(a.fingerprint, "spinnaker-checkout-Deploy to production");
        assert_eq!(
            a.title,
            "checkout: pipeline Deploy to production failed (TERMINAL)"
        );
        assert_eq!(a.service.as_deref(), Some("checkout"));
        assert_eq!(a.environment.as_deref(), Some("production"));
        assert_eq!(a.severity, Severity::High);
        assert_eq!(a.fired_at.to_rfc3339(), "2026-11-23T09:58:41.512+00:00");
        assert_eq!(a.url, None, "Echo's events carry no link to Deck");
        assert_eq!(
            a.description.as_deref(),
            Some(
                "Triggered by deploy-bot@acme.com (docker trigger)\n\
                 Version: v2.14.0\n\
                 Stage Deploy (Manifest) (deployManifest) TERMINAL: Deployment 'checkout' exceeded its progress deadline; 0 of 6 replicas available"
            )
        );
    }

    #[test]
    fn canceled_and_stopped_pipelines_fire_at_medium_severity() {
        let canceled = with_status("CANCELED")
            .replace(r#""canceled": false"#, r#""canceled": true"#)
            .replace(r#""canceledBy": null"#, r#""canceledBy": "dana@acme.com""#)
            .replace(
                r#""cancellationReason": null"#,
                r#""cancellationReason": "wrong image""#,
            )
            .replace("orca:pipeline:failed", "orca:pipeline:complete");
        let a = firing(&canceled);
        assert_eq!(a.severity, Severity::Medium);
        assert_eq!(
            a.title,
            "checkout: pipeline Deploy to production was canceled (CANCELED)"
        );
        assert!(a
            .description
            .as_deref()
            .is_some_and(|d| d.contains("Canceled by dana@acme.com: wrong image")));
        assert_eq!(a.fingerprint, "spinnaker-checkout-Deploy to production");

        let stopped = firing(&with_status("STOPPED"));
        assert_eq!(stopped.severity, Severity::Medium);
        assert!(stopped.title.ends_with("was stopped (STOPPED)"));
    }

    #[test]
    fn every_execution_is_its_own_alert_of_the_same_pipeline_problem() {
        let next = FAILED.replace("01JD4Q8Z7X3M2K9P5R6T8V0W1Y", "01JD4RAAAAAAAAAAAAAAAAAAAA");
        let (a, b) = (firing(FAILED), firing(&next));
        assert_ne!(a.alert_id, b.alert_id);
        assert_eq!(a.fingerprint, b.fingerprint);
    }

    #[test]
    fn a_succeeded_pipeline_is_a_deployment_change() {
        let body =
            with_status("SUCCEEDED").replace("orca:pipeline:failed", "orca:pipeline:complete");
        let c = change(&body);
        assert_eq!(c.change_id, "checkout/01JD4Q8Z7X3M2K9P5R6T8V0W1Y");
        assert_eq!(c.kind, "deployment");
        assert_eq!(c.service, "checkout");
        assert_eq!(c.environment.as_deref(), Some("production"));
        assert_eq!(c.version.as_deref(), Some("v2.14.0"));
        assert_eq!(c.title, "checkout: pipeline Deploy to production succeeded");
        assert_eq!(c.author.as_deref(), Some("deploy-bot@acme.com"));
        assert_eq!(c.at.to_rfc3339(), "2026-11-23T09:58:41.512+00:00");
    }

    #[test]
    fn the_version_comes_from_the_trigger_as_it_can() {
        let artifacts = r#""artifacts": [
              {"type": "docker/image", "name": "gcr.io/acme/checkout", "version": "v2.14.0",
               "reference": "gcr.io/acme/checkout:v2.14.0", "metadata": {}}
            ],"#;
        let succeeded =
            with_status("SUCCEEDED").replace("orca:pipeline:failed", "orca:pipeline:complete");
        // An artifact with a reference only.
        let by_reference = succeeded.replace(
            artifacts,
            r#""artifacts": [{"type": "docker/image", "reference": "gcr.io/acme/checkout:v2.15.1"}],"#,
        );
        assert_eq!(change(&by_reference).version.as_deref(), Some("v2.15.1"));
        // No artifacts: the docker tag.
        let by_tag = succeeded
            .replace(artifacts, "")
            .replace(r#""tag": "v2.14.0""#, r#""tag": "v2.14.1""#);
        assert_eq!(change(&by_tag).version.as_deref(), Some("v2.14.1"));
        // A git trigger: the commit.
        let by_hash = succeeded.replace(artifacts, "").replace(
            r#""tag": "v2.14.0""#,
            r#""hash": "e83c5163316f89bfbde7d9ab23ca2e25604af290""#,
        );
        assert_eq!(
            change(&by_hash).version.as_deref(),
            Some("e83c5163316f89bfbde7d9ab23ca2e25604af290")
        );
        // A Jenkins trigger: the built commit.
        let by_build = succeeded.replace(artifacts, "").replace(
            r#""tag": "v2.14.0""#,
            r#""buildInfo": {"name": "checkout", "number": 142, "url": "https://ci/job/checkout/142/", "scm": [{"name": "origin/main", "branch": "main", "sha1": "9fceb02d0ae598e95dc970b74767f19372d61af8"}]}"#,
        );
        assert_eq!(
            change(&by_build).version.as_deref(),
            Some("9fceb02d0ae598e95dc970b74767f19372d61af8")
        );
        // A manual run: a parameter.
        let by_parameter = succeeded
            .replace(artifacts, "")
            .replace(r#""tag": "v2.14.0""#, r#""rebake2": false"#)
            .replace(
                r#""parameters": {"environment": "production"}"#,
                r#""parameters": {"environment": "production", "imageTag": "v3.0.0-rc1"}"#,
            )
            .replace(
                r#""user": "deploy-bot@acme.com""#,
                r#""user": "[anonymous]""#,
            );
        let c = change(&by_parameter);
        assert_eq!(c.version.as_deref(), Some("v3.0.0-rc1"));
        assert_eq!(c.author, None, "[anonymous] is nobody");
    }

    #[test]
    fn starts_stages_tasks_and_orchestrations_are_ignored() {
        for kind in [
            "orca:pipeline:starting",
            "orca:stage:starting",
            "orca:stage:complete",
            "orca:stage:failed",
            "orca:task:complete",
            "orca:orchestration:complete",
        ] {
            let body = FAILED.replace("orca:pipeline:failed", kind);
            let reason = ignored(&body);
            assert!(reason.contains(kind), "{reason}");
        }
    }

    #[test]
    fn other_sources_events_are_ignored_by_name() {
        let body = r#"{"details": {"source": "igor", "type": "build", "created": "1795427935000", "requestHeaders": {}},
          "content": {"project": {"name": "checkout", "lastBuild": {"number": 142, "result": "SUCCESS"}}, "master": "jenkins"},
          "rawContent": null, "eventId": "0b7c"}"#;
        let reason = ignored(body);
        assert!(
            reason.contains("\"build\"") && reason.contains("igor"),
            "{reason}"
        );
        let parsed = parse(body).expect("parses");
        assert_eq!(parsed.delivery_id.as_deref(), Some("0b7c"));
    }

    #[test]
    fn an_unfinished_status_is_ignored() {
        let reason = ignored(&with_status("RUNNING"));
        assert!(reason.contains("RUNNING"), "{reason}");
    }

    #[test]
    fn a_wrapped_event_is_unwrapped() {
        let body = format!(r#"{{"eventName": "spinnaker_events", "payload": {FAILED}}}"#);
        let parsed = parse(&body).expect("parses");
        assert_eq!(
            parsed.delivery_id.as_deref(),
            Some("5f0c7a4e-9a53-4ad2-8a7e-1c9d8f2b6e11")
        );
        assert!(
            matches!(&parsed.signals[0], Signal::Firing(a) if a.alert_id == "checkout/01JD4Q8Z7X3M2K9P5R6T8V0W1Y")
        );
    }

    #[test]
    fn a_flattened_event_is_read_from_its_strings() {
        let event: Value = serde_json::from_str(FAILED).expect("json");
        let flattened = serde_json::json!({
            "details": event["details"].to_string(),
            "content": event["content"].to_string(),
            "rawContent": null,
            "eventId": "5f0c7a4e-9a53-4ad2-8a7e-1c9d8f2b6e11",
        })
        .to_string();
        assert_eq!(firing(&flattened), firing(FAILED));
    }

    #[test]
    fn the_flat_template_upstream_documents_is_read() {
        let body = r#"{"application": "checkout","pipeline": "Deploy to production","pipeline_name": "Deploy to production","execution_id": "01JD4Q8Z7X3M2K9P5R6T8V0W1Y","status": "TERMINAL","trigger_type": "manual","trigger_user": "dana@acme.com","start_time": "1795427400512","end_time": "1795427921512"}"#;
        let parsed = parse(body).expect("parses");
        assert_eq!(parsed.delivery_id, None, "the gateway hashes the body");
        let a = firing(body);
        assert_eq!(a.alert_id, "checkout/01JD4Q8Z7X3M2K9P5R6T8V0W1Y");
        assert_eq!(a.fingerprint, "spinnaker-checkout-Deploy to production");
        assert_eq!(a.fired_at.to_rfc3339(), "2026-11-23T09:58:41.512+00:00");
        assert_eq!(
            a.description.as_deref(),
            Some("Triggered by dana@acme.com (manual trigger)")
        );
        let ok = body.replace("TERMINAL", "SUCCEEDED");
        let c = change(&ok);
        assert_eq!(c.author.as_deref(), Some("dana@acme.com"));
        assert_eq!(c.at.to_rfc3339(), "2026-11-23T09:58:41.512+00:00");
        let unrendered = body.replace(r#""end_time": "1795427921512""#, r#""end_time": """#);
        assert_eq!(
            firing(&unrendered).fired_at.to_rfc3339(),
            "2026-11-23T09:50:00.512+00:00",
            "the start, when the end is missing"
        );
        let stage = body.replace(
            r#""status": "TERMINAL""#,
            r#""status": "TERMINAL", "event_type": "orca:stage:failed""#,
        );
        assert!(ignored(&stage).contains("orca:stage:failed"));
    }

    #[test]
    fn without_an_end_time_the_event_creation_time_is_used() {
        let body = FAILED.replace(r#""endTime": 1795427921512,"#, r#""endTime": null,"#);
        assert_eq!(
            firing(&body).fired_at.to_rfc3339(),
            "2026-11-23T09:58:55+00:00"
        );
    }

    #[test]
    fn malformed_payloads_are_refused_saying_why() {
        refuses_malformed(
            &Spinnaker,
            &headers(&[]),
            "Spinnaker",
            &[
                ("not json", "invalid_json"),
                (r#"{"details": "#, "invalid_json"),
                ("[]", "invalid_payload"),
                ("{}", "invalid_payload"),
                (r#"{"hello": "world"}"#, "invalid_payload"),
                (r#"{"details": {"source": "orca"}}"#, "invalid_payload"),
                (r#"{"details": "not json"}"#, "invalid_payload"),
                (r#"{"details": 7}"#, "invalid_payload"),
                (
                    r#"{"details": {"type": "orca:pipeline:failed"}}"#,
                    "invalid_payload",
                ),
                (
                    r#"{"details": {"type": "orca:pipeline:failed"}, "content": {}}"#,
                    "invalid_payload",
                ),
                (
                    r#"{"details": {"type": "orca:pipeline:failed"}, "content": {"execution": {"id": "e1", "name": "p", "status": "TERMINAL"}}}"#,
                    "invalid_payload",
                ),
                (
                    r#"{"details": {"type": "orca:pipeline:failed", "application": "a"}, "content": {"execution": {"name": "p", "status": "TERMINAL"}}}"#,
                    "invalid_payload",
                ),
                (
                    r#"{"details": {"type": "orca:pipeline:failed", "application": "a"}, "content": {"execution": {"id": "e1", "status": "TERMINAL"}}}"#,
                    "invalid_payload",
                ),
                (
                    r#"{"details": {"type": "orca:pipeline:failed", "application": "a"}, "content": {"execution": {"id": "e1", "name": "p"}}}"#,
                    "invalid_payload",
                ),
                (
                    r#"{"details": {"type": "orca:pipeline:failed", "application": "a"}, "content": {"execution": {"id": "e1", "name": "p", "status": 42}}}"#,
                    "invalid_payload",
                ),
                (
                    r#"{"details": {"type": "orca:pipeline:failed", "application": "a"}, "content": {"execution": {"id": "e1", "name": "p", "status": "TERMINAL", "endTime": "soon"}}}"#,
                    "invalid_payload",
                ),
                (
                    r#"{"details": {"type": "orca:pipeline:failed", "application": "a"}, "content": {"execution": {"id": "e1", "name": "p", "status": "TERMINAL", "stages": {}}}}"#,
                    "invalid_payload",
                ),
                (r#"{"status": "TERMINAL"}"#, "invalid_payload"),
                (
                    r#"{"application": "a", "pipeline": "p", "status": "TERMINAL"}"#,
                    "invalid_payload",
                ),
                (
                    r#"{"application": "a", "pipeline": "p", "execution_id": "e", "status": 1}"#,
                    "invalid_payload",
                ),
            ],
        );
    }

    #[test]
    fn only_a_signature_of_this_body_with_the_secret_gets_in() {
        only_the_right_secret_gets_in(&Spinnaker, FAILED, "{}");
        bare_hex_signatures_get_in_too(&Spinnaker, FAILED, "{}");
        let secret = b"spinnaker-secret";
        let digest = sign(secret, FAILED);
        let bare = headers(&[("x-aurora-signature", digest.trim_start_matches("sha256="))]);
        assert!(Spinnaker.verify(&delivery(&bare, FAILED), secret).is_ok());
        refused(
            &Spinnaker,
            secret,
            FAILED,
            &[
                headers(&[("x-aurora-signature", "sha256=00")]),
                headers(&[("x-aurora-signature", "00")]),
                headers(&[("authorization", "Bearer spinnaker-secret")]),
            ],
        );
    }

    #[test]
    fn setup_is_honest_that_echo_needs_a_signing_relay() {
        let url = "https://aurora.example.com/webhooks/spinnaker/7b";
        let setup = Spinnaker.setup(url, Some("s3cr3t"));
        assert_eq!(setup.header, None);
        assert!(setup.steps[0].contains("cannot compute X-Aurora-Signature"));
        assert!(setup.steps[1].contains("wrap: false"));
        assert!(setup.steps[2].contains("s3cr3t"));
        assert!(setup.steps[2].contains(&format!("curl -fsS -X POST '{url}'")));
        assert!(setup.steps[2].contains("openssl dgst -sha256 -hmac"));
        assert_eq!(Spinnaker.descriptor().auth, AURORA_SIGNATURE);
        assert!(Spinnaker.descriptor().rca_by_default);
        assert!(Spinnaker.descriptor().kept_headers.is_empty());
    }
}
