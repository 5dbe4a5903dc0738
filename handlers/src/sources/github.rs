//! GitHub (a repository or organization webhook, or a GitHub App's). Authenticated by GitHub's
//! signature: `X-Hub-Signature-256: sha256=<hex hmac-sha256 of the raw body>`, keyed with a
//! secret Aurora generates and the user pastes in as the webhook secret.
//!
//! GitHub never raises alerts: a delivery becomes at most one change event for the service graph
//! (the repository is the service). The event kind is the `X-GitHub-Event` header: a created
//! `deployment`, a `deployment_status` of `success`, a `workflow_run` completed with `success`,
//! and a merged `pull_request` are changes; `ping` and everything else are ignored with the
//! reason. Each change's id is GitHub's id of the deployment (status), run (attempt) or pull
//! request. Retries are deduplicated on `X-GitHub-Delivery`, GitHub's id of the delivery. Nothing
//! resolves.

use aurora_domain::intake::{ChangeEvent, Signal};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::common::json;
use super::{Auth, Delivery, Parsed, Refusal, SecretOrigin, Source, SourceDescriptor};

pub struct GitHub;

const EVENT_HEADER: &str = "x-github-event";
const DELIVERY_HEADER: &str = "x-github-delivery";

#[derive(Debug, Deserialize)]
struct Repository {
    name: String,
    #[serde(default)]
    html_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct User {
    login: String,
}

#[derive(Debug, Deserialize)]
struct DeploymentEvent {
    #[serde(default)]
    action: Option<String>,
    deployment: Deployment,
    repository: Repository,
    #[serde(default)]
    sender: Option<User>,
}

#[derive(Debug, Deserialize)]
struct Deployment {
    id: u64,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    sha: Option<String>,
    #[serde(default, rename = "ref")]
    git_ref: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    creator: Option<User>,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
struct DeploymentStatusEvent {
    deployment_status: DeploymentStatus,
    deployment: Deployment,
    repository: Repository,
    #[serde(default)]
    sender: Option<User>,
}

#[derive(Debug, Deserialize)]
struct DeploymentStatus {
    id: u64,
    state: String,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    target_url: Option<String>,
    #[serde(default)]
    log_url: Option<String>,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
struct WorkflowRunEvent {
    action: String,
    workflow_run: WorkflowRun,
    #[serde(default)]
    workflow: Option<Workflow>,
    repository: Repository,
    #[serde(default)]
    sender: Option<User>,
}

#[derive(Debug, Deserialize)]
struct Workflow {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WorkflowRun {
    id: u64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    display_title: Option<String>,
    #[serde(default)]
    run_number: Option<u64>,
    #[serde(default)]
    run_attempt: Option<u64>,
    #[serde(default)]
    head_sha: Option<String>,
    #[serde(default)]
    conclusion: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    actor: Option<User>,
}

#[derive(Debug, Deserialize)]
struct PullRequestEvent {
    action: String,
    pull_request: PullRequest,
    repository: Repository,
    #[serde(default)]
    sender: Option<User>,
}

#[derive(Debug, Deserialize)]
struct PullRequest {
    id: u64,
    number: u64,
    title: String,
    #[serde(default)]
    merged: Option<bool>,
    #[serde(default)]
    merged_at: Option<DateTime<Utc>>,
    #[serde(default)]
    merge_commit_sha: Option<String>,
    #[serde(default)]
    merged_by: Option<User>,
    #[serde(default)]
    user: Option<User>,
    #[serde(default)]
    html_url: Option<String>,
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn login(user: Option<&User>) -> Option<String> {
    non_empty(user.map(|u| u.login.as_str()))
}

fn ignored(reason: String) -> Signal {
    Signal::Ignored { reason }
}

impl Deployment {
    /// What was deployed: the ref (`main`, `v1.2.0`), else the commit.
    fn what(&self) -> String {
        non_empty(self.git_ref.as_deref())
            .or_else(|| non_empty(self.sha.as_deref()).map(|s| s.chars().take(7).collect()))
            .unwrap_or_else(|| format!("deployment {}", self.id))
    }

