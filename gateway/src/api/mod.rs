//! The axum router. Every route is mounted through [`utoipa_axum`]'s `OpenApiRouter`, so the
//! OpenAPI document at `/openapi.json` is generated from the same registration that mounts it.
//!
//! - [`auth`]: register, login, logout, `me`; the [`auth::Caller`] every other route asks for.
//! - [`organization`]: members, invitations, API tokens, audit log.
//! - [`incidents`]: the incident list, detail (now or as of a time), raw events;
//!   [`incident_commands`]: change, comment, merge, feedback; [`postmortems`]: an incident's
//!   postmortem, its versions, edits, restores, regeneration and Markdown export; [`metrics`]:
//!   MTTD, MTTR, incident counts and RCA figures over a range.
//! - [`connectors`]: cloud, Kubernetes and observability accounts, GCP projects.
//! - [`chat`]: WebSocket tickets and the chat socket; [`sessions`]: chat sessions over REST,
//!   LLM usage, the agent's command policy.
//! - [`events`]: the organisation's events as Server-Sent Events, delivered as [`sse`] says.
//! - [`health`]: liveness and readiness; [`prometheus`]: `/metrics`, and the count of requests
//!   by route and status.
//! - [`hygiene`], [`rate_limit`], [`body`]: what every request goes through.
//!
//! Failures answer `{"error":{"code","message"}}` with the status of their kind ([`ApiError`]).

pub mod auth;
mod body;
mod changes;
pub(crate) mod chat;
pub mod config;
mod connectors;
mod correlation;
// The crate's: the web UI's fallback answers with its `no_route` (crate::ui).
pub(crate) mod error;
mod events;
mod graph;
mod health;
pub mod hygiene;
mod incident_commands;
mod incidents;
pub mod intake;
mod integrations;
mod knowledge;
mod metrics;
mod organization;
mod page;
mod postmortems;
pub(crate) mod prometheus;
pub mod rate_limit;
pub(crate) mod request_span;
mod responses;
mod sessions;
mod sse;

pub use health::READY_TIMEOUT;

use std::sync::{Arc, OnceLock};

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub use body::Body;
pub use config::ApiConfig;
pub use error::{no_route, ApiError};

use aurora_handlers::agent::AgentConfig;

use crate::services::Services;

/// What handlers share: one `Arc`, so the extractors' clones on every request cost one
/// reference count (cloning the connections inside was a measurable share of the intake's CPU).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub services: Services,
    pub config: Arc<ApiConfig>,
    /// The chat agent's configuration (whether a model is configured, which models are allowed).
    pub agent: Arc<AgentConfig>,
    pub limits: Arc<rate_limit::Limits>,
    /// The OpenAPI document, rendered once the router is assembled.
    openapi: Arc<OnceLock<String>>,
    /// Integrations as the webhook intake knows them.
    pub intake: Arc<intake::IntakeCache>,
    pub js: async_nats::jetstream::Context,
    /// WebSocket tickets and the per-user query limit.
    pub chat: chat::ChatState,
    /// Pending GCP OAuth flows (their state and PKCE verifier), in a NATS KV bucket opened on
    /// first use.
    pub gcp_oauth_states: tokio::sync::OnceCell<async_nats::jetstream::kv::Store>,
    /// Turns true when the server stops: an answer that streams on (an event stream) ends then,
    /// or the graceful shutdown would wait for it forever.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// Knowledge-base documents, their files and search.
    pub knowledge: aurora_handlers::knowledge::KnowledgeBase,
    /// The log followed once for every live reader of this gateway (its event streams).
    pub follower: aurora_nats::follow::Follower,
}

