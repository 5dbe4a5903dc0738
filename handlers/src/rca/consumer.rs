//! The `rca` consumer of `EVENTS`: what each incident event means for its investigations.
//! Every reaction is idempotent (run ids by incident and episode, commands that repeat
//! nothing), so a redelivery, a second consumer or a restart starts nothing twice.

use async_nats::jetstream::{self, consumer::PullConsumer};
use aurora_domain::investigation::{InvestigationCommand, Trigger};
use aurora_domain::{ChatCommand, IncidentCommand, IncidentEvent, IncidentId, TenantId};
use aurora_nats::consumer::{self, Delivery, HandlerError};
use aurora_nats::envelope::{Context, RawEvent};
use aurora_nats::subjects::{self, EVENTS_STREAM};
use aurora_telemetry::trace;
use chrono::Utc;
use esrs::event::Upcaster;
use tokio::sync::watch;
use tracing::Instrument;
use uuid::Uuid;

use super::admission::LiveRun;
use super::postmortem::Request;
use super::{Investigator, RcaError};
use crate::agent::investigation;

pub(super) const CONSUMER: &str = "rca";
const BATCH: usize = 64;

impl Investigator {
    pub(super) async fn consume(&self, shutdown: watch::Receiver<bool>) -> Result<(), RcaError> {
        let js = jetstream::new(self.inner.incidents.log().client().clone());
        let stream = js
            .get_stream(EVENTS_STREAM)
            .await
            .map_err(|e| RcaError::Consumer(e.to_string()))?;
        let consumer: PullConsumer = stream
            .get_consumer(CONSUMER)
            .await
            .map_err(|e| RcaError::Consumer(e.to_string()))?;
        consumer::run(
            consumer,
            BATCH,
            self.inner.incidents.log().metrics().clone(),
            shutdown,
            |deliveries| {
                let investigator = self.clone();
                async move {
                    for delivery in deliveries {
                        // In the trace of the event's own incident (the batch's span links it).
                        let span = trace::item_span(
                            delivery.traceparent(),
                            || tracing::info_span!("incident_event", subject = %delivery.subject),
                        );
                        investigator.handle(&delivery).instrument(span).await?;
                    }
                    Ok(())
                }
            },
        )
        .await?;
        Ok(())
    }

    async fn handle(&self, delivery: &Delivery) -> Result<(), HandlerError> {
        let poison = |reason: String| HandlerError::Poison {
            stream_sequence: delivery.stream_sequence,
            reason,
        };
        let raw = RawEvent::decode(
            &delivery.subject,
            delivery.stream_sequence,
            delivery.headers.as_ref(),
            &delivery.payload,
            delivery.published,
        )
        .map_err(|e| poison(e.to_string()))?;
        let Some(subject) = subjects::parse_event_subject(&delivery.subject) else {
            return Err(poison(format!(
                "{} is not an event subject",
                delivery.subject
            )));
        };
        let event = IncidentEvent::upcast(raw.data, raw.version)
            .map_err(|e| poison(format!("not an incident event: {e}")))?;
        let incident = IncidentId(subject.id);
        self.react(&subject.tenant, incident, event)
            .await
            .map_err(|e| HandlerError::Transient(e.to_string()))
    }

