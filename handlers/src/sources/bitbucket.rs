//! Bitbucket Cloud (a repository or workspace webhook). Authenticated by Bitbucket's signature:
//! `X-Hub-Signature: sha256=<hex hmac-sha256 of the raw body>` (not GitHub's `-256` header),
//! keyed with a secret Aurora generates and the user pastes in as the webhook's secret.
//!
//! Bitbucket never raises alerts: a delivery becomes at most one change event for the service
//! graph (the repository is the service). The event kind is the `X-Event-Key` header: a merged
//! pull request (`pullrequest:fulfilled`) and a successful Bitbucket Pipelines build status
//! (`repo:commit_status_updated`, or `_created` already successful) are changes; a delivery
//! without the header is refused, and test pings, pushes, other pull request events, unsuccessful
//! or non-Pipelines build statuses and everything else are ignored with the reason. Each change's
//! id names the repository (its uuid) and the pull request id, or the commit and status key.
//! Retries are deduplicated on `X-Request-UUID`, Bitbucket's id of the request (`X-Hook-UUID`
//! names the webhook, the same for every delivery, so it is no delivery id). Nothing resolves.

use aurora_domain::intake::{ChangeEvent, Signal};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::common::{json, json_object, non_blank_owned, EventHeaders};
use super::{Auth, Delivery, Parsed, Refusal, Source, SourceDescriptor};

pub struct Bitbucket;

const HEADERS: EventHeaders = EventHeaders {
    event: ("x-event-key", "X-Event-Key"),
    delivery: "x-request-uuid",
};

#[derive(Debug, Deserialize)]
struct Href {
    href: String,
}

#[derive(Debug, Deserialize)]
struct Links {
    #[serde(default)]
    html: Option<Href>,
    #[serde(default)]
    commit: Option<Href>,
}

#[derive(Debug, Deserialize)]
struct Repository {
    name: String,
    #[serde(default)]
    full_name: Option<String>,
    #[serde(default)]
    uuid: Option<String>,
    #[serde(default)]
    links: Option<Links>,
}

#[derive(Debug, Deserialize)]
struct Account {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    nickname: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CommitRef {
    hash: String,
}

#[derive(Debug, Deserialize)]
struct PullRequestEvent {
    pullrequest: PullRequest,
    repository: Repository,
    #[serde(default)]
    actor: Option<Account>,
}

#[derive(Debug, Deserialize)]
struct PullRequest {
    id: u64,
    title: String,
    #[serde(default)]
    merge_commit: Option<CommitRef>,
    #[serde(default)]
    closed_by: Option<Account>,
    #[serde(default)]
    author: Option<Account>,
    #[serde(default)]
    updated_on: Option<DateTime<Utc>>,
    #[serde(default)]
    links: Option<Links>,
}

#[derive(Debug, Deserialize)]
struct CommitStatusEvent {
    commit_status: CommitStatus,
    repository: Repository,
    #[serde(default)]
    actor: Option<Account>,
}

#[derive(Debug, Deserialize)]
struct CommitStatus {
    /// `INPROGRESS`, `SUCCESSFUL`, `FAILED`, `STOPPED`.
    state: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    refname: Option<String>,
    #[serde(default)]
    commit: Option<CommitRef>,
    #[serde(default)]
    updated_on: Option<DateTime<Utc>>,
    #[serde(default)]
    created_on: Option<DateTime<Utc>>,
    #[serde(default)]
    links: Option<Links>,
}

fn who(account: Option<&Account>) -> Option<String> {
    account.and_then(|a| {
        non_blank_owned(a.display_name.as_deref())
            .or_else(|| non_blank_owned(a.nickname.as_deref()))
    })
}

fn ignored(reason: String) -> Signal {
    Signal::Ignored { reason }
}

impl Repository {
    /// What names the repository in change ids: its uuid, else its full name.
    fn id(&self) -> String {
        non_blank_owned(self.uuid.as_deref())
            .or_else(|| non_blank_owned(self.full_name.as_deref()))
            .unwrap_or_else(|| self.name.clone())
    }

