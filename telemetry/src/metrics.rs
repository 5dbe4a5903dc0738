//! Every Prometheus series Aurora exports, in one registry per process (per app: the tests run
//! several apps in one process, each scraping only its own).
//!
//! Names follow Prometheus conventions: `aurora_` prefix, counters end in `_total`, durations are
//! in `_seconds`. Label values come from closed sets (a source's or tool's name, a route
//! template, a consumer's name), never from what a caller sent, so the number of series stays
//! bounded. Tenant ids are labels only when [`MetricsOptions::tenant_labels`] says so
//! (`AURORA_METRICS_TENANT_LABELS=1`): a large deployment would otherwise grow a series per
//! tenant.
//!
//! Hot paths pay an uncontended read lock and a hash of a few short strings to find their series
//! ([`Family`]), then relaxed atomic adds; what runs per message rather than per request
//! (consumers, the store's conflicts, projectors) holds its series' handles from the start and
//! pays only the adds.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use prometheus_client::encoding::{
    EncodeLabel, EncodeLabelSet, EncodeMetric, LabelSetEncoder, MetricEncoder, NoLabelSet,
};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;

use crate::histogram::Histogram;

/// The `Content-Type` of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Buckets of request and handling latencies, in seconds (0.5 ms … 10 s).
const LATENCY: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Buckets of investigation durations, in seconds (10 s … 1 h).
const LONG: &[f64] = &[
    10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0,
];
/// Buckets of batch sizes, in messages (the consumers' batches are at most 1 000).
const BATCH: &[f64] = &[1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0];

fn latency() -> Histogram {
    Histogram::new(LATENCY)
}

fn long() -> Histogram {
    Histogram::new(LONG)
}

fn batch() -> Histogram {
    Histogram::new(BATCH)
}

/// How the series are labelled.
#[derive(Debug, Clone, Copy, Default)]
pub struct MetricsOptions {
    /// Label per-tenant series (webhooks, investigations, LLM use, tool calls) with the tenant
    /// id as well.
    pub tenant_labels: bool,
}

/// A label value: a name from the code, a shared string, or a number.
trait Value {
    fn encode_as(&self, key: &'static str, encoder: &mut LabelSetEncoder<'_>) -> fmt::Result;
}

impl Value for &'static str {
    fn encode_as(&self, key: &'static str, encoder: &mut LabelSetEncoder<'_>) -> fmt::Result {
        (key, *self).encode(encoder.encode_label())
    }
}

impl Value for Arc<str> {
    fn encode_as(&self, key: &'static str, encoder: &mut LabelSetEncoder<'_>) -> fmt::Result {
        (key, self.as_ref()).encode(encoder.encode_label())
    }
}

impl Value for u16 {
    fn encode_as(&self, key: &'static str, encoder: &mut LabelSetEncoder<'_>) -> fmt::Result {
        (key, *self).encode(encoder.encode_label())
    }
}

/// A label set: named fields, plus the tenant when tenant labels are on (absent, not empty,
/// when off).
macro_rules! labels {
    ($name:ident { $($field:ident: $ty:ty),* $(,)? }) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        struct $name {
            $($field: $ty,)*
            tenant: Option<Arc<str>>,
        }

        impl EncodeLabelSet for $name {
            fn encode(&self, encoder: &mut LabelSetEncoder<'_>) -> fmt::Result {
                $(self.$field.encode_as(stringify!($field), encoder)?;)*
                if let Some(tenant) = &self.tenant {
                    tenant.encode_as("tenant", encoder)?;
                }
                Ok(())
            }
        }
    };
}

