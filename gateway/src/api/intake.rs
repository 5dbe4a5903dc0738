//! Webhook intake (SPEC §1): `POST /webhooks/{source}/{integration_id}`.
//!
//! A delivery is authenticated by its source's rule (401 if not; SNS signatures need their
//! certificate, fetched once: 503 while it cannot be), read by its source's parser
//! (400 if it is not what that source sends), then published raw to `INBOX`
//! as an [`InboxDelivery`] (`inbox.<tenant>.<source>`, `Nats-Msg-Id` from the source's delivery
//! id, else a hash of the body; with spans exported, the message carries the request span's
//! `traceparent`), and only once JetStream acknowledged it answered
//! `202 {delivery_id}`. Unknown,
//! deleted or disabled integrations answer 404; an unreachable JetStream 503 with `Retry-After`,
//! never 202. Nothing is stored for a refused delivery.
//!
//! Integrations are cached in memory (this path must not wait on Postgres); every change to an
//! integration is an event on `evt.<tenant>.integration.<id>`, which [`watch`] turns into an
//! eviction, in every gateway process.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use async_nats::jetstream::context::PublishErrorKind;
use aurora_domain::TenantId;
use aurora_handlers::sources::{self, Auth, Delivery, Refusal, Source, VerifyContext};
use aurora_nats::inbox::InboxDelivery;
use aurora_nats::subjects;
use aurora_projections::queries::identity;
use aurora_telemetry::{trace, WebhookSeries};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::Utc;
use futures::StreamExt;
use sha2::{Digest, Sha256};
use tokio::sync::watch as watch_channel;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{ApiError, AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(receive))
}

/// What the intake needs to know of an integration.
pub struct Entry {
    pub tenant: TenantId,
    pub source: &'static dyn Source,
    secret: Vec<u8>,
    accepting: bool,
    /// What `Source::authenticate` needs besides the secret, with the integration's pinned
    /// topic (SNS).
    verify: VerifyContext,
    /// When it was read: entries are re-read after [`ENTRY_TTL`], so a change whose eviction
    /// was missed (a disconnected watch, or a reload racing the read model) lasts no longer.
    loaded: std::time::Instant,
    /// Its source's (and tenant's) intake series, looked up when it was read.
    series: WebhookSeries,
}

/// How long an integration is trusted from memory.
const ENTRY_TTL: std::time::Duration = std::time::Duration::from_secs(5);

impl Entry {
    pub fn pinned_topic(&self) -> Option<&str> {
        self.verify.pinned_topic.as_deref()
    }
}

/// The integrations the intake has seen, by id.
#[derive(Default)]
pub struct IntakeCache {
    entries: RwLock<HashMap<Uuid, Arc<Entry>>>,
    /// The SNS client, certificate cache and trusted origins, made on first use.
    sns: OnceLock<VerifyContext>,
}

impl IntakeCache {
    /// Drops what is known of `id` (it changed).
    pub fn forget(&self, id: Uuid) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(&id);
        }
    }

    fn cached(&self, id: Uuid) -> Option<Arc<Entry>> {
        self.entries
            .read()
            .ok()?
            .get(&id)
            .filter(|e| e.loaded.elapsed() < ENTRY_TTL)
            .cloned()
    }

    fn sns(&self, state: &AppState) -> &VerifyContext {
        self.sns.get_or_init(|| state.config.sns_verify_context())
    }

    /// `entry` with the topic its integration is pinned to now, if the cached entry did not know
    /// it yet: the read model it was loaded from lags the event that pinned it (and evicted it).
    async fn repinned(
        &self,
        state: &AppState,
        id: Uuid,
        entry: &Entry,
    ) -> Result<Option<Arc<Entry>>, ApiError> {
        let Some(integration) = state.services.integrations.load(&entry.tenant, id).await? else {
            return Ok(None);
        };
        let Some(topic) = integration.into_inner().pinned_topic else {
            return Ok(None);
        };
        let fresh = Arc::new(Entry {
            tenant: entry.tenant.clone(),
            source: entry.source,
            secret: entry.secret.clone(),
            accepting: entry.accepting,
            verify: entry.verify.with_pinned_topic(Some(topic)),
            loaded: std::time::Instant::now(),
            series: entry.series.clone(),
        });
        if let Ok(mut entries) = self.entries.write() {
            entries.insert(id, fresh.clone());
        }
        Ok(Some(fresh))
    }

    async fn get(&self, state: &AppState, id: Uuid) -> Result<Option<Arc<Entry>>, ApiError> {
        if let Some(entry) = self.cached(id) {
            return Ok(Some(entry));
        }
        let Some(row) = identity::intake_integration(&state.services.gateway_pool, id).await?
        else {
            return Ok(None);
        };
        let Some(source) = sources::source(&row.source) else {
            return Ok(None);
        };
        let tenant = TenantId::parse(row.tenant_id)
            .map_err(|e| anyhow::anyhow!("stored tenant id does not parse: {e}"))?;
        let accepting = row.enabled && !row.deleted;
        // A deleted integration's secret is gone; a disabled one's is not needed.
        let secret = if accepting {
            state.services.secrets.get(&row.secret_ref).await?
        } else {
            Vec::new()
        };
        let series = state
            .services
            .metrics
            .webhook_series(source.descriptor().name, Some(tenant.as_str()));
        let entry = Arc::new(Entry {
            tenant,
            source,
            secret,
            accepting,
            verify: self.sns(state).with_pinned_topic(row.pinned_topic),
            loaded: std::time::Instant::now(),
            series,
        });
        if let Ok(mut entries) = self.entries.write() {
            entries.insert(id, entry.clone());
        }
        Ok(Some(entry))
    }
}

