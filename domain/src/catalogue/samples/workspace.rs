//! Samples of what surrounds incidents: the organisation, chat, integrations, changes,
//! connectors, the service graph and the knowledge base.

use serde_json::json;

use super::{at, id};
use crate::change::ChangeRecordEvent;
use crate::chat::{ChatEvent, FirstQuestion, NewSession};
use crate::connector::{ConnectorEvent, ConnectorKind, ConnectorSettings, DatadogSite, GcpAuth};
use crate::ids::SessionId;
use crate::intake::ChangeEvent;
use crate::integration::{IntegrationEvent, IntegrationSettings, NewIntegration};
use crate::knowledge::{DocumentKind, DocumentName, KnowledgeEvent, Upload};
use crate::organization::{
    Denial, NewApiToken, NewConsumerCredentials, NewInvitation, OrganizationEvent, Role,
};
use crate::service::{Edge, EdgeKind, EdgeOrigin, NodeFacts, NodeKey, ServiceEvent, Sighting};
use crate::usage::ModelUsage;
use crate::values::{ChatMode, ConfirmationDecision, GateVerdict};

pub(super) fn organization() -> Vec<OrganizationEvent> {
    use OrganizationEvent::*;
    let email = || "ana@acme.example".to_owned();
    vec![
        Created {
            name: "Acme".into(),
            founder_id: id(1),
            founder_email: email(),
            at: at(),
        },
        InvitationIssued(NewInvitation {
            invitation_id: id(2),
            email: email(),
            role: Role::Editor,
            token_hash: "9f86d081884c7d65".into(),
            expires_at: at(),
            by: id(1),
            at: at(),
        }),
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
        ApiTokenIssued(NewApiToken {
            token_id: id(4),
            name: "ci".into(),
            user_id: id(1),
            token_hash: "60303ae22b998861".into(),
            expires_at: at(),
            at: at(),
        }),
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
        ConsumerCredentialsIssued(NewConsumerCredentials {
            credential_id: id(5),
            name: "audit".into(),
            public_key: "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4".into(),
            expires_at: Some(at()),
            at: at(),
        }),
        ConsumerCredentialsRevoked {
            credential_id: id(5),
            name: "audit".into(),
            at: at(),
        },
        AccessDenied(Denial {
            user_id: Some(id(3)),
            action: "integrations.create".into(),
            method: "POST".into(),
            path: "/api/integrations".into(),
            role: Some(Role::Viewer),
            at: at(),
        }),
    ]
}

pub(super) fn chat() -> Vec<ChatEvent> {
    use ChatEvent::*;
    vec![
        Started(NewSession {
            id: SessionId(id(30)),
            owner: id(1).to_string(),
            title: "Checkout".into(),
            mode: ChatMode::Ask,
            at: at(),
        }),
        Opened(FirstQuestion {
            id: SessionId(id(31)),
            owner: id(1).to_string(),
            title: "Why is checkout slow?".into(),
            mode: ChatMode::Agent,
            message_id: id(32),
            text: "Why is checkout slow?".into(),
            at: at(),
        }),
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
        UsageRecorded(ModelUsage {
            model: "gpt-4o-mini".into(),
            input_tokens: 800,
            output_tokens: 120,
            cost_micros: 190,
            at: at(),
        }),
        Renamed {
            title: "Checkout latency".into(),
            at: at(),
        },
        SessionDeleted { at: at() },
    ]
}

pub(super) fn integration() -> Vec<IntegrationEvent> {
    use IntegrationEvent::*;
    let settings = IntegrationSettings {
        rca_on_new_incidents: Some(true),
        default_service: Some("checkout".into()),
        ..IntegrationSettings::default()
    };
    vec![
        Created(NewIntegration {
            id: id(50),
            source: "grafana".into(),
            name: "Grafana prod".into(),
            settings: settings.clone(),
            secret_ref: "local:integration/50".into(),
            by: id(1),
            at: at(),
        }),
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

pub(super) fn change() -> Vec<ChangeRecordEvent> {
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

pub(super) fn connector() -> Vec<ConnectorEvent> {
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

pub(super) fn service() -> Vec<ServiceEvent> {
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

pub(super) fn knowledge() -> Vec<KnowledgeEvent> {
    use KnowledgeEvent::*;
    vec![
        Uploaded(Upload {
            filename: DocumentName::parse("runbook.md").expect("a valid name"),
            kind: DocumentKind::Markdown,
            size_bytes: 2048,
            object_key: "acme/knowledge/runbook.md".into(),
            by: "ana".into(),
            at: at(),
        }),
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
