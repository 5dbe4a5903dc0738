//! Samples of the incident's life: the incident, its investigations and postmortem, and the
//! correlator's decisions that open and grow it.

use serde_json::json;

use super::{alert, at, correlation, id};
use crate::correlation::{CorrelatorEvent, CorrelatorSnapshot, PendingAlert, ServiceGraph};
use crate::ids::IncidentId;
use crate::incident::{IncidentEvent, Opening};
use crate::intake::Placement;
use crate::investigation::{
    Conclusion, InvestigationEvent, Risk, StepStatus, SuggestionKind, Trigger,
};
use crate::postmortem::{Origin, PostmortemEvent};
use crate::usage::ModelUsage;
use crate::values::{IncidentStatus, RcaStatus, Severity};

pub(super) fn incident() -> Vec<IncidentEvent> {
    use IncidentEvent::*;
    vec![
        Opened(Opening {
            id: IncidentId(id(10)),
            title: "Checkout latency high".into(),
            service: "checkout".into(),
            environment: "production".into(),
            severity: Severity::High,
            source: "grafana".into(),
            source_alert_id: "grafana-1".into(),
            fingerprint: "checkout-latency".into(),
            alert_fired_at: at(),
            at: at(),
            why: Some("no open incident within the window".into()),
            integration_id: Some(id(40)),
        }),
        AlertCorrelated {
            alert: alert(),
            correlation: correlation(),
            at: at(),
        },
        ResolveNotificationAttached {
            fingerprint: "checkout-latency".into(),
            source_alert_id: "grafana-1".into(),
            at: at(),
        },
        StatusChanged {
            from: IncidentStatus::Investigating,
            to: IncidentStatus::Analyzed,
            by: "ana@acme.example".into(),
            at: at(),
        },
        SeverityChanged {
            from: Severity::High,
            to: Severity::Critical,
            by: "ana".into(),
            at: at(),
        },
        RcaStatusChanged {
            from: RcaStatus::Idle,
            to: RcaStatus::Running,
            at: at(),
        },
        RcaRequested {
            run: id(11),
            episode: 1,
            by: Some("ana".into()),
            at: at(),
        },
        RcaCancelled {
            run: id(11),
            by: "ana".into(),
            at: at(),
        },
        SummaryUpdated {
            summary: "A bad deploy.".into(),
            by: "ana".into(),
            at: at(),
        },
        MergedInto {
            target: IncidentId(id(12)),
            rca_cancelled: true,
            by: "ana".into(),
            at: at(),
        },
        MergedAlertsAbsorbed {
            source: IncidentId(id(13)),
            alerts: vec![alert()],
            affected_services: vec!["checkout".into()],
            at: at(),
        },
        Resolved {
            by: "ana".into(),
            reason: Some("rolled back".into()),
            at: at(),
        },
        CommentAdded {
            comment_id: id(14),
            author: "ana".into(),
            text: "Rolling back.".into(),
            at: at(),
        },
        PostmortemRequested {
            request: id(15),
            by: "ana".into(),
            at: at(),
        },
        FeedbackGiven {
            by: "ana".into(),
            helpful: true,
            comment: Some("spot on".into()),
            run: Some(id(11)),
            at: at(),
        },
    ]
}

