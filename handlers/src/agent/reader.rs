//! The read-only tools over Aurora's own data (SPEC §6): incidents, an alert's fields, recent
//! changes, the service graph and the knowledge base, each read for one tenant and answered as
//! JSON text for the model. [`super::tools`] says what the model may call and reads its
//! arguments; this runs the calls.

use async_nats::jetstream;
use aurora_domain::TenantId;
use aurora_nats::inbox::{InboxDelivery, InboxError, InboxReference};
use aurora_nats::subjects::{self, INBOX_STREAM};
use aurora_nats::{EventLog, StoreError};
use aurora_projections::queries;
use chrono::{TimeDelta, Utc};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use super::tools::ReadTool;

/// Why a read tool could not answer; its text is the tool's error output, which the model reads.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("Aurora's database could not answer: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the event log could not answer: {0}")]
    Log(#[from] StoreError),
    #[error("there is no incident {0}")]
    NoIncident(Uuid),
    #[error("the incident's stored state does not read: {0}")]
    BadState(#[source] serde_json::Error),
    #[error("incident {incident} has no alert {which}")]
    NoAlert { incident: Uuid, which: String },
    #[error("the alert's delivery is not recorded")]
    NotRecorded,
    #[error("the deliveries (INBOX) could not be read: {0}")]
    Inbox(#[from] jetstream::context::GetStreamError),
    #[error("the alert's delivery is no longer kept: {0}")]
    NoLongerKept(#[source] jetstream::stream::RawMessageError),
    #[error("the alert's delivery does not read: {0}")]
    Unreadable(#[source] InboxError),
    #[error("the alert's delivery is not JSON")]
    NotJson,
    #[error("the alert has no field {0:?}")]
    NoField(String),
    #[error(transparent)]
    Depth(#[from] aurora_domain::service::DepthError),
    #[error(transparent)]
    Graph(#[from] super::graph_context::ContextError),
    #[error("this process has no knowledge base")]
    NoKnowledgeBase,
    #[error("the knowledge base search failed: {0}")]
    Knowledge(#[source] crate::knowledge::KnowledgeBaseError),
}

/// The read-only tools over Aurora's read models and logs.
#[derive(Clone)]
pub struct Reader {
    pub pool: PgPool,
    pub log: EventLog,
    /// `None`: `knowledge_base_search` answers that there is no knowledge base here.
    pub knowledge: Option<crate::knowledge::KnowledgeBase>,
}

impl Reader {
    /// Runs `tool` for `tenant`; the text (JSON) is the tool's output.
    pub async fn read(&self, tenant: &TenantId, tool: &ReadTool) -> Result<String, ReadError> {
        let value = match tool {
            ReadTool::IncidentLookup {
                incident_id: Some(id),
                ..
            } => self.incident(tenant, *id).await?,
            ReadTool::IncidentLookup {
                incident_id: None,
                status,
                service,
                severity,
                limit,
            } => {
                let filter = queries::IncidentFilter {
                    status: status.clone(),
                    severity: severity.clone(),
                    service: service.clone(),
                    source: None,
                    search: None,
                    after: None,
                    limit: *limit,
                };
                let mut tx = self.scoped(tenant).await?;
                let rows = queries::list_incidents(&mut tx, tenant.as_str(), &filter).await?;
                json!({ "incidents": rows })
            }
            ReadTool::AlertField {
                incident_id,
                field,
                alert_id,
            } => {
                self.alert_field(tenant, *incident_id, field, alert_id.as_deref())
                    .await?
            }
            ReadTool::RecentChanges {
                service,
                hours,
                limit,
            } => {
                let to = Utc::now();
                let from = to - TimeDelta::hours(*hours);
                let mut tx = self.scoped(tenant).await?;
                let rows = queries::changes(
                    &mut tx,
                    tenant.as_str(),
                    service.as_deref(),
                    from,
                    to,
                    *limit,
                )
                .await?;
                json!({ "from": from, "to": to, "changes": rows })
            }
            ReadTool::ServiceGraph {
                service,
                depth,
                hours,
            } => {
                let depth = aurora_domain::service::Depth::parse(*depth)?;
                super::graph_context::around(&self.pool, tenant, service, depth, *hours).await?
            }
            ReadTool::KnowledgeSearch { query, limit } => {
                let knowledge = self.knowledge.as_ref().ok_or(ReadError::NoKnowledgeBase)?;
                let hits = knowledge
                    .search(
                        &self.pool,
                        tenant,
                        query,
                        usize::try_from(*limit).unwrap_or(5),
                        crate::knowledge::SearchMode::Hybrid,
                    )
                    .await
                    .map_err(ReadError::Knowledge)?
                    .hits;
                json!({ "query": query, "hits": hits })
            }
        };
        Ok(value.to_string())
    }

    async fn scoped(
        &self,
        tenant: &TenantId,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, ReadError> {
        Ok(queries::scoped(&self.pool, tenant.as_str()).await?)
    }

    async fn incident(&self, tenant: &TenantId, id: Uuid) -> Result<Value, ReadError> {
        let mut tx = self.scoped(tenant).await?;
        let Some((state, _)) = queries::incident_state(&mut tx, tenant.as_str(), id).await? else {
            return Err(ReadError::NoIncident(id));
        };
        let state: Value = serde_json::from_str(&state).map_err(ReadError::BadState)?;
        let alerts = queries::incident_alerts(&mut tx, tenant.as_str(), id).await?;
        let timeline = queries::incident_timeline(&mut tx, tenant.as_str(), id).await?;
        let recent: Vec<Value> = timeline
            .iter()
            .rev()
            .take(20)
            .rev()
            .map(|t| json!({"at": t.at, "type": t.event_type, "description": t.description}))
            .collect();
        Ok(json!({ "incident": state, "alerts": alerts, "timeline": recent }))
    }

    /// Finds the delivery that brought the alert (its event's causation is `inbox:<seq>:<index>`)
    /// and reads `field` from it: first from the alert's own entry, then from the whole body.
    async fn alert_field(
        &self,
        tenant: &TenantId,
        incident: Uuid,
        field: &str,
        alert_id: Option<&str>,
    ) -> Result<Value, ReadError> {
        let subject = subjects::aggregate(tenant, "incident", incident);
        let events = self.log.read_subject(&subject, 1).await?;
        if events.is_empty() {
            return Err(ReadError::NoIncident(incident));
        }
        let carries = |data: &Value| match alert_id {
            None => data["type"] == "opened",
            Some(id) => data["source_alert_id"] == id || data["alert"]["alert_id"] == id,
        };
        let event = events
            .iter()
            .find(|e| carries(&e.data))
            .ok_or_else(|| ReadError::NoAlert {
                incident,
                which: alert_id.unwrap_or("that opened it").to_owned(),
            })?;
        let reference = event
            .causation_id
            .as_deref()
            .and_then(InboxReference::parse)
            .ok_or(ReadError::NotRecorded)?;
        let js = jetstream::new(self.log.client().clone());
        let stream = js.get_stream(INBOX_STREAM).await?;
        let message = stream
            .get_raw_message(reference.sequence)
            .await
            .map_err(ReadError::NoLongerKept)?;
        let delivery = InboxDelivery::from_message(
            &message.subject,
            Some(&message.headers),
            message.payload,
            message.time.with_timezone(&Utc),
        )
        .map_err(ReadError::Unreadable)?;
        // The delivery must be this tenant's, whatever an event says.
        if delivery.tenant != *tenant {
            return Err(ReadError::NotRecorded);
        }
        let index = reference.index.map(|i| i as usize);
        let body: Value = serde_json::from_slice(&delivery.body).map_err(|_| ReadError::NotJson)?;
        // An SNS envelope carries the alarm as JSON text in `Message`.
        let body = match body.get("Message").and_then(Value::as_str) {
            Some(inner) => serde_json::from_str(inner).unwrap_or(body),
            None => body,
        };
        let own_entry = index.and_then(|i| {
            ["alerts", "events", "incidents", "data"]
                .iter()
                .find_map(|key| body.get(*key).and_then(|list| list.get(i)))
        });
        let found = own_entry
            .and_then(|entry| lookup(entry, field))
            .or_else(|| lookup(&body, field))
            .ok_or_else(|| ReadError::NoField(field.to_owned()))?;
        Ok(json!({ "incident_id": incident, "field": field, "value": found }))
    }
}

/// `a.b.0.c` in `value` (numbers index arrays).
pub fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .filter(|part| !part.is_empty())
        .try_fold(value, |at, part| match at {
            Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
            Value::Object(map) => map.get(part),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::lookup;

    #[test]
    fn dotted_paths_reach_into_objects_and_arrays() {
        let body = json!({"alerts":[{"labels":{"pod":"checkout-7"}}],"status":"firing"});
        assert_eq!(
            lookup(&body, "alerts.0.labels.pod"),
            Some(&json!("checkout-7"))
        );
        assert_eq!(lookup(&body, "status"), Some(&json!("firing")));
        assert_eq!(lookup(&body, "alerts.1"), None);
        assert_eq!(lookup(&body, "status.x"), None);
    }
}