    fn url(&self) -> Option<String> {
        self.links
            .as_ref()
            .and_then(|l| l.html.as_ref())
            .and_then(|h| non_blank_owned(Some(&h.href)))
    }
}

impl CommitStatus {
    /// The commit's hash: given, or the last segment of the status's commit link.
    fn commit(&self) -> Option<String> {
        self.commit
            .as_ref()
            .and_then(|c| non_blank_owned(Some(&c.hash)))
            .or_else(|| {
                let href = &self.links.as_ref()?.commit.as_ref()?.href;
                non_blank_owned(href.trim_end_matches('/').rsplit('/').next())
            })
    }

    /// Whether Bitbucket Pipelines reported it (its statuses are named `Pipeline #42 for main`
    /// and link to the pipelines add-on).
    fn is_pipeline(&self) -> bool {
        [&self.name, &self.key, &self.url]
            .iter()
            .filter_map(|f| f.as_deref())
            .any(|f| f.to_ascii_lowercase().contains("pipeline"))
    }

    fn described(&self) -> String {
        non_blank_owned(self.name.as_deref())
            .or_else(|| non_blank_owned(self.key.as_deref()))
            .unwrap_or_else(|| "build status".into())
    }
}

fn merged(e: PullRequestEvent, now: DateTime<Utc>) -> Signal {
    let pr = e.pullrequest;
    Signal::Change(ChangeEvent {
        change_id: format!("pullrequest-{}-{}", e.repository.id(), pr.id),
        kind: "pull_request".into(),
        service: e.repository.name.clone(),
        environment: None,
        version: pr
            .merge_commit
            .as_ref()
            .and_then(|c| non_blank_owned(Some(&c.hash))),
        title: pr.title,
        author: who(e.actor.as_ref())
            .or_else(|| who(pr.closed_by.as_ref()))
            .or_else(|| who(pr.author.as_ref())),
        at: pr.updated_on.unwrap_or(now),
        url: pr
            .links
            .as_ref()
            .and_then(|l| l.html.as_ref())
            .and_then(|h| non_blank_owned(Some(&h.href)))
            .or_else(|| e.repository.url()),
    })
}

fn commit_status(e: CommitStatusEvent, now: DateTime<Utc>) -> Signal {
    let s = e.commit_status;
    if !s.state.eq_ignore_ascii_case("SUCCESSFUL") {
        return ignored(format!(
            "Bitbucket {:?} is {}: only successful pipelines are changes",
            s.described(),
            s.state
        ));
    }
    if !s.is_pipeline() {
        return ignored(format!(
            "Bitbucket build status {:?} does not come from Bitbucket Pipelines: only pipelines are changes",
            s.described()
        ));
    }
    let commit = s.commit();
    let name = s.described();
    let title = match non_blank_owned(s.description.as_deref()) {
        Some(d) => format!("{name}: {d}"),
        None => name.clone(),
    };
    Signal::Change(ChangeEvent {
        change_id: format!(
            "pipeline-{}-{}-{}",
            e.repository.id(),
            commit
                .clone()
                .or_else(|| non_blank_owned(s.refname.as_deref()))
                .unwrap_or_default(),
            non_blank_owned(s.key.as_deref()).unwrap_or(name)
        ),
        kind: "pipeline".into(),
        service: e.repository.name.clone(),
        environment: None,
        version: commit,
        title,
        author: who(e.actor.as_ref()),
        at: s.updated_on.or(s.created_on).unwrap_or(now),
        url: non_blank_owned(s.url.as_deref()).or_else(|| e.repository.url()),
    })
}

const DESCRIPTOR: SourceDescriptor = SourceDescriptor {
    rca_by_default: false,
    kept_headers: &[HEADERS.event.0, HEADERS.delivery],
    ..SourceDescriptor::new(
        "bitbucket",
        "Bitbucket",
        Auth::hmac_sha256("x-hub-signature", "sha256="),
        "the repository's Repository settings → Webhooks → Add webhook; the secret Aurora generated, and the triggers Pull Request \"Merged\" and Repository \"Build status updated\" (and \"Build status created\")",
    )
};

impl Source for Bitbucket {
    fn descriptor(&self) -> &'static SourceDescriptor {
        &DESCRIPTOR
    }

