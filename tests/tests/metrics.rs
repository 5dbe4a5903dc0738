//! `GET /api/metrics/summary` against a scripted month whose figures are worked out by hand:
//! incidents opened, resolved and merged at chosen times, and investigations that completed,
//! failed and were cancelled.

use aurora_domain::incident::Opening;
use aurora_domain::investigation::{run_id, Conclusion, InvestigationCommand, StepStatus, Trigger};
use aurora_domain::{IncidentCommand, IncidentId, IncidentStatus, Severity};
use aurora_nats::envelope::Context;
use aurora_tests::{audit_is_clean, Account, TestApp};
use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

const RANGE: &str = "from=2025-03-01T00:00:00Z&to=2025-03-03T00:00:00Z";

fn t(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("a time")
        .with_timezone(&Utc)
}

struct Scenario<'a> {
    app: &'a TestApp,
    admin: &'a Account,
}

impl Scenario<'_> {
    async fn incident(&self, id: IncidentId, command: IncidentCommand) {
        crate::fixtures::on_incident(self.app, &self.admin.tenant, id, command).await;
    }

    /// An incident from `source` on `service`, its alert fired at `fired`, opened at `opened`.
    async fn open(&self, source: &str, service: &str, fired: &str, opened: &str) -> IncidentId {
        let id = IncidentId::new();
        self.incident(
            id,
            IncidentCommand::Open(Opening {
                id,
                title: format!("{service} is failing"),
                service: service.into(),
                environment: "production".into(),
                severity: Severity::High,
                source: source.into(),
                source_alert_id: format!("alert-{}", Uuid::new_v4().simple()),
                fingerprint: format!("fp-{}", Uuid::new_v4().simple()),
                alert_fired_at: t(fired),
                at: t(opened),
                why: None,
                integration_id: None,
            }),
        )
        .await;
        id
    }

    async fn resolve(&self, id: IncidentId, at: &str) {
        self.incident(
            id,
            IncidentCommand::Resolve {
                by: "ana@acme.io".into(),
                reason: None,
                at: t(at),
            },
        )
        .await;
    }

    /// Runs `commands` on the incident's `episode`-th investigation, requested at `requested`.
    async fn run(
        &self,
        incident: IncidentId,
        episode: u32,
        requested: &str,
        commands: Vec<InvestigationCommand>,
    ) {
        let run = run_id(incident, episode);
        let request = InvestigationCommand::Request {
            incident,
            episode,
            trigger: Trigger::Opened,
            at: t(requested),
        };
        for command in std::iter::once(request).chain(commands) {
            self.app
                .services()
                .investigations
                .execute(&self.admin.tenant, run, command, Context::new_root())
                .await
                .expect("the store answers")
                .expect("the investigation takes it");
        }
    }
}

fn start(at: &str) -> InvestigationCommand {
    InvestigationCommand::Start {
        session: Uuid::new_v4(),
        model: None,
        worker: "test".into(),
        at: t(at),
    }
}

