//! Jenkins (and, through the same code, CloudBees CI: [`super::cloudbees`]). Authenticated by
//! `X-Aurora-Signature: sha256=<hex hmac-sha256 of the raw body>`, keyed with a secret Aurora
//! generates. Jenkins has no webhook signature of its own: the job signs what it sends, from a
//! Jenkinsfile `post` step (`openssl dgst -sha256 -hmac`, then `curl`). The Notification plugin
//! cannot add a header, so its deliveries must pass through a relay that signs them.
//!
//! Two payloads are read. The Notification plugin's job state (`{name, url, build: {number,
//! phase, status, full_url, scm, parameters, log, notes, test_summary, …}}`): only the
//! `FINALIZED` phase is acted on (`QUEUED`, `STARTED` and `COMPLETED` are ignored, so a job
//! notifying "all events" is not counted twice; `FINALIZED` is also the only phase the plugin's
//! own "failed" filters send). And the flat JSON upstream Aurora's Jenkinsfile snippet sends
//! from `post { always { … } }` (`{job_name | service, build_number, result, build_url, git:
//! {commit_sha, branch}, environment, deployer}`), which is final by construction.
//!
//! One delivery is one signal, by the build's result: `FAILURE` fires at high severity and
//! `UNSTABLE` at medium; `SUCCESS` is a `build` change event for the service graph (version = the
//! commit, author = the first culprit or the deployer); `ABORTED`, `NOT_BUILT` and anything
//! else are ignored with the reason. Identity is the job's full name (folders and multibranch
//! included, read from the job URL) and the build number: the alert and change id is
//! `<job>#<number>`, the fingerprint `jenkins-<job>`. The service is the job, unless the build
//! has a `service` parameter. Jenkins sends no delivery id (the gateway hashes the body) and
//! nothing resolves: a later successful build is recorded as a change only.

/// Deliveries and signatures shared with the CloudBees CI tests.
#[cfg(test)]
pub(super) mod fixtures;
mod plugin;
#[cfg(test)]
mod tests;

use aurora_domain::intake::{ChangeEvent, FiringAlert, Signal};
use aurora_domain::Severity;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use self::plugin::{plugin, Build};
use super::common::{json, the_secret, AURORA_SIGNATURE};
use super::{Delivery, Parsed, Refusal, Setup, Source, SourceDescriptor};

/// A Jenkins controller: Jenkins itself ([`JENKINS`]) or CloudBees CI (whose controllers run
/// Jenkins jobs: [`super::cloudbees::CLOUDBEES`]). Payloads, rules and setup are the same; the
/// descriptor is what differs, and with it the fingerprints' prefix and the messages' wording.
pub struct BuildServer(&'static SourceDescriptor);

/// Jenkins itself.
pub static JENKINS: BuildServer = BuildServer::new(&DESCRIPTOR);

impl BuildServer {
    pub(super) const fn new(descriptor: &'static SourceDescriptor) -> Self {
        Self(descriptor)
    }
}

/// A build number: the plugin sends an integer, a script may send a string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum BuildNumber {
    Int(u64),
    Text(String),
}

impl BuildNumber {
    fn text(&self) -> Option<String> {
        match self {
            Self::Int(n) => Some(n.to_string()),
            Self::Text(t) => non_empty(Some(t)),
        }
    }
}

