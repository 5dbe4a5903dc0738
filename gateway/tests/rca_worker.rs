//! An investigation whose worker dies: the handlers process is killed (SIGKILL) mid-run, another
//! handlers process sweeps, and the run is failed with the reason — never "running" forever.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aurora_domain::investigation::{
    run_id, Investigation, InvestigationState, InvestigationStatus,
};
use aurora_domain::{Incident, IncidentCommand, IncidentId, RcaStatus, Severity, TenantId};
use aurora_nats::envelope::Context;
use aurora_nats::server::NatsServer;
use aurora_nats::{AggregateStore, EventLog};
use axum::response::sse::{Event, Sse};
use axum::routing::post;
use chrono::Utc;
use futures::Stream;
use serde_json::json;
use sqlx::Connection;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An OpenAI-compatible endpoint that streams a sentence every 300 ms and never finishes.
async fn endless_model() -> String {
    async fn completions() -> Sse<impl Stream<Item = Result<Event, std::convert::Infallible>>> {
        let chunks = futures::stream::unfold(0u64, |n| async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let chunk = json!({
                "id": "chatcmpl-endless", "object": "chat.completion.chunk",
                "created": 1_700_000_000, "model": "endless",
                "choices": [{"index": 0, "delta": {"content": format!("Still reading the pods, step {n}. ")}, "finish_reason": null}],
            });
            Some((Ok(Event::default().data(chunk.to_string())), n + 1))
        });
        Sse::new(chunks)
    }
    let app = axum::Router::new().route("/v1/chat/completions", post(completions));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/v1")
}

fn handlers(nats: &str, db: &str, model: &str, work: &std::path::Path) -> Killed {
    Killed(
        Command::new(env!("CARGO_BIN_EXE_aurora"))
            .args(["serve", "--role", "handlers"])
            .env("NATS_URL", nats)
            .env("DATABASE_URL", db)
            .env("AURORA_DATA_DIR", work)
            .env("LLM_BASE_URL", model)
            .env("LLM_MODEL", "endless")
            .env("AURORA_RCA_STALE_SECS", "2")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("aurora serve --role handlers"),
    )
}

async fn investigation(
    store: &AggregateStore<Investigation>,
    tenant: &TenantId,
    incident: IncidentId,
) -> Option<InvestigationState> {
    store
        .load(tenant, run_id(incident, 1))
        .await
        .ok()
        .flatten()
        .map(|s| s.into_inner())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_worker_is_killed_is_failed_by_another_process() {
    let nats = NatsServer::start_temporary().await.expect("nats-server");
    let base = std::env::var("AURORA_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let name = format!("aurora_rca_worker_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&format!("{base}/postgres"))
        .await
        .expect("postgres");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create db");
    let db = format!("{base}/{name}");
    let model = endless_model().await;
    let work = tempfile::tempdir().expect("a data dir");
    let first = handlers(&nats.url(), &db, &model, work.path());

    let client = async_nats::connect(nats.url()).await.expect("nats");
    let log = EventLog::new(client);
    let incidents = AggregateStore::<Incident>::new(log.clone());
    let investigations = AggregateStore::<Investigation>::new(log);
    let tenant = TenantId::parse("acme-rca").expect("tenant");
    let id = IncidentId::new();
    let open = IncidentCommand::Open {
        id,
        title: "Checkout pods crash-loop".into(),
        service: "checkout".into(),
        environment: "production".into(),
        severity: Severity::High,
        source: "grafana".into(),
        source_alert_id: "alert-1".into(),
        fingerprint: "fp-checkout".into(),
        alert_fired_at: Utc::now(),
        at: Utc::now(),
        why: None,
    };
    // The handlers process provisions the streams as it starts.
    let started = Instant::now();
    loop {
        match incidents
            .execute(&tenant, id.0, open.clone(), Context::new_root())
            .await
        {
            Ok(Ok(_)) => break,
            other => assert!(
                started.elapsed() < Duration::from_secs(60),
                "the incident never opened: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    loop {
        let state = investigation(&investigations, &tenant, id).await;
        if state
            .as_ref()
            .is_some_and(|s| s.status == InvestigationStatus::Running && !s.thoughts.is_empty())
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the investigation never ran: {state:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    drop(first); // SIGKILL: nothing of the run is recorded any more.
    let _second = handlers(&nats.url(), &db, &model, work.path());
    let killed_at = Instant::now();
    let state = loop {
        let state = investigation(&investigations, &tenant, id)
            .await
            .expect("the investigation");
        if state.status.has_ended() {
            break state;
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(60),
            "the dead run was never ended: {state:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(state.status, InvestigationStatus::Failed, "{state:#?}");
    let reason = state.reason.unwrap_or_default();
    assert!(reason.contains("its worker stopped"), "{reason}");
    let incident = incidents
        .load(&tenant, id.0)
        .await
        .expect("the store")
        .expect("the incident")
        .into_inner();
    assert_eq!(incident.rca_status, RcaStatus::Error);
    assert!(!incident.rca_under_way);
}