    fn parse(&self, delivery: &Delivery<'_>) -> Result<Parsed, Refusal> {
        let (event, delivery_id) = HEADERS.read("Bitbucket", delivery)?;
        let now = delivery.received_at;
        let body = delivery.body;
        let signal = match event {
            "pullrequest:fulfilled" => merged(json("Bitbucket pullrequest:fulfilled", body)?, now),
            "repo:commit_status_updated" | "repo:commit_status_created" => {
                commit_status(json(&format!("Bitbucket {event}"), body)?, now)
            }
            other => {
                json_object("Bitbucket", body)?;
                ignored(match other {
                    "diagnostics:ping" => {
                        "a Bitbucket test delivery (diagnostics:ping): the webhook is set up"
                            .to_owned()
                    }
                    "pullrequest:created" | "pullrequest:updated" | "pullrequest:rejected" => {
                        format!("Bitbucket {other}: only merged pull requests are changes")
                    }
                    _ => format!("Bitbucket {other} events are not changes Aurora records"),
                })
            }
        };
        Ok(Parsed::one(delivery_id, signal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::common::tests_support::*;
    use crate::sources::SecretOrigin;

    const REQUEST: &str = "3f0f5c2e-9d41-4a4b-a3b5-2c4d5e6f7a8b";

    /// Bitbucket Cloud's `pullrequest:fulfilled` (event payloads reference: common entities),
    /// links and avatars trimmed.
    const MERGED: &str = r#"{
      "actor": {"type": "user", "display_name": "Emma Lee", "nickname": "emma", "uuid": "{d301aafa-d676-4ee0-88be-962be7417567}", "account_id": "557058:c0b72ad0"},
      "pullrequest": {
        "id": 42,
        "title": "Bump connection pool to 50",
        "description": "The pool was exhausted under load.",
        "state": "MERGED",
        "author": {"type": "user", "display_name": "Sam Rivera", "nickname": "sam", "uuid": "{a1b2c3d4-0000-4000-8000-000000000001}"},
        "source": {"branch": {"name": "pool-size"}, "commit": {"hash": "d3022fc0ca3d"}, "repository": {"type": "repository", "name": "payments-api", "full_name": "acme/payments-api", "uuid": "{673a6070-3421-46c9-9d48-90745f7bfe8e}"}},
        "destination": {"branch": {"name": "main"}, "commit": {"hash": "ce5965ddd289"}, "repository": {"type": "repository", "name": "payments-api", "full_name": "acme/payments-api", "uuid": "{673a6070-3421-46c9-9d48-90745f7bfe8e}"}},
        "merge_commit": {"hash": "764413d85e29"},
        "participants": [], "reviewers": [],
        "close_source_branch": true,
        "closed_by": {"type": "user", "display_name": "Emma Lee", "nickname": "emma"},
        "reason": "",
        "created_on": "2026-11-23T09:12:38.179678+00:00",
        "updated_on": "2026-11-23T09:58:02.205705+00:00",
        "links": {"self": {"href": "https://api.bitbucket.org/2.0/repositories/acme/payments-api/pullrequests/42"}, "html": {"href": "https://bitbucket.org/acme/payments-api/pull-requests/42"}}
      },
      "repository": {
        "type": "repository", "name": "payments-api", "full_name": "acme/payments-api",
        "uuid": "{673a6070-3421-46c9-9d48-90745f7bfe8e}", "scm": "git", "website": "", "is_private": true,
        "links": {"self": {"href": "https://api.bitbucket.org/2.0/repositories/acme/payments-api"}, "html": {"href": "https://bitbucket.org/acme/payments-api"}},
        "owner": {"type": "team", "display_name": "Acme", "uuid": "{e3a0d3b3-1111-4222-8333-444455556666}"},
        "project": {"type": "project", "key": "PAY", "name": "Payments", "uuid": "{9b6b3c02-0000-4000-8000-000000000002}"}
      }
    }"#;

    /// `repo:commit_status_updated` as Bitbucket Pipelines sends it when a pipeline succeeds.
    const PIPELINE: &str = r#"{
      "actor": {"type": "user", "display_name": "Emma Lee", "nickname": "emma", "uuid": "{d301aafa-d676-4ee0-88be-962be7417567}"},
      "commit_status": {
        "name": "Pipeline #118 for main",
        "description": "Successful in 2 min 14 sec",
        "state": "SUCCESSFUL",
        "key": "{5a3a0b1c-8f0e-4d7a-9a52-6b7c8d9e0f11}",
        "url": "https://bitbucket.org/acme/payments-api/addon/pipelines/home#!/results/118",
        "type": "build",
        "refname": "main",
        "created_on": "2026-11-23T09:58:10.547563+00:00",
        "updated_on": "2026-11-23T10:00:24.547563+00:00",
        "links": {
          "commit": {"href": "https://api.bitbucket.org/2.0/repositories/acme/payments-api/commit/764413d85e29f0e1d2c3b4a5968778695a4b3c2d"},
          "self": {"href": "https://api.bitbucket.org/2.0/repositories/acme/payments-api/commit/764413d85e29f0e1d2c3b4a5968778695a4b3c2d/statuses/build/%7B5a3a0b1c-8f0e-4d7a-9a52-6b7c8d9e0f11%7D"}
        }
      },
      "repository": {
        "type": "repository", "name": "payments-api", "full_name": "acme/payments-api",
        "uuid": "{673a6070-3421-46c9-9d48-90745f7bfe8e}",
        "links": {"html": {"href": "https://bitbucket.org/acme/payments-api"}}
      }
    }"#;

    fn parse(event: &str, body: &str) -> Result<Parsed, Refusal> {
        let h = headers(&[
            ("x-event-key", event),
            ("x-request-uuid", REQUEST),
            ("x-hook-uuid", "{cb2a9f9e-0000-4000-8000-00000000000f}"),
            ("x-attempt-number", "1"),
        ]);
        Bitbucket.parse(&delivery(&h, body))
    }

    fn change(event: &str, body: &str) -> ChangeEvent {
        let parsed = parse(event, body).expect("parses");
        assert_eq!(parsed.delivery_id.as_deref(), Some(REQUEST));
        match parsed.signals.as_slice() {
            [Signal::Change(c)] => c.clone(),
            other => panic!("a change expected, got {other:?}"),
        }
    }

    fn ignored_reason(event: &str, body: &str) -> String {
        let parsed = parse(event, body).expect("parses");
        match parsed.signals.as_slice() {
            [Signal::Ignored { reason }] => reason.clone(),
            other => panic!("ignored expected, got {other:?}"),
        }
    }

    #[test]
    fn a_merged_pull_request_is_a_change() {
        let c = change("pullrequest:fulfilled", MERGED);
        assert_eq!(
            c.change_id,
            "pullrequest-{673a6070-3421-46c9-9d48-90745f7bfe8e}-42"
        );
        assert_eq!(c.kind, "pull_request");
        assert_eq!(c.service, "payments-api");
        assert_eq!(c.environment, None);
        assert_eq!(c.version.as_deref(), Some("764413d85e29"));
        assert_eq!(c.title, "Bump connection pool to 50");
        assert_eq!(c.author.as_deref(), Some("Emma Lee"), "who merged it");
        assert_eq!(c.at.to_rfc3339(), "2026-11-23T09:58:02.205705+00:00");
        assert_eq!(
            c.url.as_deref(),
            Some("https://bitbucket.org/acme/payments-api/pull-requests/42")
        );
    }

    #[test]
    fn a_sparse_merged_pull_request_falls_back_on_nickname_repository_and_arrival() {
        let body = r#"{"actor": {"nickname": "emma"},
          "pullrequest": {"id": 7, "title": "Fix", "merge_commit": null, "links": {}},
          "repository": {"name": "web", "full_name": "acme/web", "links": {"html": {"href": "https://bitbucket.org/acme/web"}}}}"#;
        let c = change("pullrequest:fulfilled", body);
        assert_eq!(
            c.change_id, "pullrequest-acme/web-7",
            "no uuid: the full name"
        );
        assert_eq!(c.author.as_deref(), Some("emma"));
        assert_eq!(c.version, None);
        assert_eq!(c.at.to_rfc3339(), "2026-11-23T10:00:30+00:00");
        assert_eq!(c.url.as_deref(), Some("https://bitbucket.org/acme/web"));
        let no_actor = r#"{"pullrequest": {"id": 7, "title": "Fix", "author": {"display_name": "Sam"}}, "repository": {"name": "web"}}"#;
        let c = change("pullrequest:fulfilled", no_actor);
        assert_eq!(c.author.as_deref(), Some("Sam"));
        assert_eq!(c.change_id, "pullrequest-web-7");
    }

