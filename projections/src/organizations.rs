//! The organizations projector: `organizations` (the folded state), `org_members`,
//! `org_invitations` and `api_tokens` (what authentication and the member pages read), and
//! `audit_log` (every event of the aggregate, described for people: admin actions and denied
//! accesses).
//!
//! Organisations are small and change rarely, so the member, invitation and token rows of a
//! touched organisation are rewritten whole from its folded state: simple, and a redelivered
//! batch writes the same rows again.

use aurora_domain::organization::{
    Denial, NewApiToken, NewConsumerCredentials, NewInvitation, Organization, OrganizationEvent,
    OrganizationState,
};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::error::ProjectionError;
use crate::fold::{state_row, Folded, Seen, Tables, Tx};
use crate::rows::{audit_row, insert, insert_new, upsert};

/// The rows of a batch: organisations with their members, invitations and tokens (rewritten whole
/// per touched tenant), and the audit log.
#[derive(Default)]
pub struct OrganizationTables {
    /// Every touched tenant: its member, invitation and token rows are replaced.
    tenants: Vec<String>,
    organizations: Vec<Value>,
    members: Vec<Value>,
    invitations: Vec<Value>,
    tokens: Vec<Value>,
    audit: Vec<Value>,
}

impl Tables for OrganizationTables {
    type Aggregate = Organization;
    const STATE_TABLE: &'static str = "organizations";
    const READS_DATA: bool = true;

    fn event(&mut self, seen: Seen<'_, Organization>) -> Result<(), ProjectionError> {
        // Described against the state before the event, which still knows a removed member.
        let description = describe(seen.before, seen.event);
        self.audit
            .push(audit_row(&seen, actor(seen.event), description));
        Ok(())
    }

    fn state(&mut self, folded: Folded<'_, Organization>) -> Result<(), ProjectionError> {
        let (key, s) = (folded.key, folded.state);
        self.tenants.push(key.tenant.clone());
        let Some(created_at) = s.created_at.filter(|_| s.created) else {
            tracing::warn!(tenant = %key.tenant, organization = %key.id, "events for an organisation never created; no row written");
            return Ok(());
        };
        let columns = json!({
            "name": s.name,
            "created_at": created_at,
            "member_count": s.members.len(),
        });
        self.organizations.push(state_row(&folded, columns)?);
        for (user_id, m) in &s.members {
            self.members.push(json!({
                "tenant_id": key.tenant, "user_id": user_id, "email": m.email,
                "role": m.role.as_str(), "joined_at": m.joined_at,
            }));
        }
        for (id, i) in &s.invitations {
            self.invitations.push(json!({
                "tenant_id": key.tenant, "id": id, "email": i.email, "role": i.role.as_str(),
                "token_hash": i.token_hash, "status": i.status, "invited_by": i.invited_by,
                "expires_at": i.expires_at,
            }));
        }
        for (id, t) in &s.api_tokens {
            self.tokens.push(json!({
                "tenant_id": key.tenant, "id": id, "name": t.name, "user_id": t.user_id,
                "token_hash": t.token_hash, "expires_at": t.expires_at, "revoked": t.revoked,
            }));
        }
        Ok(())
    }

    async fn write(self, tx: &mut Tx<'_>, schema: &str) -> Result<(), ProjectionError> {
        for table in ["org_members", "org_invitations", "api_tokens"] {
            sqlx::query(&format!(
                "DELETE FROM {schema}.{table} WHERE tenant_id = ANY($1)"
            ))
            .bind(&self.tenants)
            .execute(&mut **tx)
            .await?;
        }
        let columns = "name, created_at, member_count, last_sequence, state";
        upsert(
            tx,
            schema,
            "organizations",
            "tenant_id, id",
            columns,
            self.organizations,
        )
        .await?;
        insert(tx, schema, "org_members", self.members).await?;
        insert(tx, schema, "org_invitations", self.invitations).await?;
        insert(tx, schema, "api_tokens", self.tokens).await?;
        let audit_key = "tenant_id, stream_sequence";
        insert_new(tx, schema, "audit_log", audit_key, self.audit).await
    }
}

