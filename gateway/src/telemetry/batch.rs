//! The span processor: each span is written as OTLP on the thread that ends it, into the batch
//! being filled ([`Batch`]), and a thread of the processor's posts each batch once it is full,
//! and what is pending every `OTEL_BSP_SCHEDULE_DELAY`.
//!
//! In place of the SDK's batch processor, which sends each span's `SpanData` (~400 bytes) through
//! a channel to its thread and writes it there: the span's allocations were then freed on
//! another thread than made them, which mimalloc collects back on the making thread's next
//! allocations. In a profile of the exporting gateway, that channel, those moves and those frees
//! were ~18 % of the samples tracing added (README, traces). Here a span is dropped where it was
//! made, and what crosses to the export thread is a batch's bytes.
//!
//! Settings are the batch processor's variables: `OTEL_BSP_SCHEDULE_DELAY` (milliseconds between
//! exports of what is pending, default 5000), `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` (spans per
//! request at most, default 512) and `OTEL_BSP_MAX_QUEUE_SIZE` (spans waiting at most, default
//! 2048: a span ended beyond it is dropped and counted, and the count logged). Each export is
//! bounded by the exporter's timeout (`OTEL_EXPORTER_OTLP_TIMEOUT`).

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;

use super::otlp::{ConfigError, OtlpExporter};
use super::otlp_request::{Batch, EncodedResource};

/// How long [`SpanProcessor::force_flush`] waits for the export thread.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(30);
/// The schedule delay is kept within these: 0 would have the export thread spin, and a delay
/// past a day would only risk overflowing the clock.
const DELAYS: (Duration, Duration) = (Duration::from_millis(1), Duration::from_secs(86_400));

/// When batches leave and how many spans may wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub delay: Duration,
    pub max_batch: usize,
    pub max_queue: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            delay: Duration::from_millis(5000),
            max_batch: 512,
            max_queue: 2048,
        }
    }
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// The settings `var` describes (`var` answers a variable's value, `None` when unset). A
    /// batch larger than the queue is the queue's size, as the specification says; the delay is
    /// kept within [`DELAYS`]. A value that is not a whole number is refused, as the exporter's
    /// are (the process then runs without exporting, and says why), rather than guessed at.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let number = |variable: &'static str, default: usize| match var(variable) {
            None => Ok(default),
            Some(value) => match value.trim().parse::<usize>() {
                Ok(n) => Ok(n),
                Err(_) => Err(ConfigError::Number { variable, value }),
            },
        };
        let defaults = Self::default();
        let delay = number(
            "OTEL_BSP_SCHEDULE_DELAY",
            defaults.delay.as_millis() as usize,
        )?;
        let max_queue = number("OTEL_BSP_MAX_QUEUE_SIZE", defaults.max_queue)?.max(1);
        let max_batch =
            number("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", defaults.max_batch)?.clamp(1, max_queue);
        Ok(Self {
            delay: Duration::from_millis(delay as u64).clamp(DELAYS.0, DELAYS.1),
            max_batch,
            max_queue,
        })
    }
}

/// Writes ended spans into batches and has its thread export them (see the module's
/// documentation).
#[derive(Debug)]
pub struct BatchProcessor {
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Debug)]
struct Shared {
    queue: Mutex<Queue>,
    /// The export thread waits on it for a full batch, a flush or the shutdown.
    work: Condvar,
    /// Flushes and the shutdown wait on it for the export thread.
    exported: Condvar,
    settings: Settings,
}

#[derive(Debug, Default)]
struct Queue {
    filling: Batch,
    full: VecDeque<Batch>,
    /// Spans dropped since the export thread last said so.
    dropped: u64,
    resource: Arc<EncodedResource>,
    /// Flushes asked for and done, numbered: a flush waits until `flushed` reaches its number.
    flushes: u64,
    flushed: u64,
    /// The flushes (numbers after the first, through the second) whose export failed, and why.
    failed: Option<(u64, u64, String)>,
    stopping: bool,
    stopped: bool,
    /// Why the last export, the shutdown's, failed.
    stop_failure: Option<String>,
}

