//! External consumers: `aurora consumer-credentials` issues NATS credentials that read one
//! tenant's events — through the durable consumer made for them, and through consumers of
//! their own they ask Aurora for — and nothing else. A real nats-server run as `aurora up` runs
//! it (grants enforced from the `consumer_credentials` bucket, external users in an account of
//! their own, Aurora's consumer API served beside it), a real async-nats client holding only
//! the issued credentials.
//!
//! - [`issued`]: what issued credentials read and are refused, revocation, expiry, the example.
//! - [`own`]: consumers the credentials create, read, resume and delete, and what is refused.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{pull, AckPolicy, PullConsumer};
use async_nats::jetstream::{self, Message};
use aurora_domain::organization::{Organization, OrganizationCommand};
use aurora_domain::{Incident, IncidentId, TenantId};
use aurora_gateway::cli::consumer_credentials::{run as run_cli, IssuedCredentials};
use aurora_gateway::cli::{Cli, Command};
use aurora_nats::consumer_access::API_PREFIX;
use aurora_nats::{AggregateStore, Context};
use aurora_tests::TestNats;
use chrono::Utc;
use clap::Parser;
use futures::StreamExt as _;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::fixtures::open;

mod issued;
mod own;

/// The README's example consumer, compiled here as it is, to be run by a test.
#[allow(dead_code)] // its `main`
#[path = "../../../nats/examples/read-events.rs"]
pub(super) mod read_events;

/// A created organisation; its id is its tenant.
pub(super) async fn organization(nats: &TestNats) -> TenantId {
    let id = Uuid::now_v7();
    let tenant = TenantId::parse(id.to_string()).expect("tenant");
    AggregateStore::<Organization>::new(nats.log.clone())
        .execute(
            &tenant,
            id,
            OrganizationCommand::Create {
                name: "Acme".into(),
                founder_id: Uuid::now_v7(),
                founder_email: "ana@acme.io".into(),
                at: Utc::now(),
            },
            Context::new_root(),
        )
        .await
        .expect("store")
        .expect("created");
    tenant
}

pub(super) async fn open_incident(nats: &TestNats, tenant: &TenantId, title: &str) -> IncidentId {
    let id = IncidentId(Uuid::now_v7());
    AggregateStore::<Incident>::new(nats.log.clone())
        .execute(
            tenant,
            id.0,
            open(id, title, "checkout", Utc::now()),
            Context::new_root(),
        )
        .await
        .expect("store")
        .expect("opened");
    id
}

/// Runs `aurora consumer-credentials <args…>` against `nats`: its exit code and what it printed.
pub(super) async fn aurora(nats: &TestNats, args: &[&str]) -> (ExitCode, String) {
    let url = nats.url();
    let mut argv = vec!["aurora", "consumer-credentials"];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["--nats-url", &url]);
    let Command::ConsumerCredentials(args) = Cli::try_parse_from(argv).expect("parses").command
    else {
        panic!("parsed as another command");
    };
    let mut out = Vec::new();
    let code = run_cli(args, &mut out).await.expect("runs");
    (code, String::from_utf8(out).expect("utf-8"))
}

pub(super) async fn issue(nats: &TestNats, tenant: &TenantId, name: &str) -> IssuedCredentials {
    let (code, out) = aurora(nats, &["--tenant", tenant.as_str(), "--name", name]).await;
    assert_eq!(code, ExitCode::SUCCESS, "{out}");
    serde_json::from_str(&out).expect("the credentials as JSON")
}

/// A client holding only the issued credentials, and what the server tells it.
pub(super) struct Outsider {
    pub(super) client: async_nats::Client,
    events: mpsc::UnboundedReceiver<String>,
}

pub(super) async fn connect(
    creds: &IssuedCredentials,
) -> Result<Outsider, async_nats::ConnectError> {
    let (tx, events) = mpsc::unbounded_channel();
    let client = async_nats::ConnectOptions::with_nkey(creds.nkey_seed.clone())
        .custom_inbox_prefix(&creds.inbox_prefix)
        .request_timeout(Some(Duration::from_secs(2)))
        .max_reconnects(Some(2))
        .event_callback(move |event| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(event.to_string());
            }
        })
        .connect(&creds.url)
        .await?;
    Ok(Outsider { client, events })
}

impl Outsider {
    /// Waits (at most 5 s) for the server to say something containing every one of `words`.
    pub(super) async fn told(&mut self, words: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.events.recv()).await {
                Ok(Some(event)) if words.iter().all(|w| event.contains(w)) => return event,
                Ok(Some(_)) => continue,
                _ => panic!("the server never said {words:?}"),
            }
        }
    }

    pub(super) fn jetstream(&self) -> jetstream::Context {
        jetstream::with_prefix(self.client.clone(), API_PREFIX)
    }
}

pub(super) fn durable(creds: &IssuedCredentials, filter: &str) -> pull::Config {
    pull::Config {
        durable_name: Some(creds.consumer.clone()),
        filter_subject: filter.to_owned(),
        ack_policy: AckPolicy::Explicit,
        ..Default::default()
    }
}

/// Everything the consumer has for now (stops after a quiet second).
pub(super) async fn drain(consumer: &PullConsumer) -> Vec<Message> {
    let mut got = Vec::new();
    let mut batch = consumer
        .fetch()
        .max_messages(100)
        .expires(Duration::from_secs(1))
        .messages()
        .await
        .expect("fetch");
    while let Some(message) = batch.next().await {
        got.push(message.expect("message"));
    }
    got
}

pub(super) fn header<'a>(message: &'a Message, name: &str) -> &'a str {
    message
        .headers
        .as_ref()
        .and_then(|h| h.get(name))
        .map(|v| v.as_str())
        .unwrap_or_default()
}

pub(super) async fn last_sequence(nats: &TestNats, stream: &str) -> u64 {
    let mut stream = nats.jetstream().get_stream(stream).await.expect("stream");
    stream.info().await.expect("info").state.last_sequence
}
