use super::*;
use crate::sources::common::tests_support::*;
use crate::sources::SecretOrigin;

const DELIVERY: &str = "72d3162e-cc78-11e3-81ab-4c9367dc0958";

/// GitHub's `deployment` example (octokit/webhooks), users trimmed to what matters.
const DEPLOYMENT: &str = r#"{
      "action": "created",
      "deployment": {
        "url": "https://api.github.com/repos/Codertocat/Hello-World/deployments/145988746",
        "id": 145988746, "node_id": "MDEwOkRlcGxveW1lbnQxNDU5ODg3NDY=",
        "sha": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", "ref": "master", "task": "deploy",
        "payload": {}, "original_environment": "production", "environment": "production",
        "description": null,
        "creator": {"login": "Codertocat", "id": 21031067, "type": "User", "site_admin": false},
        "created_at": "2019-05-15T15:20:53Z", "updated_at": "2019-05-15T15:20:53Z",
        "statuses_url": "https://api.github.com/repos/Codertocat/Hello-World/deployments/145988746/statuses",
        "repository_url": "https://api.github.com/repos/Codertocat/Hello-World"
      },
      "workflow": null, "workflow_run": null,
      "repository": {"id": 186853002, "name": "Hello-World", "full_name": "Codertocat/Hello-World",
        "html_url": "https://github.com/Codertocat/Hello-World", "private": false,
        "created_at": 1557933565, "pushed_at": 1557933657},
      "sender": {"login": "Codertocat", "id": 21031067, "type": "User", "site_admin": false}
    }"#;

const DEPLOYMENT_STATUS: &str = r#"{
      "action": "created",
      "deployment_status": {
        "url": "https://api.github.com/repos/Codertocat/Hello-World/deployments/145988746/statuses/209916254",
        "id": 209916254, "node_id": "MDE2OkRlcGxveW1lbnRTdGF0dXMyMDk5MTYyNTQ=", "state": "success",
        "creator": {"login": "github-actions[bot]", "id": 41898282, "type": "Bot", "site_admin": false},
        "description": "", "environment": "production", "target_url": "",
        "log_url": "https://github.com/Codertocat/Hello-World/actions/runs/42/job/7",
        "created_at": "2019-05-15T15:20:55Z", "updated_at": "2019-05-15T15:20:55Z",
        "deployment_url": "https://api.github.com/repos/Codertocat/Hello-World/deployments/145988746",
        "repository_url": "https://api.github.com/repos/Codertocat/Hello-World"
      },
      "deployment": {
        "url": "https://api.github.com/repos/Codertocat/Hello-World/deployments/145988746",
        "id": 145988746, "sha": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", "ref": "master",
        "task": "deploy", "payload": {}, "original_environment": "production", "environment": "production",
        "description": null,
        "creator": {"login": "Codertocat", "id": 21031067, "type": "User", "site_admin": false},
        "created_at": "2019-05-15T15:20:53Z", "updated_at": "2019-05-15T15:20:55Z",
        "performed_via_github_app": null
      },
      "repository": {"id": 186853002, "name": "Hello-World", "full_name": "Codertocat/Hello-World",
        "html_url": "https://github.com/Codertocat/Hello-World", "private": false},
      "sender": {"login": "Codertocat", "id": 21031067, "type": "User", "site_admin": false}
    }"#;

