//! `GET /metrics`: every series of the process in the Prometheus text format
//! (`aurora_telemetry::metrics` lists them), and [`count_requests`], which counts each HTTP
//! request by route template and status.
//!
//! It is public, like `/health`: no series names a tenant unless the operator turned tenant
//! labels on. With `AURORA_METRICS_LISTEN` the series are served on that address instead
//! (`app::run` starts that listener), and the gateway's port answers 404, so a public port need
//! not expose them.

use std::collections::HashMap;
use std::sync::Arc;

use rustc_hash::FxBuildHasher;

use aurora_telemetry::metrics::{RouteCounters, CONTENT_TYPE};
use aurora_telemetry::Metrics;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics))
}

/// The process's metrics in the Prometheus text format (0.0.4).
#[utoipa::path(get, path = "/metrics", tag = "system",
    responses((status = 200, content_type = "text/plain", body = String,
               description = "every series, in the Prometheus text format (version 0.0.4)"),
              (status = 404, description = "served on AURORA_METRICS_LISTEN instead")),
    security(()))]
async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    if state.config.metrics_listen.is_some() {
        return Err(ApiError::NotFound(
            "metrics are served on AURORA_METRICS_LISTEN".into(),
        ));
    }
    Ok(exposition(&state.services.metrics))
}

/// The answer to a scrape.
pub(crate) fn exposition(metrics: &Metrics) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        metrics.encode(),
    )
        .into_response()
}

/// Each route template's request counters, made once: a request's count is a lookup of its
/// template and an atomic add.
pub struct Routes {
    known: HashMap<Box<str>, RouteCounters, FxBuildHasher>,
    unmatched: RouteCounters,
}

impl Routes {
    /// Counters for every path of the OpenAPI document (which is every route).
    pub fn new(metrics: &Metrics, doc: &utoipa::openapi::OpenApi) -> Self {
        let known = doc
            .paths
            .paths
            .keys()
            .map(|path| (Box::from(path.as_str()), metrics.route_counters(path)))
            .collect();
        Self {
            known,
            unmatched: metrics.route_counters("unmatched"),
        }
    }

    fn counters(&self, request: &Request) -> &RouteCounters {
        request
            .extensions()
            .get::<MatchedPath>()
            .and_then(|path| self.known.get(path.as_str()))
            .unwrap_or(&self.unmatched)
    }
}

/// Counts each answered request by method, route template (`/api/incidents/{id}`, never the
/// raw path: ids would make a series each) and status. Requests no route matched (the web UI's
/// pages and files among them) count as `unmatched`.
pub async fn count_requests(
    State(routes): State<Arc<Routes>>,
    request: Request,
    next: Next,
) -> Response {
    let method = method_label(request.method());
    let counters = routes.counters(&request);
    let response = next.run(request).await;
    counters.count(method, response.status().as_u16());
    response
}

/// A method as a label: the standard ones by name, anything else as `other` (a client may
/// send any token there).
fn method_label(method: &Method) -> &'static str {
    super::request_span::standard_method(method).unwrap_or("other")
}