/// Evicts integrations from the cache as their events go by, until `shutdown`.
pub async fn watch(
    state: AppState,
    mut shutdown: watch_channel::Receiver<bool>,
) -> Result<(), async_nats::SubscribeError> {
    let mut events = state
        .services
        .nats
        .subscribe(subjects::aggregate_type_all_tenants("integration"))
        .await?;
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return Ok(()),
            message = events.next() => {
                let Some(message) = message else { return Ok(()) };
                if let Some(subject) = subjects::parse_event_subject(&message.subject) {
                    state.intake.forget(subject.id);
                }
            }
        }
    }
}

fn refused(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::Unauthorized(message) => ApiError::unauthorized("invalid_signature", message),
        Refusal::BadRequest { code, message } => ApiError::bad_request(code, message),
        Refusal::Unavailable(message) => {
            tracing::warn!(%message, "a webhook delivery could not be authenticated now");
            ApiError::Unavailable {
                message,
                retry_after: 5,
            }
        }
    }
}

/// Receive one webhook delivery from a source.
#[utoipa::path(post, path = "/webhooks/{source}/{integration_id}", tag = "webhooks",
    params(("source" = String, Path, description = "the source, e.g. grafana"),
           ("integration_id" = Uuid, Path, description = "the integration")),
    request_body(content = Object, description = "the source's own payload"),
    responses((status = 202, description = "`{delivery_id, duplicate, signals}`: durable on JetStream"),
              (status = 400, description = "not what this source sends"),
              (status = 401, description = "missing or wrong secret or signature"),
              (status = 404, description = "no such integration, or deleted, or disabled"),
              (status = 413, description = "body over the limit"),
              (status = 503, description = "JetStream unreachable; retry after Retry-After")),
    security(()))]
async fn receive(
    State(state): State<AppState>,
    Path((source, integration_id)): Path<(String, String)>,
    request: axum::extract::Request,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let started = std::time::Instant::now();
    let mut integration = None;
    let answer = accept(&state, &source, &integration_id, request, &mut integration).await;
    // Labelled by the integration's source once it is known, else by the path's if it names
    // one: a path is the sender's to choose, and must not make series.
    let unknown;
    let series = match &integration {
        Some(entry) => &entry.series,
        None => {
            let source = sources::source(&source).map_or("unknown", |s| s.descriptor().name);
            unknown = state.services.metrics.webhook_series(source, None);
            &unknown
        }
    };
    series.received();
    match &answer {
        Ok(_) => series.accepted(started.elapsed()),
        Err(e) => series.refused(e.code(), started.elapsed()),
    }
    answer
}

