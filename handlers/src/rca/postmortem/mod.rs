//! Postmortems (SPEC §3), written by the process manager: when an incident resolves (if
//! [`RcaConfig::postmortem_on_resolve`](super::RcaConfig)) and when a person asks again
//! (`IncidentEvent::PostmortemRequested`, which the rca consumer already follows — the request
//! is on the incident's timeline, and both ways in share this one path).
//!
//! Written from the incident's own events and its latest investigation: by the configured model
//! in one completion over the [template](aurora_domain::postmortem::template)'s record, else (no
//! model, or the model failed) by the template itself, the version saying which and why.
//! Idempotent twice over: a postmortem that exists is not generated again on a redelivered
//! resolve, a request already served adds no version — checked before the model is called, and
//! decided again by the `Postmortem` aggregate when the version is stored.

mod pending;
mod prompt;

use aurora_domain::incident::IncidentEvent;
use aurora_domain::postmortem::template::{self, Facts};
use aurora_domain::postmortem::{postmortem_id, Origin, PostmortemCommand, PostmortemState};
use aurora_domain::{IncidentId, TenantId};
use aurora_nats::envelope::Context;
use aurora_nats::subjects;
use chrono::{TimeDelta, Utc};
use esrs::event::Upcaster;

pub(super) use pending::{Pending, Request, BUCKET};

use super::{Investigator, RcaError};

impl Investigator {
    /// A postmortem is owed for `incident` (`request`: a person's, else the resolve): noted as
    /// pending, then written in the background unless it already is.
    pub(super) async fn owe_postmortem(
        &self,
        tenant: &TenantId,
        incident: IncidentId,
        request: Option<Request>,
    ) -> Result<(), RcaError> {
        let pending = Pending {
            tenant: tenant.clone(),
            incident,
            request,
            since: Utc::now(),
        };
        if served(&self.postmortem(tenant, incident).await?, &pending) {
            return Ok(());
        }
        self.buckets().await?.owe_postmortem(&pending).await?;
        self.spawn_writing(pending);
        Ok(())
    }

    /// Writes, again, the owed postmortems older than `stale` that no task of this process is
    /// writing (their process died); how many it took up.
    pub(super) async fn retry_postmortems(&self) -> Result<usize, RcaError> {
        let stale = TimeDelta::from_std(self.inner.config.stale).unwrap_or(TimeDelta::minutes(5));
        let now = Utc::now();
        let mut taken = 0;
        for pending in self.buckets().await?.owed_postmortems().await? {
            if now - pending.since > stale && self.spawn_writing(pending) {
                taken += 1;
            }
        }
        Ok(taken)
    }

    /// Starts writing `pending` unless a task of this process is at it; whether it started.
    fn spawn_writing(&self, pending: Pending) -> bool {
        let key = pending.key();
        let fresh = self
            .inner
            .writing
            .lock()
            .map(|mut writing| writing.insert(key.clone()))
            .unwrap_or(false);
        if !fresh {
            return false;
        }
        let investigator = self.clone();
        tokio::spawn(async move {
            if let Err(e) = investigator.write_postmortem(&pending).await {
                tracing::warn!(incident = %pending.incident, error = %e, "the postmortem was not written; a later tick tries again");
            }
            if let Ok(mut writing) = investigator.inner.writing.lock() {
                writing.remove(&key);
            }
        });
        true
    }