    #[tracing::instrument(skip(self, event), fields(event = %aurora_domain::DomainEvent::event_type(&event)))]
    async fn react(
        &self,
        tenant: &TenantId,
        incident: IncidentId,
        event: IncidentEvent,
    ) -> Result<(), RcaError> {
        match event {
            IncidentEvent::Opened(opening) => {
                if self.inner.config.automatic && self.rca_wanted(tenant, &opening).await? {
                    let run = aurora_domain::investigation::run_id(incident, 1);
                    self.on_incident(
                        tenant,
                        incident,
                        IncidentCommand::RequestRca {
                            run,
                            by: None,
                            at: Utc::now(),
                        },
                    )
                    .await?;
                }
                Ok(())
            }
            IncidentEvent::RcaRequested {
                run,
                episode,
                by,
                at,
            } => {
                let buckets = self.buckets().await?;
                buckets
                    .live(&LiveRun {
                        tenant: tenant.clone(),
                        run,
                        incident: incident.0,
                        since: at,
                    })
                    .await?;
                let trigger = match by {
                    Some(by) => Trigger::Manual { by },
                    None => Trigger::Opened,
                };
                self.on_run(
                    tenant,
                    run,
                    InvestigationCommand::Request {
                        incident,
                        episode,
                        trigger,
                        at,
                    },
                )
                .await?;
                self.admit(tenant, run).await
            }
            IncidentEvent::RcaCancelled { run, by, .. } => {
                self.cancel(tenant, run, &by, format!("cancelled by {by}"))
                    .await
            }
            IncidentEvent::MergedInto { target, by, .. } => {
                let Some(state) = self.incident(tenant, incident).await? else {
                    return Ok(());
                };
                let Some(run) = state.rca_run else {
                    return Ok(());
                };
                let cancelled = self
                    .cancel(
                        tenant,
                        run,
                        &by,
                        format!("the incident was merged into {target}"),
                    )
                    .await;
                self.carry_over(tenant, run, target).await?;
                cancelled
            }
            IncidentEvent::Resolved { .. } if self.inner.config.postmortem_on_resolve => {
                self.owe_postmortem(tenant, incident, None).await
            }
            IncidentEvent::PostmortemRequested { request, by, .. } => {
                self.owe_postmortem(tenant, incident, Some(Request { id: request, by }))
                    .await
            }
            IncidentEvent::AlertCorrelated { alert, at, .. } => {
                let Some(state) = self.incident(tenant, incident).await? else {
                    return Ok(());
                };
                match (state.rca_under_way, state.rca_run) {
                    (true, Some(run)) => {
                        self.on_run(tenant, run, InvestigationCommand::AddContext { alert, at })
                            .await
                    }
                    // After the run, the alert joins its session, so a later look at it (or a
                    // chat that continues it) has it.
                    (false, Some(run)) => self.note_in_session(tenant, run, &alert, at).await,
                    (_, None) => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    /// Appends a note of `alert` to the background session of `run` (once per alert).
    async fn note_in_session(
        &self,
        tenant: &TenantId,
        run: Uuid,
        alert: &aurora_domain::Alert,
        at: chrono::DateTime<Utc>,
    ) -> Result<(), RcaError> {
        let text = format!(
            "An alert was correlated with this incident after the investigation ended: {}",
            serde_json::to_string(alert).unwrap_or_default()
        );
        let noted = self
            .inner
            .agent
            .sessions()
            .store()
            .execute(
                tenant,
                investigation::session_id(run),
                ChatCommand::RecordAssistantMessage {
                    message_id: Uuid::new_v5(&run, alert.alert_id.as_bytes()),
                    text,
                    at,
                },
                Context::new_root(),
            )
            .await?;
        if let Err(refusal) = noted {
            tracing::debug!(%run, %refusal, "no session to note the late alert in");
        }
        Ok(())
    }

    /// Cancels `run` (if it has not ended): the investigation, its place in the queue, and the
    /// agent working on it (through its session, which any process's run follows).
    async fn cancel(
        &self,
        tenant: &TenantId,
        run: Uuid,
        by: &str,
        reason: String,
    ) -> Result<(), RcaError> {
        self.on_run(
            tenant,
            run,
            InvestigationCommand::Cancel {
                by: by.to_owned(),
                reason,
                at: Utc::now(),
            },
        )
        .await?;
        let buckets = self.buckets().await?;
        buckets.withdraw(tenant, run).await?;
        let session = investigation::session_id(run);
        let cancelled = self
            .inner
            .agent
            .sessions()
            .store()
            .execute(
                tenant,
                session,
                ChatCommand::Cancel {
                    by: investigation::OWNER.to_owned(),
                    at: Utc::now(),
                },
                Context::new_root(),
            )
            .await?;
        if let Err(refusal) = cancelled {
            tracing::debug!(%run, %refusal, "no agent run to cancel");
        }
        buckets.ended(tenant, run).await
    }

    /// Carries the thoughts and findings of `run` into the investigation under way on `target`.
    async fn carry_over(
        &self,
        tenant: &TenantId,
        run: Uuid,
        target: IncidentId,
    ) -> Result<(), RcaError> {
        let Some(source) = self.investigation(tenant, run).await? else {
            return Ok(());
        };
        if source.thoughts.is_empty() && source.findings.is_empty() {
            return Ok(());
        }
        let Some(target_state) = self.incident(tenant, target).await? else {
            return Ok(());
        };
        let (true, Some(target_run)) = (target_state.rca_under_way, target_state.rca_run) else {
            return Ok(());
        };
        let running = self
            .investigation(tenant, target_run)
            .await?
            .is_some_and(|s| !s.status.has_ended());
        if running {
            self.on_run(
                tenant,
                target_run,
                InvestigationCommand::CarryOver {
                    from: run,
                    thoughts: source.thoughts,
                    findings: source.findings.into_iter().map(|f| f.text).collect(),
                    at: Utc::now(),
                },
            )
            .await?;
        }
        Ok(())
    }
}
