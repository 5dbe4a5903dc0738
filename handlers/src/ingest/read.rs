//! Reading a stored delivery: the `INBOX` message → its tenant, integration and signals, parsed
//! again by its source; and each firing alert placed with what its integration adds.

use aurora_domain::correlation::PendingAlert;
use aurora_domain::intake::{FiringAlert, Signal};
use aurora_domain::integration::IntegrationState;
use aurora_domain::TenantId;
use aurora_nats::consumer::Delivery as Message;
use aurora_nats::inbox::InboxDelivery;
use aurora_nats::StoreError;
use chrono::{DateTime, Utc};

use super::Ingest;
use crate::sources::{self, Delivery};

/// A delivery read: whose, what it says, and through which integration.
pub(crate) struct ReadDelivery {
    pub(crate) tenant: TenantId,
    pub(crate) signals: Vec<Signal>,
    pub(crate) integration: IntegrationState,
    /// An SNS subscription to confirm, when the delivery asks for it.
    pub(crate) confirmation: Option<sources::Confirmation>,
    /// When the gateway received it (else when JetStream stored it).
    pub(crate) received_at: DateTime<Utc>,
}

/// One alert of one delivery, with what its integration adds.
pub(crate) struct Placed {
    pub(crate) pending: PendingAlert,
    pub(crate) alert: FiringAlert,
    pub(crate) source: String,
    pub(crate) environment: String,
    /// The delivery's trace context (only there when spans are exported).
    pub(crate) traceparent: Option<String>,
}

const MAX_TITLE_CHARS: usize = 300;
const MAX_SERVICE_CHARS: usize = 120;

impl Ingest {
    /// The tenant, signals and integration of a delivery; `None` (logged) for a delivery that
    /// cannot be read — the gateway checked it, so this is an integration deleted since or a
    /// source removed from Aurora.
    #[tracing::instrument(skip_all, fields(subject = %message.subject, sequence = message.stream_sequence, tenant))]
    pub(crate) async fn read(&self, message: &Message) -> Result<Option<ReadDelivery>, StoreError> {
        let skip = |why: String| {
            tracing::warn!(%why, "delivery skipped");
            Ok(None)
        };
        let delivery = match InboxDelivery::from_message(
            &message.subject,
            message.headers.as_ref(),
            message.payload.clone(),
            message.published,
        ) {
            Ok(delivery) => delivery,
            Err(e) => return skip(e.to_string()),
        };
        tracing::Span::current().record("tenant", delivery.tenant.as_str());
        let Some(source) = sources::source(&delivery.source) else {
            return skip(format!("unknown source {:?}", delivery.source));
        };
        let Some(integration) = self
            .integrations
            .load(&delivery.tenant, delivery.integration_id)
            .await?
        else {
            return skip(format!(
                "integration {} does not exist",
                delivery.integration_id
            ));
        };
        let integration = integration.into_inner();
        let headers = kept_headers(source, &delivery);
        let parsing = Delivery {
            headers: &headers,
            body: &delivery.body,
            received_at: delivery.received_at,
        };
        let confirmation = source.confirmation(&parsing);
        match source.parse(&parsing) {
            Ok(parsed) => Ok(Some(ReadDelivery {
                tenant: delivery.tenant,
                signals: parsed.signals,
                integration,
                confirmation,
                received_at: delivery.received_at,
            })),
            Err(e) => skip(format!("does not parse: {e}")),
        }
    }
}

/// A firing alert of a delivery, with what its integration adds (default service and
/// environment) and its position in `INBOX`.
pub(crate) fn placed(
    message: &Message,
    received_at: DateTime<Utc>,
    index: usize,
    alert: FiringAlert,
    integration: &IntegrationState,
) -> Placed {
    let settings = &integration.settings;
    let service = alert
        .service
        .clone()
        .or_else(|| settings.default_service.clone())
        .unwrap_or_else(|| aurora_domain::intake::UNKNOWN_SERVICE.into());
    let environment = alert
        .environment
        .clone()
        .or_else(|| settings.default_environment.clone())
        .unwrap_or_else(|| aurora_domain::incident::DEFAULT_ENVIRONMENT.into());
    // Bounded, so a decision event stays small whatever a payload holds; never blank, so an
    // incident can always be opened for it.
    let title = match bounded(&alert.title, MAX_TITLE_CHARS) {
        t if t.trim().is_empty() => format!("Untitled alert from {}", integration.source),
        t => t,
    };
    let mut alert = alert;
    alert.title = title.clone();
    Placed {
        pending: PendingAlert {
            inbox_sequence: message.stream_sequence,
            index: index as u32,
            alert_id: format!("{}:{}", integration.source, alert.alert_id),
            fingerprint: alert.fingerprint.clone(),
            title,
            service: bounded(&service, MAX_SERVICE_CHARS),
            received_at,
            integration_id: integration.id,
            placement: alert.placement.clone(),
        },
        source: integration.source.clone(),
        environment,
        alert,
        traceparent: message.traceparent().map(str::to_owned),
    }
}

/// `text` cut to at most `max` characters.
fn bounded(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => text[..cut].to_owned(),
        None => text.to_owned(),
    }
}

/// The request headers `source` needs, as stored with the delivery.
fn kept_headers(source: &dyn sources::Source, delivery: &InboxDelivery) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    for name in source.descriptor().kept_headers {
        if let Some(value) = delivery.request_header(name) {
            if let (Ok(n), Ok(v)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_str(value),
            ) {
                headers.insert(n, v);
            }
        }
    }
    headers
}
