//! The one table of every route, and what tenant A must get when it aims at tenant B's things.

use Expect::{NotFound, NotFoundAsFilter, NothingOfB};

/// Which of B's things a path parameter names.
#[derive(Debug, Clone, Copy)]
pub(super) enum Target {
    /// No parameter: a list or an action on the caller's own organisation.
    None,
    Incident,
    Member,
    Invitation,
    Token,
    Integration,
    Session,
    /// A node of the service graph.
    Service,
}

/// What A must get.
#[derive(Debug, Clone, Copy)]
pub(super) enum Expect {
    /// 404, exactly as for an id that never existed.
    NotFound,
    /// A success (or a refusal) whose body names none of B's things.
    NothingOfB,
    /// A stream that never ends: 404 when filtered to B's thing (`?id=`), as for a guessed id.
    NotFoundAsFilter,
}

pub(super) struct Endpoint {
    pub(super) method: &'static str,
    /// As in the OpenAPI document.
    pub(super) path: &'static str,
    pub(super) target: Target,
    pub(super) body: Option<&'static str>,
    pub(super) expect: Expect,
}

const fn ep(
    method: &'static str,
    path: &'static str,
    target: Target,
    body: Option<&'static str>,
    expect: Expect,
) -> Endpoint {
    Endpoint {
        method,
        path,
        target,
        body,
        expect,
    }
}

