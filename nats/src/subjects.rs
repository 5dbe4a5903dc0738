//! NATS subjects. The tenant is always the second token (DESIGN §3), so one wildcard scopes
//! permissions and consumers to a tenant.

use aurora_domain::TenantId;
use uuid::Uuid;

pub const EVENTS_STREAM: &str = "EVENTS";
pub const INBOX_STREAM: &str = "INBOX";
pub const CMD_STREAM: &str = "CMD";
pub const DEAD_LETTERS_STREAM: &str = "DEAD_LETTERS";

/// `<kind>.<tenant>.<aggregate>.<id>`, written without `fmt`: these run once or twice per
/// command and `Uuid`'s `Display` through `format!` costs about ten times more.
fn join4(kind: &str, tenant: &str, aggregate: &str, id: Uuid) -> String {
    let mut buffer = Uuid::encode_buffer();
    let id = id.hyphenated().encode_lower(&mut buffer);
    let mut subject =
        String::with_capacity(kind.len() + tenant.len() + aggregate.len() + id.len() + 3);
    for (i, part) in [kind, tenant, aggregate, &*id].into_iter().enumerate() {
        if i > 0 {
            subject.push('.');
        }
        subject.push_str(part);
    }
    subject
}

/// `evt.<tenant>.<aggregate>.<id>`: the whole history of one aggregate instance.
pub fn aggregate(tenant: &TenantId, aggregate: &str, id: Uuid) -> String {
    join4("evt", tenant.as_str(), aggregate, id)
}

/// `evt.<tenant>.<aggregate|*>.<id|*>`: a tenant's events, of one aggregate type and one
/// instance when given.
pub fn events_of(tenant: &TenantId, aggregate: Option<&str>, id: Option<Uuid>) -> String {
    let mut filter = format!("evt.{tenant}.{}.", aggregate.unwrap_or("*"));
    match id {
        Some(id) => filter.push_str(&id.to_string()),
        None => filter.push('*'),
    }
    filter
}

/// `evt.<tenant>.>`: everything a tenant's aggregates record (what an outside consumer of the
/// tenant may read).
pub fn all_events_of(tenant: &str) -> String {
    format!("evt.{tenant}.>")
}

/// `evt.*.<aggregate>.<id>`: one instance id under every tenant, to tell whether an id a client
/// picked is already someone's.
pub fn aggregate_in_any_tenant(aggregate: &str, id: Uuid) -> String {
    join4("evt", "*", aggregate, id)
}

/// `evt.<tenant>.<aggregate>.*`: every instance of one aggregate type of one tenant.
pub fn aggregate_type(tenant: &TenantId, aggregate: &str) -> String {
    format!("evt.{tenant}.{aggregate}.*")
}

/// `evt.*.<aggregate>.*`: every instance of one aggregate type, of every tenant.
pub fn aggregate_type_all_tenants(aggregate: &str) -> String {
    format!("evt.*.{aggregate}.*")
}

/// `cmd.<tenant>.<aggregate>.<id>`.
pub fn command(tenant: &TenantId, aggregate: &str, id: Uuid) -> String {
    join4("cmd", tenant.as_str(), aggregate, id)
}

/// `dead.<tenant>.<consumer>`: where `consumer` puts what it gave up on. The tenant is the second
/// token of the original subject (`_` if it has none: a message published by hand).
pub fn dead_letter(original_subject: &str, consumer: &str) -> String {
    let tenant = original_subject
        .split('.')
        .nth(1)
        .filter(|t| !t.is_empty())
        .unwrap_or("_");
    format!("dead.{tenant}.{consumer}")
}

/// What one consumer gave up on, in every tenant (`dead.*.<consumer>`), or everything
/// dead-lettered (`dead.>`).
pub fn dead_letters_of(consumer: Option<&str>) -> String {
    consumer.map_or_else(|| "dead.>".to_owned(), |c| format!("dead.*.{c}"))
}

/// `inbox.<tenant>.<source>`.
pub fn inbox(tenant: &TenantId, source: &str) -> String {
    format!("inbox.{tenant}.{source}")
}

