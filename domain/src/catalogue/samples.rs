//! A value of every event variant, as the domain makes them (optional parts present, so their
//! schemas are checked too), serialised by serde: what the catalogue's schemas must accept.
//! The tests compare the event types here with the catalogue's, so a new variant without a sample
//! fails them.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::change::ChangeRecordEvent;
use crate::chat::ChatEvent;
use crate::connector::{ConnectorEvent, ConnectorKind, ConnectorSettings, DatadogSite, GcpAuth};
use crate::correlation::{CorrelatorEvent, CorrelatorSnapshot, PendingAlert, ServiceGraph};
use crate::event::DomainEvent;
use crate::ids::{IncidentId, SessionId};
use crate::incident::{Alert, Correlation, IncidentEvent, TitleBasis, TopologyBasis};
use crate::intake::{ChangeEvent, Placement};
use crate::integration::{IntegrationEvent, IntegrationSettings};
use crate::investigation::{
    Conclusion, InvestigationEvent, Risk, StepStatus, SuggestionKind, Trigger,
};
use crate::knowledge::{DocumentKind, DocumentName, KnowledgeEvent};
use crate::organization::{OrganizationEvent, Role};
use crate::postmortem::{Origin, PostmortemEvent};
use crate::service::{Edge, EdgeKind, EdgeOrigin, NodeFacts, NodeKey, ServiceEvent, Sighting};
use crate::values::{
    ChatMode, ConfirmationDecision, GateVerdict, IncidentStatus, RcaStatus, Severity,
};

/// `(event type, body)` of every sample.
pub(super) fn all() -> Vec<(&'static str, Value)> {
    [
        bodies(organization()),
        bodies(incident()),
        bodies(investigation()),
        bodies(postmortem()),
        bodies(chat()),
        bodies(correlator()),
        bodies(integration()),
        bodies(change()),
        bodies(connector()),
        bodies(service()),
        bodies(knowledge()),
    ]
    .concat()
}

fn bodies<E: DomainEvent>(events: Vec<E>) -> Vec<(&'static str, Value)> {
    events
        .into_iter()
        .map(|event| {
            let body = serde_json::to_value(&event).expect("an event serialises");
            (event.event_type(), body)
        })
        .collect()
}

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 4, 18, 30, 0)
        .single()
        .expect("a valid time")
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn alert() -> Alert {
    Alert {
        alert_id: "grafana-1".into(),
        fingerprint: "checkout-latency".into(),
        title: "Checkout latency high".into(),
        service: "checkout".into(),
        severity: Severity::High,
        source: "grafana".into(),
        received_at: at(),
    }
}

fn correlation() -> Correlation {
    Correlation {
        strategy: "topology".into(),
        score: 0.82,
        topology: 1.0,
        time: 0.9,
        similarity: 0.4,
        candidates_considered: 2,
        topology_basis: TopologyBasis::ServiceGraph,
        topology_path: None,
        title_basis: TitleBasis::Embeddings,
    }
}

fn organization() -> Vec<OrganizationEvent> {
    use OrganizationEvent::*;
    let email = || "ana@acme.example".to_owned();
    vec![
        Created {
            name: "Acme".into(),
            founder_id: id(1),
            founder_email: email(),
            at: at(),
        },
        InvitationIssued {
            invitation_id: id(2),
            email: email(),
            role: Role::Editor,
            token_hash: "9f86d081884c7d65".into(),
            expires_at: at(),
            by: id(1),
            at: at(),
        },
        InvitationRevoked {
            invitation_id: id(2),
            email: email(),
            by: id(1),
            at: at(),
        },
        MemberJoined {
            user_id: id(3),
            email: email(),
            role: Role::Editor,
            invitation_id: Some(id(2)),
            at: at(),
        },
        RoleChanged {
            user_id: id(3),
            email: email(),
            from: Role::Editor,
            to: Role::Admin,
            by: id(1),
            at: at(),
        },
        MemberRemoved {
            user_id: id(3),
            email: email(),
            by: id(1),
            at: at(),
        },
        ApiTokenIssued {
            token_id: id(4),
            name: "ci".into(),
            user_id: id(1),
            token_hash: "60303ae22b998861".into(),
            expires_at: at(),
            at: at(),
        },
        ApiTokenRevoked {
            token_id: id(4),
            user_id: id(1),
            by: id(1),
            at: at(),
        },
        AgentPolicySet {
            allow: vec!["kubectl get *".into()],
            deny: vec!["kubectl delete *".into()],
            by: id(1),
            at: at(),
        },
        ConsumerCredentialsIssued {
            credential_id: id(5),
            name: "audit".into(),
            public_key: "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4".into(),
            expires_at: Some(at()),
            at: at(),
        },
        ConsumerCredentialsRevoked {
            credential_id: id(5),
            name: "audit".into(),
            at: at(),
        },
        AccessDenied {
            user_id: Some(id(3)),
            action: "integrations.create".into(),
            method: "POST".into(),
            path: "/api/integrations".into(),
            role: Some(Role::Viewer),
            at: at(),
        },
    ]
}

