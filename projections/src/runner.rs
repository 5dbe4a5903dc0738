//! Running a projector: durable consumer → apply → rows and checkpoint in one transaction → ack.
//!
//! Each transaction first locks the projector's checkpoint row (`FOR UPDATE`). That makes
//! redelivery harmless (events at or below the checkpoint are skipped) and gives `aurora replay`
//! a clean moment to swap tables. Each run restarts the consumer at the checkpoint, so events
//! always arrive in order (see [`restart_consumer`]); run one instance per projector.

use async_nats::jetstream;
use aurora_nats::consumer::{self, Delivery, HandlerError};
use aurora_nats::streams::StreamsFile;
use aurora_nats::subjects::{self, parse_event_subject, EVENTS_STREAM};
use aurora_nats::RawEvent;
use aurora_telemetry::{trace, Metrics};
use sqlx::PgPool;
use tokio::sync::watch;

use crate::error::{locate, ProjectionError};
use crate::fold::checked_schema;
use crate::projector::{ProjectionCache, Projector};

/// Events per transaction at most.
pub const MAX_BATCH: usize = 2000;

/// Applies `events` (stream order) to `schema`'s tables in one transaction and returns the
/// checkpoint after it. Events at or below the stored checkpoint are skipped.
#[tracing::instrument(skip_all, fields(projector = projector.name(), schema, events = events.len()), err)]
pub async fn apply_batch(
    pool: &PgPool,
    projector: Projector,
    schema: &str,
    events: Vec<RawEvent>,
    cache: &mut ProjectionCache,
) -> Result<u64, ProjectionError> {
    let schema = checked_schema(schema);
    let mut tx = pool.begin().await?;
    if schema != "public" {
        // Shadow and scratch schemas (replay, audit) are rebuilt from the log if lost, and the
        // swap that makes a shadow live commits synchronously after them, so they need not wait
        // for each WAL flush. The live tables do: their acks follow the commit.
        sqlx::query("SET LOCAL synchronous_commit = off")
            .execute(&mut *tx)
            .await?;
    }
    let (checkpoint, generation): (i64, i64) = sqlx::query_as(&format!(
        "SELECT last_sequence, generation FROM {schema}.projector_checkpoints WHERE projector = $1 FOR UPDATE"
    ))
    .bind(projector.name())
    .fetch_one(&mut *tx)
    .await?;
    cache.sync_generation(generation);
    let checkpoint = checkpoint as u64;
    let fresh: Vec<RawEvent> = events
        .into_iter()
        .filter(|e| e.stream_sequence > checkpoint)
        .collect();
    let Some(last) = fresh.last().map(|e| e.stream_sequence) else {
        tx.rollback().await?;
        return Ok(checkpoint);
    };
    // Same rule as for undecodable messages (see `decode_all`): what is not an Aurora event of an
    // aggregate is skipped with a warning, in live runs and in replays alike.
    let located: Vec<_> = fresh
        .into_iter()
        .filter_map(|e| match locate(e) {
            Ok(located) => Some(located),
            Err(err) => {
                tracing::warn!(error = %err, "skipping a message that is not an aggregate's event");
                None
            }
        })
        .collect();
    // The traces the transaction serves, each shown its commit (only read when spans are exported).
    let traces: Vec<String> = if trace::exporting() {
        located
            .iter()
            .filter_map(|(_, e)| e.traceparent.clone())
            .collect()
    } else {
        Vec::new()
    };
    projector.apply(&mut tx, schema, located, cache).await?;
    sqlx::query(&format!(
        "UPDATE {schema}.projector_checkpoints SET last_sequence = $2, updated_at = now() WHERE projector = $1"
    ))
    .bind(projector.name())
    .bind(last as i64)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    cache.commit();
    trace::mark_each_trace(traces.iter().map(String::as_str), || {
        tracing::info_span!("projected", projector = projector.name(), schema)
    });
    Ok(last)
}

/// Recreates the projector's durable consumer so it delivers from the checkpoint on.
///
/// Skipping events at or below the checkpoint is only sound if they arrive in order. Within one
/// run they do (a failed batch is retried in place, never nak'ed past); but messages left unacked
/// by a previous run (a crash, or prefetched at shutdown) would come back after `ack_wait`,
/// behind newer ones, and be skipped. Starting each run from `checkpoint + 1` rules that out.
/// Hence also: one running instance per projector (scaling out means partitioning by subject).
///
/// The consumer keeps the definition it has on the server (what start-up or
/// `aurora streams apply --file` provisioned); `streams.yaml` as built in is used only when there
/// is none yet. Only where it starts changes.
async fn restart_consumer(
    pool: &PgPool,
    stream: &jetstream::stream::Stream,
    projector: Projector,
) -> Result<jetstream::consumer::PullConsumer, ProjectionError> {
    use jetstream::consumer::FromConsumer as _;
    let provisioned = match stream.consumer_info(projector.consumer()).await {
        Ok(info) => Some(
            jetstream::consumer::pull::Config::try_from_consumer_config(info.config)
                .map_err(ProjectionError::Nats)?,
        ),
        Err(e) if e.kind() == jetstream::context::ConsumerInfoErrorKind::NotFound => None,
        Err(e) => return Err(ProjectionError::Nats(e.into())),
    };
    let mut config = match provisioned {
        Some(config) => config,
        None => StreamsFile::shipped()
            .stream(EVENTS_STREAM)
            .and_then(|s| s.consumers.iter().find(|c| c.name == projector.consumer()))
            .ok_or_else(|| {
                ProjectionError::Nats(
                    format!("streams.yaml declares no consumer {}", projector.consumer()).into(),
                )
            })?
            .to_config(),
    };
    let from = checkpoint(pool, projector).await? + 1;
    config.deliver_policy = jetstream::consumer::DeliverPolicy::ByStartSequence {
        start_sequence: from,
    };
    // Not found is fine; anything else shows up when creating.
    let _ = stream.delete_consumer(projector.consumer()).await;
    stream
        .create_consumer(config)
        .await
        .map_err(|e| ProjectionError::Nats(e.into()))
}