/// `inbox.<tenant>.*`: every delivery of one tenant, whatever its source.
pub fn inbox_of_tenant(tenant: &TenantId) -> String {
    format!("inbox.{tenant}.*")
}

/// `live.<tenant>.session.<id>` (core NATS, not stored).
pub fn live_session(tenant: &TenantId, session: Uuid) -> String {
    join4("live", tenant.as_str(), "session", session)
}

/// `projected.<tenant>.<projector>` (core NATS, not stored): `projector` committed rows of
/// `tenant`. Sent after the commit, so whoever reads on hearing it reads the new rows; a cache
/// of a read model drops the tenant's entry on it.
pub fn projected(tenant: &str, projector: &str) -> String {
    format!("projected.{tenant}.{projector}")
}

/// `projected.*.<projector>`: what `projector` committed, for every tenant.
pub fn projected_all_tenants(projector: &str) -> String {
    format!("projected.*.{projector}")
}

/// The tenant of a `projected.<tenant>.<projector>` subject.
pub fn projected_tenant(subject: &str) -> Option<&str> {
    let mut parts = subject.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("projected"), Some(tenant), Some(_), None) if !tenant.is_empty() => Some(tenant),
        _ => None,
    }
}

/// The parts of an aggregate's subject (`evt.` or `cmd.`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateSubject {
    pub tenant: TenantId,
    pub aggregate: String,
    pub id: Uuid,
}

/// The parts of an event subject.
pub type EventSubject = AggregateSubject;

/// Parses `evt.<tenant>.<aggregate>.<id>`; `None` for anything else.
pub fn parse_event_subject(subject: &str) -> Option<EventSubject> {
    parse_aggregate_subject("evt", subject)
}

/// Parses `cmd.<tenant>.<aggregate>.<id>`; `None` for anything else.
pub fn parse_command_subject(subject: &str) -> Option<AggregateSubject> {
    parse_aggregate_subject("cmd", subject)
}

fn parse_aggregate_subject(kind: &str, subject: &str) -> Option<AggregateSubject> {
    let mut parts = subject.split('.');
    if parts.next()? != kind {
        return None;
    }
    let tenant = TenantId::parse(parts.next()?).ok()?;
    let aggregate = parts.next().filter(|a| !a.is_empty())?.to_owned();
    let id = Uuid::parse_str(parts.next()?).ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some(AggregateSubject {
        tenant,
        aggregate,
        id,
    })
}

/// The parts of an `INBOX` subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxSubject {
    pub tenant: TenantId,
    pub source: String,
}

/// Parses `inbox.<tenant>.<source>`; `None` for anything else.
pub fn parse_inbox_subject(subject: &str) -> Option<InboxSubject> {
    let mut parts = subject.split('.');
    if parts.next()? != "inbox" {
        return None;
    }
    let tenant = TenantId::parse(parts.next()?).ok()?;
    let source = parts.next().filter(|s| !s.is_empty())?.to_owned();
    if parts.next().is_some() {
        return None;
    }
    Some(InboxSubject { tenant, source })
}