impl Queue {
    /// Spans waiting for export: the filling batch's and the full ones'. A handful of batches
    /// at most (the queue's size over the batch's).
    fn waiting(&self) -> usize {
        self.filling.len() + self.full.iter().map(Batch::len).sum::<usize>()
    }
}

/// What the export thread takes from the queue at each wake.
struct Work {
    batches: Vec<Batch>,
    resource: Arc<EncodedResource>,
    flushes: u64,
    dropped: u64,
    stop: bool,
}

impl BatchProcessor {
    pub fn new(exporter: OtlpExporter, settings: Settings) -> Self {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                filling: Batch::with_capacity(settings.max_batch),
                ..Queue::default()
            }),
            work: Condvar::new(),
            exported: Condvar::new(),
            settings,
        });
        let worker = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("span-export".into())
                .spawn(move || shared.run(&exporter))
                .expect("a thread for the span exporter")
        };
        Self {
            shared,
            worker: Mutex::new(Some(worker)),
        }
    }
}

/// Dropped when the export thread ends, whichever way.
struct Stopped<'a>(&'a Shared);

impl Drop for Stopped<'_> {
    fn drop(&mut self) {
        self.0.stopped();
    }
}

/// Dropped without a shutdown (the provider shuts it down first), the processor still has its
/// thread export what waits and end.
impl Drop for BatchProcessor {
    fn drop(&mut self) {
        lock(&self.shared.queue).stopping = true;
        self.shared.work.notify_one();
    }
}

/// The lock, also after a panic elsewhere while it was held (the queue stays usable: every
/// change to it is whole before the next line can panic).
fn lock(queue: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    queue
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    /// The export thread: waits for work, exports it, says so, until the shutdown.
    fn run(&self, exporter: &OtlpExporter) {
        // What this thread does is not itself traced (the SDK's processor does the same).
        let _quiet = Context::enter_telemetry_suppressed_scope();
        // Should the thread end any other way than by the shutdown, nobody waits for it forever.
        let _stopped = Stopped(self);
        let mut due = Instant::now() + self.settings.delay;
        let mut failing = false;
        loop {
            let work = self.next_work(&mut due);
            let mut failure = None;
            if work.dropped > 0 {
                tracing::warn!(
                    dropped = work.dropped,
                    max_queue = self.settings.max_queue,
                    "spans were dropped: more ended than could wait for export"
                );
            }
            for batch in &work.batches {
                match exporter.send(&work.resource, batch) {
                    Ok(()) if failing => {
                        failing = false;
                        tracing::info!("spans are exported again");
                    }
                    Ok(()) => {}
                    Err(e) => {
                        // Logged once per outage, not once per batch.
                        if !failing {
                            failing = true;
                            tracing::warn!(error = %e, spans = batch.len(), "spans were not exported");
                        }
                        failure = Some(e.to_string());
                    }
                }
            }
            let mut queue = lock(&self.queue);
            if let Some(why) = failure {
                if work.flushes > queue.flushed {
                    queue.failed = Some((queue.flushed, work.flushes, why.clone()));
                }
                if work.stop {
                    queue.stop_failure = Some(why);
                }
            }
            queue.flushed = queue.flushed.max(work.flushes);
            drop(queue);
            self.exported.notify_all();
            if work.stop {
                // `_stopped` says so as the thread ends.
                return;
            }
        }
    }

    /// Marks the export thread stopped and wakes whoever waits for it.
    fn stopped(&self) {
        lock(&self.queue).stopped = true;
        self.exported.notify_all();
    }

    /// Waits on `exported` until `done` holds of the queue, for `timeout` at most.
    fn wait_for<'a>(
        &self,
        mut queue: MutexGuard<'a, Queue>,
        timeout: Duration,
        done: impl Fn(&Queue) -> bool,
    ) -> Result<MutexGuard<'a, Queue>, OTelSdkError> {
        let deadline = Instant::now() + timeout;
        while !done(&queue) {
            let now = Instant::now();
            if now >= deadline {
                return Err(OTelSdkError::Timeout(timeout));
            }
            queue = self
                .exported
                .wait_timeout(queue, deadline - now)
                .map_or_else(|poisoned| poisoned.into_inner().0, |(queue, _)| queue);
        }
        Ok(queue)
    }

    /// Waits until a batch is full, `due` has come, a flush is asked for or the processor is
    /// stopping, and takes what is then to export (everything waiting, unless only full batches
    /// are due).
    fn next_work(&self, due: &mut Instant) -> Work {
        let mut queue = lock(&self.queue);
        loop {
            if !queue.full.is_empty() || queue.flushes > queue.flushed || queue.stopping {
                break;
            }
            let now = Instant::now();
            if now >= *due {
                if !queue.filling.is_empty() {
                    break;
                }
                // Nothing waits: the next export of what waits is a delay from now.
                *due = now + self.settings.delay;
            }
            queue = self
                .work
                .wait_timeout(queue, *due - now)
                .map_or_else(|poisoned| poisoned.into_inner().0, |(queue, _)| queue);
        }
        let mut batches: Vec<Batch> = queue.full.drain(..).collect();
        let now = Instant::now();
        if now >= *due || queue.flushes > queue.flushed || queue.stopping {
            *due = now + self.settings.delay;
            if !queue.filling.is_empty() {
                let next = Batch::with_capacity(self.settings.max_batch);
                batches.push(std::mem::replace(&mut queue.filling, next));
            }
        }
        Work {
            batches,
            resource: queue.resource.clone(),
            flushes: queue.flushes,
            dropped: std::mem::take(&mut queue.dropped),
            stop: queue.stopping,
        }
    }
}

