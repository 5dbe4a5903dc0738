//! `GET /health` (the process answers) and `GET /ready` (NATS and Postgres reachable, every
//! projector within [`READY_LAG`] events of the head of `EVENTS`).

use aurora_nats::subjects::EVENTS_STREAM;
use aurora_projections::Projector;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;

/// How many events a projector may still have to process while the service counts as ready.
pub const READY_LAG: u64 = 1000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ready))
}

/// The process answers.
#[utoipa::path(get, path = "/health", tag = "system", responses((status = 200, description = "`{status: ok}`")))]
async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// NATS and PostgreSQL reachable and every projector caught up.
#[utoipa::path(get, path = "/ready", tag = "system",
    responses((status = 200, description = "ready"), (status = 503, description = "a dependency is down or a projector is behind")))]
async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let services = &state.services;
    let mut ok = true;
    let postgres = match sqlx::query_scalar::<_, i32>("SELECT 1")
        .fetch_one(&services.gateway_pool)
        .await
    {
        Ok(_) => json!({ "ok": true }),
        Err(e) => {
            ok = false;
            json!({ "ok": false, "error": e.to_string() })
        }
    };
    let js = async_nats::jetstream::new(services.nats.clone());
    let mut projections = serde_json::Map::new();
    let nats = match js.get_stream(EVENTS_STREAM).await {
        Ok(stream) => {
            for p in Projector::ALL {
                let entry = match stream.consumer_info(p.consumer()).await {
                    Ok(info) => {
                        let behind = info.num_pending + info.num_ack_pending as u64;
                        ok &= behind <= READY_LAG;
                        json!({ "behind": behind, "ok": behind <= READY_LAG })
                    }
                    Err(e) => {
                        ok = false;
                        json!({ "ok": false, "error": e.to_string() })
                    }
                };
                projections.insert(p.name().to_owned(), entry);
            }
            json!({ "ok": true })
        }
        Err(e) => {
            ok = false;
            json!({ "ok": false, "error": e.to_string() })
        }
    };
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ok { "ready" } else { "not_ready" },
        "checks": { "nats": nats, "postgres": postgres, "projections": projections },
    });
    (status, Json(body))
}
