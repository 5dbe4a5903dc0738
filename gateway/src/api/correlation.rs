//! Correlation settings per tenant (weights, threshold, window, limits, shadow mode) and the
//! re-correlation dry run. Settings are an event on the tenant's decision log, so the next
//! decision uses them and the change is in the history like every decision.

use aurora_domain::correlation::{
    correlator_id, CorrelationSettings, CorrelatorEvent, CorrelatorSnapshot,
};
use aurora_domain::incident::ALERT_CAP;
use aurora_domain::organization::Role;
use aurora_handlers::ingest::Ingest;
use aurora_nats::envelope::Context;
use aurora_nats::log::append_event;
use aurora_nats::{subjects, StoreError};
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use esrs::event::Upcaster;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::{ApiError, AppState, Body};

/// The longest period a dry run replays.
const MAX_DRY_RUN_DAYS: i64 = 31;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(dry_run))
}

/// The tenant's decision log: its last position and snapshot.
async fn current(
    state: &AppState,
    caller: &Caller,
) -> Result<(u64, i32, CorrelatorSnapshot), ApiError> {
    let subject = subjects::aggregate(
        &caller.tenant,
        "correlator",
        correlator_id(caller.tenant.as_str()),
    );
    Ok(match state.services.log.last_event(&subject).await? {
        None => (0, 0, CorrelatorSnapshot::default()),
        Some(raw) => {
            let event = CorrelatorEvent::upcast(raw.data, raw.version)
                .map_err(|e| anyhow::anyhow!("the decision log does not load: {e}"))?;
            (
                raw.stream_sequence,
                raw.aggregate_sequence,
                event.into_snapshot(),
            )
        }
    })
}

fn checked(settings: &CorrelationSettings) -> Result<(), ApiError> {
    settings
        .validate()
        .map_err(|e| ApiError::unprocessable("invalid_settings", e.to_string()))?;
    if settings.max_group_size > ALERT_CAP {
        return Err(ApiError::unprocessable(
            "invalid_settings",
            format!(
                "max_group_size may be at most {ALERT_CAP} (an incident holds at most {ALERT_CAP} alerts), got {}",
                settings.max_group_size
            ),
        ));
    }
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsAnswer {
    settings: CorrelationSettings,
}

/// The organisation's correlation settings (admin).
#[utoipa::path(get, path = "/api/correlation/settings", tag = "correlation",
    responses((status = 200, body = SettingsAnswer, description = "the settings"), (status = 403, description = "not an admin")))]
async fn get_settings(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<SettingsAnswer>, ApiError> {
    caller
        .require(&state, Role::Admin, "reading correlation settings")
        .await?;
    let (_, _, snapshot) = current(&state, &caller).await?;
    Ok(Json(SettingsAnswer {
        settings: snapshot.settings,
    }))
}

/// Replace the correlation settings (admin). Fields left out take their defaults.
#[utoipa::path(put, path = "/api/correlation/settings", tag = "correlation",
    request_body(content = CorrelationSettings, description = "the settings; fields left out take their defaults"),
    responses((status = 200, body = SettingsAnswer, description = "the settings now in force"), (status = 403, description = "not an admin"),
              (status = 422, description = "out of range, or weights not summing to 1")))]
async fn put_settings(
    State(state): State<AppState>,
    caller: Caller,
    Body(settings): Body<CorrelationSettings>,
) -> Result<Json<SettingsAnswer>, ApiError> {
    caller
        .require(&state, Role::Admin, "changing correlation settings")
        .await?;
    checked(&settings)?;
    let id = correlator_id(caller.tenant.as_str());
    for _ in 0..16 {
        let (last, version, mut snapshot) = current(&state, &caller).await?;
        snapshot.settings = settings.clone();
        let event = CorrelatorEvent::SettingsChanged {
            settings: settings.clone(),
            by: caller.user_id,
            snapshot,
            at: Utc::now(),
        };
        match append_event(
            &state.services.log,
            &caller.tenant,
            "correlator",
            id,
            last,
            version + 1,
            &event,
            &Context::new_root(),
        )
        .await
        {
            Ok(_) => return Ok(Json(SettingsAnswer { settings })),
            // A decision was appended meanwhile: carry its snapshot forward and try again.
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Unavailable {
        message: "the decision log is too busy; retry".into(),
        retry_after: 1,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DryRunRequest {
    /// The settings to try (fields left out take their defaults).
    settings: CorrelationSettings,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

/// Replay the deliveries stored in `INBOX` between `from` and `to` through `settings`, writing
/// nothing, and list the alerts that would be grouped differently from how they were (admin).
/// Topology is scored on the tenant's service graph, titles compared as live correlation does
/// (embeddings when a model is configured), and, with embeddings, every alert that word overlap
/// would group otherwise is listed with both decisions.
#[utoipa::path(post, path = "/api/correlation/dry-run", tag = "correlation", request_body = DryRunRequest,
    responses((status = 200, body = aurora_handlers::dry_run::DryRun, description = "what the settings would have changed"),
              (status = 400, description = "the period is empty or too long"), (status = 422, description = "invalid settings")))]
async fn dry_run(
    State(state): State<AppState>,
    caller: Caller,
    Body(req): Body<DryRunRequest>,
) -> Result<Json<aurora_handlers::dry_run::DryRun>, ApiError> {
    caller
        .require(&state, Role::Admin, "running a correlation dry run")
        .await?;
    checked(&req.settings)?;
    if req.to <= req.from {
        return Err(ApiError::bad_request(
            "invalid_period",
            "`to` must come after `from`",
        ));
    }
    if req.to - req.from > chrono::Duration::days(MAX_DRY_RUN_DAYS) {
        return Err(ApiError::bad_request(
            "invalid_period",
            format!("a dry run covers at most {MAX_DRY_RUN_DAYS} days"),
        ));
    }
    let services = &state.services;
    // The graph and the title comparison live correlation uses.
    let ingest = Ingest::new(
        services.log.clone(),
        services.incidents.clone(),
        services.integrations.clone(),
    )
    .with_graph(services.pool.clone())
    .with_embedder(state.knowledge.embedder.clone());
    let report = ingest
        .dry_run(&caller.tenant, req.settings, req.from, req.to)
        .await?;
    Ok(Json(report))
}
