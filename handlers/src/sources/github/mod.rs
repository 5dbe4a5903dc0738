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

use super::common::{json, json_object, non_blank_owned, EventHeaders};
use super::{Auth, Delivery, Parsed, Refusal, Source, SourceDescriptor};

pub struct GitHub;

const HEADERS: EventHeaders = EventHeaders {
    event: ("x-github-event", "X-GitHub-Event"),
    delivery: "x-github-delivery",
};

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

fn login(user: Option<&User>) -> Option<String> {
    non_blank_owned(user.map(|u| u.login.as_str()))
}

fn ignored(reason: String) -> Signal {
    Signal::Ignored { reason }
}

impl Deployment {
    /// What was deployed: the ref (`main`, `v1.2.0`), else the commit.
    fn what(&self) -> String {
        non_blank_owned(self.git_ref.as_deref())
            .or_else(|| non_blank_owned(self.sha.as_deref()).map(|s| s.chars().take(7).collect()))
            .unwrap_or_else(|| format!("deployment {}", self.id))
    }

    fn title(&self, verb: &str, environment: Option<&str>, description: Option<&str>) -> String {
        let mut title = format!("{verb} {}", self.what());
        if let Some(env) = environment {
            title.push_str(" to ");
            title.push_str(env);
        }
        if let Some(d) = non_blank_owned(description) {
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
    let environment = non_blank_owned(d.environment.as_deref());
    Signal::Change(ChangeEvent {
        change_id: format!("deployment-{}", d.id),
        kind: "deployment".into(),
        service: e.repository.name,
        title: d.title("Deploy", environment.as_deref(), d.description.as_deref()),
        environment,
        version: non_blank_owned(d.sha.as_deref())
            .or_else(|| non_blank_owned(d.git_ref.as_deref())),
        author: login(d.creator.as_ref()).or_else(|| login(e.sender.as_ref())),
        at: d.created_at.unwrap_or(now),
        url: non_blank_owned(d.url.as_deref())
            .or_else(|| non_blank_owned(e.repository.html_url.as_deref())),
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
    let environment = non_blank_owned(s.environment.as_deref())
        .or_else(|| non_blank_owned(d.environment.as_deref()));
    Signal::Change(ChangeEvent {
        change_id: format!("deployment-{}-status-{}", d.id, s.id),
        kind: "deployment".into(),
        service: e.repository.name,
        title: d.title("Deployed", environment.as_deref(), s.description.as_deref()),
        environment,
        version: non_blank_owned(d.sha.as_deref())
            .or_else(|| non_blank_owned(d.git_ref.as_deref())),
        author: login(d.creator.as_ref()).or_else(|| login(e.sender.as_ref())),
        at: s.created_at.unwrap_or(now),
        url: non_blank_owned(s.target_url.as_deref())
            .or_else(|| non_blank_owned(s.log_url.as_deref()))
            .or_else(|| non_blank_owned(d.url.as_deref()))
            .or_else(|| non_blank_owned(e.repository.html_url.as_deref())),
    })
}

fn workflow_run(e: WorkflowRunEvent, now: DateTime<Utc>) -> Signal {
    let run = e.workflow_run;
    let name = non_blank_owned(run.name.as_deref())
        .or_else(|| non_blank_owned(e.workflow.as_ref().and_then(|w| w.name.as_deref())));
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
    let title = match (name, non_blank_owned(run.display_title.as_deref())) {
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
        version: non_blank_owned(run.head_sha.as_deref()),
        title,
        author: login(run.actor.as_ref()).or_else(|| login(e.sender.as_ref())),
        at: run.updated_at.unwrap_or(now),
        url: non_blank_owned(run.html_url.as_deref())
            .or_else(|| non_blank_owned(e.repository.html_url.as_deref())),
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
        version: non_blank_owned(pr.merge_commit_sha.as_deref()),
        title: pr.title,
        author: login(pr.merged_by.as_ref())
            .or_else(|| login(pr.user.as_ref()))
            .or_else(|| login(e.sender.as_ref())),
        at: pr.merged_at.unwrap_or(now),
        url: non_blank_owned(pr.html_url.as_deref())
            .or_else(|| non_blank_owned(e.repository.html_url.as_deref())),
    })
}

const DESCRIPTOR: SourceDescriptor = SourceDescriptor {
    rca_by_default: false,
    kept_headers: &[HEADERS.event.0, HEADERS.delivery],
    ..SourceDescriptor::new(
        "github",
        "GitHub",
        Auth::hmac_sha256("x-hub-signature-256", "sha256="),
        "the repository's (or organization's, or GitHub App's) Settings → Webhooks → Add webhook; content type application/json, the secret Aurora generated, and the events Deployments, Deployment statuses, Workflow runs and Pull requests",
    )
};

impl Source for GitHub {
    fn descriptor(&self) -> &'static SourceDescriptor {
        &DESCRIPTOR
    }

    fn parse(&self, delivery: &Delivery<'_>) -> Result<Parsed, Refusal> {
        let (event, delivery_id) = HEADERS.read("GitHub", delivery)?;
        let now = delivery.received_at;
        let body = delivery.body;
        let signal = match event {
            "deployment" => deployment(json("GitHub deployment", body)?, now),
            "deployment_status" => deployment_status(json("GitHub deployment_status", body)?, now),
            "workflow_run" => workflow_run(json("GitHub workflow_run", body)?, now),
            "pull_request" => pull_request(json("GitHub pull_request", body)?, now),
            other => {
                json_object("GitHub", body)?;
                ignored(if other == "ping" {
                    "a GitHub ping: the webhook is set up".to_owned()
                } else {
                    format!("GitHub {other:?} events are not changes Aurora records")
                })
            }
        };
        Ok(Parsed::one(delivery_id, signal))
    }
}

#[cfg(test)]
mod tests;
