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

use std::collections::BTreeMap;

use aurora_domain::intake::{ChangeEvent, FiringAlert, Signal};
use aurora_domain::Severity;
use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::common::{json, AURORA_SIGNATURE};
use super::{Delivery, Parsed, Refusal, SecretOrigin, Setup, Source, SourceDescriptor};

pub struct Jenkins;

/// The only Notification plugin phase acted on.
const FINAL_PHASE: &str = "FINALIZED";
/// How much of the build log's tail goes into an alert's description.
const LOG_TAIL: usize = 2_000;

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
struct Build {
    #[serde(default)]
    number: Option<BuildNumber>,
    #[serde(default)]
    full_url: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    phase: Option<String>,
    #[serde(default)]
    status: Option<String>,
    /// `2026-11-23T09:58:41.512+00:00` (plugin 1.13+) or epoch milliseconds (older).
    #[serde(default)]
    timestamp: Option<Value>,
    #[serde(default)]
    scm: Option<Scm>,
    #[serde(default)]
    parameters: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    log: Option<String>,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    test_summary: Option<TestSummary>,
}

#[derive(Debug, Deserialize)]
struct Scm {
    #[serde(default)]
    branch: Option<String>,
    #[serde(default)]
    commit: Option<String>,
    #[serde(default)]
    culprits: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct TestSummary {
    #[serde(default)]
    total: Option<u64>,
    #[serde(default)]
    failed: Option<u64>,
    #[serde(default)]
    failed_tests: Option<Vec<String>>,
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

/// `%20` and friends, as Jenkins encodes job names in URLs.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The job's full name from its URL: `job/shop/job/checkout/job/main/` → `shop/checkout/main`
/// (the plugin's `name` is only the last part, `main` for every multibranch job).
fn job_from_url(url: &str) -> Option<String> {
    let segments: Vec<&str> = url.split('/').collect();
    let mut names = Vec::new();
    let mut i = 0;
    while i < segments.len() {
        match segments.get(i + 1) {
            Some(name) if segments[i] == "job" && !name.is_empty() => {
                names.push(percent_decode(name));
                i += 2;
            }
            _ => i += 1,
        }
    }
    (!names.is_empty()).then(|| names.join("/"))
}

/// A build parameter, whatever its case (`SERVICE`, `service`).
fn parameter(params: Option<&BTreeMap<String, Value>>, names: &[&str]) -> Option<String> {
    let params = params?;
    names.iter().find_map(|n| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .and_then(|(_, v)| v.as_str())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    })
}

fn timestamp(value: Option<&Value>) -> Option<DateTime<Utc>> {
    match value? {
        Value::String(s) => DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        Value::Number(n) => n
            .as_i64()
            .filter(|ms| *ms > 0)
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single()),
        _ => None,
    }
}

/// The last `max` bytes of `s` (on a character boundary), from the start of a line if it can.
fn tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    let cut = &s[start..];
    cut.find('\n').map_or(cut, |nl| &cut[nl + 1..])
}