/// Whether subject pattern `wide` matches everything `narrow` matches (`*` one token, `>` one or
/// more at the end). With a plain subject as `narrow`, whether `wide` matches it.
pub fn covers(wide: &str, narrow: &str) -> bool {
    let mut tokens = narrow.split('.');
    for wanted in wide.split('.') {
        match (wanted, tokens.next()) {
            (">", Some(_)) => return true,
            ("*", Some(token)) if token != ">" => {}
            (literal, Some(token)) if literal == token => {}
            _ => return false,
        }
    }
    tokens.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_match_filters_as_nats_does() {
        let id = "evt.acme.incident.0190d0a8-6f1e-7c3a-9d2b-4e5f6a7b8c9d";
        assert!(covers("evt.*.incident.*", id));
        assert!(covers("evt.>", id));
        assert!(covers(id, id));
        assert!(!covers("evt.*.session.*", id));
        assert!(
            !covers("evt.*.incident", id),
            "too few tokens in the filter"
        );
        assert!(
            !covers("evt.*.incident.*.*", id),
            "too many tokens in the filter"
        );
        assert!(
            !covers("evt.acme.incident.*.>", id),
            "> needs at least one token"
        );
        assert!(!covers("inbox.>", id));
    }

    #[test]
    fn a_projection_notice_names_its_tenant_and_the_filter_covers_every_tenant() {
        let subject = projected("acme", "connectors");
        assert_eq!(subject, "projected.acme.connectors");
        assert!(covers(&projected_all_tenants("connectors"), &subject));
        assert!(!covers(&projected_all_tenants("incidents"), &subject));
        assert_eq!(projected_tenant(&subject), Some("acme"));
        assert_eq!(projected_tenant("projected..connectors"), None);
        assert_eq!(projected_tenant("evt.acme.connector.x"), None);
        assert_eq!(projected_tenant("projected.acme.connectors.more"), None);
    }

    #[test]
    fn an_id_under_any_tenant_covers_that_id_of_every_tenant_and_no_other() {
        let id = Uuid::now_v7();
        let filter = aggregate_in_any_tenant("session", id);
        for tenant in ["acme", "globex"] {
            let tenant = TenantId::parse(tenant).expect("valid");
            assert!(covers(&filter, &aggregate(&tenant, "session", id)));
            assert!(!covers(
                &filter,
                &aggregate(&tenant, "session", Uuid::now_v7())
            ));
            assert!(!covers(&filter, &aggregate(&tenant, "incident", id)));
        }
    }

    #[test]
    fn an_event_subject_round_trips() {
        let tenant = TenantId::parse("acme").expect("valid");
        let id = Uuid::now_v7();
        let subject = aggregate(&tenant, "incident", id);
        assert_eq!(subject, format!("evt.acme.incident.{id}"));
        assert_eq!(
            command(&tenant, "session", id),
            format!("cmd.acme.session.{id}")
        );
        assert_eq!(live_session(&tenant, id), format!("live.acme.session.{id}"));
        assert_eq!(
            parse_event_subject(&subject),
            Some(EventSubject {
                tenant,
                aggregate: "incident".into(),
                id
            })
        );
        assert_eq!(parse_event_subject("cmd.acme.incident.x"), None);
        assert_eq!(parse_event_subject(&format!("{subject}.extra")), None);
    }

    #[test]
    fn a_command_subject_round_trips_and_malformed_ones_are_refused() {
        let tenant = TenantId::parse("acme").expect("valid");
        let id = Uuid::now_v7();
        assert_eq!(
            parse_command_subject(&command(&tenant, "session", id)),
            Some(AggregateSubject {
                tenant,
                aggregate: "session".into(),
                id
            })
        );
        for bad in [
            format!("evt.acme.session.{id}"),
            format!("cmd.acme.session.{id}.x"),
            format!("cmd..session.{id}"),
            format!("cmd.acme..{id}"),
            "cmd.acme.session.not-a-uuid".to_owned(),
            "cmd.acme.session".to_owned(),
            "cmd".to_owned(),
            String::new(),
        ] {
            assert_eq!(parse_command_subject(&bad), None, "{bad}");
        }
    }

    #[test]
    fn an_inbox_subject_round_trips_and_malformed_ones_are_refused() {
        let tenant = TenantId::parse("acme").expect("valid");
        assert_eq!(
            parse_inbox_subject(&inbox(&tenant, "grafana")),
            Some(InboxSubject {
                tenant: tenant.clone(),
                source: "grafana".into()
            })
        );
        assert!(covers(&inbox_of_tenant(&tenant), "inbox.acme.grafana"));
        assert!(!covers(&inbox_of_tenant(&tenant), "inbox.globex.grafana"));
        assert!(covers(
            &aggregate_type_all_tenants("integration"),
            &aggregate(&tenant, "integration", Uuid::now_v7())
        ));
        for bad in [
            "inbox.acme",
            "inbox.acme.",
            "inbox..grafana",
            "inbox.acme.grafana.extra",
            "evt.acme.grafana",
            "inbox",
            "",
        ] {
            assert_eq!(parse_inbox_subject(bad), None, "{bad}");
        }
    }
}
