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
    levels_map_onto(
        &[
            ("fatal", Severity::Critical),
            ("error", Severity::High),
            ("warning", Severity::Medium),
            ("info", Severity::Info),
            ("debug", Severity::Info),
        ],
        |level| ISSUE_CREATED.replace(r#""level": "fatal""#, &format!(r#""level": "{level}""#)),
        |b| only(parse("issue", b)),
    );
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
    assert_eq!(
        only(parse("issue", &body)),
        resolved(
            "sentry-issue-1234567890",
            &format!("{INSTALL}:1234567890:resolved"),
            "2026-11-23T10:00:30+00:00"
        )
    );
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
