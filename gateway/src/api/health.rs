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

/// How long `/ready` waits for each dependency before counting it as down: a readiness probe
/// wants an answer, not a hang while a server is stalled.
pub const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

fn down(error: impl std::fmt::Display) -> Value {
    json!({ "ok": false, "error": error.to_string() })
}

fn timed_out() -> Value {
    down(format!(
        "no answer within {} s",
        READY_TIMEOUT.as_secs_f64()
    ))
}

/// NATS and PostgreSQL reachable and every projector caught up.
#[utoipa::path(get, path = "/ready", tag = "system",
    responses((status = 200, description = "ready"), (status = 503, description = "a dependency is down or a projector is behind")))]
async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let services = &state.services;
    let postgres = async {
        match tokio::time::timeout(
            READY_TIMEOUT,
            sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&services.gateway_pool),
        )
        .await
        {
            Ok(Ok(_)) => json!({ "ok": true }),
            Ok(Err(e)) => down(e),
            Err(_) => timed_out(),
        }
    };
    let nats = async {
        let js = async_nats::jetstream::new(services.nats.clone());
        let checks = async {
            let stream = js.get_stream(EVENTS_STREAM).await.map_err(down)?;
            let mut projections = serde_json::Map::new();
            for p in Projector::ALL {
                let entry = match stream.consumer_info(p.consumer()).await {
                    Ok(info) => {
                        let behind = info.num_pending + info.num_ack_pending as u64;
                        json!({ "behind": behind, "ok": behind <= READY_LAG })
                    }
                    Err(e) => down(e),
                };
                projections.insert(p.name().to_owned(), entry);
            }
            Ok(projections)
        };
        match tokio::time::timeout(READY_TIMEOUT, checks).await {
            Ok(Ok(projections)) => (json!({ "ok": true }), Value::Object(projections)),
            Ok(Err(error)) => (error, json!({})),
            Err(_) => (timed_out(), json!({})),
        }
    };
    let (postgres, (nats, projections)) = tokio::join!(postgres, nats);
    let fine = |v: &Value| v["ok"] == true;
    let ok = fine(&postgres)
        && fine(&nats)
        && projections
            .as_object()
            .is_some_and(|p| p.len() == Projector::ALL.len() && p.values().all(fine));
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
