//! Root-cause analysis in the background, end to end: an incident opens and an investigation
//! runs on the real handlers, with the real async-openai client against a scripted
//! OpenAI-compatible server and fake CLIs on the tools' `PATH`, or without a model.

mod automatic_analysis;
mod similar_incidents;

use std::time::{Duration, Instant};

use aurora_domain::investigation::{
    Conclusion, InvestigationEvent, InvestigationState, InvestigationStatus, StepStatus,
};
use aurora_domain::{
    IncidentCommand, IncidentId, IncidentState, IncidentStatus, RcaStatus, Severity,
};
use aurora_handlers::agent::{AgentConfig, LlmConfig, PriceTable};
use aurora_handlers::rca::RcaConfig;
use aurora_nats::envelope::Context;
use aurora_nats::{subjects, EventLog};
use aurora_tests::chat::FakeClis;
use aurora_tests::llm::{Script, ScriptedLlm, Step};
use aurora_tests::{audit_is_clean, redeliver_events, Account, TestApp};
use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

use crate::fixtures::{attach, open};
use aurora_domain::incident::Opening;

const MODEL: &str = "scripted-model";
const PODS: &str =
    r#"{"items":[{"metadata":{"name":"checkout-7"},"status":{"phase":"CrashLoopBackOff"}}]}"#;

pub(crate) struct Rca {
    pub(crate) app: TestApp,
    pub(crate) admin: Account,
    pub(crate) llm: Option<ScriptedLlm>,
    clis: FakeClis,
    _work: tempfile::TempDir,
}

pub(crate) async fn rca(scripts: Option<Vec<Script>>, config: RcaConfig) -> Rca {
    let clis = FakeClis::install(&[("kubectl", PODS)]);
    let work = tempfile::tempdir().expect("a work dir");
    let mut agent =
        AgentConfig::without_model(work.path().to_path_buf()).with_tool_path(clis.path());
    agent.prices = PriceTable::default()
        .with(&format!("{MODEL}=2/8"))
        .expect("a valid price");
    let llm = match scripts {
        Some(scripts) => Some(ScriptedLlm::start(scripts).await),
        None => None,
    };
    if let Some(llm) = &llm {
        agent = agent.with_llm(LlmConfig {
            base_url: llm.base_url(),
            api_key: "test-key".into(),
            model: MODEL.into(),
        });
    }
    let app = TestApp::launch().agent(agent).rca(config).spawn().await;
    let admin = app.register("oncall@acme.io", "Acme").await;
    aurora_tests::providers::connect_kubernetes(&app, &admin).await;
    Rca {
        app,
        admin,
        llm,
        clis,
        _work: work,
    }
}

pub(crate) fn automatic() -> RcaConfig {
    RcaConfig {
        automatic: true,
        ..RcaConfig::default()
    }
}

impl Rca {
    /// Opens an incident on `service` the way the ingest does.
    async fn open(&self, service: &str) -> IncidentId {
        self.open_as(service, Severity::High).await
    }

    /// Opens an incident on `service` whose source gave `severity`.
    pub(crate) async fn open_as(&self, service: &str, severity: Severity) -> IncidentId {
        let id = IncidentId::new();
        let mut command = open(
            id,
            &format!("High error rate on {service}"),
            service,
            Utc::now(),
        );
        if let IncidentCommand::Open(Opening { severity: s, .. }) = &mut command {
            *s = severity;
        }
        self.app
            .services()
            .incidents
            .execute(&self.admin.tenant, id.0, command, Context::new_root())
            .await
            .expect("the store answers")
            .expect("the incident opens");
        id
    }

    async fn incident(&self, id: IncidentId) -> IncidentState {
        self.app
            .services()
            .incidents
            .load(&self.admin.tenant, id.0)
            .await
            .expect("the store answers")
            .expect("the incident exists")
            .into_inner()
    }

