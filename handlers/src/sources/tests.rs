//! The descriptors as the sources stated them, field by field (all but the setup text), so that
//! stating only what differs from [`SourceDescriptor::new`]'s common answers changes none. A new
//! source adds its row.

use super::common::{AURORA_SIGNATURE, BEARER_SECRET};
use super::{Auth, SecretOrigin, SOURCES};

/// Spelled out rather than [`Auth::hmac_sha256`], so the table does not lean on what it checks.
const fn hmac(header: &'static str, prefix: &'static str) -> Auth {
    Auth::HmacSha256 {
        header,
        prefix,
        bare_hex_too: false,
    }
}

type Expected = (
    &'static str,
    &'static str,
    Auth,
    SecretOrigin,
    bool,
    &'static [&'static str],
);

#[test]
fn every_source_states_the_descriptor_it_stated_before() {
    use SecretOrigin::{Aurora, Source};
    let expected: &[Expected] = &[
        ("grafana", "Grafana", BEARER_SECRET, Aurora, true, &[]),
        (
            "pagerduty",
            "PagerDuty",
            hmac("x-pagerduty-signature", "v1="),
            Source,
            true,
            &[],
        ),
        (
            "datadog",
            "Datadog",
            Auth::Secret {
                header: "x-aurora-secret",
                prefix: "",
            },
            Aurora,
            true,
            &[],
        ),
        (
            "sentry",
            "Sentry",
            hmac("sentry-hook-signature", ""),
            Source,
            true,
            &["sentry-hook-resource", "request-id"],
        ),
        ("newrelic", "New Relic", BEARER_SECRET, Aurora, true, &[]),
        ("opsgenie", "OpsGenie", BEARER_SECRET, Aurora, true, &[]),
        (
            "github",
            "GitHub",
            hmac("x-hub-signature-256", "sha256="),
            Aurora,
            false,
            &["x-github-event", "x-github-delivery"],
        ),
        (
            "cloudwatch",
            "AWS CloudWatch (SNS)",
            Auth::SnsSignature,
            Aurora,
            true,
            &[
                "x-amz-sns-message-type",
                "x-amz-sns-message-id",
                "x-amz-sns-topic-arn",
            ],
        ),
        ("netdata", "Netdata", BEARER_SECRET, Aurora, true, &[]),
        ("splunk", "Splunk", BEARER_SECRET, Aurora, false, &[]),
        (
            "incidentio",
            "incident.io",
            Auth::Svix,
            Source,
            true,
            &["webhook-id", "webhook-timestamp", "webhook-signature"],
        ),
        ("dynatrace", "Dynatrace", BEARER_SECRET, Aurora, false, &[]),
        ("bigpanda", "BigPanda", AURORA_SIGNATURE, Aurora, false, &[]),
        ("jenkins", "Jenkins", AURORA_SIGNATURE, Aurora, true, &[]),
        (
            "cloudbees",
            "CloudBees CI",
            AURORA_SIGNATURE,
            Aurora,
            true,
            &[],
        ),
        (
            "spinnaker",
            "Spinnaker",
            AURORA_SIGNATURE,
            Aurora,
            true,
            &[],
        ),
        (
            "jira",
            "Jira",
            BEARER_SECRET,
            Aurora,
            true,
            &["x-atlassian-webhook-identifier"],
        ),
        (
            "bitbucket",
            "Bitbucket",
            hmac("x-hub-signature", "sha256="),
            Aurora,
            false,
            &["x-event-key", "x-request-uuid"],
        ),
    ];
    let stated: Vec<Expected> = SOURCES
        .iter()
        .map(|s| s.descriptor())
        .map(|d| {
            (
                d.name,
                d.title,
                d.auth,
                d.secret_origin,
                d.rca_by_default,
                d.kept_headers,
            )
        })
        .collect();
    assert_eq!(stated, expected);
    for source in SOURCES {
        let d = source.descriptor();
        assert!(!d.where_to_configure.trim().is_empty(), "{}", d.name);
    }
}