    #[test]
    fn a_successful_pipeline_is_a_change() {
        let c = change("repo:commit_status_updated", PIPELINE);
        assert_eq!(
            c.change_id,
            "pipeline-{673a6070-3421-46c9-9d48-90745f7bfe8e}-764413d85e29f0e1d2c3b4a5968778695a4b3c2d-{5a3a0b1c-8f0e-4d7a-9a52-6b7c8d9e0f11}"
        );
        assert_eq!(c.kind, "pipeline");
        assert_eq!(c.service, "payments-api");
        assert_eq!(
            c.version.as_deref(),
            Some("764413d85e29f0e1d2c3b4a5968778695a4b3c2d"),
            "from the commit link"
        );
        assert_eq!(
            c.title,
            "Pipeline #118 for main: Successful in 2 min 14 sec"
        );
        assert_eq!(c.author.as_deref(), Some("Emma Lee"));
        assert_eq!(c.at.to_rfc3339(), "2026-11-23T10:00:24.547563+00:00");
        assert_eq!(
            c.url.as_deref(),
            Some("https://bitbucket.org/acme/payments-api/addon/pipelines/home#!/results/118")
        );
    }

    #[test]
    fn a_pipeline_status_created_already_successful_is_a_change_and_a_given_commit_wins() {
        let body = PIPELINE.replace(
            r#""refname": "main","#,
            r#""refname": "main", "commit": {"hash": "abc123", "type": "commit"},"#,
        );
        let c = change("repo:commit_status_created", &body);
        assert_eq!(c.version.as_deref(), Some("abc123"));
        assert!(c.change_id.contains("-abc123-"), "{}", c.change_id);
    }