/// The Notification plugin's job state: `Err` refuses it, `Ok(Err(reason))` ignores it.
fn plugin(
    title: &str,
    p: Payload,
    b: Build,
    now: DateTime<Utc>,
) -> Result<Result<Outcome, String>, Refusal> {
    let job = p
        .url
        .as_deref()
        .and_then(job_from_url)
        .or_else(|| non_empty(p.name.as_ref()))
        .ok_or_else(|| refuse(title, "the job's `name` (or `url`) is required"))?;
    let number = b
        .number
        .as_ref()
        .and_then(BuildNumber::text)
        .ok_or_else(|| refuse(title, "`build.number` is required"))?;
    let phase = non_empty(b.phase.as_ref()).map(|p| p.to_ascii_uppercase());
    if let Some(phase) = phase.filter(|p| p != FINAL_PHASE) {
        return Ok(Err(format!(
            "{title} {job} #{number} {phase}: only the {FINAL_PHASE} notification of a build is acted on"
        )));
    }
    let Some(result) = non_empty(b.status.as_ref()).map(|s| s.to_ascii_uppercase()) else {
        return Ok(Err(format!(
            "{title} {job} #{number} finalized without a result"
        )));
    };
    let params = b.parameters.as_ref();
    let scm = b.scm.as_ref();
    let commit = non_empty(scm.and_then(|s| s.commit.as_ref()));
    let branch = non_empty(scm.and_then(|s| s.branch.as_ref()));
    let culprits: Vec<String> = scm
        .and_then(|s| s.culprits.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|c| non_empty(Some(c)))
        .collect();

    let mut details = Vec::new();
    if let Some(notes) = non_empty(b.notes.as_ref()) {
        details.push(notes);
    }
    if let Some(t) = &b.test_summary {
        let failed_tests = t.failed_tests.as_deref().unwrap_or_default();
        if t.failed.unwrap_or(0) > 0 || !failed_tests.is_empty() {
            let mut line = format!(
                "Tests: {} of {} failed",
                t.failed.unwrap_or(failed_tests.len() as u64),
                t.total.map_or_else(|| "?".to_owned(), |n| n.to_string())
            );
            if !failed_tests.is_empty() {
                line.push_str(": ");
                line.push_str(
                    &failed_tests
                        .iter()
                        .take(10)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", "),
                );
                if failed_tests.len() > 10 {
                    line.push_str(", …");
                }
            }
            details.push(line);
        }
    }
    match (&branch, &commit) {
        (Some(b), Some(c)) => details.push(format!("Branch {b} at {c}")),
        (Some(b), None) => details.push(format!("Branch {b}")),
        (None, Some(c)) => details.push(format!("Commit {c}")),
        (None, None) => {}
    }
    if !culprits.is_empty() {
        details.push(format!("Culprits: {}", culprits.join(", ")));
    }
    if let Some(log) = b
        .log
        .as_deref()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
    {
        details.push(format!("Last log lines:\n{}", tail(log, LOG_TAIL)));
    }

    Ok(Ok(Outcome {
        service: parameter(params, &["service"]).unwrap_or_else(|| job.clone()),
        environment: parameter(params, &["environment", "env"]),
        job,
        number,
        result,
        commit,
        author: culprits.into_iter().next(),
        at: timestamp(b.timestamp.as_ref()).unwrap_or(now),
        url: non_empty(b.full_url.as_ref()).or_else(|| non_empty(b.url.as_ref())),
        details,
    }))
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
    })
}

/// Reads a Jenkins-family delivery: `source` names fingerprints (`<source>-<job>`), `title`
/// speaks in messages.
pub(super) fn parse_build(
    source: &str,
    title: &str,
    delivery: &Delivery<'_>,
) -> Result<Parsed, Refusal> {
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
    Ok(Parsed {
        delivery_id: None,
        signals: vec![signal],
    })
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
pub(super) fn setup_build(source: &SourceDescriptor, url: &str, secret: Option<&str>) -> Setup {
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
    }
}

const DESCRIPTOR: SourceDescriptor = SourceDescriptor {
    name: "jenkins",
    title: "Jenkins",
    auth: AURORA_SIGNATURE,
    secret_origin: SecretOrigin::Aurora,
    rca_by_default: true,
    kept_headers: &[],
    where_to_configure: "the job's Jenkinsfile: a post { always { … } } block that POSTs the build's result with curl, signing the exact body with openssl dgst -sha256 -hmac <secret> into X-Aurora-Signature: sha256=<hex> (Jenkins has no webhook signature of its own; the Notification plugin's JSON is accepted too, but that plugin cannot add headers, so it must go through a relay that signs it)",
};

impl Source for Jenkins {
    fn descriptor(&self) -> &'static SourceDescriptor {
        &DESCRIPTOR
    }

    fn parse(&self, delivery: &Delivery<'_>) -> Result<Parsed, Refusal> {
        parse_build(DESCRIPTOR.name, DESCRIPTOR.title, delivery)
    }

    fn setup(&self, url: &str, secret: Option<&str>) -> Setup {
        setup_build(&DESCRIPTOR, url, secret)
    }
}

/// Deliveries and signatures shared with the CloudBees CI tests.
#[cfg(test)]
pub(super) mod fixtures {