/// The live checkpoint of a projector.
pub async fn checkpoint(pool: &PgPool, projector: Projector) -> Result<u64, sqlx::Error> {
    let seq: i64 =
        sqlx::query_scalar("SELECT last_sequence FROM projector_checkpoints WHERE projector = $1")
            .bind(projector.name())
            .fetch_one(pool)
            .await?;
    Ok(seq as u64)
}

/// Runs a projector on its durable consumer until `shutdown` turns true, counting its batches
/// and their apply time into `metrics`.
pub async fn run(
    pool: PgPool,
    js: jetstream::Context,
    projector: Projector,
    metrics: Metrics,
    shutdown: watch::Receiver<bool>,
) -> Result<(), ProjectionError> {
    let stream = js
        .get_stream(EVENTS_STREAM)
        .await
        .map_err(|e| ProjectionError::Nats(e.into()))?;
    let consumer = restart_consumer(&pool, &stream, projector).await?;
    let client = js.client();
    // Batches run one after another; the mutex only satisfies the borrow checker.
    let cache = std::sync::Arc::new(tokio::sync::Mutex::new(ProjectionCache::default()));
    let series = metrics.projector(projector.name());
    consumer::run(consumer, MAX_BATCH, metrics, shutdown, |deliveries| {
        let (pool, cache, client, series) =
            (pool.clone(), cache.clone(), client.clone(), series.clone());
        async move {
            let events = decode_all(deliveries);
            let count = events.len();
            let tenants = if projector.announces() { tenants_of(&events) } else { Vec::new() };
            let mut cache = cache.lock().await;
            let started = std::time::Instant::now();
            match apply_batch(&pool, projector, "public", events, &mut cache).await {
                Ok(_) => {
                    series.applied(count, started.elapsed());
                    announce(&client, projector, &tenants).await;
                    Ok(())
                }
                Err(ProjectionError::BadEvent { subject, stream_sequence, reason }) => {
                    // An event that does not load fails the same way every time: the runner
                    // retries it up to the consumer's max_deliver, then dead-letters it and the
                    // projector goes on (`aurora dead-letters`; fix, then `aurora replay`).
                    // A stored state that does not load (sequence 0) is not one event's fault.
                    tracing::error!(%subject, stream_sequence, %reason, projector = projector.name(), "event does not project");
                    Err(if stream_sequence == 0 {
                        HandlerError::Transient(reason)
                    } else {
                        HandlerError::Poison { stream_sequence, reason: format!("{subject}: {reason}") }
                    })
                }
                Err(e) => Err(HandlerError::Transient(e.to_string())),
            }
        }
    })
    .await
    .map_err(|e| ProjectionError::Nats(e.into()))
}

/// The tenants of `events`, each once.
fn tenants_of(events: &[RawEvent]) -> Vec<String> {
    let mut tenants: Vec<String> = events
        .iter()
        .filter_map(|e| parse_event_subject(&e.subject).map(|s| s.tenant.as_str().to_owned()))
        .collect();
    tenants.sort_unstable();
    tenants.dedup();
    tenants
}

/// Tells the readers caching `projector`'s rows that `tenants`' rows changed (after the commit:
/// a reader that drops its entry on hearing this reads the new rows). Core NATS, at most once:
/// a notice lost while a reader is disconnected is covered by the reader dropping everything
/// when it reconnects.
async fn announce(client: &async_nats::Client, projector: Projector, tenants: &[String]) {
    for tenant in tenants {
        let subject = subjects::projected(tenant, projector.name());
        if let Err(e) = client.publish(subject, Default::default()).await {
            tracing::warn!(error = %e, projector = projector.name(), %tenant, "a projection notice was not sent");
        }
    }
    if !tenants.is_empty() {
        if let Err(e) = client.flush().await {
            tracing::warn!(error = %e, projector = projector.name(), "projection notices were not flushed");
        }
    }
}

/// Decodes deliveries, skipping (with a warning) messages that are not Aurora events.
pub fn decode_all(deliveries: Vec<Delivery>) -> Vec<RawEvent> {
    deliveries
        .into_iter()
        .filter_map(|d| {
            match RawEvent::decode(
                &d.subject,
                d.stream_sequence,
                d.headers.as_ref(),
                &d.payload,
                d.published,
            ) {
                Ok(event) => Some(event),
                Err(e) => {
                    // Not an Aurora event (someone published by hand onto evt.>): nothing to project.
                    tracing::warn!(error = %e, "skipping a message that is not an event");
                    None
                }
            }
        })
        .collect()
}
