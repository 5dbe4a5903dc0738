//! The durable consumers' series: the lag (`aurora_consumer_pending_messages`) of a projector
//! held up behind a lock, and after it caught up; the redeliveries
//! (`aurora_consumer_redeliveries_total`) of a delivery another process gave back.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::AckKind;
use aurora_domain::IncidentId;
use aurora_gateway::api::ApiConfig;
use aurora_gateway::app::{Config, Role};
use aurora_gateway::services::Services;
use aurora_nats::subjects::INBOX_STREAM;
use aurora_nats::Context;
use aurora_projections::Projector;
use aurora_tests::scrape::{scrape, scrape_until, Scraped};
use aurora_tests::{secret_store, test_api_config, wait_for_projection, TestApp};
use chrono::Utc;
use futures::StreamExt;
use tokio::sync::watch;
use uuid::Uuid;

use super::events_on;
use crate::fixtures::open;
use crate::intake::helpers::{deliver, grafana, incidents_until, integration, path_of};

const PENDING: &str = "aurora_consumer_pending_messages";
const REDELIVERIES: &str = "aurora_consumer_redeliveries_total";

/// Opens an incident on `service` through the event store, as the intake would; the stream
/// sequence of its last event.
async fn opened(app: &TestApp, tenant: &aurora_domain::TenantId, service: &str) -> u64 {
    let id = IncidentId::new();
    app.services()
        .incidents
        .execute(
            tenant,
            id.0,
            open(id, &format!("{service} is down"), service, Utc::now()),
            Context::new_root(),
        )
        .await
        .expect("the store answers")
        .expect("the incident opens")
        .stream_sequence
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projector_held_up_shows_its_lag_and_none_once_it_caught_up() {
    let app = TestApp::spawn().await;
    let admin = app.register("oncall@acme.io", "Acme").await;
    let url = app.url("/metrics");
    let consumer = [("consumer", Projector::Incidents.consumer())];
    let lag = |s: &Scraped| s.value_if_present(PENDING, &consumer);
    let last = opened(&app, &admin.tenant, "checkout").await;
    wait_for_projection(&app.db.pool, Projector::Incidents, last).await;
    let caught_up = scrape_until(&app.http, &url, |s| lag(s) == Some(0.0)).await;
    assert_eq!(caught_up.value(PENDING, &consumer), 0.0);

    // Held up: its checkpoint row is locked (as `aurora replay` locks it), so its next batch
    // waits, and the incidents opened meanwhile pile up behind it.
    let mut lock = app.db.pool.begin().await.expect("a transaction");
    sqlx::query("SELECT 1 FROM projector_checkpoints WHERE projector = $1 FOR UPDATE")
        .bind(Projector::Incidents.name())
        .execute(&mut *lock)
        .await
        .expect("the checkpoint row is locked");
    let events_before = events_on(&app, "evt.*.incident.*").await;
    let mut last = 0;
    for service in ["payments", "ledger", "search"] {
        last = opened(&app, &admin.tenant, service).await;
    }
    let behind = (events_on(&app, "evt.*.incident.*").await - events_before) as f64;
    assert!(behind >= 3.0, "{behind} events");
    let held = scrape_until(&app.http, &url, |s| lag(s) == Some(behind)).await;
    assert_eq!(
        held.value(PENDING, &consumer),
        behind,
        "every event stored since it was held up is still to be handled"
    );
    let checkpoint = aurora_projections::runner::checkpoint(&app.db.pool, Projector::Incidents)
        .await
        .expect("the checkpoint");
    assert!(checkpoint < last, "the projector was held up");

    // Let go: it applies them all and its lag falls back to 0.
    lock.rollback().await.expect("the lock is released");
    wait_for_projection(&app.db.pool, Projector::Incidents, last).await;
    let after = scrape_until(&app.http, &url, |s| lag(s) == Some(0.0)).await;
    assert_eq!(after.value(PENDING, &consumer), 0.0);
}

/// A process beside the app running only `roles`, on the app's NATS, database and secrets, as
/// `aurora run` would on another machine: its series are its own, served on a listener of its
/// own (`AURORA_METRICS_LISTEN`), so a scrape reads this process's alone.
struct Process {
    metrics_url: String,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Process {
    async fn start(app: &TestApp, roles: Vec<Role>) -> Self {
        let port = aurora_nats::server::free_port().expect("a free port");
        let listen: SocketAddr = format!("127.0.0.1:{port}").parse().expect("an address");
        let api = ApiConfig {
            metrics_listen: Some(listen),
            ..test_api_config()
        };
        let services = Services::new(
            app.nats.client.clone(),
            app.db.pool.clone(),
            secret_store(app.secrets_dir.path(), app.vault.as_ref()),
            app.connectors.clone(),
            aurora_telemetry::Metrics::new(api.metrics_options()),
        );
        // The harness's settings: no investigation or postmortem unless a test asks.
        let config = Config {
            api,
            rca: aurora_handlers::rca::RcaConfig {
                automatic: false,
                postmortem_on_resolve: false,
                ..Default::default()
            },
            ..Config::default()
        };
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(aurora_gateway::app::run(
            services, config, roles, None, stopped,
        ));
        let metrics_url = format!("http://{listen}/metrics");
        let started = Instant::now();
        while app.http.get(&metrics_url).send().await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the process's metrics listener never answered"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Self {
            metrics_url,
            stop,
            task,
        }
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        self.task
            .await
            .expect("the process ran")
            .expect("the process stopped cleanly");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_given_back_once_counts_one_redelivery_where_it_is_handled() {
    // The gateway and projections here; the handlers are another process, started later.
    let app = TestApp::spawn_with_roles(vec![Role::Gateway, Role::Projections]).await;
    let admin = app
        .register(&format!("ana-{}@acme.io", Uuid::new_v4().simple()), "Acme")
        .await;
    let grafana_integration = integration(&app, &admin, "grafana", "Grafana").await;
    let secret = grafana_integration["secret"].as_str().expect("a secret");
    let body = grafana(&[("firing", "fp-1", "checkout", "Checkout down")]);
    deliver(&app, &path_of(&grafana_integration), Some(secret), &body)
        .await
        .expect_status(202);

    // A handlers process takes the delivery from the `ingest` consumer and fails it: it gives
    // it back (a nak, as the consumer runner does when it stops during a failing batch).
    let ingest: PullConsumer = app
        .nats
        .jetstream()
        .get_stream(INBOX_STREAM)
        .await
        .expect("INBOX")
        .get_consumer("ingest")
        .await
        .expect("the ingest consumer");
    let mut taken = ingest
        .batch()
        .max_messages(1)
        .expires(Duration::from_secs(5))
        .messages()
        .await
        .expect("a pull");
    let message = taken.next().await.expect("the delivery").expect("it reads");
    assert_eq!(message.info().expect("its info").delivered, 1);
    message
        .ack_with(AckKind::Nak(None))
        .await
        .expect("given back");
    drop(taken);

    // Another handlers process gets it again and handles it: the incident opens.
    let handlers = Process::start(&app, vec![Role::Handlers]).await;
    incidents_until(&app, &admin, |items| items.len() == 1).await;
    let ingest = [("consumer", "ingest")];
    let after = scrape_until(&app.http, &handlers.metrics_url, |s| {
        s.value_if_present(PENDING, &ingest) == Some(0.0)
    })
    .await;
    assert_eq!(after.value(REDELIVERIES, &ingest), 1.0);
    assert_eq!(
        after.value("aurora_dead_lettered_messages_total", &ingest),
        0.0
    );
    assert_eq!(after.value(PENDING, &ingest), 0.0);
    // Nothing else this process consumes was delivered twice.
    let others: Vec<String> = after
        .label_sets(REDELIVERIES)
        .into_iter()
        .flatten()
        .filter(|(k, v)| k == "consumer" && v != "ingest")
        .map(|(_, v)| v)
        .collect();
    assert!(!others.is_empty(), "the handlers run other consumers too");
    for consumer in &others {
        assert_eq!(
            after.value(REDELIVERIES, &[("consumer", consumer.as_str())]),
            0.0,
            "{consumer}"
        );
    }
    // The app's own scrape knows nothing of that process's consumers.
    let own = scrape(&app.http, &app.url("/metrics")).await;
    assert!(!own.has(REDELIVERIES, &ingest));
    handlers.stop().await;
}
