//! Dynatrace problem notifications (Settings → Integration → Problem notifications → Custom
//! integration). Dynatrace does not sign webhooks: authenticated by a bearer secret Aurora
//! generates, which the integration sends as an `Authorization: Bearer <secret>` custom header.
//!
//! The body is the integration's custom payload; Dynatrace's documented placeholders are read
//! (Aurora's template, shown in the setup steps, is
//! `{"ProblemID": "{ProblemID}", "PID": "{PID}", "State": "{State}", "ProblemTitle":
//! "{ProblemTitle}", "ProblemSeverity": "{ProblemSeverity}", "ProblemImpact": "{ProblemImpact}",
//! "ImpactedEntity": "{ImpactedEntity}", "ImpactedEntityNames": "{ImpactedEntityNames}",
//! "ImpactedEntities": {ImpactedEntities}, "ProblemDetailsText": "{ProblemDetailsText}",
//! "ProblemURL": "{ProblemURL}", "Tags": "{Tags}"}`; the default template's keys, `Problem URL`
//! and `ProblemDetailsJSON` included, are understood too). Ids may arrive as strings or numbers.
//!
//! One delivery is one problem notification:
//! - `State: OPEN` → firing (sent when the problem opens, and again on updates if the integration
//!   notifies on merges: the same alert id, so the same alert);
//! - `State: RESOLVED` (or `CLOSED`) → resolved;
//! - `State: MERGED` (folded into another problem, which carries on) and any other state →
//!   ignored;
//! - "Send test notification" (title "Dynatrace problem notification test run", placeholder
//!   PID `99999` / `999999`, entity ids `HOST-XXXXXXXXXXXXX`) → ignored.
//!
//! Severity follows `ProblemSeverity` (as upstream): AVAILABILITY → critical, ERROR → high,
//! PERFORMANCE, RESOURCE_CONTENTION and MONITORING_UNAVAILABLE → medium, CUSTOM_ALERT → low,
//! INFO → info, anything else → medium, none → unknown. The service is the first impacted SERVICE (else the first
//! impacted entity); the environment a tag `env:` / `environment:` / `stage:`.
//!
//! Identity (SPEC: problem id): `ProblemID` (else `PID`); the fingerprint is
//! `dynatrace-problem-<id>`, the same for OPEN and RESOLVED, so RESOLVED finds the incident.
//! Dynatrace sends no delivery id.

use aurora_domain::intake::{FiringAlert, Signal};
use aurora_domain::Severity;
use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::common::{json, non_blank, Loose, BEARER_SECRET};
use super::{Delivery, Parsed, Refusal, Source, SourceDescriptor};

pub struct Dynatrace;

#[derive(Debug, Deserialize)]
struct Payload {
    /// The display number of the problem.
    #[serde(default, rename = "ProblemID")]
    problem_id: Option<Loose>,
    /// The problem's internal id.
    #[serde(default, rename = "PID")]
    pid: Option<Loose>,
    #[serde(default, rename = "State")]
    state: Option<String>,
    #[serde(default, rename = "ProblemTitle")]
    title: Option<String>,
    #[serde(default, rename = "ProblemSeverity")]
    severity: Option<String>,
    #[serde(default, rename = "ProblemImpact")]
    impact: Option<String>,
    #[serde(default, rename = "ImpactedEntity")]
    impacted_entity: Option<String>,
    #[serde(default, rename = "ImpactedEntityNames")]
    impacted_entity_names: Option<String>,
    /// `[{"type": "SERVICE", "name": "…", "entity": "SERVICE-…"}]`.
    #[serde(default, rename = "ImpactedEntities")]
    impacted_entities: Option<Value>,
    #[serde(default, rename = "ProblemDetailsText")]
    details_text: Option<String>,
    #[serde(default, rename = "ProblemDetailsJSON")]
    details_json: Option<Value>,
    #[serde(default, rename = "ProblemURL", alias = "Problem URL")]
    url: Option<String>,
    /// A comma-separated string (or a list).
    #[serde(default, rename = "Tags")]
    tags: Option<Value>,
    /// Epoch milliseconds, when the template has them.
    #[serde(default, rename = "ProblemStartTime")]
    start_time: Option<Loose>,
    #[serde(default, rename = "ProblemEndTime")]
    end_time: Option<Loose>,
}

/// Epoch milliseconds as a time; Dynatrace writes `-1` for "not yet".
fn from_millis(ms: i64) -> Option<DateTime<Utc>> {
    (ms > 0)
        .then(|| Utc.timestamp_millis_opt(ms).single())
        .flatten()
}

