//! Admitting and starting a run, and the small store helpers the process manager shares.

use aurora_domain::investigation::start_window::Admission;
use aurora_domain::investigation::{
    InvestigationCommand, InvestigationError, InvestigationState, InvestigationStatus,
};
use aurora_domain::{IncidentCommand, IncidentId, IncidentState, TenantId};
use aurora_nats::envelope::Context;
use aurora_nats::StoreError;
use chrono::Utc;
use tracing::Instrument;
use uuid::Uuid;

use super::{evidence, Investigator, RcaError};
use crate::agent::investigation::{self, counted};
use crate::agent::run::{Brief, InvestigateError};

/// What [`Investigator::launch`] runs.
pub(super) struct Launch {
    pub run: Uuid,
    pub incident: IncidentId,
    /// Whether the run started with a model (the agent) or without (the evidence pass).
    pub with_model: bool,
    /// Correlated alerts the run's input already holds.
    pub context_seen: usize,
    /// What is left of its time limit.
    pub time_limit: std::time::Duration,
}

impl Investigator {
    /// Asks the tenant's window to start `run`: it starts here, or waits as `queued`.
    pub(super) async fn admit(&self, tenant: &TenantId, run: Uuid) -> Result<(), RcaError> {
        let Some(state) = self.investigation(tenant, run).await? else {
            return Ok(());
        };
        if !matches!(
            state.status,
            InvestigationStatus::Requested | InvestigationStatus::Queued
        ) {
            return Ok(());
        }
        let buckets = self.buckets().await?;
        match buckets
            .request(tenant, run, self.inner.config.limit)
            .await?
        {
            Admission::Start | Admission::AlreadyStarted => self.start(tenant, run).await,
            Admission::Queued { position } => {
                tracing::info!(%run, position, "investigation queued: the tenant's start limit is reached");
                self.on_run(tenant, run, InvestigationCommand::Queue { at: Utc::now() })
                    .await
            }
        }
    }

    /// Starts `run` if it is still waiting and this process wins its `Start`.
    pub(super) async fn start(&self, tenant: &TenantId, run: Uuid) -> Result<(), RcaError> {
        let model = self
            .inner
            .agent
            .config()
            .llm
            .as_ref()
            .map(|llm| llm.model.clone());
        let started = self
            .inner
            .investigations
            .execute_with_state(
                tenant,
                run,
                InvestigationCommand::Start {
                    session: investigation::session_id(run),
                    model: model.clone(),
                    worker: self.inner.worker.clone(),
                    at: Utc::now(),
                },
                Context::new_root(),
            )
            .await?;
        let state = match started {
            Ok((executed, state)) => {
                let metrics = self.inner.investigations.log().metrics();
                counted::count(metrics, tenant, &executed, &state);
                state
            }
            Err(InvestigationError::AlreadyStarted { .. } | InvestigationError::Ended { .. }) => {
                return Ok(())
            }
            Err(refusal) => {
                tracing::warn!(%run, %refusal, "investigation not started");
                return Ok(());
            }
        };
        let Some(incident) = state.incident else {
            return Ok(());
        };
        self.on_incident(
            tenant,
            incident,
            IncidentCommand::StartRca {
                run,
                at: Utc::now(),
            },
        )
        .await?;
        let launch = Launch {
            run,
            incident,
            with_model: model.is_some(),
            context_seen: state.context.len(),
            time_limit: self.inner.config.time_limit,
        };
        self.launch(tenant, launch).await
    }

    /// Runs a started run: the agent in its background session when it runs with a model, the
    /// evidence pass otherwise. Both are idempotent, so a resumed run is launched the same way.
    pub(super) async fn launch(&self, tenant: &TenantId, launch: Launch) -> Result<(), RcaError> {
        let Launch {
            run,
            incident,
            with_model,
            context_seen,
            time_limit,
        } = launch;
        let Some(incident_state) = self.incident(tenant, incident).await? else {
            return Ok(());
        };
        let gathered =
            evidence::gather(&self.inner.reader, tenant, incident, &incident_state).await;
        if !with_model {
            let investigator = self.clone();
            let tenant = tenant.clone();
            // In the current span: the evidence pass belongs to the incident's trace.
            tokio::spawn(
                async move {
                    if let Err(e) = investigator
                        .without_model(&tenant, run, incident, gathered)
                        .await
                    {
                        tracing::error!(%run, error = %e, "the evidence pass could not be recorded");
                    }
                }
                .in_current_span(),
            );
            return Ok(());
        }
        let brief = Brief {
            run,
            incident,
            title: format!("RCA: {}", incident_state.title),
            text: gathered.brief(&incident_state),
            context_seen,
            time_limit,
        };
        match self
            .inner
            .agent
            .investigate(
                tenant,
                brief,
                self.inner.investigations.clone(),
                self.inner.incidents.clone(),
            )
            .await
        {
            Ok(()) => Ok(()),
            Err(InvestigateError::Store(e)) => Err(e.into()),
            Err(e) => {
                investigation::journal::fail(
                    &self.inner.investigations,
                    &self.inner.incidents,
                    tenant,
                    run,
                    incident,
                    e.to_string(),
                )
                .await?;
                Ok(())
            }
        }
    }

    /// Runs a command on an investigation; a refusal (a repeat, a run that ended) is logged.
    pub(super) async fn on_run(
        &self,
        tenant: &TenantId,
        run: Uuid,
        command: InvestigationCommand,
    ) -> Result<(), RcaError> {
        let done = counted::execute(&self.inner.investigations, tenant, run, command).await?;
        if let Err(refusal) = done {
            tracing::info!(%run, %refusal, "investigation command refused");
        }
        Ok(())
    }

    /// Runs a command on an incident; a refusal is logged.
    pub(super) async fn on_incident(
        &self,
        tenant: &TenantId,
        incident: IncidentId,
        command: IncidentCommand,
    ) -> Result<(), RcaError> {
        let done = self
            .inner
            .incidents
            .execute(tenant, incident.0, command, Context::new_root())
            .await?;
        if let Err(refusal) = done {
            tracing::info!(%incident, %refusal, "incident command refused");
        }
        Ok(())
    }

    pub(super) async fn incident(
        &self,
        tenant: &TenantId,
        incident: IncidentId,
    ) -> Result<Option<IncidentState>, StoreError> {
        Ok(self
            .inner
            .incidents
            .load(tenant, incident.0)
            .await?
            .map(|s| s.into_inner()))
    }

    pub(super) async fn investigation(
        &self,
        tenant: &TenantId,
        run: Uuid,
    ) -> Result<Option<InvestigationState>, StoreError> {
        Ok(self
            .inner
            .investigations
            .load(tenant, run)
            .await?
            .map(|s| s.into_inner()))
    }
}
