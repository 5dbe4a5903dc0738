//! Which new incidents are analysed: the automatic-analysis setting (`rca_on_new_incidents`) of
//! the integration whose alert opened the incident, its source's default when it has made none.
//!
//! The question is asked once, when the incident opens, so the opening alert's integration
//! decides: alerts correlated later, through whichever integrations, change nothing.

use aurora_domain::incident::Opening;
use aurora_domain::{Integration, TenantId};
use aurora_nats::AggregateStore;
use aurora_projections::queries;
use uuid::Uuid;

use super::{Investigator, RcaError};

impl Investigator {
    /// Whether an incident opened by `opening` asks for an RCA.
    pub(super) async fn rca_wanted(
        &self,
        tenant: &TenantId,
        opening: &Opening,
    ) -> Result<bool, RcaError> {
        let default = source_default(&opening.source);
        match opening.integration_id {
            Some(id) => Ok(integration_setting(&self.inner.integrations, tenant, id)
                .await?
                .unwrap_or(default)),
            // An older event does not say which integration its alert came through: the rule
            // it was recorded under decides, any enabled integration of the source asking.
            None => Ok(self.any_of_the_source_asks(tenant, &opening.source).await),
        }
    }

    /// The rule before incidents named their integration: any enabled integration of `source`
    /// asks (each by its setting, else the source's default); none: the source's default.
    async fn any_of_the_source_asks(&self, tenant: &TenantId, source: &str) -> bool {
        let default = source_default(source);
        let rows = match queries::scoped(&self.inner.reader.pool, tenant.as_str()).await {
            Ok(mut tx) => queries::integrations(&mut tx, tenant.as_str()).await,
            Err(e) => Err(e),
        };
        match rows {
            Ok(rows) => {
                let mut settings = rows
                    .iter()
                    .filter(|r| r.source == source && r.enabled)
                    .map(|r| r.settings["rca_on_new_incidents"].as_bool())
                    .peekable();
                if settings.peek().is_none() {
                    default
                } else {
                    settings.any(|s| s.unwrap_or(default))
                }
            }
            Err(e) => {
                tracing::warn!(%tenant, error = %e, "integration settings unreadable; the source's RCA default applies");
                default
            }
        }
    }
}

/// The integration's own setting, read on the write side so a change made just before the alert
/// counts; `None` when it made none (or it never existed). An integration disabled or deleted
/// since still decides: its alert came in while it took them.
async fn integration_setting(
    integrations: &AggregateStore<Integration>,
    tenant: &TenantId,
    id: Uuid,
) -> Result<Option<bool>, RcaError> {
    let state = integrations.load(tenant, id).await?;
    Ok(state.and_then(|s| s.into_inner().settings.rca_on_new_incidents))
}

/// Whether `source` analyses new incidents when its integration says nothing.
fn source_default(source: &str) -> bool {
    crate::sources::source(source).is_some_and(|s| s.descriptor().rca_by_default)
}
