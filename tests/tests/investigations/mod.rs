//! Investigations (root-cause analyses) as the API shows them: the projection and the incident's
//! `rca` (now and as of a time), asking for and cancelling a run, and the live event stream.
//!
//! The app runs without the handlers role: nothing but the test drives a run, which it does by
//! executing `Investigation` commands on the store, as the handlers' process manager would.

mod commands;
mod detail;
mod stream;

use aurora_domain::incident::Alert;
use aurora_domain::investigation::{
    run_id, Conclusion, Investigation, InvestigationCommand, Risk, StepStatus, SuggestionKind,
    Trigger,
};
use aurora_domain::{ChatCommand, ChatMode, ChatSession, IncidentId, SessionId, Severity};
use aurora_gateway::app::Role;
use aurora_nats::{AggregateStore, Context};
use aurora_projections::Projector;
use aurora_tests::{wait_for_projection, TestApp};
use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

use crate::incident_commands::Org;
use aurora_domain::chat::NewSession;
use aurora_domain::usage::ModelUsage;

/// The app without the handlers role.
async fn spawn() -> TestApp {
    TestApp::spawn_with_roles(vec![Role::Gateway, Role::Projections]).await
}

/// One run of an incident, driven by the test.
struct Run {
    store: AggregateStore<Investigation>,
    sessions: AggregateStore<ChatSession>,
    tenant: aurora_domain::TenantId,
    incident: Uuid,
    id: Uuid,
    episode: u32,
    /// The background chat session it runs in.
    session: Uuid,
}

impl Run {
    fn of(app: &TestApp, org: &Org, incident: Uuid, episode: u32) -> Self {
        let id = run_id(IncidentId(incident), episode);
        Self {
            store: AggregateStore::new(app.nats.log.clone()),
            sessions: AggregateStore::new(app.nats.log.clone()),
            tenant: org.admin.tenant.clone(),
            incident,
            id,
            episode,
            session: Uuid::new_v5(&id, b"session"),
        }
    }

    /// Executes `command` on the run; the stream sequence of its last event.
    async fn step(&self, command: InvestigationCommand) -> u64 {
        self.store
            .execute(&self.tenant, self.id, command, Context::new_root())
            .await
            .expect("the event store")
            .expect("the investigation accepts it")
            .stream_sequence
    }

    /// Executes `commands` in order, then waits for the projector; the last stream sequence.
    async fn steps(&self, app: &TestApp, commands: Vec<InvestigationCommand>) -> u64 {
        let mut last = 0;
        for command in commands {
            last = self.step(command).await.max(last);
        }
        wait_for_projection(&app.db.pool, Projector::Investigations, last).await;
        last
    }

    /// Requested by `by` and started with a model.
    fn begin(&self, by: &str) -> Vec<InvestigationCommand> {
        vec![
            InvestigationCommand::Request {
                incident: IncidentId(self.incident),
                episode: self.episode,
                trigger: Trigger::Manual { by: by.to_owned() },
                at: Utc::now(),
            },
            InvestigationCommand::Start {
                session: self.session,
                model: Some("gpt-test".to_owned()),
                worker: "worker-1".to_owned(),
                at: Utc::now(),
            },
        ]
    }

    /// Model calls of `model` (input and output tokens, cost), as the agent records them: each
    /// on the run's background session (the calls the LLM usage report counts) and on the run (its
    /// sum). Waits for both projectors.
    async fn calls(&self, app: &TestApp, model: &str, calls: &[(u64, u64, i64)]) {
        let at = Utc::now();
        let mut commands = vec![ChatCommand::Start(NewSession {
            id: SessionId(self.session),
            owner: "aurora-rca".to_owned(),
            title: "investigation".to_owned(),
            mode: ChatMode::Ask,
            at,
        })];
        let mut recorded = Vec::new();
        for &(input_tokens, output_tokens, cost_micros) in calls {
            commands.push(ChatCommand::RecordUsage(ModelUsage {
                model: model.to_owned(),
                input_tokens,
                output_tokens,
                cost_micros,
                at,
            }));
            recorded.push(InvestigationCommand::RecordUsage(ModelUsage {
                model: model.to_owned(),
                input_tokens,
                output_tokens,
                cost_micros,
                at,
            }));
        }
        let mut last = 0;
        for command in commands {
            last = self
                .sessions
                .execute(&self.tenant, self.session, command, Context::new_root())
                .await
                .expect("the event store")
                .expect("the session accepts it")
                .stream_sequence
                .max(last);
        }
        wait_for_projection(&app.db.pool, Projector::Sessions, last).await;
        self.steps(app, recorded).await;
    }

    /// What a run finds: a thought, a context alert, two tool steps (one failing), a finding
    /// citing the step that succeeded and a suggestion.
    fn investigate(&self) -> Vec<InvestigationCommand> {
        vec![
            InvestigationCommand::Think {
                text: "The pool ran out of connections right after the deploy.".to_owned(),
                at: Utc::now(),
            },
            InvestigationCommand::AddContext {
                alert: Alert {
                    alert_id: "late-alert".to_owned(),
                    fingerprint: "fp-late".to_owned(),
                    title: "db connections saturated".to_owned(),
                    service: "db".to_owned(),
                    severity: Severity::High,
                    source: "grafana".to_owned(),
                    received_at: Utc::now(),
                },
                at: Utc::now(),
            },
            InvestigationCommand::StartToolStep {
                step_id: "s1".to_owned(),
                tool: "aws".to_owned(),
                input: json!({ "command": "aws rds describe-db-instances" }),
                at: Utc::now(),
            },
            InvestigationCommand::FinishToolStep {
                step_id: "s1".to_owned(),
                status: StepStatus::Succeeded,
                output: "max_connections=100, in use=100".to_owned(),
                duration_ms: 120,
                at: Utc::now(),
            },
            InvestigationCommand::StartToolStep {
                step_id: "s2".to_owned(),
                tool: "kubectl".to_owned(),
                input: json!({ "command": "kubectl logs deploy/api" }),
                at: Utc::now(),
            },
            InvestigationCommand::FinishToolStep {
                step_id: "s2".to_owned(),
                status: StepStatus::Failed,
                output: "error: no context".to_owned(),
                duration_ms: 30,
                at: Utc::now(),
            },
            InvestigationCommand::RecordFinding {
                text: "The database hit max_connections.".to_owned(),
                citations: vec!["s1".to_owned()],
                at: Utc::now(),
            },
            InvestigationCommand::Suggest {
                kind: SuggestionKind::Mitigation,
                risk: Risk::Low,
                title: "Raise max_connections".to_owned(),
                action: Some("aws rds modify-db-parameter-group …".to_owned()),
                at: Utc::now(),
            },
        ]
    }

    fn complete(&self, conclusion: Conclusion) -> InvestigationCommand {
        InvestigationCommand::Complete {
            conclusion,
            summary: "The 11:58 deploy exhausted the database's connections.".to_owned(),
            severity: None,
            at: Utc::now(),
        }
    }
}
