//! Postmortems waiting to be written: one key per wanted version in the `postmortems_pending`
//! bucket (file storage), put before the incident event that asked for it is acknowledged and
//! purged once the version is stored. Writing takes a model call of up to minutes, which the rca
//! consumer does not wait for; a process that dies meanwhile leaves its key behind, and the next
//! tick of any process writes it (the postmortem's own events make a second write a no-op).

use async_nats::jetstream::kv;
use aurora_domain::{IncidentId, TenantId};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::super::admission::{unavailable, Buckets};
use super::super::RcaError;

pub(in crate::rca) const BUCKET: &str = "postmortems_pending";

/// A version someone is owed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(in crate::rca) struct Pending {
    pub tenant: TenantId,
    pub incident: IncidentId,
    /// `None`: the incident resolved; else a person's request.
    pub request: Option<Request>,
    pub since: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(in crate::rca) struct Request {
    pub id: Uuid,
    pub by: String,
}

impl Pending {
    pub fn key(&self) -> String {
        let what = self
            .request
            .as_ref()
            .map_or_else(|| "resolved".to_owned(), |r| r.id.to_string());
        format!("{}.{}.{what}", self.tenant, self.incident)
    }
}

impl Buckets {
    pub(in crate::rca) async fn owe_postmortem(&self, pending: &Pending) -> Result<(), RcaError> {
        let value = serde_json::to_vec(pending).unwrap_or_default();
        self.postmortems
            .put(pending.key(), value.into())
            .await
            .map_err(unavailable(BUCKET))?;
        Ok(())
    }

    pub(in crate::rca) async fn postmortem_written(
        &self,
        pending: &Pending,
    ) -> Result<(), RcaError> {
        self.postmortems
            .purge(pending.key())
            .await
            .map_err(unavailable(BUCKET))?;
        Ok(())
    }

    pub(in crate::rca) async fn owed_postmortems(&self) -> Result<Vec<Pending>, RcaError> {
        let mut owed = Vec::new();
        let mut keys = self.postmortems.keys().await.map_err(unavailable(BUCKET))?;
        while let Some(key) = keys.next().await {
            let key = key.map_err(unavailable(BUCKET))?;
            let entry = self
                .postmortems
                .entry(&key)
                .await
                .map_err(unavailable(BUCKET))?;
            let Some(entry) = entry.filter(|e| e.operation == kv::Operation::Put) else {
                continue;
            };
            match serde_json::from_slice(&entry.value) {
                Ok(pending) => owed.push(pending),
                Err(e) => {
                    tracing::warn!(%key, error = %e, "an unreadable pending postmortem is skipped")
                }
            }
        }
        Ok(owed)
    }
}