const WORKFLOW_RUN: &str = r#"{
      "action": "completed",
      "workflow": {"id": 2823525, "name": "test", "path": ".github/workflows/test.yml", "state": "active",
        "created_at": "2020-10-02T12:42:30.000Z", "updated_at": "2020-10-03T19:24:48.000Z"},
      "workflow_run": {
        "id": 289782451, "name": "CI", "check_suite_id": 1291536064, "conclusion": "success",
        "created_at": "2020-10-05T16:33:24Z", "event": "push", "head_branch": "master",
        "head_commit": {"id": "3484a3fb816e0859fd6e1cea078d76385ff50625",
          "message": "build(test): check workflow run event payload", "timestamp": "2020-10-05T16:32:07Z",
          "author": {"email": "matfax@users.noreply.github.com", "name": "Matthias Fax"}},
        "head_sha": "3484a3fb816e0859fd6e1cea078d76385ff50625", "path": ".github/workflows/test.yml",
        "display_title": "ci(action): update actions/setup-node digest to 8c91899",
        "html_url": "https://github.com/octo-org/octo-repo/actions/runs/289782451",
        "pull_requests": [], "run_number": 163, "run_attempt": 1,
        "run_started_at": "2020-10-05T16:33:49Z", "status": "completed",
        "updated_at": "2020-10-05T16:35:02Z", "workflow_id": 2823525,
        "actor": {"login": "Codertocat", "id": 15669918, "type": "User", "site_admin": false},
        "triggering_actor": {"login": "Codertocat", "id": 15669918, "type": "User", "site_admin": false}
      },
      "repository": {"id": 300029405, "name": "octo-repo", "full_name": "octo-org/octo-repo",
        "html_url": "https://github.com/octo-org/octo-repo", "private": false},
      "sender": {"login": "Codertocat", "id": 15669918, "type": "User", "site_admin": false}
    }"#;

/// GitHub's `pull_request` `closed` example, merged.
const MERGED: &str = r#"{
      "action": "closed",
      "number": 2,
      "pull_request": {
        "url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/2",
        "id": 279147437, "html_url": "https://github.com/Codertocat/Hello-World/pull/2",
        "number": 2, "state": "closed", "locked": false,
        "title": "Update the README with new information.",
        "user": {"login": "Codertocat", "id": 21031067, "type": "User", "site_admin": false},
        "body": "This is a pretty simple change that we need to pull into master.",
        "created_at": "2019-05-15T15:20:33Z", "updated_at": "2019-05-15T15:21:18Z",
        "closed_at": "2019-05-15T15:21:18Z", "merged_at": "2019-05-15T15:21:18Z",
        "merge_commit_sha": "c4295bd74fb0f4fda03689c3df3f2803b658fd85",
        "draft": false, "merged": true, "mergeable": null,
        "merged_by": {"login": "Octocat", "id": 583231, "type": "User", "site_admin": false},
        "comments": 0, "commits": 1, "additions": 1, "deletions": 1, "changed_files": 1,
        "head": {"ref": "changes", "sha": "ec26c3e57ca3a959ca5aad62de7213c562f8c821"},
        "base": {"ref": "master", "sha": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"}
      },
      "installation": {"id": 1},
      "repository": {"id": 186853002, "name": "Hello-World", "full_name": "Codertocat/Hello-World",
        "html_url": "https://github.com/Codertocat/Hello-World", "private": false},
      "sender": {"login": "Octocat", "id": 583231, "type": "User", "site_admin": false}
    }"#;

const PING: &str = r#"{
      "zen": "Anything added dilutes everything else.",
      "hook_id": 109948940,
      "hook": {"type": "Repository", "id": 109948940, "name": "web", "active": true,
        "events": ["deployment", "deployment_status", "workflow_run", "pull_request"],
        "config": {"content_type": "json", "url": "https://aurora.example.com/webhooks/github/x", "insecure_ssl": "0"},
        "updated_at": "2019-05-15T15:20:49Z", "created_at": "2019-05-15T15:20:49Z"},
      "repository": {"id": 186853261, "name": "Hello-World", "full_name": "Octocoders/Hello-World",
        "html_url": "https://github.com/Octocoders/Hello-World", "private": false},
      "sender": {"login": "Codertocat", "id": 21031067, "type": "User", "site_admin": false}
    }"#;

fn parse(event: &str, body: &str) -> Result<Parsed, Refusal> {
    let h = headers(&[
        ("x-github-event", event),
        ("x-github-delivery", DELIVERY),
        ("x-github-hook-id", "109948940"),
    ]);
    GitHub.parse(&delivery(&h, body))
}

fn one(event: &str, body: &str) -> Signal {
    let parsed = parse(event, body).expect("parses");
    assert_eq!(parsed.delivery_id.as_deref(), Some(DELIVERY));
    assert_eq!(parsed.signals.len(), 1);
    parsed.signals.into_iter().next().expect("one signal")
}

fn change(event: &str, body: &str) -> ChangeEvent {
    match one(event, body) {
        Signal::Change(c) => c,
        other => panic!("{event}: a change expected, got {other:?}"),
    }
}

