//! Applying what was decided: each alert's decision becomes a command on its incident (open, or
//! attach the correlated alert), a subscription confirmation pins its topic on the integration,
//! and a reported change is recorded. Every command is idempotent, so a redelivered batch
//! changes nothing.

use aurora_domain::change::{change_aggregate_id, ChangeCommand};
use aurora_domain::correlation::{AlertDecision, Decision};
use aurora_domain::incident::{Alert, IncidentError, Opening};
use aurora_domain::integration::IntegrationState;
use aurora_domain::{IncidentCommand, IncidentId, IntegrationCommand, TenantId};
use aurora_nats::consumer::Delivery as Message;
use aurora_nats::envelope::Context;
use aurora_nats::inbox::InboxReference;
use aurora_nats::StoreError;
use aurora_telemetry::trace;
use chrono::Utc;
use tracing::Instrument;

use super::{Ingest, Placed, ReportedChange};
use crate::sources;

impl Ingest {
    /// A delivery asking to confirm a subscription (SNS `SubscriptionConfirmation`) is confirmed
    /// by one GET of its URL (on the trusted origins only), then its topic is pinned on the
    /// integration. Redelivered, it changes nothing: a second GET is harmless and pinning the
    /// same topic again is a no-op. A topic other than the pinned one is logged and skipped.
    pub(super) async fn confirm_subscription(
        &self,
        message: &Message,
        tenant: &TenantId,
        confirmation: sources::Confirmation,
        integration: &IntegrationState,
    ) -> Result<(), StoreError> {
        let (Some(id), false) = (integration.id, integration.deleted) else {
            tracing::info!(topic = %confirmation.topic, "subscription confirmation for a deleted integration: skipped");
            return Ok(());
        };
        if let Some(pinned) = integration
            .pinned_topic
            .as_ref()
            .filter(|p| **p != confirmation.topic)
        {
            tracing::warn!(integration = %id, %pinned, offered = %confirmation.topic, "subscription confirmation for another topic than the pinned one: not confirmed");
            return Ok(());
        }
        static AWS_ONLY: std::sync::OnceLock<sources::VerifyContext> = std::sync::OnceLock::new();
        let ctx = self.sns.as_ref().unwrap_or_else(|| {
            AWS_ONLY.get_or_init(|| sources::VerifyContext::new(sources::SnsOrigins::aws_only()))
        });
        let mut confirmed = ctx.confirm_subscription(&confirmation.url).await;
        if confirmed.is_err() {
            // Once more after a moment (SNS does not ask again by itself).
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            confirmed = ctx.confirm_subscription(&confirmation.url).await;
        }
        if let Err(why) = confirmed {
            tracing::warn!(integration = %id, topic = %confirmation.topic, %why, "the subscription could not be confirmed; request the confirmation again in SNS");
            return Ok(());
        }
        let command = IntegrationCommand::PinTopic {
            topic: confirmation.topic.clone(),
            at: Utc::now(),
        };
        let context = Context::new_root().caused_by(
            InboxReference {
                sequence: message.stream_sequence,
                index: None,
            }
            .causation(),
        );
        match self
            .integrations
            .execute(tenant, id, command, context)
            .await?
        {
            Ok(_) => {
                tracing::info!(integration = %id, topic = %confirmation.topic, "SNS subscription confirmed; topic pinned")
            }
            Err(refusal) => {
                tracing::warn!(integration = %id, topic = %confirmation.topic, %refusal, "SNS subscription confirmed but its topic not pinned")
            }
        }
        Ok(())
    }

    /// Carries out one alert's decision on its incident, in the trace of the alert's delivery
    /// (an `apply` span, when spans are exported).
    pub(super) async fn apply(
        &self,
        tenant: &TenantId,
        id: IncidentId,
        decision: &AlertDecision,
        placed: &Placed,
    ) -> Result<(), StoreError> {
        let span = trace::item_span(
            placed.traceparent.as_deref(),
            || tracing::info_span!("apply", incident = %id),
        );
        self.apply_decision(tenant, id, decision, placed)
            .instrument(span)
            .await
    }

