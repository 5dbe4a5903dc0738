//! The organizations projector: `organizations` (the folded state), `org_members`,
//! `org_invitations` and `api_tokens` (what authentication and the member pages read), and
//! `audit_log` (every event of the aggregate, described for people: admin actions and denied
//! accesses).
//!
//! Organisations are small and change rarely, so the member, invitation and token rows of a
//! touched organisation are rewritten whole from its folded state: simple, and a redelivered
//! batch writes the same rows again.

use std::collections::HashMap;

use aurora_domain::organization::{Organization, OrganizationEvent, OrganizationState};
use aurora_domain::DomainEvent;
use aurora_nats::subjects::EventSubject;
use aurora_nats::RawEvent;
use esrs::Aggregate;
use serde_json::{json, Value};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::projector::{checked_schema, upcast, ProjectionError};
use crate::state_cache::{staged, Key, StateCache, Touched};

pub async fn apply(
    tx: &mut Transaction<'_, Postgres>,
    schema: &str,
    events: Vec<(EventSubject, RawEvent)>,
    cache: &mut StateCache<OrganizationState>,
) -> Result<Vec<(Key, u64, OrganizationState)>, ProjectionError> {
    let schema = checked_schema(schema);
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let mut touched = Touched::default();
    let mut decoded = Vec::with_capacity(events.len());
    for (subject, raw) in events {
        let event: OrganizationEvent = upcast(&raw)?;
        let key = (subject.tenant.to_string(), subject.id);
        touched.note(&key, raw.aggregate_sequence);
        decoded.push((key, raw, event));
    }
    let mut states = cache
        .take(tx, schema, "organizations", &touched.order, &touched.new)
        .await?;
    let mut audit = Vec::with_capacity(decoded.len());
    let mut last_sequence: HashMap<Key, u64> = HashMap::new();
    for (key, raw, event) in decoded {
        let state = states.remove(&key).unwrap_or_default();
        // Described against the state before the event, which still knows a removed member.
        audit.push(json!({
            "tenant_id": key.0,
            "stream_sequence": raw.stream_sequence,
            "event_type": event.event_type(),
            "at": event.occurred_at(),
            "actor": actor(&event),
            "description": describe(&state, &event),
            "data": raw.data,
        }));
        states.insert(key.clone(), Organization::apply_event(state, event));
        last_sequence.insert(key, raw.stream_sequence);
    }

    let mut organizations = Vec::new();
    let (mut members, mut invitations, mut tokens) = (Vec::new(), Vec::new(), Vec::new());
    for key in &touched.order {
        let Some(s) = states.get(key) else { continue };
        let Some(created_at) = s.created_at.filter(|_| s.created) else {
            tracing::warn!(tenant = %key.0, organization = %key.1, "events for an organisation never created; no row written");
            continue;
        };
        organizations.push(json!({
            "tenant_id": key.0,
            "id": key.1,
            "name": s.name,
            "created_at": created_at,
            "member_count": s.members.len(),
            "last_sequence": last_sequence.get(key).copied().unwrap_or(0),
            "state": serde_json::to_string(s).map_err(|e| ProjectionError::BadEvent {
                subject: format!("organization {}/{}", key.0, key.1),
                stream_sequence: 0,
                reason: format!("state does not serialise: {e}"),
            })?,
        }));
        for (user_id, m) in &s.members {
            members.push(json!({
                "tenant_id": key.0, "user_id": user_id, "email": m.email,
                "role": m.role.as_str(), "joined_at": m.joined_at,
            }));
        }
        for (id, i) in &s.invitations {
            invitations.push(json!({
                "tenant_id": key.0, "id": id, "email": i.email, "role": i.role.as_str(),
                "token_hash": i.token_hash, "status": i.status, "invited_by": i.invited_by,
                "expires_at": i.expires_at,
            }));
        }
        for (id, t) in &s.api_tokens {
            tokens.push(json!({
                "tenant_id": key.0, "id": id, "name": t.name, "user_id": t.user_id,
                "token_hash": t.token_hash, "expires_at": t.expires_at, "revoked": t.revoked,
            }));
        }
    }
    let tenants: Vec<&str> = touched.order.iter().map(|k| k.0.as_str()).collect();
    for table in ["org_members", "org_invitations", "api_tokens"] {
        sqlx::query(&format!(
            "DELETE FROM {schema}.{table} WHERE tenant_id = ANY($1)"
        ))
        .bind(&tenants)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query(&format!(
        "INSERT INTO {schema}.organizations SELECT * FROM jsonb_populate_recordset(NULL::{schema}.organizations, $1)
         ON CONFLICT (tenant_id, id) DO UPDATE SET
           name = EXCLUDED.name, created_at = EXCLUDED.created_at, member_count = EXCLUDED.member_count,
           last_sequence = EXCLUDED.last_sequence, state = EXCLUDED.state"
    ))
    .bind(Value::Array(organizations))
    .execute(&mut **tx)
    .await?;
    for (table, rows) in [
        ("org_members", members),
        ("org_invitations", invitations),
        ("api_tokens", tokens),
    ] {
        if rows.is_empty() {
            continue;
        }
        sqlx::query(&format!(
            "INSERT INTO {schema}.{table} SELECT * FROM jsonb_populate_recordset(NULL::{schema}.{table}, $1)"
        ))
        .bind(Value::Array(rows))
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query(&format!(
        "INSERT INTO {schema}.audit_log SELECT * FROM jsonb_populate_recordset(NULL::{schema}.audit_log, $1)
         ON CONFLICT (tenant_id, stream_sequence) DO NOTHING"
    ))
    .bind(Value::Array(audit))
    .execute(&mut **tx)
    .await?;
    Ok(staged(touched.order, states, &last_sequence))
}

/// The user who acted, or who was refused.
fn actor(event: &OrganizationEvent) -> Option<Uuid> {
    use OrganizationEvent as E;
    match event {
        E::Created { founder_id, .. } => Some(*founder_id),
        E::InvitationIssued { by, .. }
        | E::InvitationRevoked { by, .. }
        | E::RoleChanged { by, .. }
        | E::MemberRemoved { by, .. }
        | E::ApiTokenRevoked { by, .. }
        | E::AgentPolicySet { by, .. } => Some(*by),
        E::MemberJoined { user_id, .. } | E::ApiTokenIssued { user_id, .. } => Some(*user_id),
        E::AccessDenied { user_id, .. } => *user_id,
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
        E::InvitationIssued {
            email,
            role,
            by,
            expires_at,
            ..
        } => format!(
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
        E::ApiTokenIssued {
            name,
            user_id,
            expires_at,
            ..
        } => format!(
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
        E::AccessDenied {
            user_id,
            action,
            method,
            path,
            role,
            ..
        } => {
            let who = user_id
                .as_ref()
                .map_or_else(|| "an anonymous caller".into(), who);
            let role = role.map_or_else(String::new, |r| format!(" ({r})"));
            format!("denied {who}{role}: {action} ({method} {path})")
        }
    }
}