    fn title(&self, verb: &str, environment: Option<&str>, description: Option<&str>) -> String {
        let mut title = format!("{verb} {}", self.what());
        if let Some(env) = environment {
            title.push_str(" to ");
            title.push_str(env);
        }
        if let Some(d) = non_empty(description) {
            title.push_str(": ");
            title.push_str(&d);
        }
        title
    }
}

fn deployment(e: DeploymentEvent, now: DateTime<Utc>) -> Signal {
    let action = e.action.as_deref().unwrap_or("created");
    if action != "created" {
        return ignored(format!(
            "GitHub deployment event with action {action:?}: only created deployments are changes"
        ));
    }
    let d = e.deployment;
    let environment = non_empty(d.environment.as_deref());
    Signal::Change(ChangeEvent {
        change_id: format!("deployment-{}", d.id),
        kind: "deployment".into(),
        service: e.repository.name,
        title: d.title("Deploy", environment.as_deref(), d.description.as_deref()),
        environment,
        version: non_empty(d.sha.as_deref()).or_else(|| non_empty(d.git_ref.as_deref())),
        author: login(d.creator.as_ref()).or_else(|| login(e.sender.as_ref())),
        at: d.created_at.unwrap_or(now),
        url: non_empty(d.url.as_deref()).or_else(|| non_empty(e.repository.html_url.as_deref())),
    })
}

fn deployment_status(e: DeploymentStatusEvent, now: DateTime<Utc>) -> Signal {
    let s = e.deployment_status;
    let d = e.deployment;
    if s.state != "success" {
        return ignored(format!(
            "GitHub deployment {} is {:?}: only successful deployment statuses are changes",
            d.id, s.state
        ));
    }
    let environment =
        non_empty(s.environment.as_deref()).or_else(|| non_empty(d.environment.as_deref()));
    Signal::Change(ChangeEvent {
        change_id: format!("deployment-{}-status-{}", d.id, s.id),
        kind: "deployment".into(),
        service: e.repository.name,
        title: d.title("Deployed", environment.as_deref(), s.description.as_deref()),
        environment,
        version: non_empty(d.sha.as_deref()).or_else(|| non_empty(d.git_ref.as_deref())),
        author: login(d.creator.as_ref()).or_else(|| login(e.sender.as_ref())),
        at: s.created_at.unwrap_or(now),
        url: non_empty(s.target_url.as_deref())
            .or_else(|| non_empty(s.log_url.as_deref()))
            .or_else(|| non_empty(d.url.as_deref()))
            .or_else(|| non_empty(e.repository.html_url.as_deref())),
    })
}

fn workflow_run(e: WorkflowRunEvent, now: DateTime<Utc>) -> Signal {
    let run = e.workflow_run;
    let name = non_empty(run.name.as_deref())
        .or_else(|| non_empty(e.workflow.as_ref().and_then(|w| w.name.as_deref())));
    let described = name.clone().unwrap_or_else(|| format!("run {}", run.id));
    if e.action != "completed" {
        return ignored(format!(
            "GitHub workflow run {described:?} {}: only successfully completed runs are changes",
            e.action
        ));
    }
    let conclusion = run.conclusion.as_deref().unwrap_or("none");
    if conclusion != "success" {
        return ignored(format!(
            "GitHub workflow run {described:?} concluded {conclusion:?}: only successful runs are changes"
        ));
    }
    let title = match (name, non_empty(run.display_title.as_deref())) {
        (Some(n), Some(t)) => format!("{n}: {t}"),
        (Some(one), None) | (None, Some(one)) => one,
        (None, None) => format!("Workflow run #{}", run.run_number.unwrap_or(run.id)),
    };
    Signal::Change(ChangeEvent {
        change_id: format!(
            "workflow_run-{}-attempt-{}",
            run.id,
            run.run_attempt.unwrap_or(1)
        ),
        kind: "workflow_run".into(),
        service: e.repository.name,
        environment: None,
        version: non_empty(run.head_sha.as_deref()),
        title,
        author: login(run.actor.as_ref()).or_else(|| login(e.sender.as_ref())),
        at: run.updated_at.unwrap_or(now),
        url: non_empty(run.html_url.as_deref())
            .or_else(|| non_empty(e.repository.html_url.as_deref())),
    })
}

fn pull_request(e: PullRequestEvent, now: DateTime<Utc>) -> Signal {
    let pr = e.pull_request;
    let merged = pr.merged.unwrap_or(pr.merged_at.is_some());
    if e.action != "closed" || !merged {
        let what = if e.action == "closed" {
            "closed without merging".to_owned()
        } else {
            e.action.clone()
        };
        return ignored(format!(
            "GitHub pull request #{} {what}: only merged pull requests are changes",
            pr.number
        ));
    }
    Signal::Change(ChangeEvent {
        change_id: format!("pull_request-{}", pr.id),
        kind: "pull_request".into(),
        service: e.repository.name,
        environment: None,
        version: non_empty(pr.merge_commit_sha.as_deref()),
        title: pr.title,
        author: login(pr.merged_by.as_ref())
            .or_else(|| login(pr.user.as_ref()))
            .or_else(|| login(e.sender.as_ref())),
        at: pr.merged_at.unwrap_or(now),
        url: non_empty(pr.html_url.as_deref())
            .or_else(|| non_empty(e.repository.html_url.as_deref())),
    })
}

const DESCRIPTOR: SourceDescriptor = SourceDescriptor {
    name: "github",
    title: "GitHub",
    auth: Auth::HmacSha256 {
        header: "x-hub-signature-256",
        prefix: "sha256=",
        bare_hex_too: false,
    },
    secret_origin: SecretOrigin::Aurora,
    rca_by_default: false,
    kept_headers: &[EVENT_HEADER, DELIVERY_HEADER],
    where_to_configure: "the repository's (or organization's, or GitHub App's) Settings → Webhooks → Add webhook; content type application/json, the secret Aurora generated, and the events Deployments, Deployment statuses, Workflow runs and Pull requests",
};

impl Source for GitHub {
    fn descriptor(&self) -> &'static SourceDescriptor {
        &DESCRIPTOR
    }

