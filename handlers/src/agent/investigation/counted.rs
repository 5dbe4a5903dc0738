//! Investigations counted for `/metrics` as they change status: `aurora_investigations_total`
//! by the status reached, and how long a run lasted once it ended. Every command that may move
//! a run goes through [`execute`] (or [`count`], for a caller that needs the state anyway).

use aurora_domain::investigation::{
    Investigation, InvestigationCommand, InvestigationError, InvestigationState,
};
use aurora_domain::TenantId;
use aurora_nats::{AggregateStore, Context, Executed, StoreError};
use aurora_telemetry::Metrics;
use uuid::Uuid;

/// Runs `command` on investigation `run`, counting the status it moved the run to.
pub async fn execute(
    store: &AggregateStore<Investigation>,
    tenant: &TenantId,
    run: Uuid,
    command: InvestigationCommand,
) -> Result<Result<Executed, InvestigationError>, StoreError> {
    if !command.changes_status() {
        return store
            .execute(tenant, run, command, Context::new_root())
            .await;
    }
    let done = store
        .execute_with_state(tenant, run, command, Context::new_root())
        .await?;
    Ok(done.map(|(executed, state)| {
        count(store.log().metrics(), tenant, &executed, &state);
        executed
    }))
}

/// Counts the status a status-changing command left the run in, if it changed anything.
pub fn count(
    metrics: &Metrics,
    tenant: &TenantId,
    executed: &Executed,
    state: &InvestigationState,
) {
    if executed.events == 0 {
        return;
    }
    let took = match (state.status.has_ended(), state.started_at, state.ended_at) {
        (true, Some(started), Some(ended)) => (ended - started).to_std().ok(),
        _ => None,
    };
    metrics.investigation(state.status.as_str(), Some(tenant.as_str()), took);
}