fn complete(conclusion: Conclusion, at: &str) -> InvestigationCommand {
    InvestigationCommand::Complete {
        conclusion,
        summary: "What was found.".into(),
        severity: None,
        at: t(at),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_figures_of_a_scripted_range_are_the_ones_worked_out_by_hand() {
    let app = TestApp::spawn().await;
    let admin = app.register("oncall@acme.io", "Acme").await;
    let s = Scenario {
        app: &app,
        admin: &admin,
    };
    // In the range [2025-03-01, 2025-03-03):
    // A: detected in 120 s, resolved in 3600 s.
    let a = s
        .open(
            "grafana",
            "checkout",
            "2025-03-01T10:00:00Z",
            "2025-03-01T10:02:00Z",
        )
        .await;
    s.resolve(a, "2025-03-01T11:02:00Z").await;
    // B: detected in 30 s, resolved in 1800 s.
    let b = s
        .open(
            "datadog",
            "checkout",
            "2025-03-01T20:00:00Z",
            "2025-03-01T20:00:30Z",
        )
        .await;
    s.resolve(b, "2025-03-01T20:30:30Z").await;
    // C: detected in 60 s, still open.
    let c = s
        .open(
            "grafana",
            "payments",
            "2025-03-02T08:00:00Z",
            "2025-03-02T08:01:00Z",
        )
        .await;
    // G: opened at the very start of the range (included), detected in 60 s.
    s.open(
        "pagerduty",
        "search",
        "2025-02-28T23:59:00Z",
        "2025-03-01T00:00:00Z",
    )
    .await;
    // D: merged into C, so counted only as merged.
    let d = s
        .open(
            "grafana",
            "payments",
            "2025-03-02T08:59:00Z",
            "2025-03-02T09:00:00Z",
        )
        .await;
    s.incident(
        d,
        IncidentCommand::MergeInto {
            target: c,
            target_status: IncidentStatus::Investigating,
            by: "ana@acme.io".into(),
            at: t("2025-03-02T09:10:00Z"),
        },
    )
    .await;
    // Outside: E before the range, F at its end (excluded).
    let e = s
        .open(
            "grafana",
            "checkout",
            "2025-02-27T10:00:00Z",
            "2025-02-27T10:01:00Z",
        )
        .await;
    s.resolve(e, "2025-02-27T10:11:00Z").await;
    s.open(
        "grafana",
        "checkout",
        "2025-03-02T23:59:00Z",
        "2025-03-03T00:00:00Z",
    )
    .await;

    // A's run: INCONCLUSIVE after 180 s.
    s.run(
        a,
        1,
        "2025-03-01T10:02:00Z",
        vec![
            start("2025-03-01T10:02:10Z"),
            complete(Conclusion::Inconclusive, "2025-03-01T10:05:10Z"),
        ],
    )
    .await;
    // B's run: CONFIRMED (a finding cites a successful step) after 60 s.
    s.run(
        b,
        1,
        "2025-03-01T20:00:30Z",
        vec![
            start("2025-03-01T20:00:40Z"),
            InvestigationCommand::StartToolStep {
                step_id: "s1".into(),
                tool: "kubectl".into(),
                input: json!({"command": "kubectl get pods"}),
                at: t("2025-03-01T20:00:45Z"),
            },
            InvestigationCommand::FinishToolStep {
                step_id: "s1".into(),
                status: StepStatus::Succeeded,
                output: "checkout-7 CrashLoopBackOff".into(),
                duration_ms: 10,
                at: t("2025-03-01T20:00:50Z"),
            },
            InvestigationCommand::RecordFinding {
                text: "checkout crash-loops".into(),
                citations: vec!["s1".into()],
                at: t("2025-03-01T20:01:00Z"),
            },
            complete(Conclusion::Confirmed, "2025-03-01T20:01:40Z"),
        ],
    )
    .await;
    // C's first run fails after 120 s; its second is cancelled before it starts.
    s.run(
        c,
        1,
        "2025-03-02T08:01:00Z",
        vec![
            start("2025-03-02T08:01:10Z"),
            InvestigationCommand::Fail {
                reason: "its worker stopped".into(),
                at: t("2025-03-02T08:03:10Z"),
            },
        ],
    )
    .await;
    s.run(
        c,
        2,
        "2025-03-02T09:30:00Z",
        vec![InvestigationCommand::Cancel {
            by: "ana@acme.io".into(),
            reason: "not needed".into(),
            at: t("2025-03-02T09:31:00Z"),
        }],
    )
    .await;
    // E's run, before the range.
    s.run(
        e,
        1,
        "2025-02-27T10:01:00Z",
        vec![
            start("2025-02-27T10:01:05Z"),
            complete(Conclusion::Inconclusive, "2025-02-27T10:09:05Z"),
        ],
    )
    .await;
    // Every read model has every event (and equals a replay of the log).
    audit_is_clean(&app).await;

    let summary = app
        .get_json(&format!("/api/metrics/summary?{RANGE}"), Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(
        summary,
        json!({
            "from": "2025-03-01T00:00:00Z",
            "to": "2025-03-03T00:00:00Z",
            "incidents": {"opened": 4, "resolved": 2, "merged": 1},
            // 120, 30, 60, 60
            "mttd": {"count": 4, "mean_seconds": 67.5, "median_seconds": 60.0, "max_seconds": 120.0},
            // 3600, 1800
            "mttr": {"count": 2, "mean_seconds": 2700.0, "median_seconds": 2700.0, "max_seconds": 3600.0},
            // 03-01: A, B and G (detected in 120, 30, 60 s; A and B resolved in 3600, 1800 s);
            // 03-02: C (detected in 60 s, open).
            "per_day": [
                {"day": "2025-03-01", "incidents": 3, "mttd_median_seconds": 60.0, "mttr_median_seconds": 2700.0},
                {"day": "2025-03-02", "incidents": 1, "mttd_median_seconds": 60.0, "mttr_median_seconds": null},
            ],
            "per_source": [
                {"name": "grafana", "incidents": 2},
                {"name": "datadog", "incidents": 1},
                {"name": "pagerduty", "incidents": 1},
            ],
            "per_service": [
                {"name": "checkout", "incidents": 2},
                {"name": "payments", "incidents": 1},
                {"name": "search", "incidents": 1},
            ],
            "rca": {
                "runs": 4, "completed": 2, "failed": 1, "cancelled": 1, "in_progress": 0,
                // 180, 60, 120
                "duration": {"count": 3, "mean_seconds": 120.0, "median_seconds": 120.0, "max_seconds": 180.0},
                "conclusions": {"confirmed": 1, "likely": 0, "inconclusive": 1},
            },
        }),
        "{summary:#}"
    );

    // A viewer reads them too; another organisation sees none of them.
    let viewer = app
        .invite_and_register(&admin, "viewer@acme.io", "viewer")
        .await;
    let seen = app
        .get_json(&format!("/api/metrics/summary?{RANGE}"), Some(&viewer))
        .await
        .expect_status(200);
    assert_eq!(seen, summary);
    let other = app.register("oncall@globex.io", "Globex").await;
    let theirs = app
        .get_json(&format!("/api/metrics/summary?{RANGE}"), Some(&other))
        .await
        .expect_status(200);
    assert_eq!(
        theirs["incidents"],
        json!({"opened": 0, "resolved": 0, "merged": 0})
    );
    assert_eq!(
        theirs["mttr"],
        json!({"count": 0, "mean_seconds": null, "median_seconds": null, "max_seconds": null})
    );
    assert_eq!(theirs["per_day"], json!([]));
    assert_eq!(theirs["rca"]["runs"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_or_reversed_range_is_refused_and_no_range_is_the_last_30_days() {
    let app = TestApp::spawn().await;
    let admin = app.register("oncall@acme.io", "Acme").await;
    for (query, code) in [
        ("from=yesterday", "invalid_time"),
        ("to=2025-13-01T00:00:00Z", "invalid_time"),
        (
            "from=2025-03-03T00:00:00Z&to=2025-03-01T00:00:00Z",
            "invalid_range",
        ),
        (
            "from=2025-03-01T00:00:00Z&to=2025-03-01T00:00:00Z",
            "invalid_range",
        ),
        ("since=2025-03-01T00:00:00Z", "invalid_query"),
    ] {
        app.get_json(&format!("/api/metrics/summary?{query}"), Some(&admin))
            .await
            .expect_error(400, code);
    }
    // An offset other than Z, its `+` sent unencoded, still reads.
    let shifted = app
        .get_json(
            "/api/metrics/summary?from=2025-03-01T02:00:00+02:00&to=2025-03-02T00:00:00Z",
            Some(&admin),
        )
        .await
        .expect_status(200);
    assert_eq!(shifted["from"], "2025-03-01T00:00:00Z");
    let default = app
        .get_json("/api/metrics/summary", Some(&admin))
        .await
        .expect_status(200);
    let from = t(default["from"].as_str().expect("from"));
    let to = t(default["to"].as_str().expect("to"));
    assert_eq!(to - from, chrono::TimeDelta::days(30));
    assert!((Utc::now() - to).num_seconds().abs() < 60);
    app.get_json("/api/metrics/summary", None)
        .await
        .expect_error(401, "unauthenticated");
}
