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

mod echo;
#[cfg(test)]
mod tests;

use aurora_domain::intake::{ChangeEvent, FiringAlert, Signal};
use aurora_domain::Severity;
use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use self::echo::echo_event;
use super::common::{json, the_secret, AURORA_SIGNATURE};
use super::{Delivery, Parsed, Refusal, Setup, Source, SourceDescriptor};

pub struct Spinnaker;

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

/// A user worth naming (`[anonymous]` is Spinnaker's "nobody").
fn user(u: Option<&str>) -> Option<String> {
    non_empty(u).filter(|u| u != "[anonymous]" && u != "anonymous")
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
        placement: Default::default(),
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

const DESCRIPTOR: SourceDescriptor = SourceDescriptor::new(
    "spinnaker",
    "Spinnaker",
    AURORA_SIGNATURE,
    "Echo's REST event endpoints (rest.enabled and rest.endpoints in echo-local.yml, or the echo profile of the SpinnakerService), wrap: false, pointed at a signing relay: Echo sends every event but can only add fixed headers, so it cannot compute X-Aurora-Signature itself; the relay (any proxy or small script that can compute HMAC-SHA256) adds X-Aurora-Signature: sha256=<hex hmac of the exact body> and forwards the body unchanged to Aurora",
);

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
        Ok(Parsed::one(delivery_id, signal))
    }

    fn setup(&self, url: &str, secret: Option<&str>) -> Setup {
        let secret = the_secret(secret);
        Setup::without_header(
            url,
            vec![
                format!("In Spinnaker: {}.", DESCRIPTOR.where_to_configure),
                format!("Echo configuration (echo-local.yml, then restart Echo):\n{ECHO_CONFIG}"),
                format!(
                    "The relay, given {secret} as AURORA_SECRET, signs each body and forwards it to {url}, e.g.:\n{}",
                    RELAY.replace("{URL}", url)
                ),
                "Every delivery must carry X-Aurora-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with the secret> (the bare <hex>, as upstream Aurora's snippets send it, is accepted too); anything else is refused (401). TERMINAL, CANCELED and STOPPED pipeline executions open incidents; SUCCEEDED ones are recorded as deployments; every other event is accepted and ignored.".to_owned(),
            ],
        )
    }
}