/// One delivery, either shape (every field optional; which are required depends on the shape).
#[derive(Debug, Deserialize)]
struct Payload {
    // The Notification plugin's job state.
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    build: Option<Build>,
    // A pipeline step's own JSON (upstream Aurora's Jenkinsfile snippet).
    #[serde(default)]
    job_name: Option<String>,
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    result: Option<String>,
    #[serde(default)]
    build_number: Option<BuildNumber>,
    #[serde(default)]
    build_url: Option<String>,
    #[serde(default)]
    git: Option<Git>,
    #[serde(default)]
    commit_sha: Option<String>,
    #[serde(default)]
    branch: Option<String>,
    #[serde(default)]
    deployer: Option<String>,
    #[serde(default)]
    trace_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Git {
    #[serde(default)]
    commit_sha: Option<String>,
    #[serde(default)]
    branch: Option<String>,
}

/// A finished build, whichever shape said so.
struct Outcome {
    job: String,
    number: String,
    result: String,
    service: String,
    environment: Option<String>,
    commit: Option<String>,
    author: Option<String>,
    at: DateTime<Utc>,
    url: Option<String>,
    /// Lines of context for an alert's description.
    details: Vec<String>,
}

/// Trimmed, and `None` when empty (or the `null` a Groovy string makes of an unset variable).
fn non_empty(s: Option<&String>) -> Option<String> {
    s.map(|s| s.trim())
        .filter(|s| !s.is_empty() && *s != "null")
        .map(str::to_owned)
}

fn refuse(title: &str, message: impl std::fmt::Display) -> Refusal {
    Refusal::bad(
        "invalid_payload",
        format!("not a {title} build notification: {message}"),
    )
}

/// The flat JSON a pipeline step sends (upstream Aurora's Jenkinsfile snippet).
fn step(title: &str, p: Payload, now: DateTime<Utc>) -> Result<Outcome, Refusal> {
    let job = non_empty(p.job_name.as_ref())
        .or_else(|| non_empty(p.service.as_ref()))
        .ok_or_else(|| refuse(title, "`job_name` (or `service`) is required"))?;
    let number = p
        .build_number
        .as_ref()
        .and_then(BuildNumber::text)
        .ok_or_else(|| refuse(title, "`build_number` is required"))?;
    let result = non_empty(p.result.as_ref())
        .map(|r| r.to_ascii_uppercase())
        .ok_or_else(|| refuse(title, "`result` is required"))?;
    let git = p.git.as_ref();
    let commit = non_empty(git.and_then(|g| g.commit_sha.as_ref()))
        .or_else(|| non_empty(p.commit_sha.as_ref()));
    let branch =
        non_empty(git.and_then(|g| g.branch.as_ref())).or_else(|| non_empty(p.branch.as_ref()));
    let author = non_empty(p.deployer.as_ref());

    let mut details = Vec::new();
    match (&branch, &commit) {
        (Some(b), Some(c)) => details.push(format!("Branch {b} at {c}")),
        (Some(b), None) => details.push(format!("Branch {b}")),
        (None, Some(c)) => details.push(format!("Commit {c}")),
        (None, None) => {}
    }
    if let Some(a) = &author {
        details.push(format!("Deployer: {a}"));
    }
    if let Some(t) = non_empty(p.trace_id.as_ref()) {
        details.push(format!("Trace: {t}"));
    }

    Ok(Outcome {
        service: non_empty(p.service.as_ref()).unwrap_or_else(|| job.clone()),
        environment: non_empty(p.environment.as_ref()),
        job,
        number,
        result,
        commit,
        author,
        at: now,
        url: non_empty(p.build_url.as_ref()),
        details,
    })
}

fn signal(source: &str, title: &str, o: Outcome) -> Signal {
    let id = format!("{}#{}", o.job, o.number);
    let (verb, severity) = match o.result.as_str() {
        "SUCCESS" => {
            return Signal::Change(ChangeEvent {
                change_id: id,
                kind: "build".into(),
                title: format!("{} #{} succeeded", o.job, o.number),
                service: o.service,
                environment: o.environment,
                version: o.commit,
                author: o.author,
                at: o.at,
                url: o.url,
            })
        }
        "FAILURE" => ("failed", Severity::High),
        "UNSTABLE" => ("unstable", Severity::Medium),
        "ABORTED" | "NOT_BUILT" => {
            return Signal::Ignored {
                reason: format!(
                    "{title} build {id} ended {}: only FAILURE and UNSTABLE builds are problems",
                    o.result
                ),
            }
        }
        other => {
            return Signal::Ignored {
                reason: format!("{title} build {id} has result {other:?}, which is not acted on"),
            }
        }
    };
    Signal::Firing(FiringAlert {
        alert_id: id,
        fingerprint: format!("{source}-{}", o.job),
        title: format!("{} #{} {verb}", o.job, o.number),
        service: Some(o.service),
        environment: o.environment,
        severity,
        fired_at: o.at,
        description: (!o.details.is_empty()).then(|| o.details.join("\n")),
        url: o.url,
        placement: Default::default(),
    })
}

/// Reads a Jenkins-family delivery: `source` names fingerprints (`<source>-<job>`), `title`
/// speaks in messages.
fn parse_build(source: &str, title: &str, delivery: &Delivery<'_>) -> Result<Parsed, Refusal> {
    let mut payload: Payload = json(&format!("{title} build notification"), delivery.body)?;
    let now = delivery.received_at;
    let signal = if let Some(build) = payload.build.take() {
        match plugin(title, payload, build, now)? {
            Ok(outcome) => signal(source, title, outcome),
            Err(reason) => Signal::Ignored { reason },
        }
    } else if payload.result.is_some() || payload.build_number.is_some() {
        signal(source, title, step(title, payload, now)?)
    } else {
        return Err(refuse(
            title,
            "expected the Notification plugin's `build` object, or `job_name`, `build_number` and `result` from a pipeline step",
        ));
    };
    Ok(Parsed::one(None, signal))
}

/// The `post` block that reports a build, signed (the URL is filled in).
const JENKINSFILE: &str = r#"post {
  always {
    withCredentials([string(credentialsId: 'aurora-webhook-secret', variable: 'AURORA_SECRET')]) {
      withEnv(["BUILD_RESULT=${currentBuild.currentResult}"]) {
        sh '''
          PAYLOAD=$(printf '{"job_name":"%s","build_number":%s,"result":"%s","build_url":"%s","git":{"commit_sha":"%s","branch":"%s"}}' "$JOB_NAME" "$BUILD_NUMBER" "$BUILD_RESULT" "$BUILD_URL" "${GIT_COMMIT:-}" "${GIT_BRANCH:-}")
          SIG=$(printf '%s' "$PAYLOAD" | openssl dgst -sha256 -hmac "$AURORA_SECRET" | awk '{print $NF}')
          curl -fsS -X POST '{URL}' -H 'Content-Type: application/json' -H "X-Aurora-Signature: sha256=$SIG" --data-binary "$PAYLOAD"
        '''
      }
    }
  }
}"#;

