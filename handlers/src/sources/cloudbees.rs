//! CloudBees CI (Jenkins-based: its controllers run Jenkins jobs). Authenticated like Jenkins, by
//! `X-Aurora-Signature: sha256=<hex hmac-sha256 of the raw body>`, keyed with a secret Aurora
//! generates; the job signs what it sends from a Jenkinsfile `post` step (`openssl dgst -sha256
//! -hmac`, then `curl`), since CloudBees CI has no webhook signature of its own.
//!
//! Payloads and rules are Jenkins's (the parsing is [`super::jenkins::parse_build`]): the
//! Notification plugin's job state, acted on at its `FINALIZED` phase only, or the flat JSON of a
//! pipeline step (`job_name | service, build_number, result, …`). `FAILURE` fires (high),
//! `UNSTABLE` fires (medium), `SUCCESS` is a `build` change event, anything else is ignored with
//! the reason. Identity is the job's full name and the build number: alert and change id
//! `<job>#<number>`, fingerprint `cloudbees-<job>`. No delivery id (the gateway hashes the body);
//! nothing resolves.

use super::common::AURORA_SIGNATURE;
use super::jenkins::{parse_build, setup_build};
use super::{Auth, Delivery, Parsed, Refusal, Setup, Source};

pub struct CloudBees;

impl Source for CloudBees {
    fn name(&self) -> &'static str {
        "cloudbees"
    }

    fn title(&self) -> &'static str {
        "CloudBees CI"
    }

    fn auth(&self) -> Auth {
        AURORA_SIGNATURE
    }

    fn rca_by_default(&self) -> bool {
        true
    }

    fn where_to_configure(&self) -> &'static str {
        "the Jenkinsfile of each job to report, on its controller: a post { always { … } } block that POSTs the build's result with curl, signing the exact body with openssl dgst -sha256 -hmac <secret> into X-Aurora-Signature: sha256=<hex> (CloudBees CI has no webhook signature of its own; the Notification plugin's JSON is accepted too, but that plugin cannot add headers, so it must go through a relay that signs it)"
    }

    fn parse(&self, delivery: &Delivery<'_>) -> Result<Parsed, Refusal> {
        parse_build(self.name(), self.title(), delivery)
    }

    fn setup(&self, url: &str, secret: Option<&str>) -> Setup {
        setup_build(self.title(), self.where_to_configure(), url, secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::common::tests_support::{delivery, headers};
    use crate::sources::jenkins::fixtures::{sign, FAILED, STEP};
    use aurora_domain::intake::Signal;
    use aurora_domain::Severity;

    fn one(body: &str) -> Signal {
        let h = headers(&[]);
        let parsed = CloudBees.parse(&delivery(&h, body)).expect("parses");
        assert_eq!(parsed.delivery_id, None);
        assert_eq!(parsed.signals.len(), 1);
        parsed.signals.into_iter().next().expect("one signal")
    }

    #[test]
    fn a_failed_build_fires_under_the_cloudbees_fingerprint() {
        let Signal::Firing(a) = one(FAILED) else {
            panic!("firing expected")
        };
        assert_eq!(a.alert_id, "shop/checkout service/main#142");
        assert_eq!(a.fingerprint, "cloudbees-shop/checkout service/main");
        assert_eq!(a.title, "shop/checkout service/main #142 failed");
        assert_eq!(a.severity, Severity::High);
        let Signal::Firing(b) =
            one(&STEP.replace(r#""result":"FAILURE""#, r#""result":"UNSTABLE""#))
        else {
            panic!("firing expected")
        };
        assert_eq!(b.fingerprint, "cloudbees-payments-api");
        assert_eq!(b.severity, Severity::Medium);
    }

    #[test]
    fn a_successful_build_is_a_build_change() {
        let Signal::Change(c) =
            one(&FAILED.replace(r#""status": "FAILURE""#, r#""status": "SUCCESS""#))
        else {
            panic!("change expected")
        };
        assert_eq!(c.change_id, "shop/checkout service/main#142");
        assert_eq!(c.kind, "build");
        assert_eq!(c.author.as_deref(), Some("alice"));
    }

    #[test]
    fn unfinished_and_aborted_builds_are_ignored_in_cloudbees_terms() {
        for body in [
            FAILED.replace(r#""phase": "FINALIZED""#, r#""phase": "COMPLETED""#),
            FAILED.replace(r#""status": "FAILURE""#, r#""status": "ABORTED""#),
        ] {
            let Signal::Ignored { reason } = one(&body) else {
                panic!("ignored expected")
            };
            assert!(reason.starts_with("CloudBees CI "), "{reason}");
        }
    }

    #[test]
    fn malformed_payloads_are_refused_naming_cloudbees() {
        let h = headers(&[]);
        for (body, code) in [
            ("<xml/>", "invalid_json"),
            ("{}", "invalid_payload"),
            (
                r#"{"name": "x", "build": {"number": -1}}"#,
                "invalid_payload",
            ),
            (
                r#"{"name": "x", "build": {"number": {}}}"#,
                "invalid_payload",
            ),
        ] {
            match CloudBees.parse(&delivery(&h, body)) {
                Err(Refusal::BadRequest { code: got, message }) => {
                    assert_eq!(got, code, "{body}: {message}");
                    assert!(message.contains("CloudBees CI"), "{message}");
                }
                other => panic!("{body}: expected a refusal, got {other:?}"),
            }
        }
    }

    #[test]
    fn only_a_signature_of_this_body_with_the_secret_gets_in() {
        let secret = b"cloudbees-secret";
        let good = headers(&[("x-aurora-signature", sign(secret, STEP).as_str())]);
        assert!(CloudBees.verify(&delivery(&good, STEP), secret).is_ok());
        for bad in [
            headers(&[("x-aurora-signature", sign(b"wrong", STEP).as_str())]),
            headers(&[("x-aurora-signature", sign(secret, FAILED).as_str())]),
            headers(&[("x-aurora-signature", "sha256=deadbeef")]),
            headers(&[]),
        ] {
            assert!(matches!(
                CloudBees.verify(&delivery(&bad, STEP), secret),
                Err(Refusal::Unauthorized(_))
            ));
        }
    }

    #[test]
    fn setup_speaks_of_cloudbees_ci_and_its_controllers() {
        let url = "https://aurora.example.com/webhooks/cloudbees/9a";
        let setup = CloudBees.setup(url, None);
        assert!(setup.steps[0].starts_with("In CloudBees CI: "));
        assert!(setup.steps[0].contains("controller"));
        assert!(setup.steps[2].contains(url));
        assert_eq!(CloudBees.name(), "cloudbees");
        assert_eq!(CloudBees.auth(), AURORA_SIGNATURE);
        assert!(CloudBees.rca_by_default());
    }
}
