//! CloudBees CI (Jenkins-based: its controllers run Jenkins jobs). Authenticated like Jenkins, by
//! `X-Aurora-Signature: sha256=<hex hmac-sha256 of the raw body>`, keyed with a secret Aurora
//! generates; the job signs what it sends from a Jenkinsfile `post` step (`openssl dgst -sha256
//! -hmac`, then `curl`), since CloudBees CI has no webhook signature of its own.
//!
//! Payloads and rules are Jenkins's (the source is a [`super::jenkins::BuildServer`]): the
//! Notification plugin's job state, acted on at its `FINALIZED` phase only, or the flat JSON of a
//! pipeline step (`job_name | service, build_number, result, …`). `FAILURE` fires (high),
//! `UNSTABLE` fires (medium), `SUCCESS` is a `build` change event, anything else is ignored with
//! the reason. Identity is the job's full name and the build number: alert and change id
//! `<job>#<number>`, fingerprint `cloudbees-<job>`. No delivery id (the gateway hashes the body);
//! nothing resolves.

use super::jenkins::{self, BuildServer};
use super::SourceDescriptor;

/// CloudBees CI: Jenkins under its own name.
pub static CLOUDBEES: BuildServer = BuildServer::new(&DESCRIPTOR);

const DESCRIPTOR: SourceDescriptor = SourceDescriptor {
    name: "cloudbees",
    title: "CloudBees CI",
    where_to_configure: "the Jenkinsfile of each job to report, on its controller: a post { always { … } } block that POSTs the build's result with curl, signing the exact body with openssl dgst -sha256 -hmac <secret> into X-Aurora-Signature: sha256=<hex> (CloudBees CI has no webhook signature of its own; the Notification plugin's JSON is accepted too, but that plugin cannot add headers, so it must go through a relay that signs it)",
    ..jenkins::DESCRIPTOR
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::common::tests_support::*;
    use crate::sources::jenkins::fixtures::{sign, FAILED, STEP};
    use crate::sources::{Source, AURORA_SIGNATURE};
    use aurora_domain::intake::Signal;
    use aurora_domain::Severity;

    fn one(body: &str) -> Signal {
        one_signal(&CLOUDBEES, body)
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
        refuses_malformed(
            &CLOUDBEES,
            &h,
            "CloudBees CI",
            &[
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
            ],
        );
    }

    #[test]
    fn only_a_signature_of_this_body_with_the_secret_gets_in() {
        only_the_right_secret_gets_in(&CLOUDBEES, STEP, FAILED);
        bare_hex_signatures_get_in_too(&CLOUDBEES, STEP, FAILED);
        let secret = b"cloudbees-secret";
        let bare = sign(secret, STEP).replacen("sha256=", "", 1);
        let bare = headers(&[("x-aurora-signature", bare.as_str())]);
        assert!(CLOUDBEES.verify(&delivery(&bare, STEP), secret).is_ok());
        refused(
            &CLOUDBEES,
            secret,
            STEP,
            &[headers(&[("x-aurora-signature", "sha256=deadbeef")])],
        );
    }

    #[test]
    fn setup_speaks_of_cloudbees_ci_and_its_controllers() {
        let url = "https://aurora.example.com/webhooks/cloudbees/9a";
        let setup = CLOUDBEES.setup(url, None);
        assert!(setup.steps[0].starts_with("In CloudBees CI: "));
        assert!(setup.steps[0].contains("controller"));
        assert!(setup.steps[2].contains(url));
        assert_eq!(CLOUDBEES.descriptor().name, "cloudbees");
        assert_eq!(CLOUDBEES.descriptor().auth, AURORA_SIGNATURE);
        assert!(CLOUDBEES.descriptor().rca_by_default);
    }
}