    #[test]
    fn unfinished_or_failed_pipelines_are_ignored_naming_the_state() {
        for state in ["INPROGRESS", "FAILED", "STOPPED"] {
            let body = PIPELINE.replace(
                r#""state": "SUCCESSFUL""#,
                &format!(r#""state": "{state}""#),
            );
            for event in ["repo:commit_status_created", "repo:commit_status_updated"] {
                let reason = ignored_reason(event, &body);
                assert!(
                    reason.contains(state) && reason.contains("Pipeline #118"),
                    "{reason}"
                );
            }
        }
    }

    #[test]
    fn successful_build_statuses_from_other_tools_are_ignored() {
        let body = r#"{"actor": {"display_name": "ci-bot"},
          "commit_status": {"name": "Unit Tests (Python)", "description": "42 tests passed", "state": "SUCCESSFUL", "key": "MY-BUILD",
            "url": "https://my-build-tool.com/builds/MY-PROJECT/BUILD-777", "type": "build",
            "created_on": "2026-11-23T09:37:35.547563+00:00", "updated_on": "2026-11-23T09:39:35.547563+00:00",
            "links": {"commit": {"href": "https://api.bitbucket.org/2.0/repositories/acme/web/commit/9fec847784abb10b2fa567ee63b85bd238955d0e"}}},
          "repository": {"name": "web", "full_name": "acme/web"}}"#;
        let reason = ignored_reason("repo:commit_status_updated", body);
        assert!(
            reason.contains("Unit Tests (Python)") && reason.contains("Pipelines"),
            "{reason}"
        );
    }

