//! The `commands` consumer of `CMD`: `cmd.<tenant>.incident.<id>` carries one JSON command; it is run on
//! the aggregate through the event store (which retries conflicts). A refusal by the aggregate is
//! an answer, not a failure: it is logged and the command acked. Only an unavailable event store
//! makes the batch come back later.

use async_nats::jetstream::{self, consumer::PullConsumer};
use aurora_domain::{Incident, IncidentCommand, TenantId};
use aurora_nats::consumer::{self, Delivery, HandlerError};
use aurora_nats::envelope::{Context, CE_CORRELATION, TRACEPARENT};
use aurora_nats::subjects::CMD_STREAM;
use aurora_nats::{AggregateStore, StoreError};
use tokio::sync::watch;
use uuid::Uuid;

const CONSUMER: &str = "commands";

#[derive(Debug, thiserror::Error)]
pub enum CommandsError {
    #[error("cannot open the {CONSUMER} consumer: {0}")]
    Consumer(String),
    #[error(transparent)]
    Runner(#[from] aurora_nats::consumer::RunnerError),
}

/// What became of one command.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    Refused(String),
    /// Not a command we understand; acked so it does not come back forever.
    Malformed(String),
}

pub async fn run(
    client: async_nats::Client,
    incidents: AggregateStore<Incident>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), CommandsError> {
    let js = jetstream::new(client);
    let stream = js
        .get_stream(CMD_STREAM)
        .await
        .map_err(|e| CommandsError::Consumer(e.to_string()))?;
    let consumer: PullConsumer = stream
        .get_consumer(CONSUMER)
        .await
        .map_err(|e| CommandsError::Consumer(e.to_string()))?;
    // One command per batch: a failed batch is retried whole, and re-running commands that already
    // succeeded would decide them twice.
    consumer::run(consumer, 1, shutdown, |deliveries| {
        let incidents = incidents.clone();
        async move {
            for delivery in deliveries {
                match handle(&incidents, &delivery).await {
                    Ok(Outcome::Applied) => {}
                    Ok(Outcome::Refused(why)) => tracing::info!(subject = %delivery.subject, %why, "command refused"),
                    Ok(Outcome::Malformed(why)) => {
                        tracing::warn!(subject = %delivery.subject, %why, "malformed command dropped")
                    }
                    Err(e) => return Err(HandlerError::Transient(e.to_string())),
                }
            }
            Ok(())
        }
    })
    .await?;
    Ok(())
}

/// Runs one delivered command.
pub async fn handle(
    incidents: &AggregateStore<Incident>,
    delivery: &Delivery,
) -> Result<Outcome, StoreError> {
    let parts: Vec<&str> = delivery.subject.split('.').collect();
    let [_, tenant, aggregate, id] = parts.as_slice() else {
        return Ok(Outcome::Malformed(format!(
            "subject {} is not cmd.<tenant>.<aggregate>.<id>",
            delivery.subject
        )));
    };
    let (Ok(tenant), Ok(id)) = (TenantId::parse(*tenant), Uuid::parse_str(id)) else {
        return Ok(Outcome::Malformed(format!(
            "bad tenant or id in {}",
            delivery.subject
        )));
    };
    let header = |name: &str| {
        delivery
            .headers
            .as_ref()
            .and_then(|h| h.get(name))
            .map(|v| v.as_str().to_owned())
    };
    let mut context = Context::new_root();
    if let Some(correlation) = header(CE_CORRELATION) {
        context.correlation_id = correlation;
    }
    if let Some(trace) = header(TRACEPARENT) {
        context.traceparent = trace;
    }
    // A redelivered command must not append its events twice: their ids derive from the message.
    let cause = format!("cmd:{}", delivery.stream_sequence);
    let context = context.caused_by(cause.clone()).with_idempotency_key(cause);
    match *aggregate {
        "incident" => match serde_json::from_slice::<IncidentCommand>(&delivery.payload) {
            Ok(command) => Ok(outcome(
                incidents.execute(&tenant, id, command, context).await?,
            )),
            Err(e) => Ok(Outcome::Malformed(format!("not an incident command: {e}"))),
        },
        other => Ok(Outcome::Malformed(format!("unknown aggregate {other:?}"))),
    }
}

fn outcome<S, E: std::fmt::Display>(result: Result<S, E>) -> Outcome {
    match result {
        Ok(_) => Outcome::Applied,
        Err(refusal) => Outcome::Refused(refusal.to_string()),
    }
}