pub(super) fn investigation() -> Vec<InvestigationEvent> {
    use InvestigationEvent::*;
    vec![
        Requested {
            incident: IncidentId(id(10)),
            episode: 1,
            trigger: Trigger::Manual { by: "ana".into() },
            at: at(),
        },
        Queued { at: at() },
        Started {
            session: id(20),
            model: Some("gpt-4o-mini".into()),
            worker: "w-1".into(),
            at: at(),
        },
        Resumed {
            worker: "w-2".into(),
            attempt: 1,
            at: at(),
        },
        ContextAdded {
            alert: alert(),
            at: at(),
        },
        Thought {
            text: "Latency rose after the deploy.".into(),
            at: at(),
        },
        ToolStepStarted {
            step_id: "call-1".into(),
            tool: "kubectl".into(),
            input: json!({"command": "kubectl get pods -n shop"}),
            at: at(),
        },
        ToolStepFinished {
            step_id: "call-1".into(),
            status: StepStatus::Succeeded,
            output: "checkout-7d9 CrashLoopBackOff".into(),
            duration_ms: 420,
            at: at(),
        },
        FindingRecorded {
            finding_id: 1,
            text: "checkout crashes since 18:20".into(),
            citations: vec!["call-1".into()],
            at: at(),
        },
        SuggestionMade {
            suggestion_id: 1,
            kind: SuggestionKind::Mitigation,
            risk: Risk::Low,
            title: "Roll back checkout".into(),
            action: Some("kubectl rollout undo deployment/checkout -n shop".into()),
            at: at(),
        },
        UsageRecorded(ModelUsage {
            model: "gpt-4o-mini".into(),
            input_tokens: 1200,
            output_tokens: 300,
            cost_micros: 360,
            at: at(),
        }),
        CarriedOver {
            from: id(21),
            thoughts: vec!["Disk was full.".into()],
            findings: vec!["db-1 disk at 100%".into()],
            at: at(),
        },
        Completed {
            conclusion: Conclusion::Likely,
            asked: Some(Conclusion::Confirmed),
            summary: "The 18:20 deploy crashes checkout.".into(),
            severity: Some(Severity::High),
            at: at(),
        },
        Failed {
            reason: "the model answered 500".into(),
            at: at(),
        },
        Cancelled {
            by: "ana".into(),
            reason: "merged".into(),
            at: at(),
        },
    ]
}

pub(super) fn postmortem() -> Vec<PostmortemEvent> {
    use PostmortemEvent::*;
    let markdown = || "# Checkout latency\n\nA bad deploy.".to_owned();
    vec![
        Generated {
            incident: IncidentId(id(10)),
            version: 1,
            markdown: markdown(),
            origin: Origin::Template {
                reason: "no model configured".into(),
            },
            request: None,
            by: None,
            at: at(),
        },
        Regenerated {
            version: 2,
            markdown: markdown(),
            origin: Origin::Model {
                model: "gpt-4o-mini".into(),
                input_tokens: 900,
                output_tokens: 400,
                cost_micros: 310,
            },
            request: id(15),
            by: "ana".into(),
            at: at(),
        },
        Edited {
            version: 3,
            base_version: 2,
            markdown: markdown(),
            by: "ana".into(),
            at: at(),
        },
        Restored {
            version: 4,
            from_version: 1,
            markdown: markdown(),
            by: "ana".into(),
            at: at(),
        },
    ]
}

/// Decisions made by the correlator itself: the second alert joins the first one's incident.
pub(super) fn correlator() -> Vec<CorrelatorEvent> {
    let pending = |seq: u64, title: &str| PendingAlert {
        inbox_sequence: seq,
        index: 0,
        alert_id: format!("grafana-{seq}"),
        fingerprint: format!("fp-{seq}"),
        title: title.into(),
        service: "checkout".into(),
        received_at: at(),
        integration_id: Some(id(40)),
        placement: Placement {
            cluster: Some("prod".into()),
            namespace: Some("shop".into()),
            pod: None,
        },
    };
    let mut snapshot = CorrelatorSnapshot::default();
    let decisions = snapshot.decide_all(
        "acme",
        vec![
            pending(1, "Checkout latency high"),
            pending(2, "Checkout error rate high"),
        ],
        &ServiceGraph::new(),
    );
    vec![
        CorrelatorEvent::Decided {
            decisions,
            snapshot: snapshot.clone(),
            at: at(),
        },
        CorrelatorEvent::SettingsChanged {
            settings: snapshot.settings.clone(),
            by: id(1),
            snapshot,
            at: at(),
        },
    ]
}