    fn parse(&self, delivery: &Delivery<'_>) -> Result<Parsed, Refusal> {
        let event = delivery.value(EVENT_HEADER)
            .ok_or_else(|| {
                Refusal::bad(
                    "invalid_payload",
                    "the X-GitHub-Event header is required: it says what kind of GitHub event the delivery is",
                )
            })?;
        let delivery_id = delivery.value(DELIVERY_HEADER).map(str::to_owned);
        let now = delivery.received_at;
        let body = delivery.body;
        let signal = match event {
            "deployment" => deployment(json("GitHub deployment", body)?, now),
            "deployment_status" => deployment_status(json("GitHub deployment_status", body)?, now),
            "workflow_run" => workflow_run(json("GitHub workflow_run", body)?, now),
            "pull_request" => pull_request(json("GitHub pull_request", body)?, now),
            other => {
                // Still a GitHub delivery: it must be a JSON object.
                let _: serde_json::Map<String, serde_json::Value> = json("GitHub", body)?;
                ignored(if other == "ping" {
                    "a GitHub ping: the webhook is set up".to_owned()
                } else {
                    format!("GitHub {other:?} events are not changes Aurora records")
                })
            }
        };
        Ok(Parsed {
            delivery_id,
            signals: vec![signal],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::common::tests_support::*;

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

    #[test]
    fn a_created_deployment_is_a_deployment_change_of_the_repository() {
        let c = change("deployment", DEPLOYMENT);
        assert_eq!(c.change_id, "deployment-145988746");
        assert_eq!(c.kind, "deployment");
        assert_eq!(c.service, "Hello-World");
        assert_eq!(c.environment.as_deref(), Some("production"));
        assert_eq!(
            c.version.as_deref(),
            Some("f95f852bd8fca8fcc58a9a2d6c842781e32a215e")
        );
        assert_eq!(c.title, "Deploy master to production");
        assert_eq!(c.author.as_deref(), Some("Codertocat"));
        assert_eq!(c.at.to_rfc3339(), "2019-05-15T15:20:53+00:00");
        assert_eq!(
            c.url.as_deref(),
            Some("https://api.github.com/repos/Codertocat/Hello-World/deployments/145988746")
        );
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
        let c = change("deployment_status", DEPLOYMENT_STATUS);
        assert_eq!(c.change_id, "deployment-145988746-status-209916254");
        assert_eq!(c.kind, "deployment");
        assert_eq!(c.service, "Hello-World");
        assert_eq!(c.environment.as_deref(), Some("production"));
        assert_eq!(
            c.version.as_deref(),
            Some("f95f852bd8fca8fcc58a9a2d6c842781e32a215e")
        );
        assert_eq!(c.title, "Deployed master to production");
        assert_eq!(
            c.author.as_deref(),
            Some("Codertocat"),
            "who deployed, not the bot"
        );
        assert_eq!(c.at.to_rfc3339(), "2019-05-15T15:20:55+00:00");
        assert_eq!(
            c.url.as_deref(),
            Some("https://github.com/Codertocat/Hello-World/actions/runs/42/job/7"),
            "the empty target_url is skipped"
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
            let body = DEPLOYMENT_STATUS
                .replace(r#""state": "success""#, &format!(r#""state": "{state}""#));
            let reason = ignored_reason("deployment_status", &body);
            assert!(reason.contains(state), "{reason}");
        }
    }

    #[test]
    fn a_successfully_completed_workflow_run_is_a_change() {
        let c = change("workflow_run", WORKFLOW_RUN);
        assert_eq!(c.change_id, "workflow_run-289782451-attempt-1");
        assert_eq!(c.kind, "workflow_run");
        assert_eq!(c.service, "octo-repo");
        assert_eq!(c.environment, None);
        assert_eq!(
            c.version.as_deref(),
            Some("3484a3fb816e0859fd6e1cea078d76385ff50625")
        );
        assert_eq!(
            c.title,
            "CI: ci(action): update actions/setup-node digest to 8c91899"
        );
        assert_eq!(c.author.as_deref(), Some("Codertocat"));
        assert_eq!(c.at.to_rfc3339(), "2020-10-05T16:35:02+00:00");
        assert_eq!(
            c.url.as_deref(),
            Some("https://github.com/octo-org/octo-repo/actions/runs/289782451")
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
        let c = change("pull_request", MERGED);
        assert_eq!(c.change_id, "pull_request-279147437");
        assert_eq!(c.kind, "pull_request");
        assert_eq!(c.service, "Hello-World");
        assert_eq!(
            c.version.as_deref(),
            Some("c4295bd74fb0f4fda03689c3df3f2803b658fd85")
        );
        assert_eq!(c.title, "Update the README with new information.");
        assert_eq!(c.author.as_deref(), Some("Octocat"), "who merged it");
        assert_eq!(c.at.to_rfc3339(), "2019-05-15T15:21:18+00:00");
        assert_eq!(
            c.url.as_deref(),
            Some("https://github.com/Codertocat/Hello-World/pull/2")
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
            let reason =
                ignored_reason(event, r#"{"action": "created", "sender": {"login": "x"}}"#);
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
}
