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
    the_one_signal(parse(body).expect("parses"))
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
    let a = as_firing(one(FAILED));
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
    let a = as_firing(one(&canceled));
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

    let stopped = as_firing(one(&with_status("STOPPED")));
    assert_eq!(stopped.severity, Severity::Medium);
    assert!(stopped.title.ends_with("was stopped (STOPPED)"));
}

#[test]
fn every_execution_is_its_own_alert_of_the_same_pipeline_problem() {
    let next = FAILED.replace("01JD4Q8Z7X3M2K9P5R6T8V0W1Y", "01JD4RAAAAAAAAAAAAAAAAAAAA");
    let (a, b) = (as_firing(one(FAILED)), as_firing(one(&next)));
    assert_ne!(a.alert_id, b.alert_id);
    assert_eq!(a.fingerprint, b.fingerprint);
}

#[test]
fn a_succeeded_pipeline_is_a_deployment_change() {
    let body = with_status("SUCCEEDED").replace("orca:pipeline:failed", "orca:pipeline:complete");
    let c = as_change(one(&body));
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
    assert_eq!(
        as_change(one(&by_reference)).version.as_deref(),
        Some("v2.15.1")
    );
    // No artifacts: the docker tag.
    let by_tag = succeeded
        .replace(artifacts, "")
        .replace(r#""tag": "v2.14.0""#, r#""tag": "v2.14.1""#);
    assert_eq!(as_change(one(&by_tag)).version.as_deref(), Some("v2.14.1"));
    // A git trigger: the commit.
    let by_hash = succeeded.replace(artifacts, "").replace(
        r#""tag": "v2.14.0""#,
        r#""hash": "e83c5163316f89bfbde7d9ab23ca2e25604af290""#,
    );
    assert_eq!(
        as_change(one(&by_hash)).version.as_deref(),
        Some("e83c5163316f89bfbde7d9ab23ca2e25604af290")
    );
    // A Jenkins trigger: the built commit.
    let by_build = succeeded.replace(artifacts, "").replace(
        r#""tag": "v2.14.0""#,
        r#""buildInfo": {"name": "checkout", "number": 142, "url": "https://ci/job/checkout/142/", "scm": [{"name": "origin/main", "branch": "main", "sha1": "9fceb02d0ae598e95dc970b74767f19372d61af8"}]}"#,
    );
    assert_eq!(
        as_change(one(&by_build)).version.as_deref(),
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
    let c = as_change(one(&by_parameter));
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
        let reason = as_ignored(one(&body));
        assert!(reason.contains(kind), "{reason}");
    }
}

#[test]
fn other_sources_events_are_ignored_by_name() {
    let body = r#"{"details": {"source": "igor", "type": "build", "created": "1795427935000", "requestHeaders": {}},
          "content": {"project": {"name": "checkout", "lastBuild": {"number": 142, "result": "SUCCESS"}}, "master": "jenkins"},
          "rawContent": null, "eventId": "0b7c"}"#;
    let reason = as_ignored(one(body));
    assert!(
        reason.contains("\"build\"") && reason.contains("igor"),
        "{reason}"
    );
    let parsed = parse(body).expect("parses");
    assert_eq!(parsed.delivery_id.as_deref(), Some("0b7c"));
}

#[test]
fn an_unfinished_status_is_ignored() {
    let reason = as_ignored(one(&with_status("RUNNING")));
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
    assert_eq!(as_firing(one(&flattened)), as_firing(one(FAILED)));
}

#[test]
fn the_flat_template_upstream_documents_is_read() {
    let body = r#"{"application": "checkout","pipeline": "Deploy to production","pipeline_name": "Deploy to production","execution_id": "01JD4Q8Z7X3M2K9P5R6T8V0W1Y","status": "TERMINAL","trigger_type": "manual","trigger_user": "dana@acme.com","start_time": "1795427400512","end_time": "1795427921512"}"#;
    let parsed = parse(body).expect("parses");
    assert_eq!(parsed.delivery_id, None, "the gateway hashes the body");
    let a = as_firing(one(body));
    assert_eq!(a.alert_id, "checkout/01JD4Q8Z7X3M2K9P5R6T8V0W1Y");
    assert_eq!(a.fingerprint, "spinnaker-checkout-Deploy to production");
    assert_eq!(a.fired_at.to_rfc3339(), "2026-11-23T09:58:41.512+00:00");
    assert_eq!(
        a.description.as_deref(),
        Some("Triggered by dana@acme.com (manual trigger)")
    );
    let ok = body.replace("TERMINAL", "SUCCEEDED");
    let c = as_change(one(&ok));
    assert_eq!(c.author.as_deref(), Some("dana@acme.com"));
    assert_eq!(c.at.to_rfc3339(), "2026-11-23T09:58:41.512+00:00");
    let unrendered = body.replace(r#""end_time": "1795427921512""#, r#""end_time": """#);
    assert_eq!(
        as_firing(one(&unrendered)).fired_at.to_rfc3339(),
        "2026-11-23T09:50:00.512+00:00",
        "the start, when the end is missing"
    );
    let stage = body.replace(
        r#""status": "TERMINAL""#,
        r#""status": "TERMINAL", "event_type": "orca:stage:failed""#,
    );
    assert!(as_ignored(one(&stage)).contains("orca:stage:failed"));
}

#[test]
fn without_an_end_time_the_event_creation_time_is_used() {
    let body = FAILED.replace(r#""endTime": 1795427921512,"#, r#""endTime": null,"#);
    assert_eq!(
        as_firing(one(&body)).fired_at.to_rfc3339(),
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