/// The user who acted, or who was refused.
fn actor(event: &OrganizationEvent) -> Option<Uuid> {
    use OrganizationEvent as E;
    match event {
        E::Created { founder_id, .. } => Some(*founder_id),
        E::InvitationIssued(NewInvitation { by, .. })
        | E::InvitationRevoked { by, .. }
        | E::RoleChanged { by, .. }
        | E::MemberRemoved { by, .. }
        | E::ApiTokenRevoked { by, .. }
        | E::AgentPolicySet { by, .. } => Some(*by),
        E::MemberJoined { user_id, .. } | E::ApiTokenIssued(NewApiToken { user_id, .. }) => {
            Some(*user_id)
        }
        E::AccessDenied(Denial { user_id, .. }) => *user_id,
        // Issued and revoked by an operator on the command line, not by a member.
        E::ConsumerCredentialsIssued { .. } | E::ConsumerCredentialsRevoked { .. } => None,
    }
}

/// One line for the audit log, e.g. "admin@acme.io changed bob@acme.io from viewer to editor".
pub fn describe(state: &OrganizationState, event: &OrganizationEvent) -> String {
    use OrganizationEvent as E;
    let who = |id: &Uuid| {
        state
            .members
            .get(id)
            .map_or_else(|| format!("user {id}"), |m| m.email.clone())
    };
    match event {
        E::Created {
            name,
            founder_email,
            ..
        } => format!("{founder_email} created the organisation {name:?}"),
        E::InvitationIssued(NewInvitation {
            email,
            role,
            by,
            expires_at,
            ..
        }) => format!(
            "{} invited {email} as {role} (valid until {})",
            who(by),
            expires_at.to_rfc3339()
        ),
        E::InvitationRevoked { email, by, .. } => {
            format!("{} revoked the invitation of {email}", who(by))
        }
        E::MemberJoined {
            email,
            role,
            invitation_id,
            ..
        } => match invitation_id {
            Some(_) => format!("{email} joined as {role} by invitation"),
            None => format!("{email} joined as {role}"),
        },
        E::RoleChanged {
            email,
            from,
            to,
            by,
            ..
        } => format!("{} changed {email} from {from} to {to}", who(by)),
        E::MemberRemoved { email, by, .. } => format!("{} removed {email}", who(by)),
        E::ApiTokenIssued(NewApiToken {
            name,
            user_id,
            expires_at,
            ..
        }) => format!(
            "{} created the API token {name:?} (expires {})",
            who(user_id),
            expires_at.to_rfc3339()
        ),
        E::ApiTokenRevoked {
            token_id,
            user_id,
            by,
            ..
        } => {
            let name = state
                .api_tokens
                .get(token_id)
                .map_or_else(|| token_id.to_string(), |t| format!("{:?}", t.name));
            format!(
                "{} revoked the API token {name} of {}",
                who(by),
                who(user_id)
            )
        }
        E::AgentPolicySet {
            allow, deny, by, ..
        } => format!(
            "{} set the agent's command policy: {} allow and {} deny patterns",
            who(by),
            allow.len(),
            deny.len()
        ),
        E::ConsumerCredentialsIssued(NewConsumerCredentials {
            name,
            public_key,
            expires_at,
            ..
        }) => format!(
            "an operator issued the event consumer credentials {name:?} (nkey {public_key}, {})",
            expires_at.map_or_else(
                || "no expiry".to_owned(),
                |at| format!("expires {}", at.to_rfc3339())
            )
        ),
        E::ConsumerCredentialsRevoked { name, .. } => {
            format!("an operator revoked the event consumer credentials {name:?}")
        }
        E::AccessDenied(Denial {
            user_id,
            action,
            method,
            path,
            role,
            ..
        }) => {
            let who = user_id
                .as_ref()
                .map_or_else(|| "an anonymous caller".into(), who);
            let role = role.map_or_else(String::new, |r| format!(" ({r})"));
            format!("denied {who}{role}: {action} ({method} {path})")
        }
    }
}