    #[tracing::instrument(skip_all, fields(tenant = %pending.tenant, incident = %pending.incident))]
    async fn write_postmortem(&self, pending: &Pending) -> Result<(), RcaError> {
        let (tenant, incident) = (&pending.tenant, pending.incident);
        if !served(&self.postmortem(tenant, incident).await?, pending) {
            let events = self.incident_events(tenant, incident).await?;
            let state = aurora_domain::incident::fold(events.iter().cloned());
            let investigation = match state.rca_run {
                Some(run) => self.investigation(tenant, run).await?,
                None => None,
            };
            let facts = Facts {
                incident: &state,
                events: &events,
                investigation: investigation.as_ref(),
            };
            let (markdown, origin) = self.compose(incident, &facts).await;
            let at = Utc::now();
            let command = match &pending.request {
                None => PostmortemCommand::Generate {
                    incident,
                    markdown,
                    origin,
                    at,
                },
                Some(request) => PostmortemCommand::Regenerate {
                    incident,
                    request: request.id,
                    markdown,
                    origin,
                    by: request.by.clone(),
                    at,
                },
            };
            let stored = self
                .inner
                .postmortems
                .execute(
                    tenant,
                    postmortem_id(incident),
                    command,
                    Context::new_root(),
                )
                .await?;
            if let Err(refusal) = stored {
                // Only a text the aggregate cannot hold; the template's never is one.
                tracing::error!(%incident, %refusal, "the postmortem was refused");
            }
        }
        self.buckets().await?.postmortem_written(pending).await
    }

    /// The postmortem's text and who wrote it: the model over the template's record, or the
    /// template when there is no model or the model gave nothing usable.
    async fn compose(&self, incident: IncidentId, facts: &Facts<'_>) -> (String, Origin) {
        let record = template::render(facts);
        let Some(llm) = &self.inner.llm else {
            let reason = "no model is configured (set LLM_BASE_URL and LLM_MODEL)".to_owned();
            return (record, Origin::Template { reason });
        };
        let config = self.inner.agent.config();
        let messages = prompt::messages(incident, &record);
        let reason = match llm
            .complete(&llm.model, &messages, config.llm_idle_timeout)
            .await
        {
            Ok(turn) if !turn.text.trim().is_empty() => {
                let (input_tokens, output_tokens) = turn.usage.map_or_else(
                    || {
                        let sent = serde_json::Value::Array(messages.clone()).to_string();
                        (
                            aurora_domain::chat::estimate_tokens(&sent) as u64,
                            aurora_domain::chat::estimate_tokens(&turn.text) as u64,
                        )
                    },
                    |u| (u.prompt_tokens, u.completion_tokens),
                );
                let cost = config.prices.cost(&llm.model, input_tokens, output_tokens);
                // (Not labelled by tenant: the postmortem's writer is told only the incident.)
                self.inner.postmortems.log().metrics().llm_call(
                    &llm.model,
                    None,
                    input_tokens,
                    output_tokens,
                    u64::try_from(cost.micros).unwrap_or(0),
                );
                let markdown = template::fit(format!("{}\n", turn.text.trim()));
                return (
                    markdown,
                    Origin::Model {
                        model: llm.model.clone(),
                        input_tokens,
                        output_tokens,
                        cost_micros: cost.micros,
                    },
                );
            }
            Ok(_) => "the model answered with no text".to_owned(),
            Err(e) => format!("the model failed ({e})"),
        };
        tracing::warn!(%incident, %reason, "the postmortem is written by the template");
        (record, Origin::Template { reason })
    }

    async fn postmortem(
        &self,
        tenant: &TenantId,
        incident: IncidentId,
    ) -> Result<PostmortemState, RcaError> {
        Ok(self
            .inner
            .postmortems
            .load(tenant, postmortem_id(incident))
            .await?
            .map(|s| s.into_inner())
            .unwrap_or_default())
    }

    /// The incident's events, in the order they were stored.
    async fn incident_events(
        &self,
        tenant: &TenantId,
        incident: IncidentId,
    ) -> Result<Vec<IncidentEvent>, RcaError> {
        let subject = subjects::aggregate(tenant, "incident", incident.0);
        let raw = self.inner.incidents.log().read_subject(&subject, 1).await?;
        raw.into_iter()
            .map(|event| {
                IncidentEvent::upcast(event.data, event.version).map_err(|source| {
                    RcaError::Undecodable {
                        subject: subject.clone(),
                        stream_sequence: event.stream_sequence,
                        source,
                    }
                })
            })
            .collect()
    }
}

/// Whether `state` already holds what `pending` asks for.
fn served(state: &PostmortemState, pending: &Pending) -> bool {
    match &pending.request {
        None => state.incident.is_some(),
        Some(request) => state.requests.contains(&request.id),
    }
}