impl AppState {
    pub fn new(
        services: Services,
        config: ApiConfig,
        agent: Arc<AgentConfig>,
        knowledge: aurora_handlers::knowledge::KnowledgeBase,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Self {
        Self(Arc::new(Shared {
            shutdown,
            knowledge,
            agent,
            limits: Arc::new(rate_limit::Limits::new(&config)),
            chat: chat::ChatState::new(config.chat_queries_per_minute),
            gcp_oauth_states: tokio::sync::OnceCell::new(),
            config: Arc::new(config),
            js: async_nats::jetstream::new(services.nats.clone()),
            follower: aurora_nats::follow::Follower::new(services.log.clone()),
            services,
            openapi: Arc::new(OnceLock::new()),
            intake: Arc::new(intake::IntakeCache::default()),
        }))
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Aurora",
        description = "Incident response on an event log. Authenticate with `Authorization: Bearer <token>` (a session token from /api/auth/login or an API token) or the `aurora_session` cookie."
    ),
    modifiers(&Security),
    components(schemas(events::CloudEvent)),
    tags(
        (name = "auth", description = "Registration and sessions"),
        (name = "organization", description = "Members, invitations, API tokens, audit log"),
        (name = "incidents", description = "Incidents and their history"),
        (name = "integrations", description = "Webhook sources of the organisation"),
        (name = "connectors", description = "Cloud, Kubernetes and observability accounts the agent uses"),
        (name = "correlation", description = "How alerts are grouped into incidents"),
        (name = "chat", description = "Chat with the agent: WebSocket tickets and the socket"),
        (name = "knowledge", description = "Knowledge base: runbooks and notes, searched by keyword and meaning"),
        (name = "changes", description = "Deployments, merges and builds reported by CI and source control"),
        (name = "graph", description = "The service graph: nodes, dependencies, neighbourhoods, blast radius"),
        (name = "events", description = "The organisation's events, live (Server-Sent Events)"),
        (name = "webhooks", description = "Deliveries from monitoring and CI tools, authenticated per source"),
        (name = "system", description = "Health and this document")
    )
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                auth::credentials::SESSION_COOKIE,
            ))),
        );
    }
}

/// Every route, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    api_routes().merge(intake::router())
}

/// Every route but the webhook intake, which skips the API's middleware (see [`router`]).
fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::router())
        .merge(prometheus::router())
        .merge(auth::router())
        .merge(organization::router())
        .merge(incidents::router())
        .merge(incident_commands::router())
        .merge(postmortems::router())
        .merge(metrics::router())
        .merge(integrations::router())
        .merge(connectors::router())
        .merge(correlation::router())
        .merge(changes::router())
        .merge(graph::router())
        .merge(chat::router())
        .merge(sessions::router())
        .merge(events::router())
        .merge(knowledge::router())
        .routes(routes!(openapi_json))
}

/// The OpenAPI document of every route.
#[utoipa::path(get, path = "/openapi.json", tag = "system",
    responses((status = 200, body = Object, description = "OpenAPI 3.1 document")))]
async fn openapi_json(State(state): State<AppState>) -> Response {
    let body = state.openapi.get().cloned().unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// The OpenAPI document of [`routes`].
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = api_routes().into_openapi();
    responses::declare(&mut doc, responses::Layers::Api);
    let mut webhook_doc = OpenApiRouter::new().merge(intake::router()).into_openapi();
    responses::declare(&mut webhook_doc, responses::Layers::Webhooks);
    doc.merge(webhook_doc);
    doc
}

pub fn router(state: AppState) -> Result<Router, anyhow::Error> {
    let (router, mut doc) = api_routes().split_for_parts();
    responses::declare(&mut doc, responses::Layers::Api);
    // Webhooks are machine-to-machine and the hottest path: they authenticate by their source's
    // rule, answer only JSON themselves, and need no session, CORS, browser headers or time
    // limit (the JetStream acknowledgement has its own). Every layer costs per request.
    let (webhooks, mut webhook_doc) = OpenApiRouter::new()
        .merge(intake::router())
        .split_for_parts();
    responses::declare(&mut webhook_doc, responses::Layers::Webhooks);
    doc.merge(webhook_doc);
    let routes = Arc::new(prometheus::Routes::new(&state.services.metrics, &doc));
    let webhooks = webhooks
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config.body_limit))
        .with_state(state.clone());
    let rendered = doc
        .to_json()
        .map_err(|e| anyhow::anyhow!("the OpenAPI document does not render: {e}"))?;
    let _ = state.openapi.set(rendered);
    let x_request_id = axum::http::HeaderName::from_static("x-request-id");
    let cors = hygiene::cors(&state.config)?;
    // What no route answers is the web UI's (its pages and files; JSON 404 under /api/), its
    // files compressed for browsers (event streams never are: the default predicate skips them).
    let ui = axum::handler::Handler::layer(
        crate::ui::fallback,
        tower_http::compression::CompressionLayer::new(),
    );
    let router = router
        .fallback(ui)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config.body_limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::caller::authenticate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            hygiene::time_limit,
        ))
        .layer(axum::middleware::from_fn(hygiene::json_errors))
        // Inside the security headers, so preflight answers get them too.
        .layer(cors)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            hygiene::security_headers,
        ))
        .with_state(state);
    // Counted on each router before they are merged, so that every route of both is.
    let count = axum::middleware::from_fn_with_state(routes, prometheus::count_requests);
    Ok(webhooks
        .layer(count.clone())
        .merge(router.layer(count))
        .layer(axum::middleware::from_fn(request_span::instrument))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid)))
}

