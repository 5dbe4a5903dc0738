use super::fixtures::{sign, FAILED, STEP};
use super::plugin::{job_from_url, percent_decode, LOG_TAIL};
use super::*;
use crate::sources::common::tests_support::*;

fn one(body: &str) -> Signal {
    one_signal(&JENKINS, body)
}

#[test]
fn a_failed_build_fires_an_alert_identified_by_job_and_build_number() {
    let a = as_firing(one(FAILED));
    assert_eq!(a.alert_id, "shop/checkout service/main#142");
    assert_eq!(a.fingerprint, "jenkins-shop/checkout service/main");
    assert_eq!(a.title, "shop/checkout service/main #142 failed");
    assert_eq!(a.service.as_deref(), Some("shop/checkout service/main"));
    assert_eq!(a.environment.as_deref(), Some("production"));
    assert_eq!(a.severity, Severity::High);
    assert_eq!(a.fired_at.to_rfc3339(), "2026-11-23T09:58:41.512+00:00");
    assert_eq!(
        a.url.as_deref(),
        Some("https://ci.example.com/job/shop/job/checkout%20service/job/main/142/")
    );
    let d = a.description.expect("description");
    assert!(d.starts_with("nightly release candidate\n"), "{d}");
    assert!(
        d.contains(
            "Tests: 2 of 412 failed: cart::tests::applies_coupon, tax::tests::rounds_half_up"
        ),
        "{d}"
    );
    assert!(
        d.contains("Branch origin/main at 9fceb02d0ae598e95dc970b74767f19372d61af8"),
        "{d}"
    );
    assert!(d.contains("Culprits: alice, bob"), "{d}");
    assert!(
        d.contains("Last log lines:\n[Pipeline] sh") && d.ends_with("Finished: FAILURE"),
        "{d}"
    );
}