    /// The Notification plugin's JSON (Gson, lower_case_with_underscores) for a failed build of
    /// a multibranch job, at the FINALIZED phase.
    pub const FAILED: &str = r#"{
      "name": "main",
      "display_name": "main",
      "url": "job/shop/job/checkout%20service/job/main/",
      "build": {
        "full_url": "https://ci.example.com/job/shop/job/checkout%20service/job/main/142/",
        "number": 142,
        "queue_id": 3317,
        "phase": "FINALIZED",
        "status": "FAILURE",
        "url": "job/shop/job/checkout%20service/job/main/142/",
        "scm": {
          "url": "https://github.com/acme/checkout.git",
          "branch": "origin/main",
          "commit": "9fceb02d0ae598e95dc970b74767f19372d61af8",
          "changes": ["src/cart.rs", "src/tax.rs"],
          "culprits": ["alice", "bob"]
        },
        "parameters": {"ENVIRONMENT": "production", "DRY_RUN": "false"},
        "log": "[Pipeline] sh\n+ cargo test\ntest cart::tests::applies_coupon ... FAILED\nerror: test failed, to rerun pass `--lib`\nFinished: FAILURE\n",
        "notes": "nightly release candidate",
        "timestamp": "2026-11-23T09:58:41.512+00:00",
        "duration": 93214,
        "artifacts": {
          "checkout.tar.gz": {"archive": "https://ci.example.com/job/shop/job/checkout%20service/job/main/142/artifact/target/checkout.tar.gz"}
        },
        "test_summary": {
          "total": 412, "failed": 2, "passed": 405, "skipped": 5,
          "failed_tests": ["cart::tests::applies_coupon", "tax::tests::rounds_half_up"]
        }
      }
    }"#;

    /// Upstream Aurora's Jenkinsfile snippet, as its `post { always { … } }` block sends it.
    pub const STEP: &str = r#"{"service":"payments-api","environment":"staging","result":"FAILURE","build_number":77,"build_url":"https://ci.example.com/job/payments-api/77/","git":{"commit_sha":"3f786850e387550fdab836ed7e6dc881de23001b","branch":"origin/release-2.4"},"deployer":"carol","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}"#;

    pub fn sign(secret: &[u8], body: &str) -> String {
        crate::sources::common::tests_support::sign(super::DESCRIPTOR.auth, secret, body)
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{sign, FAILED, STEP};
    use super::*;
    use crate::sources::common::tests_support::*;

    fn parse(body: &str) -> Result<Parsed, Refusal> {
        let h = headers(&[]);
        Jenkins.parse(&delivery(&h, body))
    }

    fn one(body: &str) -> Signal {
        let parsed = parse(body).expect("parses");
        assert_eq!(parsed.delivery_id, None, "Jenkins sends no delivery id");
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

    #[test]
    fn a_failed_build_fires_an_alert_identified_by_job_and_build_number() {
        let a = firing(FAILED);
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
        let a = firing(&FAILED.replace(r#""status": "FAILURE""#, r#""status": "UNSTABLE""#));
        assert_eq!(a.title, "shop/checkout service/main #142 unstable");
        assert_eq!(a.severity, Severity::Medium);
        assert_eq!(a.fingerprint, "jenkins-shop/checkout service/main");
    }

    #[test]
    fn every_failed_build_is_its_own_alert_of_the_same_problem() {
        let next = FAILED
            .replace(r#""number": 142"#, r#""number": 143"#)
            .replace("/142/", "/143/");
        let (a, b) = (firing(FAILED), firing(&next));
        assert_ne!(a.alert_id, b.alert_id);
        assert_eq!(a.fingerprint, b.fingerprint);
    }

    #[test]
    fn a_successful_build_is_recorded_as_a_build_change_only() {
        let c = change(&FAILED.replace(r#""status": "FAILURE""#, r#""status": "SUCCESS""#));
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
        let a = firing(&body);
        assert_eq!(a.service.as_deref(), Some("checkout"));
        assert_eq!(a.alert_id, "shop/checkout service/main#142");
        assert_eq!(a.fingerprint, "jenkins-shop/checkout service/main");
    }

    #[test]
    fn a_top_level_job_without_url_is_named_by_its_name() {
        let body = FAILED
            .replace(r#""url": "job/shop/job/checkout%20service/job/main/","#, "")
            .replace(r#""name": "main""#, r#""name": "nightly-etl""#);
        let a = firing(&body);
        assert_eq!(a.alert_id, "nightly-etl#142");
        assert_eq!(a.fingerprint, "jenkins-nightly-etl");
    }

    #[test]
    fn only_the_finalized_notification_is_acted_on() {
        for phase in ["QUEUED", "STARTED", "COMPLETED"] {
            let body = FAILED.replace(r#""phase": "FINALIZED""#, &format!(r#""phase": "{phase}""#));
            let reason = ignored(&body);
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
        assert!(ignored(&started).contains("STARTED"));
    }

    #[test]
    fn aborted_not_built_and_resultless_builds_are_ignored() {
        for status in ["ABORTED", "NOT_BUILT"] {
            let body = FAILED.replace(
                r#""status": "FAILURE""#,
                &format!(r#""status": "{status}""#),
            );
            let reason = ignored(&body);
            assert!(reason.contains(status), "{reason}");
        }
        let odd = FAILED.replace(r#""status": "FAILURE""#, r#""status": "WEIRD""#);
        assert!(ignored(&odd).contains("WEIRD"));
        let none = FAILED.replace(r#""status": "FAILURE","#, "");
        assert!(ignored(&none).contains("without a result"));
    }

    #[test]
    fn an_older_plugin_timestamp_in_epoch_milliseconds_is_read() {
        let body = FAILED.replace(
            r#""timestamp": "2026-11-23T09:58:41.512+00:00""#,
            r#""timestamp": 1795427921512"#,
        );
        assert_eq!(
            firing(&body).fired_at.to_rfc3339(),
            "2026-11-23T09:58:41.512+00:00"
        );
        let unreadable = FAILED.replace(
            r#""timestamp": "2026-11-23T09:58:41.512+00:00""#,
            r#""timestamp": "yesterday""#,
        );
        assert_eq!(
            firing(&unreadable).fired_at.to_rfc3339(),
            "2026-11-23T10:00:30+00:00",
            "falls back on the time received"
        );
    }

    #[test]
    fn a_lean_notification_still_fires() {
        let body = r#"{"name":"deploy","url":"job/deploy/","build":{"number":9,"phase":"FINALIZED","status":"FAILURE","url":"job/deploy/9/"}}"#;
        let a = firing(body);
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
        let d = firing(&body).description.expect("description");
        let log = d.split("Last log lines:\n").nth(1).expect("log");
        assert!(log.len() <= LOG_TAIL, "{}", log.len());
        assert!(
            log.starts_with("line ") && log.ends_with("line 499"),
            "{log}"
        );
    }

    #[test]
    fn the_pipeline_step_payload_upstream_documents_fires_too() {
        let a = firing(STEP);
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
        assert!(
            d.contains("Deployer: carol") && d.contains("Trace: 4bf92f3577b34da6a3ce929d0e0e4736")
        );
    }

    #[test]
    fn a_successful_pipeline_step_is_a_change_by_its_deployer() {
        let body = STEP.replace(r#""result":"FAILURE""#, r#""result":"SUCCESS""#);
        let c = change(&body);
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
        let a = firing(body);
        assert_eq!(a.alert_id, "shop/checkout/main#12");
        assert_eq!(a.fingerprint, "jenkins-shop/checkout/main");
        assert_eq!(a.service.as_deref(), Some("checkout"));
        assert_eq!(a.severity, Severity::Medium);
        assert_eq!(a.description, None, "Groovy's \"null\" is no commit");
        let aborted = body.replace(r#""result":"unstable""#, r#""result":"ABORTED""#);
        assert!(ignored(&aborted).contains("ABORTED"));
    }

    #[test]
    fn malformed_payloads_are_refused_saying_why() {
        refuses_malformed(
            &Jenkins,
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
        only_the_right_secret_gets_in(&Jenkins, FAILED, STEP);
        bare_hex_signatures_get_in_too(&Jenkins, FAILED, STEP);
        let secret = b"aurora-generated-secret";
        let digest = sign(secret, FAILED);
        let bare = headers(&[("x-aurora-signature", digest.trim_start_matches("sha256="))]);
        assert!(Jenkins.verify(&delivery(&bare, FAILED), secret).is_ok());
        refused(
            &Jenkins,
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
        let setup = Jenkins.setup(url, Some("s3cr3t"));
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
        assert!(!Jenkins.setup(url, None).steps[1].contains("s3cr3t"));
        assert_eq!(Jenkins.descriptor().auth, AURORA_SIGNATURE);
        assert!(Jenkins.descriptor().rca_by_default);
        assert!(Jenkins.descriptor().kept_headers.is_empty());
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
}