/// A path segment that must be a UUID (`what` names it in the error).
pub fn parse_uuid(text: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| {
        ApiError::bad_request(
            "invalid_id",
            format!("{text:?} is not a {what} id (a UUID)"),
        )
    })
}

/// A time given in a query parameter (`name` says which), RFC 3339.
pub fn query_time(name: &str, text: &str) -> Result<chrono::DateTime<chrono::Utc>, ApiError> {
    // An unencoded `+02:00` offset arrives as a space after query decoding.
    let text = text.replace(' ', "+");
    chrono::DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| {
            ApiError::bad_request(
                "invalid_time",
                format!("{name}={text:?} is not an RFC 3339 time: {e}"),
            )
        })
}

#[cfg(test)]
mod tests {
    /// Every route is mounted through `OpenApiRouter::routes`, which is what puts it in the
    /// OpenAPI document; a route mounted with axum's plain `route` would be missing from it. (The
    /// end-to-end tests check the converse: every documented route answers.)
    #[test]
    fn no_route_is_mounted_outside_the_openapi_router() {
        // Spelled in pieces so that this test does not find itself.
        let plain_route = concat!(".rou", "te(");
        let routing = concat!("rout", "ing::");
        let sources = [
            ("mod.rs", include_str!("mod.rs")),
            ("health.rs", include_str!("health.rs")),
            ("prometheus.rs", include_str!("prometheus.rs")),
            ("incidents/mod.rs", include_str!("incidents/mod.rs")),
            ("incidents/list.rs", include_str!("incidents/list.rs")),
            ("incidents/rca.rs", include_str!("incidents/rca.rs")),
            (
                "incidents/rca_stream.rs",
                include_str!("incidents/rca_stream.rs"),
            ),
            ("incident_commands.rs", include_str!("incident_commands.rs")),
            ("postmortems/mod.rs", include_str!("postmortems/mod.rs")),
            ("metrics.rs", include_str!("metrics.rs")),
            ("organization.rs", include_str!("organization.rs")),
            ("integrations/mod.rs", include_str!("integrations/mod.rs")),
            (
                "integrations/deliveries.rs",
                include_str!("integrations/deliveries.rs"),
            ),
            ("connectors/mod.rs", include_str!("connectors/mod.rs")),
            (
                "connectors/projects.rs",
                include_str!("connectors/projects.rs"),
            ),
            ("connectors/oauth.rs", include_str!("connectors/oauth.rs")),
            ("intake.rs", include_str!("intake.rs")),
            ("correlation.rs", include_str!("correlation.rs")),
            ("changes.rs", include_str!("changes.rs")),
            ("chat/mod.rs", include_str!("chat/mod.rs")),
            ("chat/tickets.rs", include_str!("chat/tickets.rs")),
            ("chat/socket.rs", include_str!("chat/socket.rs")),
            ("sessions/mod.rs", include_str!("sessions/mod.rs")),
            ("sessions/messages.rs", include_str!("sessions/messages.rs")),
            ("sessions/usage.rs", include_str!("sessions/usage.rs")),
            ("auth/mod.rs", include_str!("auth/mod.rs")),
            ("auth/caller.rs", include_str!("auth/caller.rs")),
            ("hygiene.rs", include_str!("hygiene.rs")),
            ("request_span.rs", include_str!("request_span.rs")),
            ("events.rs", include_str!("events.rs")),
            ("sse.rs", include_str!("sse.rs")),
            ("graph/mod.rs", include_str!("graph/mod.rs")),
            ("knowledge/mod.rs", include_str!("knowledge/mod.rs")),
        ];
        for (file, text) in sources {
            assert!(
                !text.contains(plain_route) && !text.contains(routing),
                "api/{file} mounts a route outside OpenApiRouter::routes"
            );
        }
        let modules = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/api"))
            .expect("the api sources")
            .count();
        assert_eq!(
            modules, 28,
            "a new file in src/api: add it to the list above if it mounts routes"
        );
    }
}
