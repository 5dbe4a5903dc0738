//! `GET /health` (the process answers) and `GET /ready` (NATS and Postgres reachable, every
//! projector within [`READY_LAG`] events of the head of `EVENTS`).

use aurora_nats::subjects::EVENTS_STREAM;
use aurora_projections::Projector;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;
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

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    status: &'static str,
}

/// The process answers.
#[utoipa::path(get, path = "/health", tag = "system", responses((status = 200, body = Health, description = "the process answers")))]
async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// How long `/ready` waits for each dependency before counting it as down: a readiness probe
/// wants an answer, not a hang while a server is stalled.
pub const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// One dependency or projector: `error` when it is down, `behind` (events still to process)
/// for a projector that answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct Check {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    behind: Option<u64>,
}

impl Check {
    fn up() -> Self {
        Self {
            ok: true,
            error: None,
            behind: None,
        }
    }

    fn down(error: impl std::fmt::Display) -> Self {
        Self {
            ok: false,
            error: Some(error.to_string()),
            behind: None,
        }
    }

    fn timed_out() -> Self {
        Self::down(format!(
            "no answer within {} s",
            READY_TIMEOUT.as_secs_f64()
        ))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Checks {
    nats: Check,
    postgres: Check,
    /// By projector name; empty when NATS is down.
    projections: BTreeMap<String, Check>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    status: &'static str,
    checks: Checks,
}

/// NATS and PostgreSQL reachable and every projector caught up.
#[utoipa::path(get, path = "/ready", tag = "system",
    responses((status = 200, body = Readiness, description = "ready"),
              (status = 503, body = Readiness, description = "a dependency is down or a projector is behind")))]
async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let services = &state.services;
    let postgres = async {
        match tokio::time::timeout(
            READY_TIMEOUT,
            sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&services.gateway_pool),
        )
        .await
        {
            Ok(Ok(_)) => Check::up(),
            Ok(Err(e)) => Check::down(e),
            Err(_) => Check::timed_out(),
        }
    };
    let nats = async {
        let js = async_nats::jetstream::new(services.nats.clone());
        let checks = async {
            let stream = js.get_stream(EVENTS_STREAM).await.map_err(Check::down)?;
            let mut projections = BTreeMap::new();
            for p in Projector::ALL {
                let entry = match stream.consumer_info(p.consumer()).await {
                    Ok(info) => {
                        let behind = info.num_pending + info.num_ack_pending as u64;
                        Check {
                            ok: behind <= READY_LAG,
                            error: None,
                            behind: Some(behind),
                        }
                    }
                    Err(e) => Check::down(e),
                };
                projections.insert(p.name().to_owned(), entry);
            }
            Ok(projections)
        };
        match tokio::time::timeout(READY_TIMEOUT, checks).await {
            Ok(Ok(projections)) => (Check::up(), projections),
            Ok(Err(error)) => (error, BTreeMap::new()),
            Err(_) => (Check::timed_out(), BTreeMap::new()),
        }
    };
    let (postgres, (nats, projections)) = tokio::join!(postgres, nats);
    let ok = postgres.ok
        && nats.ok
        && projections.len() == Projector::ALL.len()
        && projections.values().all(|p| p.ok);
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Readiness {
        status: if ok { "ready" } else { "not_ready" },
        checks: Checks {
            nats,
            postgres,
            projections,
        },
    };
    (status, Json(body))
}
