use aurora_domain::Severity;

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
    levels_map_onto(
        &[
            ("Highest", Severity::Critical),
            ("Blocker", Severity::Critical),
            ("High", Severity::High),
            ("Major", Severity::High),
            ("Medium", Severity::Medium),
            ("Low", Severity::Low),
            ("Lowest", Severity::Low),
            ("P1", Severity::Critical),
        ],
        |priority| CREATED.replace(r#""name": "High""#, &format!(r#""name": "{priority}""#)),
        one,
    );
    let body = CREATED.replace(
        r#""priority": {"self": "https://acme.atlassian.net/rest/api/2/priority/2", "name": "High", "id": "2"},"#,
        r#""priority": null,"#,
    );
    let Signal::Firing(a) = one(&body) else {
        panic!("firing expected")
    };
    assert_eq!(a.severity, Severity::Unknown, "no priority: unknown");
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
    assert_eq!(
        one(&body),
        resolved("jira-issue-OPS-42", "OPS-42", "2026-11-23T10:20:00+00:00")
    );
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
    the_bearer_secret_alone_gets_in(
        &Jira,
        (CREATED, "{}"),
        &[
            ("authorization", "bearer s3cret"),
            ("x-atlassian-webhook-identifier", "abc"),
        ],
    );
}

#[test]
fn rca_starts_by_default_and_setup_names_the_header() {
    assert!(Jira.descriptor().rca_by_default);
    let setup = Jira.setup("https://aurora.example.com/webhooks/jira/x", Some("abc"));
    assert_eq!(setup.header_value.as_deref(), Some("Bearer abc"));
}