/// Every route of the API, and what tenant A gets when it aims at tenant B.
pub(super) const ENDPOINTS: &[Endpoint] = &[
    ep("GET", "/health", Target::None, None, NothingOfB),
    ep("GET", "/ready", Target::None, None, NothingOfB),
    ep("GET", "/openapi.json", Target::None, None, NothingOfB),
    ep(
        "POST",
        "/api/auth/register",
        Target::None,
        Some(r#"{"email":"b-admin@globex.io","password":"guessing it","organization":"x"}"#),
        NothingOfB,
    ),
    ep(
        "POST",
        "/api/auth/login",
        Target::None,
        Some(r#"{"email":"b-admin@globex.io","password":"guessing it"}"#),
        NothingOfB,
    ),
    ep("GET", "/api/auth/me", Target::None, None, NothingOfB),
    ep("GET", "/api/members", Target::None, None, NothingOfB),
    ep(
        "PATCH",
        "/api/members/{user_id}",
        Target::Member,
        Some(r#"{"role":"viewer"}"#),
        NotFound,
    ),
    ep(
        "DELETE",
        "/api/members/{user_id}",
        Target::Member,
        None,
        NotFound,
    ),
    ep("GET", "/api/invitations", Target::None, None, NothingOfB),
    ep(
        "POST",
        "/api/invitations",
        Target::None,
        Some(r#"{"email":"b-member@globex.io","role":"admin"}"#),
        NothingOfB,
    ),
    ep(
        "DELETE",
        "/api/invitations/{id}",
        Target::Invitation,
        None,
        NotFound,
    ),
    // An invitation token of B's is a secret A does not have: a guessed one is refused.
    ep(
        "POST",
        "/api/invitations/accept",
        Target::None,
        Some(r#"{"invitation":"aurora_i_0123"}"#),
        NothingOfB,
    ),
    ep("GET", "/api/tokens", Target::None, None, NothingOfB),
    ep(
        "POST",
        "/api/tokens",
        Target::None,
        Some(r#"{"name":"probe"}"#),
        NothingOfB,
    ),
    ep("DELETE", "/api/tokens/{id}", Target::Token, None, NotFound),
    ep("GET", "/api/audit-log", Target::None, None, NothingOfB),
    ep("GET", "/api/incidents", Target::None, None, NothingOfB),
    ep(
        "GET",
        "/api/incidents/{id}",
        Target::Incident,
        None,
        NotFound,
    ),
    ep(
        "PATCH",
        "/api/incidents/{id}",
        Target::Incident,
        Some(r#"{"severity":"low"}"#),
        NotFound,
    ),
    ep(
        "GET",
        "/api/incidents/{id}/events",
        Target::Incident,
        None,
        NotFound,
    ),
    ep(
        "POST",
        "/api/incidents/{id}/comments",
        Target::Incident,
        Some(r#"{"text":"hello from A"}"#),
        NotFound,
    ),
    ep(
        "POST",
        "/api/incidents/{id}/merge",
        Target::Incident,
        Some(r#"{"target_id":"00000000-0000-0000-0000-000000000001"}"#),
        NotFound,
    ),
    ep(
        "POST",
        "/api/incidents/{id}/feedback",
        Target::Incident,
        Some(r#"{"helpful":false,"comment":"from A"}"#),
        NotFound,
    ),
    ep(
        "GET",
        "/api/metrics/summary",
        Target::None,
        None,
        NothingOfB,
    ),
    ep(
        "GET",
        "/api/incidents/{id}/postmortem",
        Target::Incident,
        None,
        NotFound,
    ),
    ep(
        "PUT",
        "/api/incidents/{id}/postmortem",
        Target::Incident,
        Some(r##"{"markdown":"# from A","base_version":1}"##),
        NotFound,
    ),
    ep(
        "GET",
        "/api/incidents/{id}/postmortem.md",
        Target::Incident,
        None,
        NotFound,
    ),
    ep(
        "GET",
        "/api/incidents/{id}/postmortem/versions",
        Target::Incident,
        None,
        NotFound,
    ),
    ep(
        "POST",
        "/api/incidents/{id}/postmortem/versions/{version}/restore",
        Target::Incident,
        None,
        NotFound,
    ),
    ep(
        "POST",
        "/api/incidents/{id}/postmortem/regenerate",
        Target::Incident,
        None,
        NotFound,
    ),
    ep(
        "POST",
        "/api/incidents/{id}/rca",
        Target::Incident,
        None,
        NotFound,
    ),
    ep(
        "DELETE",
        "/api/incidents/{id}/rca",
        Target::Incident,
        None,
        NotFound,
    ),
    ep(
        "GET",
        "/api/incidents/{id}/rca/stream",
        Target::Incident,
        None,
        NotFound,
    ),
    ep(
        "GET",
        "/api/events/stream",
        Target::Incident,
        None,
        NotFoundAsFilter,
    ),
    ep("GET", "/api/integrations", Target::None, None, NothingOfB),
    ep(
        "POST",
        "/api/integrations",
        Target::None,
        Some(r#"{"source":"grafana","name":"probe"}"#),
        NothingOfB,
    ),
    ep(
        "GET",
        "/api/integrations/sources",
        Target::None,
        None,
        NothingOfB,
    ),
    ep(
        "GET",
        "/api/integrations/{id}",
        Target::Integration,
        None,
        NotFound,
    ),
    ep(
        "PATCH",
        "/api/integrations/{id}",
        Target::Integration,
        Some(r#"{"name":"mine now"}"#),
        NotFound,
    ),
    ep(
        "DELETE",
        "/api/integrations/{id}",
        Target::Integration,
        None,
        NotFound,
    ),
    ep(
        "POST",
        "/api/integrations/{id}/rotate-secret",
        Target::Integration,
        None,
        NotFound,
    ),
    ep(
        "GET",
        "/api/correlation/settings",
        Target::None,
        None,
        NothingOfB,
    ),
    ep(
        "PUT",
        "/api/correlation/settings",
        Target::None,
        Some(r#"{"threshold":0.7}"#),
        NothingOfB,
    ),
    ep(
        "POST",
        "/api/correlation/dry-run",
        Target::None,
        Some(r#"{"settings":{},"from":"2020-01-01T00:00:00Z","to":"2020-01-02T00:00:00Z"}"#),
        NothingOfB,
    ),
    ep("GET", "/api/changes", Target::None, None, NothingOfB),
    ep("GET", "/api/ws-token", Target::None, None, NothingOfB),
    // Without a ticket of B's the socket is refused (401).
    ep("GET", "/ws/chat", Target::None, None, NothingOfB),
    ep("GET", "/chat_api/sessions", Target::None, None, NothingOfB),
    ep(
        "GET",
        "/chat_api/sessions/{id}",
        Target::Session,
        None,
        NotFound,
    ),
    ep(
        "PATCH",
        "/chat_api/sessions/{id}",
        Target::Session,
        Some(r#"{"title":"pwned"}"#),
        NotFound,
    ),
    ep(
        "DELETE",
        "/chat_api/sessions/{id}",
        Target::Session,
        None,
        NotFound,
    ),
    ep(
        "POST",
        "/chat_api/sessions",
        Target::None,
        Some(r#"{"title":"hello from A"}"#),
        NothingOfB,
    ),
    ep(
        "GET",
        "/chat_api/sessions/{id}/messages",
        Target::Session,
        None,
        NotFound,
    ),
    ep(
        "POST",
        "/chat_api/sessions/{id}/messages",
        Target::Session,
        Some(r#"{"message":"hello from A"}"#),
        NotFound,
    ),
    // B's session id in the body: it is named as not found, and stays B's (checked below).
    ep(
        "DELETE",
        "/chat_api/sessions/bulk-delete",
        Target::Session,
        Some(r#"{"ids":["{id}"]}"#),
        NothingOfB,
    ),
    ep("GET", "/api/llm-usage", Target::None, None, NothingOfB),
    ep("GET", "/api/agent/policy", Target::None, None, NothingOfB),
    ep(
        "PUT",
        "/api/agent/policy",
        Target::None,
        Some(r#"{"deny":["rm"]}"#),
        NothingOfB,
    ),
    ep("GET", "/api/graph", Target::None, None, NothingOfB),
    ep(
        "GET",
        "/api/graph/services/{id}",
        Target::Service,
        None,
        NotFound,
    ),
    ep(
        "GET",
        "/api/graph/services/{id}/neighbourhood",
        Target::Service,
        None,
        NotFound,
    ),
    ep(
        "GET",
        "/api/graph/services/{id}/blast-radius",
        Target::Service,
        None,
        NotFound,
    ),
    ep(
        "GET",
        "/api/graph/services/{id}/incidents",
        Target::Service,
        None,
        NotFound,
    ),
    ep(
        "GET",
        "/api/graph/services/{id}/changes",
        Target::Service,
        None,
        NotFound,
    ),
    ep(
        "PUT",
        "/api/graph/edges",
        Target::Service,
        Some(r#"{"from":"{id}","to":"{id}"}"#),
        NotFound,
    ),
    // Without B's secret a delivery to B's integration is refused (401), whoever sends it.
    ep(
        "POST",
        "/webhooks/{source}/{integration_id}",
        Target::Integration,
        Some(r#"{"alerts":[]}"#),
        NothingOfB,
    ),
    // Last: it ends A's session.
    ep("POST", "/api/auth/logout", Target::None, None, NothingOfB),
];
