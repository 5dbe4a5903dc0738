//! The connectors projector: one row per connected account of a tenant (settings, status, last
//! check, GCP projects, the reference to its secret — never the secret), and `connector_audit`:
//! every connect, disconnect and project choice described for people, read with the audit log.
//! A check is status, not an action, so it stays out of the audit.

use aurora_domain::connector::{Connector, ConnectorEvent, ConnectorState};
use serde_json::{json, Value};

use crate::error::ProjectionError;
use crate::fold::{state_row, Folded, Seen, Tables, Tx};
use crate::rows::{audit_row, insert_new, upsert};

#[derive(Default)]
pub struct ConnectorTables {
    rows: Vec<Value>,
    audit: Vec<Value>,
}

impl Tables for ConnectorTables {
    type Aggregate = Connector;
    const STATE_TABLE: &'static str = "connectors";
    const READS_DATA: bool = true;

    fn event(&mut self, seen: Seen<'_, Connector>) -> Result<(), ProjectionError> {
        if let Some(description) = describe(seen.before, seen.event) {
            self.audit
                .push(audit_row(&seen, seen.event.actor(), description));
        }
        Ok(())
    }

    fn state(&mut self, folded: Folded<'_, Connector>) -> Result<(), ProjectionError> {
        let (key, s) = (folded.key, folded.state);
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
        let columns = json!({
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
        });
        self.rows.push(state_row(&folded, columns)?);
        Ok(())
    }

    async fn write(self, tx: &mut Tx<'_>, schema: &str) -> Result<(), ProjectionError> {
        let columns = "kind, status, settings, secret_ref, projects, root_project, last_check_ok,
            last_check_detail, last_checked_at, connected_by, connected_at, updated_at,
            last_sequence, state";
        upsert(
            tx,
            schema,
            "connectors",
            "tenant_id, id",
            columns,
            self.rows,
        )
        .await?;
        let audit_key = "tenant_id, stream_sequence";
        insert_new(tx, schema, "connector_audit", audit_key, self.audit).await
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