#[test]
fn an_unstable_build_fires_at_medium_severity() {
    let a = as_firing(one(
        &FAILED.replace(r#""status": "FAILURE""#, r#""status": "UNSTABLE""#)
    ));
    assert_eq!(a.title, "shop/checkout service/main #142 unstable");
    assert_eq!(a.severity, Severity::Medium);
    assert_eq!(a.fingerprint, "jenkins-shop/checkout service/main");
}

#[test]
fn every_failed_build_is_its_own_alert_of_the_same_problem() {
    let next = FAILED
        .replace(r#""number": 142"#, r#""number": 143"#)
        .replace("/142/", "/143/");
    let (a, b) = (as_firing(one(FAILED)), as_firing(one(&next)));
    assert_ne!(a.alert_id, b.alert_id);
    assert_eq!(a.fingerprint, b.fingerprint);
}

#[test]
fn a_successful_build_is_recorded_as_a_build_change_only() {
    let c = as_change(one(
        &FAILED.replace(r#""status": "FAILURE""#, r#""status": "SUCCESS""#)
    ));
    assert_eq!(c.change_id, "shop/checkout service/main#142");
    assert_eq!(c.kind, "build");
    assert_eq!(c.service, "shop/checkout service/main");
    assert_eq!(c.environment.as_deref(), Some("production"));
    assert_eq!(
        c.version.as_deref(),
        Some("9fceb02d0ae598e95dc970b74767f19372d61af8")
    );
    assert_eq!(c.title, "shop/checkout service/main #142 succeeded");
    assert_eq!(c.author.as_deref(), Some("alice"), "the first culprit");
    assert_eq!(c.at.to_rfc3339(), "2026-11-23T09:58:41.512+00:00");
    assert_eq!(
        c.url.as_deref(),
        Some("https://ci.example.com/job/shop/job/checkout%20service/job/main/142/")
    );
}

#[test]
fn a_service_parameter_names_the_service_but_not_the_identity() {
    let body = FAILED.replace(
        r#""DRY_RUN": "false""#,
        r#""DRY_RUN": "false", "SERVICE": "checkout""#,
    );
    let a = as_firing(one(&body));
    assert_eq!(a.service.as_deref(), Some("checkout"));
    assert_eq!(a.alert_id, "shop/checkout service/main#142");
    assert_eq!(a.fingerprint, "jenkins-shop/checkout service/main");
}

#[test]
fn a_top_level_job_without_url_is_named_by_its_name() {
    let body = FAILED
        .replace(r#""url": "job/shop/job/checkout%20service/job/main/","#, "")
        .replace(r#""name": "main""#, r#""name": "nightly-etl""#);
    let a = as_firing(one(&body));
    assert_eq!(a.alert_id, "nightly-etl#142");
    assert_eq!(a.fingerprint, "jenkins-nightly-etl");
}

#[test]
fn only_the_finalized_notification_is_acted_on() {
    for phase in ["QUEUED", "STARTED", "COMPLETED"] {
        let body = FAILED.replace(r#""phase": "FINALIZED""#, &format!(r#""phase": "{phase}""#));
        let reason = as_ignored(one(&body));
        assert!(
            reason.contains(phase) && reason.contains("FINALIZED"),
            "{reason}"
        );
        assert!(reason.contains("#142"), "{reason}");
    }
    // A started build has no result yet.
    let started = FAILED
        .replace(r#""phase": "FINALIZED""#, r#""phase": "STARTED""#)
        .replace(r#""status": "FAILURE","#, "");
    assert!(as_ignored(one(&started)).contains("STARTED"));
}

#[test]
fn aborted_not_built_and_resultless_builds_are_ignored() {
    for status in ["ABORTED", "NOT_BUILT"] {
        let body = FAILED.replace(
            r#""status": "FAILURE""#,
            &format!(r#""status": "{status}""#),
        );
        let reason = as_ignored(one(&body));
        assert!(reason.contains(status), "{reason}");
    }
    let odd = FAILED.replace(r#""status": "FAILURE""#, r#""status": "WEIRD""#);
    assert!(as_ignored(one(&odd)).contains("WEIRD"));
    let none = FAILED.replace(r#""status": "FAILURE","#, "");
    assert!(as_ignored(one(&none)).contains("without a result"));
}

#[test]
fn an_older_plugin_timestamp_in_epoch_milliseconds_is_read() {
    let body = FAILED.replace(
        r#""timestamp": "2026-11-23T09:58:41.512+00:00""#,
        r#""timestamp": 1795427921512"#,
    );
    assert_eq!(
        as_firing(one(&body)).fired_at.to_rfc3339(),
        "2026-11-23T09:58:41.512+00:00"
    );
    let unreadable = FAILED.replace(
        r#""timestamp": "2026-11-23T09:58:41.512+00:00""#,
        r#""timestamp": "yesterday""#,
    );
    assert_eq!(
        as_firing(one(&unreadable)).fired_at.to_rfc3339(),
        "2026-11-23T10:00:30+00:00",
        "falls back on the time received"
    );
}

#[test]
fn a_lean_notification_still_fires() {
    let body = r#"{"name":"deploy","url":"job/deploy/","build":{"number":9,"phase":"FINALIZED","status":"FAILURE","url":"job/deploy/9/"}}"#;
    let a = as_firing(one(body));
    assert_eq!(a.alert_id, "deploy#9");
    assert_eq!(a.description, None);
    assert_eq!(
        a.url.as_deref(),
        Some("job/deploy/9/"),
        "no root URL configured"
    );
    assert_eq!(a.environment, None);
}

#[test]
fn a_long_log_is_cut_to_its_last_lines() {
    let long: String = (0..500).map(|i| format!("line {i}\\n")).collect();
    let body = FAILED.replace(
        r#""log": "[Pipeline] sh\n+ cargo test\ntest cart::tests::applies_coupon ... FAILED\nerror: test failed, to rerun pass `--lib`\nFinished: FAILURE\n""#,
        &format!(r#""log": "{long}""#),
    );
    let d = as_firing(one(&body)).description.expect("description");
    let log = d.split("Last log lines:\n").nth(1).expect("log");
    assert!(log.len() <= LOG_TAIL, "{}", log.len());
    assert!(
        log.starts_with("line ") && log.ends_with("line 499"),
        "{log}"
    );
}

#[test]
fn the_pipeline_step_payload_upstream_documents_fires_too() {
    let a = as_firing(one(STEP));
    assert_eq!(a.alert_id, "payments-api#77");
    assert_eq!(a.fingerprint, "jenkins-payments-api");
    assert_eq!(a.title, "payments-api #77 failed");
    assert_eq!(a.service.as_deref(), Some("payments-api"));
    assert_eq!(a.environment.as_deref(), Some("staging"));
    assert_eq!(a.severity, Severity::High);
    assert_eq!(a.fired_at.to_rfc3339(), "2026-11-23T10:00:30+00:00");
    assert_eq!(
        a.url.as_deref(),
        Some("https://ci.example.com/job/payments-api/77/")
    );
    let d = a.description.expect("description");
    assert!(d.contains("Branch origin/release-2.4 at 3f786850e387550fdab836ed7e6dc881de23001b"));
    assert!(d.contains("Deployer: carol") && d.contains("Trace: 4bf92f3577b34da6a3ce929d0e0e4736"));
}

#[test]
fn a_successful_pipeline_step_is_a_change_by_its_deployer() {
    let body = STEP.replace(r#""result":"FAILURE""#, r#""result":"SUCCESS""#);
    let c = as_change(one(&body));
    assert_eq!(c.change_id, "payments-api#77");
    assert_eq!(c.kind, "build");
    assert_eq!(
        c.version.as_deref(),
        Some("3f786850e387550fdab836ed7e6dc881de23001b")
    );
    assert_eq!(c.author.as_deref(), Some("carol"));
    assert_eq!(c.environment.as_deref(), Some("staging"));
}

#[test]
fn a_step_with_its_own_job_name_and_a_string_build_number_is_read() {
    let body = r#"{"job_name":"shop/checkout/main","service":"checkout","build_number":"12","result":"unstable","build_url":"https://ci/x/12/","git":{"commit_sha":"null","branch":"null"}}"#;
    let a = as_firing(one(body));
    assert_eq!(a.alert_id, "shop/checkout/main#12");
    assert_eq!(a.fingerprint, "jenkins-shop/checkout/main");
    assert_eq!(a.service.as_deref(), Some("checkout"));
    assert_eq!(a.severity, Severity::Medium);
    assert_eq!(a.description, None, "Groovy's \"null\" is no commit");
    let aborted = body.replace(r#""result":"unstable""#, r#""result":"ABORTED""#);
    assert!(as_ignored(one(&aborted)).contains("ABORTED"));
}

#[test]
fn malformed_payloads_are_refused_saying_why() {
    refuses_malformed(
        &JENKINS,
        &headers(&[]),
        "Jenkins",
        &[
            ("not json", "invalid_json"),
            (r#"{"build": "#, "invalid_json"),
            ("[1, 2]", "invalid_payload"),
            ("{}", "invalid_payload"),
            (r#"{"name": "x", "other": 1}"#, "invalid_payload"),
            (r#"{"name": "x", "build": "yes"}"#, "invalid_payload"),
            (
                r#"{"name": "x", "build": {"phase": "FINALIZED", "status": "FAILURE"}}"#,
                "invalid_payload",
            ),
            (
                r#"{"name": "x", "build": {"number": true, "phase": "FINALIZED"}}"#,
                "invalid_payload",
            ),
            (
                r#"{"build": {"number": 1, "phase": "FINALIZED", "status": "FAILURE"}}"#,
                "invalid_payload",
            ),
            (
                r#"{"name": "x", "build": {"number": 1, "status": 3}}"#,
                "invalid_payload",
            ),
            (
                r#"{"name": "x", "build": {"number": 1, "scm": {"culprits": "alice"}}}"#,
                "invalid_payload",
            ),
            (r#"{"service": "x", "build_number": 3}"#, "invalid_payload"),
            (
                r#"{"result": "FAILURE", "build_number": 3}"#,
                "invalid_payload",
            ),
            (
                r#"{"service": "x", "result": "FAILURE"}"#,
                "invalid_payload",
            ),
            (
                r#"{"service": "x", "result": 1, "build_number": 3}"#,
                "invalid_payload",
            ),
            (
                r#"{"service": "x", "result": "FAILURE", "build_number": [3]}"#,
                "invalid_payload",
            ),
        ],
    );
}

#[test]
fn only_a_signature_of_this_body_with_the_secret_gets_in() {
    only_the_right_secret_gets_in(&JENKINS, FAILED, STEP);
    bare_hex_signatures_get_in_too(&JENKINS, FAILED, STEP);
    let secret = b"aurora-generated-secret";
    let digest = sign(secret, FAILED);
    let bare = headers(&[("x-aurora-signature", digest.trim_start_matches("sha256="))]);
    assert!(JENKINS.verify(&delivery(&bare, FAILED), secret).is_ok());
    refused(
        &JENKINS,
        secret,
        FAILED,
        &[
            headers(&[("x-aurora-signature", "sha256=0123abcd")]),
            headers(&[("x-aurora-signature", "sha256=not-hex")]),
            headers(&[("x-aurora-signature", "not-hex")]),
            headers(&[("x-hub-signature-256", digest.as_str())]),
        ],
    );
}

#[test]
fn setup_explains_how_the_job_signs_what_it_sends() {
    let url = "https://aurora.example.com/webhooks/jenkins/3f1c";
    let setup = JENKINS.setup(url, Some("s3cr3t"));
    assert_eq!(setup.url, url);
    assert_eq!(setup.method, "POST");
    assert_eq!(setup.header, None, "the signature is computed per body");
    assert!(setup.steps[0].contains("openssl dgst -sha256 -hmac"));
    assert!(setup.steps[1].contains("s3cr3t"));
    assert!(setup.steps[2].contains(&format!("curl -fsS -X POST '{url}'")));
    assert!(setup.steps[2].contains("X-Aurora-Signature: sha256=$SIG"));
    assert!(setup
        .steps
        .iter()
        .any(|s| s.contains("Notification plugin")));
    assert!(!JENKINS.setup(url, None).steps[1].contains("s3cr3t"));
    assert_eq!(JENKINS.descriptor().auth, AURORA_SIGNATURE);
    assert!(JENKINS.descriptor().rca_by_default);
    assert!(JENKINS.descriptor().kept_headers.is_empty());
}

#[test]
fn job_names_come_from_their_url_decoded() {
    assert_eq!(job_from_url("job/a%20b/job/c/").as_deref(), Some("a b/c"));
    assert_eq!(
        job_from_url("https://ci.example.com/job/x/job/y/").as_deref(),
        Some("x/y")
    );
    assert_eq!(job_from_url("job/job/").as_deref(), Some("job"));
    assert_eq!(job_from_url("view/all/"), None);
    assert_eq!(percent_decode("100%"), "100%");
    assert_eq!(percent_decode("caf%C3%A9%2"), "café%2");
}