    #[test]
    fn a_ping_is_accepted_and_ignored() {
        let reason = ignored_reason("diagnostics:ping", r#"{"test": true}"#);
        assert!(reason.contains("test delivery"), "{reason}");
    }

    #[test]
    fn other_pull_request_events_and_event_kinds_are_ignored_by_name() {
        for event in [
            "pullrequest:created",
            "pullrequest:updated",
            "pullrequest:rejected",
        ] {
            let reason = ignored_reason(event, MERGED);
            assert!(
                reason.contains(event) && reason.contains("only merged"),
                "{reason}"
            );
        }
        for event in [
            "repo:push",
            "repo:fork",
            "issue:created",
            "pullrequest:approved",
            "pullrequest:comment_created",
        ] {
            let reason = ignored_reason(event, r#"{"actor": {}, "repository": {"name": "r"}}"#);
            assert!(reason.contains(event), "{reason}");
        }
    }

    #[test]
    fn a_delivery_without_its_event_header_is_refused() {
        let h = headers(&[("x-request-uuid", REQUEST)]);
        match Bitbucket.parse(&delivery(&h, MERGED)) {
            Err(Refusal::BadRequest { code, message }) => {
                assert_eq!(code, "invalid_payload");
                assert!(message.contains("X-Event-Key"), "{message}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn without_a_request_uuid_the_body_hash_deduplicates() {
        // X-Hook-UUID names the webhook, not the delivery: it is not used.
        let h = headers(&[
            ("x-event-key", "pullrequest:fulfilled"),
            ("x-hook-uuid", "{cb2a9f9e-0000-4000-8000-00000000000f}"),
        ]);
        let parsed = Bitbucket.parse(&delivery(&h, MERGED)).expect("parses");
        assert_eq!(parsed.delivery_id, None);
        assert!(matches!(parsed.signals[0], Signal::Change(_)));
        assert_eq!(
            Bitbucket.descriptor().kept_headers,
            ["x-event-key", "x-request-uuid"]
        );
    }

    #[test]
    fn malformed_payloads_are_refused_saying_why() {
        for (event, body, code) in [
            ("pullrequest:fulfilled", "not json", "invalid_json"),
            ("repo:push", "{\"push\": ", "invalid_json"),
            ("diagnostics:ping", "nope", "invalid_json"),
            ("repo:push", "[1, 2]", "invalid_payload"),
            ("pullrequest:fulfilled", "{}", "invalid_payload"),
            (
                "pullrequest:fulfilled",
                r#"{"pullrequest": {"id": 1, "title": "t"}}"#,
                "invalid_payload",
            ),
            (
                "pullrequest:fulfilled",
                r#"{"pullrequest": {"id": "one", "title": "t"}, "repository": {"name": "r"}}"#,
                "invalid_payload",
            ),
            (
                "pullrequest:fulfilled",
                r#"{"pullrequest": {"id": 1}, "repository": {"name": "r"}}"#,
                "invalid_payload",
            ),
            (
                "pullrequest:fulfilled",
                r#"{"pullrequest": {"id": 1, "title": "t", "updated_on": "yesterday"}, "repository": {"name": "r"}}"#,
                "invalid_payload",
            ),
            (
                "repo:commit_status_updated",
                r#"{"repository": {"name": "r"}}"#,
                "invalid_payload",
            ),
            (
                "repo:commit_status_updated",
                r#"{"commit_status": {"name": "Pipeline #1"}, "repository": {"name": "r"}}"#,
                "invalid_payload",
            ),
            (
                "repo:commit_status_created",
                r#"{"commit_status": {"state": 3}, "repository": {"name": "r"}}"#,
                "invalid_payload",
            ),
        ] {
            let h = headers(&[("x-event-key", event)]);
            refuses_malformed(&Bitbucket, &h, "Bitbucket", &[(body, code)]);
        }
    }

    fn sign(secret: &[u8], body: &str) -> String {
        crate::sources::common::tests_support::sign(super::DESCRIPTOR.auth, secret, body)
    }

    #[test]
    fn only_a_signature_of_this_body_with_the_secret_gets_in() {
        only_the_right_secret_gets_in(&Bitbucket, MERGED, "{}");
        let secret = b"aurora-generated-bitbucket-secret";
        let good = headers(&[
            ("x-hub-signature", sign(secret, MERGED).as_str()),
            ("x-event-key", "pullrequest:fulfilled"),
        ]);
        assert!(Bitbucket.verify(&delivery(&good, MERGED), secret).is_ok());
        let digest = sign(secret, MERGED);
        let bare = digest.trim_start_matches("sha256=");
        for bad in [
            headers(&[("x-hub-signature", sign(b"another secret", MERGED).as_str())]),
            headers(&[("x-hub-signature", sign(secret, PIPELINE).as_str())]),
            headers(&[("x-hub-signature", bare)]),
            headers(&[("x-hub-signature", "sha256=not-hex")]),
            headers(&[("x-hub-signature-256", sign(secret, MERGED).as_str())]),
            headers(&[]),
        ] {
            assert!(matches!(
                Bitbucket.verify(&delivery(&bad, MERGED), secret),
                Err(Refusal::Unauthorized(_))
            ));
        }
    }

    #[test]
    fn setup_asks_for_the_secret_and_the_change_triggers() {
        let setup = Bitbucket.setup(
            "https://aurora.example.com/webhooks/bitbucket/x",
            Some("abc"),
        );
        assert_eq!(setup.header, None, "Bitbucket signs; no header to add");
        assert!(setup.steps[0].contains("Build status updated"));
        assert!(setup.steps[2].contains("x-hub-signature"));
        assert!(!Bitbucket.descriptor().rca_by_default);
        assert_eq!(Bitbucket.descriptor().secret_origin, SecretOrigin::Aurora);
    }
}