struct Entity<'a> {
    kind: &'a str,
    name: Option<&'a str>,
    id: Option<&'a str>,
}

impl Payload {
    fn id(&self) -> Option<String> {
        self.problem_id
            .as_ref()
            .and_then(Loose::text)
            .or_else(|| self.pid.as_ref().and_then(Loose::text))
    }

    fn entities(&self) -> Vec<Entity<'_>> {
        let Some(Value::Array(items)) = &self.impacted_entities else {
            return Vec::new();
        };
        items
            .iter()
            .map(|e| Entity {
                kind: e.get("type").and_then(Value::as_str).unwrap_or(""),
                name: non_blank(e.get("name").and_then(Value::as_str)),
                id: non_blank(e.get("entity").and_then(Value::as_str)),
            })
            .collect()
    }

    fn tags(&self) -> Vec<String> {
        match &self.tags {
            Some(Value::String(s)) => s
                .split(',')
                .filter_map(|t| non_blank(Some(t)).map(str::to_owned))
                .collect(),
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|t| non_blank(t.as_str()).map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The value of the first tag `key:value` among `keys` (a `[Context]` prefix is dropped).
    fn tag(&self, keys: &[&str]) -> Option<String> {
        self.tags().into_iter().find_map(|tag| {
            let tag = match tag.strip_prefix('[') {
                Some(rest) => rest.split_once(']').map_or(rest, |(_, t)| t),
                None => tag.as_str(),
            };
            let (key, value) = tag.split_once(':')?;
            let key = key.trim();
            keys.iter()
                .any(|k| key.eq_ignore_ascii_case(k))
                .then(|| non_blank(Some(value)).map(str::to_owned))
                .flatten()
        })
    }

    fn service(&self) -> Option<String> {
        let entities = self.entities();
        entities
            .iter()
            .find(|e| e.kind.eq_ignore_ascii_case("SERVICE"))
            .or(entities.first())
            .and_then(|e| e.name)
            .map(str::to_owned)
            .or_else(|| {
                non_blank(self.impacted_entity_names.as_deref())
                    .and_then(|n| non_blank(n.split(',').next()))
                    .map(str::to_owned)
            })
    }

    fn detail_millis(&self, key: &str) -> Option<i64> {
        self.details_json.as_ref()?.get(key)?.as_i64()
    }

    fn started(&self) -> Option<DateTime<Utc>> {
        self.start_time
            .as_ref()
            .and_then(Loose::whole)
            .or_else(|| self.detail_millis("startTime"))
            .and_then(from_millis)
    }

    fn ended(&self) -> Option<DateTime<Utc>> {
        self.end_time
            .as_ref()
            .and_then(Loose::whole)
            .or_else(|| self.detail_millis("endTime"))
            .and_then(from_millis)
    }

    /// Dynatrace's "Send test notification" fills the placeholders with fixed sample values.
    fn is_test(&self) -> bool {
        let titled = non_blank(self.title.as_deref()).is_some_and(|t| {
            t.to_ascii_lowercase()
                .contains("problem notification test run")
        });
        let sample_pid = self
            .pid
            .as_ref()
            .and_then(Loose::text)
            .is_some_and(|p| p == "99999" || p == "999999");
        let placeholder = |s: &str| s.contains("XXXXXXXXXXXX");
        let sample_entity = self
            .entities()
            .iter()
            .any(|e| e.id.is_some_and(placeholder))
            || self
                .problem_id
                .as_ref()
                .and_then(Loose::text)
                .is_some_and(|p| placeholder(&p));
        titled || sample_pid || sample_entity
    }
}

fn severity(problem_severity: Option<&str>) -> Severity {
    match problem_severity
        .map(|s| s.trim().to_ascii_uppercase())
        .as_deref()
    {
        Some("AVAILABILITY") => Severity::Critical,
        Some("ERROR") => Severity::High,
        Some("PERFORMANCE" | "RESOURCE_CONTENTION" | "MONITORING_UNAVAILABLE") => Severity::Medium,
        Some("CUSTOM_ALERT") => Severity::Low,
        Some("INFO") => Severity::Info,
        Some(_) => Severity::Medium,
        None => Severity::Unknown,
    }
}

const DESCRIPTOR: SourceDescriptor = SourceDescriptor {
    rca_by_default: false,
    ..SourceDescriptor::new(
        "dynatrace",
        "Dynatrace",
        BEARER_SECRET,
        r#"Settings → Integration → Problem notifications → Add notification → Custom integration; set the Webhook URL, add the custom HTTP header below, turn on "Call webhook if problem is closed", use the custom payload {"ProblemID": "{ProblemID}", "PID": "{PID}", "State": "{State}", "ProblemTitle": "{ProblemTitle}", "ProblemSeverity": "{ProblemSeverity}", "ProblemImpact": "{ProblemImpact}", "ImpactedEntity": "{ImpactedEntity}", "ImpactedEntityNames": "{ImpactedEntityNames}", "ImpactedEntities": {ImpactedEntities}, "ProblemDetailsText": "{ProblemDetailsText}", "ProblemURL": "{ProblemURL}", "Tags": "{Tags}"}, optionally pick an alerting profile, then "Send test notification" (Aurora accepts and ignores it) and save"#,
    )
};

impl Source for Dynatrace {
    fn descriptor(&self) -> &'static SourceDescriptor {
        &DESCRIPTOR
    }

    fn parse(&self, delivery: &Delivery<'_>) -> Result<Parsed, Refusal> {
        let payload: Payload = json("Dynatrace", delivery.body)?;
        if payload.is_test() {
            return Ok(Parsed::one(
                None,
                Signal::Ignored {
                    reason: "a Dynatrace test notification".into(),
                },
            ));
        }
        let id = payload.id().ok_or_else(|| {
            Refusal::bad(
                "invalid_payload",
                "a Dynatrace problem notification needs `ProblemID` (or `PID`)",
            )
        })?;
        let state = non_blank(payload.state.as_deref()).ok_or_else(|| {
            Refusal::bad(
                "invalid_payload",
                "a Dynatrace problem notification needs `State` (OPEN or RESOLVED)",
            )
        })?;
        let fingerprint = format!("dynatrace-problem-{id}");
        let alert_id = format!("problem-{id}");
        let signal = match state.to_ascii_uppercase().as_str() {
            "OPEN" => Signal::Firing(FiringAlert {
                alert_id,
                fingerprint,
                title: non_blank(payload.title.as_deref())
                    .map_or_else(|| format!("Dynatrace problem {id}"), str::to_owned),
                service: payload.service(),
                environment: payload.tag(&["env", "environment", "stage"]),
                severity: severity(payload.severity.as_deref()),
                fired_at: payload.started().unwrap_or(delivery.received_at),
                description: non_blank(payload.details_text.as_deref())
                    .or(non_blank(payload.impacted_entity.as_deref()))
                    .map(str::to_owned)
                    .or_else(|| {
                        non_blank(payload.impact.as_deref()).map(|i| format!("{i} impact"))
                    }),
                url: non_blank(payload.url.as_deref()).map(str::to_owned),
                placement: Default::default(),
            }),
            "RESOLVED" | "CLOSED" => Signal::Resolved {
                fingerprint,
                source_alert_id: alert_id,
                at: payload.ended().unwrap_or(delivery.received_at),
            },
            "MERGED" => Signal::Ignored {
                reason: format!(
                    "Dynatrace problem {id} was merged into another problem, which carries on"
                ),
            },
            other => Signal::Ignored {
                reason: format!("Dynatrace problem state {other:?} is not acted on"),
            },
        };
        Ok(Parsed::one(None, signal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::common::tests_support::*;

    /// Aurora's template, filled in by Dynatrace for an open problem.
    const OPEN: &str = r#"{
      "ProblemID": "P-2311042",
      "PID": "-4810237493829182734_1795427700000V2",
      "State": "OPEN",
      "ProblemTitle": "Failure rate increase",
      "ProblemSeverity": "ERROR",
      "ProblemImpact": "SERVICE",
      "ImpactedEntity": "Failure rate increase on Web service checkout-api",
      "ImpactedEntityNames": "checkout-api",
      "ImpactedEntities": [
        {"type": "HOST", "name": "ip-10-0-3-17", "entity": "HOST-8A3C1E0F9B2D4C11"},
        {"type": "SERVICE", "name": "checkout-api", "entity": "SERVICE-F5D7459A6CD9842B"}
      ],
      "ProblemDetailsText": "Failure rate increase\nService checkout-api: failure rate 12% (baseline 0.4%)",
      "ProblemURL": "https://abc12345.live.dynatrace.com/#problems/problemdetails;pid=-4810237493829182734_1795427700000V2",
      "Tags": "[Kubernetes]namespace:shop, env:production, team-payments",
      "ProblemStartTime": 1795427700000
    }"#;

    fn one(body: &str) -> Signal {
        one_signal(&Dynatrace, body)
    }

    #[test]
    fn an_open_problem_fires_one_alert() {
        let Signal::Firing(a) = one(OPEN) else {
            panic!("firing expected")
        };
        assert_eq!(a.alert_id, "problem-P-2311042");
        assert_eq!(a.fingerprint, "dynatrace-problem-P-2311042");
        assert_eq!(a.title, "Failure rate increase");
        assert_eq!(a.service.as_deref(), Some("checkout-api"));
        assert_eq!(a.environment.as_deref(), Some("production"));
        assert_eq!(a.severity, Severity::High);
        assert_eq!(a.fired_at.to_rfc3339(), "2026-11-23T09:55:00+00:00");
        assert!(a
            .description
            .as_deref()
            .is_some_and(|d| d.contains("failure rate 12%")));
        assert_eq!(
            a.url.as_deref(),
            Some("https://abc12345.live.dynatrace.com/#problems/problemdetails;pid=-4810237493829182734_1795427700000V2")
        );
    }

    #[test]
    fn a_resolved_problem_resolves_the_same_fingerprint() {
        let body = OPEN
            .replace(r#""State": "OPEN""#, r#""State": "RESOLVED""#)
            .replace(
                r#""ProblemStartTime": 1795427700000"#,
                r#""ProblemStartTime": 1795427700000, "ProblemEndTime": "1795428420000""#,
            );
        assert_eq!(
            one(&body),
            resolved(
                "dynatrace-problem-P-2311042",
                "problem-P-2311042",
                "2026-11-23T10:07:00+00:00"
            )
        );
    }

    #[test]
    fn an_update_of_an_open_problem_is_the_same_alert() {
        let update = OPEN.replace(
            r#""ProblemSeverity": "ERROR""#,
            r#""ProblemSeverity": "AVAILABILITY""#,
        );
        let (Signal::Firing(a), Signal::Firing(b)) = (one(OPEN), one(&update)) else {
            panic!("firing expected")
        };
        assert_eq!(a.alert_id, b.alert_id);
        assert_eq!(b.severity, Severity::Critical);
    }

    #[test]
    fn the_default_template_with_numeric_ids_is_understood() {
        let body = r#"{"ImpactedEntities": [{"type": "HOST", "name": "db-host-2", "entity": "HOST-1B2C3D4E5F607182"}], "ImpactedEntity": "CPU saturation on Host db-host-2", "PID": "7712093847561029384_1795428000000V2", "ProblemDetailsHTML": "<h1>CPU saturation</h1>", "ProblemDetailsJSON": {"id": "7712093847561029384_1795428000000V2", "startTime": 1795428000000, "endTime": -1, "status": "OPEN"}, "ProblemID": 4471, "ProblemImpact": "INFRASTRUCTURE", "ProblemTitle": "CPU saturation", "Problem URL": "https://abc12345.live.dynatrace.com/#problems/problemdetails;pid=7712093847561029384_1795428000000V2", "State": "OPEN", "Tags": ""}"#;
        let Signal::Firing(a) = one(body) else {
            panic!("firing expected")
        };
        assert_eq!(a.fingerprint, "dynatrace-problem-4471");
        assert_eq!(
            a.service.as_deref(),
            Some("db-host-2"),
            "no service: the host"
        );
        assert_eq!(a.environment, None);
        assert_eq!(a.severity, Severity::Unknown, "no ProblemSeverity: unknown");
        assert_eq!(a.fired_at.timestamp(), 1_795_428_000);
        assert_eq!(
            a.description.as_deref(),
            Some("CPU saturation on Host db-host-2")
        );
        assert!(a.url.is_some_and(|u| u.contains("problemdetails")));
        let resolved = body.replace(r#""State": "OPEN""#, r#""State": "RESOLVED""#);
        match one(&resolved) {
            Signal::Resolved {
                fingerprint, at, ..
            } => {
                assert_eq!(fingerprint, "dynatrace-problem-4471");
                assert_eq!(
                    at.to_rfc3339(),
                    "2026-11-23T10:00:30+00:00",
                    "endTime -1: received"
                );
            }
            other => panic!("resolved expected, got {other:?}"),
        }
    }

    #[test]
    fn only_the_pid_is_enough() {
        let body = r#"{"PID": "-1234567890_1795428000000V2", "State": "OPEN", "ProblemTitle": "Slow", "ProblemSeverity": "PERFORMANCE"}"#;
        let Signal::Firing(a) = one(body) else {
            panic!("firing expected")
        };
        assert_eq!(
            a.fingerprint,
            "dynatrace-problem--1234567890_1795428000000V2"
        );
        assert_eq!(a.severity, Severity::Medium);
    }

    #[test]
    fn severities_follow_the_problem_severity() {
        for (given, expected) in [
            ("AVAILABILITY", Severity::Critical),
            ("ERROR", Severity::High),
            ("PERFORMANCE", Severity::Medium),
            ("RESOURCE_CONTENTION", Severity::Medium),
            ("CUSTOM_ALERT", Severity::Low),
            ("INFO", Severity::Info),
        ] {
            let body = OPEN.replace("\"ERROR\"", &format!("\"{given}\""));
            let Signal::Firing(a) = one(&body) else {
                panic!("firing expected")
            };
            assert_eq!(a.severity, expected, "{given}");
        }
    }

    #[test]
    fn merged_and_unknown_states_are_ignored() {
        for state in ["MERGED", "baaad"] {
            let body = OPEN.replace(r#""State": "OPEN""#, &format!(r#""State": "{state}""#));
            assert!(
                matches!(one(&body), Signal::Ignored { .. }),
                "{state} should be ignored"
            );
        }
    }

    #[test]
    fn the_test_notification_is_ignored() {
        // What "Send test notification" posts with Dynatrace's default template.
        let body = r#"{"ImpactedEntities": [{"type": "HOST", "name": "MyHost1", "entity": "HOST-XXXXXXXXXXXXX"}, {"type": "SERVICE", "name": "MyService1", "entity": "SERVICE-XXXXXXXXXXXXX"}], "ImpactedEntity": "MyHost1, MyService1", "PID": "99999", "ProblemDetailsHTML": "<h1>Dynatrace problem notification test run details</h1>", "ProblemDetailsJSON": {"ID": "99999"}, "ProblemID": "999", "ProblemImpact": "INFRASTRUCTURE", "ProblemTitle": "Dynatrace problem notification test run", "Problem URL": "https://example.com", "State": "OPEN", "Tags": "testtag1, testtag2"}"#;
        assert!(matches!(one(body), Signal::Ignored { reason } if reason.contains("test")));
        // A template with only some placeholders is still recognised.
        for body in [
            r#"{"ProblemID": "999999", "PID": "999999", "State": "OPEN", "ProblemTitle": "Something"}"#,
            r#"{"ProblemID": "XXXXXXXXXXXXXXXXXXXXXXXX", "State": "OPEN"}"#,
            r#"{"ProblemID": "999", "State": "OPEN", "ProblemTitle": "Dynatrace problem notification test run"}"#,
        ] {
            assert!(
                matches!(one(body), Signal::Ignored { .. }),
                "{body} should be a test"
            );
        }
    }

    #[test]
    fn malformed_payloads_are_refused_saying_why() {
        let h = headers(&[]);
        refuses_malformed(
            &Dynatrace,
            &h,
            "",
            &[
                ("not json", "invalid_json"),
                // `{ImpactedEntities}` quoted in the template breaks the JSON.
                (
                    r#"{"ProblemID": "1", "ImpactedEntities": "[{"type": "HOST"}]"}"#,
                    "invalid_json",
                ),
                ("{}", "invalid_payload"),
                (
                    r#"{"State": "OPEN", "ProblemTitle": "x"}"#,
                    "invalid_payload",
                ),
                (
                    r#"{"ProblemID": "P-1", "ProblemTitle": "x"}"#,
                    "invalid_payload",
                ),
                (r#"{"ProblemID": "P-1", "State": 1}"#, "invalid_payload"),
                (
                    r#"{"ProblemID": ["P-1"], "State": "OPEN"}"#,
                    "invalid_payload",
                ),
                (
                    r#"{"ProblemID": "P-1", "State": "OPEN", "ProblemTitle": {"a": 1}}"#,
                    "invalid_payload",
                ),
            ],
        );
    }

    #[test]
    fn only_the_right_bearer_secret_gets_in() {
        the_bearer_secret_alone_gets_in(
            &Dynatrace,
            (OPEN, "{}"),
            &[("authorization", "Api-Token s3cret")],
        );
    }

    #[test]
    fn rca_is_opt_in_and_setup_gives_the_template() {
        assert!(!Dynatrace.descriptor().rca_by_default);
        let setup = Dynatrace.setup("https://aurora.example.com/webhooks/dynatrace/x", None);
        assert_eq!(setup.header.as_deref(), Some("authorization"));
        assert!(setup.steps[0].contains(r#""ImpactedEntities": {ImpactedEntities}"#));
    }
}