fn ignored_reason(event: &str, body: &str) -> String {
    match one(event, body) {
        Signal::Ignored { reason } => reason,
        other => panic!("{event}: ignored expected, got {other:?}"),
    }
}

fn sign(secret: &[u8], body: &str) -> String {
    crate::sources::common::tests_support::sign(super::DESCRIPTOR.auth, secret, body)
}

/// What the `DEPLOYMENT` example records.
fn the_deployment() -> ChangeEvent {
    ChangeEvent {
        change_id: "deployment-145988746".into(),
        kind: "deployment".into(),
        service: "Hello-World".into(),
        environment: Some("production".into()),
        version: Some("f95f852bd8fca8fcc58a9a2d6c842781e32a215e".into()),
        title: "Deploy master to production".into(),
        author: Some("Codertocat".into()),
        at: "2019-05-15T15:20:53Z".parse().expect("time"),
        url: Some(
            "https://api.github.com/repos/Codertocat/Hello-World/deployments/145988746".into(),
        ),
    }
}

#[test]
fn a_created_deployment_is_a_deployment_change_of_the_repository() {
    assert_eq!(change("deployment", DEPLOYMENT), the_deployment());
}

#[test]
fn a_deployment_without_sha_creator_or_url_falls_back_on_ref_sender_and_repository() {
    let body = DEPLOYMENT
        .replace(
            r#""sha": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", "ref": "master","#,
            r#""ref": "v1.4.2","#,
        )
        .replace(
            r#""creator": {"login": "Codertocat", "id": 21031067, "type": "User", "site_admin": false},"#,
            "",
        )
        .replace(
            r#""url": "https://api.github.com/repos/Codertocat/Hello-World/deployments/145988746","#,
            "",
        )
        .replace(r#""description": null"#, r#""description": "canary""#);
    let c = change("deployment", &body);
    assert_eq!(c.version.as_deref(), Some("v1.4.2"));
    assert_eq!(c.author.as_deref(), Some("Codertocat"), "the sender");
    assert_eq!(
        c.url.as_deref(),
        Some("https://github.com/Codertocat/Hello-World")
    );
    assert_eq!(c.title, "Deploy v1.4.2 to production: canary");
}

#[test]
fn a_successful_deployment_status_is_a_deployment_change_of_its_own() {
    assert_eq!(
        change("deployment_status", DEPLOYMENT_STATUS),
        ChangeEvent {
            change_id: "deployment-145988746-status-209916254".into(),
            title: "Deployed master to production".into(),
            at: "2019-05-15T15:20:55Z".parse().expect("time"),
            // The empty target_url is skipped for the log.
            url: Some("https://github.com/Codertocat/Hello-World/actions/runs/42/job/7".into()),
            // Kind, service, environment, version as the deployment's; the author is who
            // deployed, not the bot that reported the status.
            ..the_deployment()
        }
    );
}

#[test]
fn other_deployment_states_are_ignored() {
    for state in [
        "pending",
        "queued",
        "in_progress",
        "failure",
        "error",
        "inactive",
    ] {
        let body =
            DEPLOYMENT_STATUS.replace(r#""state": "success""#, &format!(r#""state": "{state}""#));
        let reason = ignored_reason("deployment_status", &body);
        assert!(reason.contains(state), "{reason}");
    }
}

#[test]
fn a_successfully_completed_workflow_run_is_a_change() {
    assert_eq!(
        change("workflow_run", WORKFLOW_RUN),
        ChangeEvent {
            change_id: "workflow_run-289782451-attempt-1".into(),
            kind: "workflow_run".into(),
            service: "octo-repo".into(),
            environment: None,
            version: Some("3484a3fb816e0859fd6e1cea078d76385ff50625".into()),
            title: "CI: ci(action): update actions/setup-node digest to 8c91899".into(),
            author: Some("Codertocat".into()),
            at: "2020-10-05T16:35:02Z".parse().expect("time"),
            url: Some("https://github.com/octo-org/octo-repo/actions/runs/289782451".into()),
        }
    );
}

#[test]
fn a_rerun_is_a_change_of_its_own_and_an_unnamed_run_takes_the_workflow_name() {
    let body = WORKFLOW_RUN
        .replace(r#""run_attempt": 1"#, r#""run_attempt": 2"#)
        .replace(r#""name": "CI""#, r#""name": """#);
    let c = change("workflow_run", &body);
    assert_eq!(c.change_id, "workflow_run-289782451-attempt-2");
    assert!(c.title.starts_with("test: ci(action)"), "{}", c.title);
}

#[test]
fn unfinished_or_unsuccessful_workflow_runs_are_ignored() {
    for action in ["requested", "in_progress"] {
        let body = WORKFLOW_RUN
            .replace(
                r#""action": "completed""#,
                &format!(r#""action": "{action}""#),
            )
            .replace(r#""conclusion": "success""#, r#""conclusion": null"#);
        let reason = ignored_reason("workflow_run", &body);
        assert!(reason.contains(action), "{reason}");
    }
    for conclusion in ["failure", "cancelled", "skipped", "timed_out"] {
        let body = WORKFLOW_RUN.replace(
            r#""conclusion": "success""#,
            &format!(r#""conclusion": "{conclusion}""#),
        );
        let reason = ignored_reason("workflow_run", &body);
        assert!(reason.contains(conclusion), "{reason}");
    }
}

#[test]
fn a_merged_pull_request_is_a_change() {
    assert_eq!(
        change("pull_request", MERGED),
        ChangeEvent {
            change_id: "pull_request-279147437".into(),
            kind: "pull_request".into(),
            service: "Hello-World".into(),
            environment: None,
            version: Some("c4295bd74fb0f4fda03689c3df3f2803b658fd85".into()),
            title: "Update the README with new information.".into(),
            // Who merged it.
            author: Some("Octocat".into()),
            at: "2019-05-15T15:21:18Z".parse().expect("time"),
            url: Some("https://github.com/Codertocat/Hello-World/pull/2".into()),
        }
    );
}

#[test]
fn a_pull_request_merged_by_nobody_named_is_credited_to_its_author() {
    let body = MERGED.replace(
        r#""merged_by": {"login": "Octocat", "id": 583231, "type": "User", "site_admin": false},"#,
        r#""merged_by": null,"#,
    );
    assert_eq!(
        change("pull_request", &body).author.as_deref(),
        Some("Codertocat")
    );
}

#[test]
fn pull_requests_closed_unmerged_or_otherwise_changed_are_ignored() {
    let unmerged = MERGED
        .replace(r#""merged": true"#, r#""merged": false"#)
        .replace(
            r#""merged_at": "2019-05-15T15:21:18Z""#,
            r#""merged_at": null"#,
        );
    let reason = ignored_reason("pull_request", &unmerged);
    assert!(reason.contains("without merging"), "{reason}");
    for action in ["opened", "synchronize", "reopened", "labeled"] {
        let body = MERGED.replace(r#""action": "closed""#, &format!(r#""action": "{action}""#));
        let reason = ignored_reason("pull_request", &body);
        assert!(reason.contains(action), "{reason}");
    }
}

#[test]
fn a_ping_is_accepted_and_ignored() {
    let reason = ignored_reason("ping", PING);
    assert!(reason.contains("ping"), "{reason}");
}

#[test]
fn other_event_kinds_are_ignored_by_name() {
    for event in ["push", "issues", "installation", "check_run", "star"] {
        let reason = ignored_reason(event, r#"{"action": "created", "sender": {"login": "x"}}"#);
        assert!(reason.contains(event), "{reason}");
    }
}

#[test]
fn a_delivery_without_its_event_header_is_refused() {
    let h = headers(&[("x-github-delivery", DELIVERY)]);
    match GitHub.parse(&delivery(&h, DEPLOYMENT)) {
        Err(Refusal::BadRequest { code, message }) => {
            assert_eq!(code, "invalid_payload");
            assert!(message.contains("X-GitHub-Event"), "{message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn without_a_delivery_header_the_body_hash_deduplicates() {
    let h = headers(&[("x-github-event", "deployment")]);
    let parsed = GitHub.parse(&delivery(&h, DEPLOYMENT)).expect("parses");
    assert_eq!(parsed.delivery_id, None);
    assert!(matches!(parsed.signals[0], Signal::Change(_)));
    assert_eq!(
        GitHub.descriptor().kept_headers,
        ["x-github-event", "x-github-delivery"]
    );
}

#[test]
fn malformed_payloads_are_refused_saying_why() {
    for (event, body, code) in [
        ("deployment", "not json", "invalid_json"),
        ("ping", "{\"zen\": ", "invalid_json"),
        ("push", "nope", "invalid_json"),
        ("push", "[1, 2]", "invalid_payload"),
        ("deployment", "{}", "invalid_payload"),
        (
            "deployment",
            "{\"deployment\": {\"id\": 1}, \"repository\": {}}",
            "invalid_payload",
        ),
        (
            "deployment",
            "{\"deployment\": {\"id\": \"one\"}, \"repository\": {\"name\": \"r\"}}",
            "invalid_payload",
        ),
        (
            "deployment_status",
            "{\"deployment\": {\"id\": 1}, \"repository\": {\"name\": \"r\"}}",
            "invalid_payload",
        ),
        (
            "deployment_status",
            "{\"deployment_status\": {\"id\": 2}, \"deployment\": {\"id\": 1}, \"repository\": {\"name\": \"r\"}}",
            "invalid_payload",
        ),
        (
            "workflow_run",
            "{\"action\": \"completed\", \"repository\": {\"name\": \"r\"}}",
            "invalid_payload",
        ),
        (
            "workflow_run",
            "{\"action\": \"completed\", \"workflow_run\": {\"id\": 1, \"updated_at\": \"yesterday\"}, \"repository\": {\"name\": \"r\"}}",
            "invalid_payload",
        ),
        (
            "pull_request",
            "{\"action\": \"closed\", \"pull_request\": {\"id\": 1, \"number\": 2}, \"repository\": {\"name\": \"r\"}}",
            "invalid_payload",
        ),
        (
            "pull_request",
            "{\"action\": \"closed\", \"pull_request\": {\"id\": 1, \"number\": 2, \"title\": \"t\", \"merged\": \"yes\"}, \"repository\": {\"name\": \"r\"}}",
            "invalid_payload",
        ),
    ] {
        let h = headers(&[("x-github-event", event)]);
        refuses_malformed(&GitHub, &h, "GitHub", &[(body, code)]);
    }
}

#[test]
fn only_a_signature_of_this_body_with_the_secret_gets_in() {
    only_the_right_secret_gets_in(&GitHub, DEPLOYMENT, "{}");
    let secret = b"whsec-aurora-generated";
    let good = headers(&[
        ("x-hub-signature-256", sign(secret, DEPLOYMENT).as_str()),
        ("x-github-event", "deployment"),
    ]);
    assert!(GitHub.verify(&delivery(&good, DEPLOYMENT), secret).is_ok());
    let digest = sign(secret, DEPLOYMENT);
    let bare = digest.trim_start_matches("sha256=");
    for bad in [
        headers(&[(
            "x-hub-signature-256",
            sign(b"another secret", DEPLOYMENT).as_str(),
        )]),
        headers(&[("x-hub-signature-256", sign(secret, MERGED).as_str())]),
        headers(&[("x-hub-signature-256", bare)]),
        headers(&[("x-hub-signature-256", "sha256=not-hex")]),
        headers(&[("x-hub-signature", sign(secret, DEPLOYMENT).as_str())]),
        headers(&[]),
    ] {
        assert!(matches!(
            GitHub.verify(&delivery(&bad, DEPLOYMENT), secret),
            Err(Refusal::Unauthorized(_))
        ));
    }
}

#[test]
fn setup_asks_for_the_secret_and_the_change_events() {
    let setup = GitHub.setup("https://aurora.example.com/webhooks/github/x", Some("abc"));
    assert_eq!(setup.header, None, "GitHub signs; no header to add");
    assert!(setup.steps[0].contains("Workflow runs"));
    assert!(setup.steps[2].contains("x-hub-signature-256"));
    assert!(!GitHub.descriptor().rca_by_default);
    assert_eq!(GitHub.descriptor().secret_origin, SecretOrigin::Aurora);
}
