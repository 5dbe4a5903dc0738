//! The connectors projector: one row per connected account of a tenant (settings, status, last
//! check, GCP projects, the reference to its secret — never the secret), and `connector_audit`:
//! every connect, disconnect and project choice described for people, read with the audit log.
//! A check is status, not an action, so it stays out of the audit.

use aurora_domain::connector::{Connector, ConnectorEvent, ConnectorState};
use aurora_domain::DomainEvent;
use serde_json::{json, Value};

use crate::error::ProjectionError;
use crate::fold::{state_json, Folded, Seen, Tables, Tx};

#[derive(Default)]
pub struct ConnectorTables {
    rows: Vec<Value>,
    audit: Vec<Value>,
}

impl Tables for ConnectorTables {
    type Aggregate = Connector;
    type State = ConnectorState;
    type Event = ConnectorEvent;
    const STATE_TABLE: &'static str = "connectors";
    const READS_DATA: bool = true;

    fn event(&mut self, seen: Seen<'_, Connector>) -> Result<(), ProjectionError> {
        let Seen {
            key,
            raw,
            event,
            before,
        } = seen;
        let Some(description) = describe(before, event) else {
            return Ok(());
        };
        self.audit.push(json!({
            "tenant_id": key.tenant,
            "stream_sequence": raw.stream_sequence,
            "event_type": event.event_type(),
            "at": event.occurred_at(),
            "actor": event.actor(),
            "description": description,
            "data": raw.data,
        }));
        Ok(())
    }

    fn state(&mut self, folded: Folded<'_, Connector>) -> Result<(), ProjectionError> {
        let Folded {
            key,
            state: s,
            last_sequence,
        } = folded;
        let (Some(kind), Some(settings), Some(connected_at), Some(by), Some(check)) = (
            s.kind,
            &s.settings,
            s.connected_at,
            s.connected_by,
            &s.last_check,
        ) else {
            tracing::warn!(tenant = %key.tenant, connector = %key.id, "events for a connector never connected; no row written");
            return Ok(());
        };
        let status = if s.disconnected {
            "disconnected"
        } else if check.ok {
            "connected"
        } else {
            "failing"
        };
        let projects: Vec<Value> = s
            .projects
            .iter()
            .map(|p| json!({"project": p, "enabled": !s.disabled_projects.contains(p)}))
            .collect();
        self.rows.push(json!({
            "tenant_id": key.tenant,
            "id": key.id,
            "kind": kind,
            "status": status,
            "settings": settings,
            "secret_ref": s.secret_ref,
            "projects": projects,
            "root_project": s.root_project,
            "last_check_ok": check.ok,
            "last_check_detail": check.detail,
            "last_checked_at": check.at,
            "connected_by": by,
            "connected_at": connected_at,
            "updated_at": s.updated_at.unwrap_or(connected_at),
            "last_sequence": last_sequence,
            "state": state_json("connector", key, s)?,
        }));
        Ok(())
    }

    async fn write(self, tx: &mut Tx<'_>, schema: &str) -> Result<(), ProjectionError> {
        sqlx::query(&format!(
            "INSERT INTO {schema}.connectors SELECT * FROM jsonb_populate_recordset(NULL::{schema}.connectors, $1)
             ON CONFLICT (tenant_id, id) DO UPDATE SET
               kind = EXCLUDED.kind, status = EXCLUDED.status, settings = EXCLUDED.settings,
               secret_ref = EXCLUDED.secret_ref, projects = EXCLUDED.projects,
               root_project = EXCLUDED.root_project, last_check_ok = EXCLUDED.last_check_ok,
               last_check_detail = EXCLUDED.last_check_detail, last_checked_at = EXCLUDED.last_checked_at,
               connected_by = EXCLUDED.connected_by, connected_at = EXCLUDED.connected_at,
               updated_at = EXCLUDED.updated_at, last_sequence = EXCLUDED.last_sequence, state = EXCLUDED.state"
        ))
        .bind(Value::Array(self.rows))
        .execute(&mut **tx)
        .await?;
        sqlx::query(&format!(
            "INSERT INTO {schema}.connector_audit SELECT * FROM jsonb_populate_recordset(NULL::{schema}.connector_audit, $1)
             ON CONFLICT (tenant_id, stream_sequence) DO NOTHING"
        ))
        .bind(Value::Array(self.audit))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

/// One line for the audit log ("connected Datadog (site EU)"), or none for a check.
fn describe(before: &ConnectorState, event: &ConnectorEvent) -> Option<String> {
    let title = |kind: Option<aurora_domain::connector::ConnectorKind>| {
        kind.map_or("a connector", |k| k.title())
    };
    Some(match event {
        ConnectorEvent::Connected { id, kind, .. } => {
            format!("connected {} (connector {id})", kind.title())
        }
        ConnectorEvent::Checked { .. } => return None,
        ConnectorEvent::ProjectEnabled { project, .. } => {
            format!("enabled the GCP project {project} for Aurora")
        }
        ConnectorEvent::ProjectDisabled { project, .. } => {
            format!("disabled the GCP project {project} for Aurora")
        }
        ConnectorEvent::RootProjectSet { project, .. } => {
            format!("made {project} the root GCP project")
        }
        ConnectorEvent::Disconnected { .. } => format!(
            "disconnected {} (connector {})",
            title(before.kind),
            before.id.map(|i| i.to_string()).unwrap_or_default()
        ),
    })
}
