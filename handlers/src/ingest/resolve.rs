//! A resolve notification attaches to the newest incident, by `started_at`, holding its
//! fingerprint (SPEC §2) — found on the write side, so a resolve that arrives before the read
//! models caught up with its firing (in the same batch, or behind a slow projector) still
//! attaches.
//!
//! The tenant's decision log names every incident an alert opened or joined, with the alert's
//! fingerprint: folded into a [`FingerprintIndex`] (kept per process, caught up from where it was
//! last read), it says which incidents may hold the fingerprint; loading those incidents says
//! which exist, hold it, and started last. An incident merged away hands its alerts to its
//! target, so the target is looked at too.

use aurora_domain::correlation::{correlator_id, CorrelatorEvent, FingerprintIndex};
use aurora_domain::{IncidentCommand, IncidentId, TenantId};
use aurora_nats::envelope::Context;
use aurora_nats::StoreError;
use chrono::{DateTime, Utc};
use esrs::event::Upcaster;

use super::{Ingest, Resolve};

/// Merges followed from an incident to the one it was merged into, at most (a chain longer than
/// this is not made by people).
const MAX_MERGE_HOPS: usize = 8;

/// What one tenant's decision log says about fingerprints, as far as this process read it.
#[derive(Debug, Default)]
pub(super) struct KnownFingerprints {
    index: FingerprintIndex,
    /// The stream sequence of the last log event folded in (0: none yet).
    read_up_to: u64,
}

impl Ingest {
    /// Attaches a resolve notification to the newest incident holding its fingerprint; one for
    /// no known incident is logged and dropped (the source resolved something Aurora never saw).
    #[tracing::instrument(skip_all, fields(tenant = %tenant, fingerprint = %resolve.fingerprint))]
    pub(super) async fn resolve(
        &self,
        tenant: &TenantId,
        resolve: Resolve,
    ) -> Result<(), StoreError> {
        let Some(incident) = self.newest_holder(tenant, &resolve.fingerprint).await? else {
            tracing::info!("resolve notification for no known incident");
            return Ok(());
        };
        let command = IncidentCommand::AttachResolveNotification {
            fingerprint: resolve.fingerprint,
            source_alert_id: resolve.source_alert_id,
            at: resolve.at,
        };
        if let Err(refusal) = self
            .incidents
            .execute(tenant, incident.0, command, Context::new_root())
            .await?
        {
            tracing::info!(%refusal, %incident, "resolve notification not attached");
        }
        Ok(())
    }

    /// The newest incident, by `started_at`, that holds `fingerprint`.
    async fn newest_holder(
        &self,
        tenant: &TenantId,
        fingerprint: &str,
    ) -> Result<Option<IncidentId>, StoreError> {
        let candidates = self.holders(tenant, fingerprint).await?;
        let mut best: Option<(DateTime<Utc>, IncidentId)> = None;
        for candidate in candidates {
            let mut id = candidate;
            for _ in 0..MAX_MERGE_HOPS {
                let Some(state) = self.incidents.load(tenant, id.0).await? else {
                    break;
                };
                let state = state.into_inner();
                if let Some(target) = state.merged_into {
                    id = target;
                    continue;
                }
                if let (true, Some(started)) =
                    (state.holds_fingerprint(fingerprint), state.started_at)
                {
                    if best.is_none_or(|(newest, _)| started > newest) {
                        best = Some((started, id));
                    }
                }
                break;
            }
        }
        Ok(best.map(|(_, id)| id))
    }

    /// The incidents the decision log says may hold `fingerprint`, after folding in whatever
    /// the log gained since this process last read it.
    async fn holders(
        &self,
        tenant: &TenantId,
        fingerprint: &str,
    ) -> Result<Vec<IncidentId>, StoreError> {
        let subject =
            aurora_nats::subjects::aggregate(tenant, "correlator", correlator_id(tenant.as_str()));
        // One reader per process at a time: a second one would only read the same events again.
        let mut all = self.fingerprints.lock().await;
        let known = all.entry(tenant.clone()).or_default();
        for raw in self
            .log
            .read_subject(&subject, known.read_up_to + 1)
            .await?
        {
            let sequence = raw.stream_sequence;
            match CorrelatorEvent::upcast(raw.data, raw.version) {
                Ok(CorrelatorEvent::Decided { decisions, .. }) => {
                    for decision in &decisions {
                        known.index.record(tenant.as_str(), decision);
                    }
                }
                Ok(CorrelatorEvent::SettingsChanged { .. }) => {}
                Err(e) => {
                    return Err(StoreError::unavailable(format!(
                        "the decision log does not load at {sequence}: {e}"
                    )))
                }
            }
            known.read_up_to = sequence;
        }
        Ok(known.index.holders(fingerprint).to_vec())
    }
}