fn incident() -> Vec<IncidentEvent> {
    use IncidentEvent::*;
    vec![
        Opened {
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
        },
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

fn investigation() -> Vec<InvestigationEvent> {
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
        UsageRecorded {
            model: "gpt-4o-mini".into(),
            input_tokens: 1200,
            output_tokens: 300,
            cost_micros: 360,
            at: at(),
        },
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

fn postmortem() -> Vec<PostmortemEvent> {
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

fn chat() -> Vec<ChatEvent> {
    use ChatEvent::*;
    vec![
        Started {
            id: SessionId(id(30)),
            owner: id(1).to_string(),
            title: "Checkout".into(),
            mode: ChatMode::Ask,
            at: at(),
        },
        Opened {
            id: SessionId(id(31)),
            owner: id(1).to_string(),
            title: "Why is checkout slow?".into(),
            mode: ChatMode::Agent,
            message_id: id(32),
            text: "Why is checkout slow?".into(),
            at: at(),
        },
        UserMessagePosted {
            message_id: id(33),
            text: "And payments?".into(),
            mode: ChatMode::Ask,
            at: at(),
        },
        AssistantMessageRecorded {
            message_id: id(34),
            text: "Payments look fine.".into(),
            at: at(),
        },
        ToolCallStarted {
            tool_call_id: "call-1".into(),
            tool_name: "cloud_exec".into(),
            input: json!({"command": "kubectl top pods"}),
            at: at(),
        },
        ToolResultRecorded {
            tool_call_id: "call-1".into(),
            output: "checkout 900m".into(),
            duration_ms: 310,
            at: at(),
        },
        ToolCallFailed {
            tool_call_id: "call-2".into(),
            error: "timed out".into(),
            duration_ms: 30_000,
            at: at(),
        },
        GateDecided {
            tool_call_id: "call-3".into(),
            command: "kubectl delete pod checkout-7d9".into(),
            verdict: GateVerdict::ConfirmationRequired,
            reason: "deletes a resource".into(),
            at: at(),
        },
        ConfirmationRequested {
            confirmation_id: id(35),
            tool_call_id: Some("call-3".into()),
            command: "kubectl delete pod checkout-7d9".into(),
            reason: "deletes a resource".into(),
            expires_at: at(),
            at: at(),
        },
        ConfirmationAnswered {
            confirmation_id: id(35),
            decision: ConfirmationDecision::Execute,
            at: at(),
        },
        RunCancelled { at: at() },
        UsageRecorded {
            model: "gpt-4o-mini".into(),
            input_tokens: 800,
            output_tokens: 120,
            cost_micros: 190,
            at: at(),
        },
        Renamed {
            title: "Checkout latency".into(),
            at: at(),
        },
        SessionDeleted { at: at() },
    ]
}

/// Decisions made by the correlator itself: the second alert joins the first one's incident.
fn correlator() -> Vec<CorrelatorEvent> {
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

fn integration() -> Vec<IntegrationEvent> {
    use IntegrationEvent::*;
    let settings = IntegrationSettings {
        rca_on_new_incidents: Some(true),
        default_service: Some("checkout".into()),
        ..IntegrationSettings::default()
    };
    vec![
        Created {
            id: id(50),
            source: "grafana".into(),
            name: "Grafana prod".into(),
            settings: settings.clone(),
            secret_ref: "local:integration/50".into(),
            by: id(1),
            at: at(),
        },
        Renamed {
            name: "Grafana".into(),
            by: id(1),
            at: at(),
        },
        SettingsChanged {
            from: settings,
            to: IntegrationSettings::default(),
            by: id(1),
            at: at(),
        },
        SecretRotated {
            secret_ref: "local:integration/50-2".into(),
            by: id(1),
            at: at(),
        },
        TopicPinned {
            topic: "arn:aws:sns:eu-west-1:123456789012:alerts".into(),
            at: at(),
        },
        Deleted {
            by: id(1),
            at: at(),
        },
    ]
}

fn change() -> Vec<ChangeRecordEvent> {
    vec![ChangeRecordEvent::Recorded {
        change: ChangeEvent {
            change_id: "deployment-42".into(),
            kind: "deployment".into(),
            service: "checkout".into(),
            environment: Some("production".into()),
            version: Some("9fceb02".into()),
            title: "Deploy main to production".into(),
            author: Some("octocat".into()),
            at: at(),
            url: Some("https://github.com/acme/checkout/deployments".into()),
        },
        source: "github".into(),
        integration_id: id(50),
        at: at(),
    }]
}

fn connector() -> Vec<ConnectorEvent> {
    use ConnectorEvent::*;
    vec![
        Connected {
            id: id(60),
            kind: ConnectorKind::Gcp,
            settings: ConnectorSettings::Gcp {
                project_id: "acme-prod".into(),
                client_email: "ana@acme.example".into(),
                auth: GcpAuth::Oauth,
            },
            secret_ref: Some("local:connector/60".into()),
            projects: vec!["acme-prod".into()],
            by: id(1),
            at: at(),
        },
        Connected {
            id: id(61),
            kind: ConnectorKind::Datadog,
            settings: ConnectorSettings::Datadog {
                site: DatadogSite::Eu,
            },
            secret_ref: Some("local:connector/61".into()),
            projects: vec![],
            by: id(1),
            at: at(),
        },
        Checked {
            ok: false,
            detail: Some("403: key revoked".into()),
            at: at(),
        },
        ProjectEnabled {
            project: "acme-prod".into(),
            by: id(1),
            at: at(),
        },
        ProjectDisabled {
            project: "acme-prod".into(),
            by: id(1),
            at: at(),
        },
        RootProjectSet {
            project: "acme-prod".into(),
            by: id(1),
            at: at(),
        },
        Disconnected {
            by: id(1),
            at: at(),
        },
    ]
}

fn service() -> Vec<ServiceEvent> {
    use ServiceEvent::*;
    let key = |name: &str| NodeKey::parse(name).expect("a valid key");
    let mut facts = NodeFacts::observed(key("checkout"), "checkout");
    facts.region = Some("europe-west1".into());
    facts.labels.insert("team".into(), "payments".into());
    let edge = |origin: EdgeOrigin, declared_by: Option<&str>| Edge {
        to: id(70),
        to_key: key("payments"),
        kind: EdgeKind::DependsOn,
        confidence: origin.confidence(),
        origin,
        declared_by: declared_by.map(str::to_owned),
    };
    vec![
        Discovered {
            facts,
            by: Sighting::Discovery,
            at: at(),
        },
        Seen {
            by: Sighting::Alert,
            at: at(),
        },
        DependencyObserved {
            edge: edge(EdgeOrigin::EnvVar, None),
            at: at(),
        },
        DependencyDeclared {
            edge: edge(EdgeOrigin::Declared, Some("ana")),
            at: at(),
        },
        MarkedStale {
            last_seen: at(),
            at: at(),
        },
        Removed { at: at() },
    ]
}

fn knowledge() -> Vec<KnowledgeEvent> {
    use KnowledgeEvent::*;
    vec![
        Uploaded {
            filename: DocumentName::parse("runbook.md").expect("a valid name"),
            kind: DocumentKind::Markdown,
            size_bytes: 2048,
            object_key: "acme/knowledge/runbook.md".into(),
            by: "ana".into(),
            at: at(),
        },
        ProcessingStarted { at: at() },
        Processed {
            chunks: 3,
            characters: 2000,
            embedding_model: Some("all-MiniLM-L6-v2".into()),
            at: at(),
        },
        Failed {
            reason: "not UTF-8".into(),
            at: at(),
        },
        Deleted {
            by: "ana".into(),
            at: at(),
        },
    ]
}
