//! Rebuilding read models from the event log.
//!
//! `aurora replay <projector>` builds the projector's tables from sequence 0 into a shadow schema
//! while the live tables keep serving, then swaps them in: in one transaction it locks the live
//! checkpoint row (the live projector waits on that lock, see [`crate::runner`]), catches the
//! shadow up to the live checkpoint, drops the live tables and moves the shadow ones into
//! `public`. Readers never see a half-built view.
//!
//! [`build`] is also what `aurora audit verify` uses to rebuild into a scratch schema.

use async_nats::jetstream::{self, consumer::DeliverPolicy};
use aurora_nats::subjects::EVENTS_STREAM;
use aurora_nats::RawEvent;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use sqlx::PgPool;

use crate::error::ProjectionError;
use crate::fold::checked_schema;
use crate::projector::{ProjectionCache, Projector};
use crate::runner::apply_batch;

/// Events per transaction when rebuilding: larger than the live runner's, since a rebuild is all
/// throughput and its per-transaction costs (checkpoint lock, state lookups, commit) add up.
const REPLAY_BATCH: usize = 5000;

/// Creates `schema` holding empty copies of the tables of `projectors` and a checkpoint table.
pub async fn create_schema(
    pool: &PgPool,
    schema: &str,
    projectors: &[Projector],
) -> Result<(), ProjectionError> {
    let schema = checked_schema(schema);
    let mut tx = pool.begin().await?;
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!(
        "CREATE TABLE {schema}.projector_checkpoints (LIKE public.projector_checkpoints INCLUDING ALL)"
    ))
    .execute(&mut *tx)
    .await?;
    for p in projectors {
        sqlx::query(&format!(
            "INSERT INTO {schema}.projector_checkpoints (projector) VALUES ($1)"
        ))
        .bind(p.name())
        .execute(&mut *tx)
        .await?;
        for table in p.tables() {
            sqlx::query(&format!(
                "CREATE TABLE {schema}.{table} (LIKE public.{table} INCLUDING ALL)"
            ))
            .execute(&mut *tx)
            .await?;
            // `LIKE` copies columns, defaults, constraints and indexes, not storage parameters.
            let options: Option<String> = sqlx::query_scalar(&format!(
                "SELECT array_to_string(reloptions, ', ') FROM pg_class WHERE oid = 'public.{table}'::regclass"
            ))
            .fetch_one(&mut *tx)
            .await?;
            if let Some(options) = options.filter(|o| !o.is_empty()) {
                sqlx::query(&format!("ALTER TABLE {schema}.{table} SET ({options})"))
                    .execute(&mut *tx)
                    .await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Feeds the events of `projector` after `schema`'s checkpoint into `schema`, up to `until`
/// (inclusive) or, when `None`, up to what the stream holds now. Returns the new checkpoint.
pub async fn build(
    pool: &PgPool,
    js: &jetstream::Context,
    projector: Projector,
    schema: &str,
    until: Option<u64>,
    progress: Option<&ProgressBar>,
) -> Result<u64, ProjectionError> {
    let schema = checked_schema(schema);
    let mut checkpoint: u64 = sqlx::query_scalar::<_, i64>(&format!(
        "SELECT last_sequence FROM {schema}.projector_checkpoints WHERE projector = $1"
    ))
    .bind(projector.name())
    .fetch_one(pool)
    .await? as u64;
    if until.is_some_and(|u| u <= checkpoint) {
        return Ok(checkpoint);
    }
    let stream = js
        .get_stream(EVENTS_STREAM)
        .await
        .map_err(|e| ProjectionError::Nats(e.into()))?;
    let ordered = |filter: &str| {
        stream.create_consumer(jetstream::consumer::pull::OrderedConfig {
            filter_subject: filter.to_owned(),
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: checkpoint + 1,
            },
            ..Default::default()
        })
    };
    let filter = projector.filter();
    let filter = filter.as_str();
    let mut consumer = ordered(filter)
        .await
        .map_err(|e| ProjectionError::Nats(e.into()))?;
    let wanted = consumer.cached_info().num_pending;
    if let Some(bar) = progress {
        bar.set_length(bar.length().unwrap_or(0) + wanted);
    }
    if wanted == 0 {
        return Ok(checkpoint);
    }
    // Delivering through a wildcard filter costs nats-server a walk of the block's subject index
    // for every message once a block holds many subjects (one per aggregate); reading everything
    // costs shipping the messages of other aggregates, skipped here by subject. When at least
    // half of what follows the checkpoint is wanted, reading everything is the cheaper.
    let after = stream
        .cached_info()
        .state
        .last_sequence
        .saturating_sub(checkpoint);
    let everything = wanted.saturating_mul(2) >= after;
    if everything {
        let _ = stream.delete_consumer(&consumer.cached_info().name).await;
        consumer = ordered("")
            .await
            .map_err(|e| ProjectionError::Nats(e.into()))?;
    }
    let mut pending = consumer.cached_info().num_pending;
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| ProjectionError::Nats(e.into()))?;
    // One batch is written while the next is read: `in_flight` is the write, which hands the
    // cache back when it is done. Batches still commit strictly in order.
    let mut cache = Some(ProjectionCache::default());
    let mut in_flight: Option<InFlight> = None;
    // Reading can fail while a write is in flight: that write is always awaited before
    // returning, so nothing keeps writing into a schema the caller may drop.
    let read: Result<(), ProjectionError> = async {
        let mut done = false;
        while pending > 0 && !done {
            let mut batch = Vec::with_capacity(REPLAY_BATCH);
            let first = messages
                .next()
                .await
                .ok_or_else(|| ProjectionError::Nats("the ordered consumer ended".into()))?
                .map_err(|e| ProjectionError::Nats(e.into()))?;
            let mut next = Some(first);
            while let Some(m) = next.take() {
                let info = m.info().map_err(ProjectionError::Nats)?;
                let seq = info.stream_sequence;
                if until.is_some_and(|u| seq > u) {
                    done = true;
                    break;
                }
                pending -= 1;
                // Reading everything, other aggregates' events are skipped here.
                if !everything || aurora_nats::subjects::covers(filter, m.subject.as_str()) {
                    match RawEvent::decode(
                        m.subject.as_str(),
                        seq,
                        m.headers.as_ref(),
                        &m.payload,
                        info.published,
                    ) {
                        Ok(event) => batch.push(event),
                        // The live runner skips these too (`runner::decode_all`).
                        Err(e) => {
                            tracing::warn!(error = %e, "skipping a message that is not an event")
                        }
                    }
                }
                if batch.len() >= REPLAY_BATCH || pending == 0 {
                    break;
                }
                // `pending` says more are coming: wait for them, so transactions stay large.
                next = match messages.next().await {
                    Some(m) => Some(m.map_err(|e| ProjectionError::Nats(e.into()))?),
                    None => None,
                };
            }
            if let Some(previous) = in_flight.take() {
                let (at, back) = finish(previous, progress).await?;
                checkpoint = at;
                cache = Some(back);
            }
            if !batch.is_empty() {
                let n = batch.len() as u64;
                // `cache` is always back here (the previous write was awaited just above).
                let mut writing = cache.take().unwrap_or_default();
                let (pool, schema) = (pool.clone(), schema.to_owned());
                let task = tokio::spawn(async move {
                    let at = apply_batch(&pool, projector, &schema, batch, &mut writing).await?;
                    Ok((at, writing))
                });
                in_flight = Some(InFlight { task, events: n });
            }
        }
        Ok(())
    }
    .await;
    if let Some(previous) = in_flight.take() {
        checkpoint = finish(previous, progress).await?.0;
    }
    read?;
    Ok(checkpoint)
}

/// A batch being written while the next is read.
struct InFlight {
    /// Gives back the checkpoint after the batch and the cache.
    task: tokio::task::JoinHandle<Result<(u64, ProjectionCache), ProjectionError>>,
    /// How many events it holds (for the progress bar).
    events: u64,
}

async fn finish(
    InFlight { task, events }: InFlight,
    progress: Option<&ProgressBar>,
) -> Result<(u64, ProjectionCache), ProjectionError> {
    let done = task.await??;
    if let Some(bar) = progress {
        bar.inc(events);
    }
    Ok(done)
}

/// What a replay did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    pub projector: Projector,
    pub events: u64,
    pub checkpoint: u64,
}