labels!(SourceLabels { source: &'static str });
labels!(RefusalLabels { source: &'static str, reason: &'static str });
labels!(ConsumerLabels { consumer: Arc<str> });
labels!(AggregateLabels { aggregate: &'static str });
labels!(ProjectorLabels { projector: &'static str });
labels!(StateLabels { state: &'static str });
labels!(ModelLabels { model: Arc<str> });
labels!(TokenLabels { model: Arc<str>, kind: &'static str });
labels!(ToolLabels { tool: &'static str, outcome: &'static str });
labels!(RouteLabels { method: &'static str, route: Arc<str>, status: u16 });

/// US dollars, counted exactly in micro-dollars and shown in dollars (Prometheus' base unit is
/// the currency, the domain's is the micro-unit).
#[derive(Debug, Clone, Default)]
struct Dollars(Arc<AtomicU64>);

impl TypedMetric for Dollars {
    const TYPE: MetricType = MetricType::Counter;
}

impl EncodeMetric for Dollars {
    fn encode(&self, mut encoder: MetricEncoder<'_>) -> fmt::Result {
        let dollars = self.0.load(Ordering::Relaxed) as f64 / 1_000_000.0;
        encoder.encode_counter::<NoLabelSet, _, u64>(&dollars, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Aurora's metrics. Cheap to clone: clones count into the same series.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

struct Inner {
    options: MetricsOptions,
    registry: Registry,
    webhooks_received: Family<SourceLabels, Counter>,
    webhooks_accepted: Family<SourceLabels, Counter>,
    webhooks_refused: Family<RefusalLabels, Counter>,
    intake_seconds: Histograms<SourceLabels>,
    consumer_pending: Family<ConsumerLabels, Gauge>,
    redeliveries: Family<ConsumerLabels, Counter>,
    dead_lettered: Family<ConsumerLabels, Counter>,
    conflicts: Family<AggregateLabels, Counter>,
    retries: Family<AggregateLabels, Counter>,
    batch_messages: Histograms<ProjectorLabels>,
    apply_seconds: Histograms<ProjectorLabels>,
    investigations: Family<StateLabels, Counter>,
    investigation_seconds: Histograms<StateLabels>,
    llm_tokens: Family<TokenLabels, Counter>,
    llm_cost: Family<ModelLabels, Dollars>,
    tool_calls: Family<ToolLabels, Counter>,
    http_requests: Family<RouteLabels, Counter>,
    websockets_open: Gauge,
    sse_streams_open: Gauge,
    live_readers: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(MetricsOptions::default())
    }
}

impl Metrics {
    pub fn new(options: MetricsOptions) -> Self {
        let mut registry = Registry::with_prefix("aurora");
        let inner = Inner {
            options,
            webhooks_received: Family::default(),
            webhooks_accepted: Family::default(),
            webhooks_refused: Family::default(),
            intake_seconds: Family::new_with_constructor(latency),
            consumer_pending: Family::default(),
            redeliveries: Family::default(),
            dead_lettered: Family::default(),
            conflicts: Family::default(),
            retries: Family::default(),
            batch_messages: Family::new_with_constructor(batch),
            apply_seconds: Family::new_with_constructor(latency),
            investigations: Family::default(),
            investigation_seconds: Family::new_with_constructor(long),
            llm_tokens: Family::default(),
            llm_cost: Family::default(),
            tool_calls: Family::default(),
            http_requests: Family::default(),
            websockets_open: Gauge::default(),
            sse_streams_open: Gauge::default(),
            live_readers: Gauge::default(),
            registry: Registry::default(),
        };
        let i = &inner;
        let r = &mut registry;
        r.register(
            "webhooks_received",
            "Webhook deliveries received, by source (`unknown` when the path names none)",
            i.webhooks_received.clone(),
        );
        r.register(
            "webhooks_accepted",
            "Webhook deliveries made durable on INBOX (answered 202)",
            i.webhooks_accepted.clone(),
        );
        r.register(
            "webhooks_refused",
            "Webhook deliveries refused, by source and reason (the error code answered)",
            i.webhooks_refused.clone(),
        );
        r.register(
            "webhook_intake_duration_seconds",
            "Time from a delivery's arrival to its answer",
            i.intake_seconds.clone(),
        );
        r.register(
            "consumer_pending_messages",
            "Messages a durable consumer has still to handle: not yet delivered, or not yet acknowledged (its lag, read from JetStream every second while it runs)",
            i.consumer_pending.clone(),
        );
        r.register("consumer_redeliveries", "Messages delivered again to a durable consumer (not acknowledged in time, or negatively)", i.redeliveries.clone());
        r.register(
            "dead_lettered_messages",
            "Messages a consumer gave up on and wrote to DEAD_LETTERS",
            i.dead_lettered.clone(),
        );
        r.register(
            "command_conflicts",
            "Command appends that lost a race with a concurrent writer, by aggregate type",
            i.conflicts.clone(),
        );
        r.register(
            "command_retries",
            "Commands decided again after a conflict, by aggregate type",
            i.retries.clone(),
        );
        r.register(
            "projector_batch_messages",
            "Events a projector applied in one transaction",
            i.batch_messages.clone(),
        );
        r.register(
            "projector_apply_duration_seconds",
            "Time a projector took to apply one batch (its transaction included)",
            i.apply_seconds.clone(),
        );
        r.register("investigations", "Investigations that reached a state (requested, queued, running, completed, failed, cancelled)", i.investigations.clone());
        r.register(
            "investigation_duration_seconds",
            "Time from an investigation's start to its end, by the state it ended in",
            i.investigation_seconds.clone(),
        );
        r.register(
            "llm_tokens",
            "Model tokens, by model and kind (input or output)",
            i.llm_tokens.clone(),
        );
        r.register(
            "llm_cost_usd",
            "What model calls cost, in US dollars, by model (priced by LLM_PRICES)",
            i.llm_cost.clone(),
        );
        r.register(
            "tool_calls",
            "Agent tool calls, by tool and outcome (ok or error)",
            i.tool_calls.clone(),
        );
        r.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            i.http_requests.clone(),
        );
        r.register(
            "websockets_open",
            "Chat WebSockets open now",
            i.websockets_open.clone(),
        );
        r.register(
            "sse_streams_open",
            "Server-Sent Event streams open now",
            i.sse_streams_open.clone(),
        );
        r.register(
            "live_readers",
            "Readers of the live log now (each open event stream, through the one consumer per process that follows it)",
            i.live_readers.clone(),
        );
        Self(Arc::new(Inner { registry, ..inner }))
    }

    /// Every series in the Prometheus text format (0.0.4), as [`CONTENT_TYPE`] says.
    pub fn encode(&self) -> String {
        let mut text = String::with_capacity(16 * 1024);
        // Writing into a String cannot fail; an encoder error would be a bug of the crate.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &self.0.registry);
        text
    }

    fn tenant(&self, tenant: Option<&str>) -> Option<Arc<str>> {
        if self.0.options.tenant_labels {
            tenant.map(Arc::from)
        } else {
            None
        }
    }

    /// The intake's series of `source` (`unknown` for a path naming none), looked up once: the
    /// gateway keeps them with each integration it caches, so a delivery of a known integration
    /// costs atomic adds and no lookup.
    pub fn webhook_series(&self, source: &'static str, tenant: Option<&str>) -> WebhookSeries {
        let labels = SourceLabels {
            source,
            tenant: self.tenant(tenant),
        };
        WebhookSeries {
            received: self.0.webhooks_received.get_or_create(&labels).clone(),
            accepted: self.0.webhooks_accepted.get_or_create(&labels).clone(),
            seconds: self.0.intake_seconds.get_or_create(&labels).clone(),
            labels,
            metrics: self.clone(),
        }
    }

    /// The series of durable consumer `name`, held by its runner.
    pub fn consumer(&self, name: &str) -> ConsumerMetrics {
        let labels = ConsumerLabels {
            consumer: Arc::from(name),
            tenant: None,
        };
        ConsumerMetrics {
            pending: self.0.consumer_pending.get_or_create_owned(&labels),
            redeliveries: self.0.redeliveries.get_or_create_owned(&labels),
            dead_lettered: self.0.dead_lettered.get_or_create_owned(&labels),
        }
    }

    /// The series of aggregate type `name`, held by its store.
    pub fn aggregate(&self, name: &'static str) -> AggregateMetrics {
        let labels = AggregateLabels {
            aggregate: name,
            tenant: None,
        };
        AggregateMetrics {
            conflicts: self.0.conflicts.get_or_create_owned(&labels),
            retries: self.0.retries.get_or_create_owned(&labels),
        }
    }

    /// The series of projector `name`, held by its runner.
    pub fn projector(&self, name: &'static str) -> ProjectorMetrics {
        let labels = ProjectorLabels {
            projector: name,
            tenant: None,
        };
        ProjectorMetrics {
            batch: self.0.batch_messages.get_or_create_owned(&labels),
            apply: self.0.apply_seconds.get_or_create_owned(&labels),
        }
    }

    /// An investigation reached `state`; `took` is its whole duration when that state ends it.
    pub fn investigation(&self, state: &'static str, tenant: Option<&str>, took: Option<Duration>) {
        let labels = StateLabels {
            state,
            tenant: self.tenant(tenant),
        };
        self.0.investigations.get_or_create(&labels).inc();
        if let Some(took) = took {
            self.0
                .investigation_seconds
                .get_or_create(&labels)
                .observe(took.as_secs_f64());
        }
    }

    /// One model call's use.
    pub fn llm_call(
        &self,
        model: &str,
        tenant: Option<&str>,
        input_tokens: u64,
        output_tokens: u64,
        cost_micros: u64,
    ) {
        let model: Arc<str> = Arc::from(model);
        let tenant = self.tenant(tenant);
        for (kind, tokens) in [("input", input_tokens), ("output", output_tokens)] {
            let labels = TokenLabels {
                model: model.clone(),
                kind,
                tenant: tenant.clone(),
            };
            self.0.llm_tokens.get_or_create(&labels).inc_by(tokens);
        }
        let labels = ModelLabels { model, tenant };
        self.0
            .llm_cost
            .get_or_create(&labels)
            .0
            .fetch_add(cost_micros, Ordering::Relaxed);
    }

    /// One tool call of the agent and how it ended. `tool` is a name the agent offers (the
    /// caller maps anything else to `unknown`).
    pub fn tool_call(&self, tool: &'static str, ok: bool, tenant: Option<&str>) {
        let labels = ToolLabels {
            tool,
            outcome: if ok { "ok" } else { "error" },
            tenant: self.tenant(tenant),
        };
        self.0.tool_calls.get_or_create(&labels).inc();
    }

    /// The request counters of route template `route` (`/api/incidents/{id}`, never a raw path:
    /// ids would make a series each), for the route's middleware to keep.
    pub fn route_counters(&self, route: &str) -> RouteCounters {
        RouteCounters {
            route: Arc::from(route),
            family: self.0.http_requests.clone(),
            seen: std::array::from_fn(|_| OnceLock::new()),
        }
    }

    /// A chat WebSocket opened; it counts as open until the guard drops.
    pub fn websocket_opened(&self) -> Open {
        Open::new(self.0.websockets_open.clone())
    }

    /// An event stream opened; it counts as open until the guard drops.
    pub fn sse_stream_opened(&self) -> Open {
        Open::new(self.0.sse_streams_open.clone())
    }

    /// A reader of the live log started; it counts until the guard drops.
    pub fn live_reader(&self) -> Open {
        Open::new(self.0.live_readers.clone())
    }
}

/// A durable consumer's series.
#[derive(Debug, Clone)]
pub struct ConsumerMetrics {
    pub pending: Gauge,
    pub redeliveries: Counter,
    pub dead_lettered: Counter,
}

/// An aggregate type's series.
#[derive(Debug, Clone)]
pub struct AggregateMetrics {
    pub conflicts: Counter,
    pub retries: Counter,
}

/// A projector's series.
#[derive(Debug, Clone)]
pub struct ProjectorMetrics {
    batch: Histogram,
    apply: Histogram,
}

impl ProjectorMetrics {
    /// One batch of `messages` applied in `took`.
    pub fn applied(&self, messages: usize, took: Duration) {
        self.batch.observe(messages as f64);
        self.apply.observe(took.as_secs_f64());
    }
}

/// Something counted as open while this lives.
#[derive(Debug)]
pub struct Open(Gauge);

impl Open {
    fn new(gauge: Gauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// One source's intake series ([`Metrics::webhook_series`]).
#[derive(Clone)]
pub struct WebhookSeries {
    labels: SourceLabels,
    received: Counter,
    accepted: Counter,
    seconds: Histogram,
    metrics: Metrics,
}

impl WebhookSeries {
    /// A delivery arrived.
    pub fn received(&self) {
        self.received.inc();
    }

    /// It was made durable and answered 202 after `took`.
    pub fn accepted(&self, took: Duration) {
        self.accepted.inc();
        self.seconds.observe(took.as_secs_f64());
    }

    /// It was refused with the error code `reason` after `took`.
    pub fn refused(&self, reason: &'static str, took: Duration) {
        let labels = RefusalLabels {
            source: self.labels.source,
            reason,
            tenant: self.labels.tenant.clone(),
        };
        self.metrics.0.webhooks_refused.get_or_create(&labels).inc();
        self.seconds.observe(took.as_secs_f64());
    }
}

/// How many (method, status) series of one route are kept; a route answering more kinds looks
/// the rest up in the family each time.
const ROUTE_SERIES: usize = 16;

/// One route's `aurora_http_requests_total` series, each method and status looked up in the
/// family once and then kept: a request costs a scan of a few slots (atomic loads) and an atomic
/// add, not a hash of its labels and a lock.
pub struct RouteCounters {
    route: Arc<str>,
    family: Family<RouteLabels, Counter>,
    /// The (method, status) series met so far, in the order met. Two threads meeting the same
    /// new series may each keep it (clones of one counter): the count is the same.
    seen: [OnceLock<(&'static str, u16, Counter)>; ROUTE_SERIES],
}

impl RouteCounters {
    /// One request answered with `status`.
    pub fn count(&self, method: &'static str, status: u16) {
        for slot in &self.seen {
            match slot.get() {
                Some((m, s, counter)) if *s == status && *m == method => {
                    counter.inc();
                    return;
                }
                Some(_) => continue,
                None => {
                    let counter = self.series(method, status);
                    counter.inc();
                    // Taken meanwhile by another series: this one is found in a later slot.
                    let _ = slot.set((method, status, counter));
                    return;
                }
            }
        }
        self.series(method, status).inc();
    }

    fn series(&self, method: &'static str, status: u16) -> Counter {
        let labels = RouteLabels {
            method,
            route: self.route.clone(),
            status,
            tenant: None,
        };
        self.family.get_or_create(&labels).clone()
    }
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