/// What to do in Jenkins or CloudBees CI: the signing is the job's, so the steps say how.
fn setup_build(source: &SourceDescriptor, url: &str, secret: Option<&str>) -> Setup {
    let secret = the_secret(secret);
    Setup::without_header(
        url,
        vec![
            format!("In {}: {}.", source.title, source.where_to_configure),
            format!(
                "Store {secret} as a \"Secret text\" credential with the id aurora-webhook-secret."
            ),
            format!(
                "Add to the Jenkinsfile (it POSTs to {url} and signs the exact body):\n{}",
                JENKINSFILE.replace("{URL}", url)
            ),
            "Every delivery must carry X-Aurora-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with the secret> (the bare <hex>, as upstream Aurora's snippets send it, is accepted too); anything else is refused (401). FAILURE and UNSTABLE builds open incidents; SUCCESS is recorded as a change.".to_owned(),
            "The Notification plugin's JSON (format JSON, event \"Job Finalized\" or \"All Events\") is accepted too, but the plugin cannot add headers: point it at a relay that adds the signature and forwards to this URL.".to_owned(),
        ],
    )
}

/// Jenkins's; CloudBees CI's differs only in its names and where to configure.
pub(super) const DESCRIPTOR: SourceDescriptor = SourceDescriptor::new(
    "jenkins",
    "Jenkins",
    AURORA_SIGNATURE,
    "the job's Jenkinsfile: a post { always { … } } block that POSTs the build's result with curl, signing the exact body with openssl dgst -sha256 -hmac <secret> into X-Aurora-Signature: sha256=<hex> (Jenkins has no webhook signature of its own; the Notification plugin's JSON is accepted too, but that plugin cannot add headers, so it must go through a relay that signs it)",
);

impl Source for BuildServer {
    fn descriptor(&self) -> &'static SourceDescriptor {
        self.0
    }

    fn parse(&self, delivery: &Delivery<'_>) -> Result<Parsed, Refusal> {
        parse_build(self.0.name, self.0.title, delivery)
    }

    fn setup(&self, url: &str, secret: Option<&str>) -> Setup {
        setup_build(self.0, url, secret)
    }
}