impl SpanProcessor for BatchProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        let settings = &self.shared.settings;
        let mut queue = lock(&self.shared.queue);
        if queue.stopping || queue.waiting() >= settings.max_queue {
            queue.dropped += 1;
            return;
        }
        queue.filling.push(&span);
        if queue.filling.len() >= settings.max_batch {
            let next = Batch::with_capacity(settings.max_batch);
            let full = std::mem::replace(&mut queue.filling, next);
            queue.full.push_back(full);
            drop(queue);
            self.shared.work.notify_one();
        }
        // `span` is dropped here, on the thread that made it, after the lock is let go.
    }

    fn force_flush(&self) -> OTelSdkResult {
        let mut queue = lock(&self.shared.queue);
        if queue.stopping {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        queue.flushes += 1;
        let mine = queue.flushes;
        self.shared.work.notify_one();
        let queue = self
            .shared
            .wait_for(queue, FLUSH_TIMEOUT, |q| q.flushed >= mine || q.stopped)?;
        match &queue.failed {
            Some((after, through, why)) if (after + 1..=*through).contains(&mine) => {
                Err(OTelSdkError::InternalFailure(why.clone()))
            }
            _ => Ok(()),
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let mut queue = lock(&self.shared.queue);
        if queue.stopping {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        queue.stopping = true;
        self.shared.work.notify_one();
        let queue = self.shared.wait_for(queue, timeout, |q| q.stopped)?;
        let failure = queue.stop_failure.clone();
        drop(queue);
        let worker = self
            .worker
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(worker) = worker {
            worker
                .join()
                .map_err(|_| OTelSdkError::InternalFailure("the export thread panicked".into()))?;
        }
        failure.map_or(Ok(()), |why| Err(OTelSdkError::InternalFailure(why)))
    }

    fn set_resource(&mut self, resource: &Resource) {
        lock(&self.shared.queue).resource = Arc::new(EncodedResource::of(resource));
    }
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
