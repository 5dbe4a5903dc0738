//! Postmortems end to end: written when an incident resolves, by the model (the scripted
//! OpenAI-compatible server) or by the template, and idempotent on redelivery ([`generation`]);
//! read, edited, restored, regenerated and exported over the API ([`routes`]).

mod generation;
mod routes;

use std::time::{Duration, Instant};

use aurora_domain::postmortem::{postmortem_id, PostmortemState};
use aurora_domain::{IncidentCommand, IncidentId};
use aurora_handlers::agent::{AgentConfig, LlmConfig, PriceTable};
use aurora_handlers::rca::RcaConfig;
use aurora_tests::llm::{Script, ScriptedLlm};
use aurora_tests::{Account, TestApp};
use chrono::Utc;

use crate::fixtures::{comment, open};

pub const MODEL: &str = "scripted-model";

pub struct Postmortems {
    pub app: TestApp,
    pub admin: Account,
    pub llm: Option<ScriptedLlm>,
    pub work: tempfile::TempDir,
}

/// Postmortems written on resolve; investigations only if `automatic`.
pub fn on_resolve(automatic: bool) -> RcaConfig {
    RcaConfig {
        automatic,
        postmortem_on_resolve: true,
        ..RcaConfig::default()
    }
}

/// The agent's configuration, with the scripted model when `llm` is given.
pub fn agent(work: &std::path::Path, llm: Option<&ScriptedLlm>) -> AgentConfig {
    let mut agent = AgentConfig::without_model(work.to_path_buf());
    agent.prices = PriceTable::default()
        .with(&format!("{MODEL}=2/8"))
        .expect("a valid price");
    if let Some(llm) = llm {
        agent = agent.with_llm(LlmConfig {
            base_url: llm.base_url(),
            api_key: "test-key".into(),
            model: MODEL.into(),
        });
    }
    agent
}

pub async fn postmortems(scripts: Option<Vec<Script>>, config: RcaConfig) -> Postmortems {
    let work = tempfile::tempdir().expect("a work dir");
    let llm = match scripts {
        Some(scripts) => Some(ScriptedLlm::start(scripts).await),
        None => None,
    };
    let app = TestApp::launch()
        .agent(agent(work.path(), llm.as_ref()))
        .rca(config)
        .spawn()
        .await;
    let admin = app.register("oncall@acme.io", "Acme").await;
    Postmortems {
        app,
        admin,
        llm,
        work,
    }
}

impl Postmortems {
    pub async fn execute(&self, id: IncidentId, command: IncidentCommand) {
        crate::fixtures::on_incident(&self.app, &self.admin.tenant, id, command).await;
    }

    /// Opens an incident on `service` with a comment on it, as the ingest and a person would.
    pub async fn open_with_comment(&self, service: &str, text: &str) -> IncidentId {
        let id = IncidentId::new();
        self.execute(
            id,
            open(
                id,
                &format!("High error rate on {service}"),
                service,
                Utc::now(),
            ),
        )
        .await;
        self.execute(id, comment("ana@acme.io", text)).await;
        id
    }

    pub async fn resolve(&self, id: IncidentId) {
        self.execute(
            id,
            IncidentCommand::Resolve {
                by: "ana@acme.io".into(),
                reason: Some("rolled back to v41".into()),
                at: Utc::now(),
            },
        )
        .await;
    }

    pub async fn postmortem(&self, id: IncidentId) -> PostmortemState {
        self.app
            .services()
            .postmortems
            .load(&self.admin.tenant, postmortem_id(id))
            .await
            .expect("the store answers")
            .map(|s| s.into_inner())
            .unwrap_or_default()
    }

    /// Waits (at most 20 s) until the incident's postmortem has `versions` versions.
    pub async fn until_versions(&self, id: IncidentId, versions: usize) -> PostmortemState {
        let started = Instant::now();
        loop {
            let state = self.postmortem(id).await;
            if state.versions.len() >= versions {
                return state;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the postmortem of {id} never reached {versions} version(s): {state:#?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