    async fn apply_decision(
        &self,
        tenant: &TenantId,
        id: IncidentId,
        decision: &AlertDecision,
        placed: &Placed,
    ) -> Result<(), StoreError> {
        let context = Context::new_root().caused_by(
            InboxReference {
                sequence: placed.pending.inbox_sequence,
                index: Some(placed.pending.index),
            }
            .causation(),
        );
        let a = &placed.alert;
        let command = match &decision.decision {
            Decision::Correlate { correlation, .. } => IncidentCommand::AttachAlert {
                alert: Alert {
                    alert_id: placed.pending.alert_id.clone(),
                    fingerprint: a.fingerprint.clone(),
                    title: a.title.clone(),
                    service: placed.pending.service.clone(),
                    severity: a.severity,
                    source: placed.source.clone(),
                    received_at: placed.pending.received_at,
                },
                correlation: correlation.clone(),
                at: placed.pending.received_at,
            },
            Decision::Open { .. } => IncidentCommand::Open(Opening {
                id,
                title: a.title.clone(),
                service: placed.pending.service.clone(),
                environment: placed.environment.clone(),
                severity: a.severity,
                source: placed.source.clone(),
                source_alert_id: placed.pending.alert_id.clone(),
                fingerprint: a.fingerprint.clone(),
                alert_fired_at: a.fired_at,
                at: placed.pending.received_at,
                why: Some(decision.decision.explain()),
                integration_id: placed.pending.integration_id,
            }),
        };
        match self
            .incidents
            .execute(tenant, id.0, command, context)
            .await?
        {
            Ok(_) | Err(IncidentError::AlreadyOpened { .. }) => Ok(()),
            // The alert that opens it was decided first, but its handler has not opened it yet
            // (or crashed, and its delivery will come back): try again later, never a second
            // incident.
            Err(IncidentError::NotOpened) => Err(StoreError::unavailable(format!(
                "incident {id} is decided but not opened yet"
            ))),
            Err(refusal) => {
                // The incident changed between the decision and now (resolved, merged, full):
                // the alert still must not be lost, so it opens its own incident.
                tracing::info!(%refusal, incident = %id, "correlated alert refused; opening its own incident");
                let own = decision.alert.new_incident_id(tenant.as_str());
                let command = IncidentCommand::Open(Opening {
                    id: own,
                    title: a.title.clone(),
                    service: placed.pending.service.clone(),
                    environment: placed.environment.clone(),
                    severity: a.severity,
                    source: placed.source.clone(),
                    source_alert_id: placed.pending.alert_id.clone(),
                    fingerprint: a.fingerprint.clone(),
                    alert_fired_at: a.fired_at,
                    at: placed.pending.received_at,
                    why: Some(format!(
                        "the incident it was correlated with no longer took alerts ({refusal})"
                    )),
                    integration_id: placed.pending.integration_id,
                });
                match self
                    .incidents
                    .execute(tenant, own.0, command, Context::new_root())
                    .await?
                {
                    Ok(_) | Err(IncidentError::AlreadyOpened { .. }) => Ok(()),
                    Err(refusal) => {
                        tracing::warn!(%refusal, "alert could not open an incident");
                        Ok(())
                    }
                }
            }
        }
    }

    /// Records a change a delivery reported (idempotent on its source and id).
    pub(super) async fn record_change(
        &self,
        tenant: &TenantId,
        reported: ReportedChange,
    ) -> Result<(), StoreError> {
        let ReportedChange {
            change,
            source,
            integration_id,
        } = reported;
        let id = change_aggregate_id(tenant.as_str(), &source, &change.change_id);
        let command = ChangeCommand::Record {
            change,
            source,
            integration_id,
            at: Utc::now(),
        };
        if let Err(refusal) = self
            .changes
            .execute(tenant, id, command, Context::new_root())
            .await?
        {
            tracing::info!(%refusal, "change not recorded");
        }
        Ok(())
    }
}