    /// The incident once its run has ended there too: the run's end reaches the incident through
    /// the rca process manager, a moment after the investigation's own last event.
    pub(crate) async fn settled(&self, id: IncidentId) -> IncidentState {
        let started = Instant::now();
        loop {
            let incident = self.incident(id).await;
            if !incident.rca_under_way {
                return incident;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the incident still has its run under way: {incident:#?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn investigation(&self, run: Uuid) -> Option<InvestigationState> {
        self.app
            .services()
            .investigations
            .load(&self.admin.tenant, run)
            .await
            .expect("the store answers")
            .map(|s| s.into_inner())
    }

    async fn events(&self, run: Uuid) -> Vec<InvestigationEvent> {
        let subject = subjects::aggregate(&self.admin.tenant, "investigation", run);
        EventLog::new(self.app.nats.client.clone())
            .read_subject(&subject, 1)
            .await
            .expect("the log answers")
            .into_iter()
            .map(|raw| serde_json::from_value(raw.data).expect("an investigation event"))
            .collect()
    }

    /// Waits (at most 30 s) until the incident's investigation `episode` satisfies `done`.
    pub(crate) async fn until(
        &self,
        incident: IncidentId,
        episode: u32,
        done: impl Fn(&InvestigationState) -> bool,
    ) -> InvestigationState {
        let run = aurora_domain::investigation::run_id(incident, episode);
        let started = Instant::now();
        loop {
            if let Some(state) = self.investigation(run).await {
                if done(&state) {
                    return state;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "investigation {run} never got there: {state:#?}"
                );
            } else {
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "investigation {run} never requested"
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

pub(crate) fn ended(state: &InvestigationState) -> bool {
    state.status.has_ended()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_ends_without_concluding_keeps_its_text_as_an_inconclusive_summary() {
    let r = rca(
        Some(vec![Script::new(
            "Investigate incident",
            vec![
                Step::tool(
                    "call-pods",
                    "kubectl",
                    json!({"command": "kubectl -n shop get pods -o json"}),
                ),
                Step::Text(vec![
                    "The checkout pod crash-loops since the deploy. ".into(),
                    "I record that.".into(),
                ]),
            ],
        )]),
        automatic(),
    )
    .await;
    let id = r.open("checkout").await;
    let state = r.until(id, 1, ended).await;
    assert_eq!(state.status, InvestigationStatus::Completed, "{state:#?}");
    // The model answered without `conclude`: its text is the summary, and with no finding the
    // gate records what the evidence supports.
    assert_eq!(state.conclusion, Some(Conclusion::Inconclusive));
    assert_eq!(
        state.summary.as_deref(),
        Some("The checkout pod crash-loops since the deploy. I record that.")
    );
    let step = state.step("call-pods").expect("the kubectl step");
    assert_eq!(step.status, Some(StepStatus::Succeeded));
    assert!(step
        .output
        .as_deref()
        .unwrap_or_default()
        .contains("CrashLoopBackOff"));
    assert!(r
        .clis
        .calls()
        .iter()
        .any(|c| c == "kubectl -n shop get pods -o json"));
    assert!(state
        .thoughts
        .iter()
        .any(|t| t.contains("crash-loops since the deploy")));
    assert_eq!(state.usage.model_calls, 2);
    assert!(state.usage.cost_micros > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_with_cited_findings_concludes_confirmed_and_analyzes_the_incident() {
    let r = rca(
        Some(vec![Script::new(
            "Investigate incident",
            vec![
                Step::tool(
                    "call-pods",
                    "kubectl",
                    json!({"command": "kubectl -n shop get pods -o json"}),
                ),
                Step::tool(
                    "call-finding",
                    "record_finding",
                    json!({"text": "checkout-7 is in CrashLoopBackOff", "citations": ["call-pods"]}),
                ),
                Step::tool(
                    "call-suggest",
                    "suggest",
                    json!({"type": "mitigation", "risk": "low", "title": "Roll back the checkout deploy", "action": "kubectl -n shop rollout undo deploy/checkout"}),
                ),
                Step::tool(
                    "call-conclude",
                    "conclude",
                    json!({"conclusion": "confirmed", "summary": "The checkout deploy crash-loops its pods."}),
                ),
            ],
        )]),
        automatic(),
    )
    .await;
    // A runbook the brief should bring along (keyword search: no embedding model here).
    let runbook = r
        .app
        .upload(
            Some(&r.admin),
            "checkout.md",
            b"# Checkout error rate\nRoll back the checkout deploy when its error rate is high.",
        )
        .await
        .expect_status(202);
    crate::knowledge::settled(&r.app, &r.admin, runbook["id"].as_str().expect("id")).await;
    let id = r.open("checkout").await;
    let state = r.until(id, 1, ended).await;
    assert_eq!(state.status, InvestigationStatus::Completed, "{state:#?}");
    assert_eq!(state.conclusion, Some(Conclusion::Confirmed));
    assert_eq!(state.asked_conclusion, None);
    assert_eq!(
        state.summary.as_deref(),
        Some("The checkout deploy crash-loops its pods.")
    );
    assert_eq!(state.findings.len(), 1);
    assert_eq!(state.findings[0].citations, vec!["call-pods".to_owned()]);
    assert_eq!(state.suggestions.len(), 1);
    assert_eq!(
        state.suggestions[0].action.as_deref(),
        Some("kubectl -n shop rollout undo deploy/checkout")
    );
    // Recording a result is not a tool step: only the kubectl call is.
    assert_eq!(state.tool_steps.len(), 1);
    // The model was given the RCA prompt, the brief and the investigation's tools, read-only.
    let request = &r.llm.as_ref().expect("a model").requests()[0];
    let system = request["messages"][0]["content"]
        .as_str()
        .unwrap_or_default();
    assert!(system.contains("## Conclusion gate"), "{system}");
    let brief = request["messages"][1]["content"]
        .as_str()
        .unwrap_or_default();
    assert!(brief.contains("High error rate on checkout"), "{brief}");
    assert!(
        brief.contains("Runbooks of the knowledge base that may apply")
            && brief.contains("Checkout error rate")
            && brief.contains("checkout.md"),
        "{brief}"
    );
    let tools: Vec<&str> = request["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["function"]["name"].as_str())
        .collect();
    assert!(
        tools.contains(&"conclude")
            && tools.contains(&"kubectl")
            && tools.contains(&"knowledge_base_search"),
        "{tools:?}"
    );

    let incident = r.settled(id).await;
    assert_eq!(incident.rca_status, RcaStatus::Complete);
    assert_eq!(incident.status, IncidentStatus::Analyzed);
    assert_eq!(
        incident.summary.as_deref(),
        Some("The checkout deploy crash-loops its pods.")
    );
    assert!(!incident.rca_under_way);

    // An alert correlated after the run joins the run's session.
    r.app
        .services()
        .incidents
        .execute(
            &r.admin.tenant,
            id.0,
            attach("alert-after", "checkout", 0.9),
            Context::new_root(),
        )
        .await
        .expect("the store answers")
        .expect("the alert attaches");
    let session = aurora_handlers::agent::investigation::session_id(
        aurora_domain::investigation::run_id(id, 1),
    );
    let started = Instant::now();
    loop {
        let noted = r
            .app
            .services()
            .sessions
            .load(&r.admin.tenant, session)
            .await
            .expect("the store answers")
            .is_some_and(|s| {
                s.inner()
                    .messages
                    .iter()
                    .any(|m| m.text.contains("alert-after"))
            });
        if noted {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "never noted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    audit_is_clean(&r.app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmed_claim_without_a_cited_output_is_recorded_as_inconclusive() {
    let r = rca(
        Some(vec![Script::new(
            "Investigate incident",
            vec![Step::tool(
                "call-conclude",
                "conclude",
                json!({"conclusion": "CONFIRMED", "summary": "It was DNS."}),
            )],
        )]),
        automatic(),
    )
    .await;
    let id = r.open("checkout").await;
    let state = r.until(id, 1, ended).await;
    assert_eq!(state.conclusion, Some(Conclusion::Inconclusive));
    assert_eq!(state.asked_conclusion, Some(Conclusion::Confirmed));
    // The model was told why.
    let requests = r.llm.as_ref().expect("a model").requests();
    assert_eq!(requests.len(), 1, "the run ends at its conclusion");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_model_the_evidence_is_gathered_and_the_summary_says_why() {
    let r = rca(None, automatic()).await;
    let id = r.open("checkout").await;
    let state = r.until(id, 1, ended).await;
    assert_eq!(state.status, InvestigationStatus::Completed, "{state:#?}");
    assert_eq!(state.model, None);
    assert_eq!(state.conclusion, Some(Conclusion::Inconclusive));
    let summary = state.summary.clone().unwrap_or_default();
    assert!(summary.contains("No model is configured"), "{summary}");
    let tools: Vec<&str> = state.tool_steps.iter().map(|s| s.tool.as_str()).collect();
    assert_eq!(
        tools,
        ["get_alert_field", "recent_changes", "incident_lookup"]
    );
    let incident = r.settled(id).await;
    assert_eq!(incident.status, IncidentStatus::Analyzed);
    assert_eq!(incident.rca_status, RcaStatus::Complete);
    audit_is_clean(&r.app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seven_incidents_under_a_limit_of_five_queue_two_and_lose_none() {
    let r = rca(
        None,
        RcaConfig {
            automatic: true,
            limit: aurora_domain::investigation::start_window::StartLimit {
                limit: 5,
                window: chrono::Duration::seconds(3),
            },
            ..RcaConfig::default()
        },
    )
    .await;
    let mut ids = Vec::new();
    for n in 0..7 {
        ids.push(r.open(&format!("service-{n}")).await);
    }
    let mut queued = 0;
    for id in &ids {
        let state = r.until(*id, 1, ended).await;
        assert_eq!(state.status, InvestigationStatus::Completed);
        let run = aurora_domain::investigation::run_id(*id, 1);
        if r.events(run)
            .await
            .iter()
            .any(|e| matches!(e, InvestigationEvent::Queued { .. }))
        {
            queued += 1;
        }
    }
    assert_eq!(queued, 2, "five start at once, two wait for a slot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_opening_starts_nothing_twice() {
    let r = rca(None, automatic()).await;
    let id = r.open("checkout").await;
    r.until(id, 1, ended).await;
    let run = aurora_domain::investigation::run_id(id, 1);
    let before = r.events(run).await.len();
    // Aurora restarts, and every incident event is delivered to the process manager again.
    let mut r = r;
    let config = aurora_gateway::app::Config {
        agent: AgentConfig::without_model(r._work.path().to_path_buf()),
        rca: automatic(),
        ..Default::default()
    };
    redeliver_events(&mut r.app, "rca", config, Duration::ZERO).await;
    assert_eq!(r.events(run).await.len(), before);
    assert_eq!(r.incident(id).await.rca_runs, 1);
    assert!(r
        .investigation(aurora_domain::investigation::run_id(id, 2))
        .await
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_correlated_during_the_run_reaches_the_agent() {
    let r = rca(
        Some(vec![Script::new(
            "Investigate incident",
            vec![
                Step::tool(
                    "call-pods",
                    "kubectl",
                    json!({"command": "kubectl -n shop get pods -o json"}),
                ),
                Step::text(&["Done looking."]),
            ],
        )
        .with_delay(Duration::from_millis(400))]),
        automatic(),
    )
    .await;
    let id = r.open("checkout").await;
    r.until(id, 1, |s| s.status == InvestigationStatus::Running)
        .await;
    r.app
        .services()
        .incidents
        .execute(
            &r.admin.tenant,
            id.0,
            attach("alert-late", "payments", 0.9),
            Context::new_root(),
        )
        .await
        .expect("the store answers")
        .expect("the alert attaches");
    let state = r.until(id, 1, ended).await;
    assert_eq!(state.context.len(), 1, "{state:#?}");
    let requests = r.llm.as_ref().expect("a model").requests();
    let told = requests.iter().any(|request| {
        request["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|m| {
                m["content"]
                    .as_str()
                    .is_some_and(|c| c.contains("alert-late"))
            })
    });
    assert!(
        told,
        "the agent was told about the late alert: {requests:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_run_stops_and_a_new_one_may_start() {
    let r = rca(
        Some(vec![Script::new(
            "Investigate incident",
            vec![Step::text(&[
                "Looking ",
                "at ",
                "everything ",
                "very ",
                "slowly.",
            ])],
        )
        .with_delay(Duration::from_millis(500))]),
        automatic(),
    )
    .await;
    let id = r.open("checkout").await;
    r.until(id, 1, |s| s.status == InvestigationStatus::Running)
        .await;
    let incidents = r.app.services().incidents;
    incidents
        .execute(
            &r.admin.tenant,
            id.0,
            IncidentCommand::CancelRca {
                by: "oncall@acme.io".into(),
                at: Utc::now(),
            },
            Context::new_root(),
        )
        .await
        .expect("the store answers")
        .expect("the cancel is taken");
    let state = r.until(id, 1, ended).await;
    assert_eq!(state.status, InvestigationStatus::Cancelled);
    assert_eq!(state.reason.as_deref(), Some("cancelled by oncall@acme.io"));
    let incident = r.incident(id).await;
    assert_eq!(incident.rca_status, RcaStatus::Idle);
    // The second one is the incident's next episode.
    incidents
        .execute(
            &r.admin.tenant,
            id.0,
            IncidentCommand::RequestRca {
                run: aurora_domain::investigation::run_id(id, 2),
                by: Some("oncall@acme.io".into()),
                at: Utc::now(),
            },
            Context::new_root(),
        )
        .await
        .expect("the store answers")
        .expect("a new run may be requested");
    let second = r
        .until(id, 2, |s| s.status == InvestigationStatus::Running)
        .await;
    assert_eq!(second.episode, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_during_the_run_cancels_it_and_carries_its_thoughts_over() {
    let slow = Script::new(
        "Investigate incident",
        vec![Step::text(&[
            "The pods of this service restart every minute. ",
            "Its database connections run out at the same time. ",
            "Both point to the pool. ",
            "Still reading. ",
            "Still reading more. ",
            "Done.",
        ])],
    )
    .with_delay(Duration::from_millis(300));
    let r = rca(Some(vec![slow]), automatic()).await;
    let target = r.open("checkout").await;
    let source = r.open("payments").await;
    r.until(target, 1, |s| s.status == InvestigationStatus::Running)
        .await;
    r.until(source, 1, |s| !s.thoughts.is_empty()).await;
    let merged = r
        .app
        .post_json(
            &format!("/api/incidents/{}/merge", source.0),
            Some(&r.admin),
            &json!({ "target_id": target.0 }),
        )
        .await;
    merged.expect_status(200);
    let cancelled = r.until(source, 1, ended).await;
    assert_eq!(cancelled.status, InvestigationStatus::Cancelled);
    assert_eq!(
        cancelled.reason.as_deref(),
        Some(format!("the incident was merged into {target}").as_str())
    );
    let carried = r.until(target, 1, |s| !s.carried_from.is_empty()).await;
    assert_eq!(
        carried.carried_from,
        vec![aurora_domain::investigation::run_id(source, 1)]
    );
    assert!(
        carried
            .thoughts
            .iter()
            .any(|t| t == "The pods of this service restart every minute."),
        "{carried:#?}"
    );
    assert!(!r.incident(source).await.rca_under_way);
    audit_is_clean(&r.app).await;
}