/// `aurora replay <projector>`: rebuild from sequence 0 and swap the result in.
pub async fn replay(
    pool: &PgPool,
    js: &jetstream::Context,
    projector: Projector,
    show_progress: bool,
) -> Result<Replayed, ProjectionError> {
    let shadow = format!("shadow_{}", projector.name());
    create_schema(pool, &shadow, &[projector]).await?;
    let bar = if show_progress {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{elapsed_precise}] {wide_bar} {pos}/{len} events ({per_sec})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(format!("replaying {}", projector.name()));
        bar
    } else {
        ProgressBar::hidden()
    };
    // Phase 1: everything the stream holds now, while the live tables keep serving.
    build(pool, js, projector, &shadow, None, Some(&bar)).await?;

    // Phase 2: lock the live checkpoint, catch up to it, swap.
    let mut tx = pool.begin().await?;
    let live: i64 = sqlx::query_scalar(
        "SELECT last_sequence FROM public.projector_checkpoints WHERE projector = $1 FOR UPDATE",
    )
    .bind(projector.name())
    .fetch_one(&mut *tx)
    .await?;
    let rebuilt = build(pool, js, projector, &shadow, Some(live as u64), Some(&bar)).await?;
    let checkpoint = rebuilt.max(live as u64);
    // `LIKE … INCLUDING ALL` names the shadow's indexes itself; after the swap they get the
    // live names back (migrations may refer to them).
    let live_indexes: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT tablename::text, indexname::text, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY($1)",
    )
    .bind(projector.tables())
    .fetch_all(&mut *tx)
    .await?;
    // Readers take their locks in table order (a detail view reads the incident, then its alerts,
    // then its timeline, in one transaction); so does the swap, or the two could deadlock.
    sqlx::query(&format!(
        "LOCK TABLE {} IN ACCESS EXCLUSIVE MODE",
        projector
            .tables()
            .iter()
            .map(|t| format!("public.{t}"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .execute(&mut *tx)
    .await?;
    for table in projector.tables().iter().rev() {
        sqlx::query(&format!("DROP TABLE public.{table}"))
            .execute(&mut *tx)
            .await?;
    }
    for table in projector.tables() {
        sqlx::query(&format!("ALTER TABLE {shadow}.{table} SET SCHEMA public"))
            .execute(&mut *tx)
            .await?;
        // `LIKE` copies no row-level security: the swapped-in table gets the tenant policy back
        // in the same transaction, so no reader ever sees it unprotected.
        sqlx::query("SELECT aurora_protect($1::regclass)")
            .bind(format!("public.{table}"))
            .execute(&mut *tx)
            .await?;
    }
    for (table, name, definition) in &live_indexes {
        let shape = definition.replacen(name.as_str(), "", 1);
        let moved: Option<String> = sqlx::query_scalar(
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1
               AND replace(indexdef, indexname, '') = $2",
        )
        .bind(table)
        .bind(&shape)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(moved) = moved.filter(|m| m != name) {
            sqlx::query(&format!("ALTER INDEX public.{moved} RENAME TO {name}"))
                .execute(&mut *tx)
                .await?;
        }
    }
    sqlx::query("UPDATE public.projector_checkpoints SET last_sequence = $2, generation = generation + 1, updated_at = now() WHERE projector = $1")
        .bind(projector.name())
        .bind(checkpoint as i64)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    sqlx::query(&format!("DROP SCHEMA {shadow} CASCADE"))
        .execute(pool)
        .await?;
    bar.finish_with_message(format!("replayed {}", projector.name()));
    Ok(Replayed {
        projector,
        events: bar.position(),
        checkpoint,
    })
}