/// [`receive`]'s work; `integration` is set once the delivery's integration is known.
async fn accept(
    state: &AppState,
    source: &str,
    integration_id: &str,
    request: axum::extract::Request,
    integration: &mut Option<Arc<Entry>>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    // The request's own headers, not a copy (this is the hottest path). This route skips the
    // API's JSON-error layer: its refusals must be `ApiError`s themselves.
    let (parts, body) = request.into_parts();
    let headers: HeaderMap = parts.headers;
    let limit = state.config.body_limit;
    let body: Bytes = axum::body::to_bytes(body, limit).await.map_err(|e| {
        // `to_bytes` reports the limit as http-body-util's `LengthLimitError` ("length limit
        // exceeded"), somewhere in the error's chain.
        let mut cause: Option<&dyn std::error::Error> = Some(&e);
        let mut too_large = false;
        while let Some(c) = cause {
            too_large |= c.to_string().contains("length limit exceeded");
            cause = c.source();
        }
        if too_large {
            ApiError::PayloadTooLarge { limit }
        } else {
            ApiError::bad_request("invalid_body", format!("the body could not be read: {e}"))
        }
    })?;
    let not_found = || ApiError::NotFound("no such integration".into());
    let id = Uuid::parse_str(integration_id).map_err(|_| not_found())?;
    let mut entry = state.intake.get(state, id).await?.ok_or_else(not_found)?;
    if entry.source.descriptor().name != source || !entry.accepting {
        return Err(not_found());
    }
    *integration = Some(entry.clone());
    let received_at = Utc::now();
    let delivery = Delivery {
        headers: &headers,
        body: &body,
        received_at,
    };
    // Only SNS needs the asynchronous check (its certificate); the others stay off the
    // allocation a boxed future costs on this, the hottest path.
    let mut authenticated = if entry.source.descriptor().auth == Auth::SnsSignature {
        entry
            .source
            .authenticate(&delivery, &entry.secret, &entry.verify)
            .await
    } else {
        entry.source.verify(&delivery, &entry.secret)
    };
    if authenticated.is_err()
        && entry.source.descriptor().auth == Auth::SnsSignature
        && entry.pinned_topic().is_none()
    {
        if let Some(fresh) = state.intake.repinned(state, id, &entry).await? {
            entry = fresh;
            authenticated = entry
                .source
                .authenticate(&delivery, &entry.secret, &entry.verify)
                .await;
        }
    }
    authenticated.map_err(refused)?;
    let parsed = entry.source.parse(&delivery).map_err(refused)?;
    // A source's id goes into a NATS header: anything but short printable text is hashed.
    let delivery_id = match parsed.delivery_id {
        Some(id) if id.len() <= 200 && id.bytes().all(|b| b.is_ascii_graphic()) => id,
        Some(id) => hex::encode(Sha256::digest(id.as_bytes())),
        None => hex::encode(Sha256::digest(&body)),
    };
    // The message continues the request's span: the publish is the request's last step, and a
    // span of its own would cost every traced webhook a second span (BENCHMARKS.md, issue 20).
    let traceparent = trace::current_traceparent();
    let message = InboxDelivery {
        tenant: entry.tenant.clone(),
        source: entry.source.descriptor().name.to_owned(),
        integration_id: id,
        delivery_id: delivery_id.clone(),
        received_at,
        request_headers: entry
            .source
            .descriptor()
            .kept_headers
            .iter()
            .filter_map(|name| {
                let value = headers.get(*name)?.to_str().ok()?;
                Some(((*name).to_owned(), value.to_owned()))
            })
            .collect(),
        body,
        traceparent,
    }
    .to_message();
    let unavailable = |why: String| {
        tracing::warn!(%why, "a webhook delivery could not be made durable");
        ApiError::Unavailable {
            message: "the event log is unavailable; the delivery was not accepted, retry".into(),
            retry_after: 1,
        }
    };
    let ack = async {
        state
            .js
            .publish_with_headers(message.subject, message.headers, message.payload)
            .await
            .map_err(|e| unavailable(e.to_string()))?
            .await
            .map_err(|e| match e.kind() {
                PublishErrorKind::TimedOut => unavailable("no acknowledgement in time".into()),
                _ => unavailable(e.to_string()),
            })
    }
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            delivery_id,
            duplicate: ack.duplicate,
            signals: parsed.signals.len(),
        }),
    ))
}

/// The answer to an accepted delivery.
#[derive(serde::Serialize)]
pub struct Accepted {
    delivery_id: String,
    /// JetStream already held this delivery (a retry by the source): nothing new was stored.
    duplicate: bool,
    /// How many signals (alerts, resolves, changes…) the delivery carries.
    signals: usize,
}
