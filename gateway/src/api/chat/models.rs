//! `GET /api/chat/models`: the models a query may name, so a client can offer a picker instead
//! of learning of `MODEL_NOT_ALLOWED` after asking.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::auth::Caller;
use crate::api::responses::ErrorBody;
use crate::api::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct ChatModels {
    /// The model a query without `model` gets (`LLM_MODEL`); `null` when none is configured
    /// (every query is then answered with `NO_MODEL`).
    pub default: Option<String>,
    /// Every model a query may name: the default first, then `LLM_MODELS`.
    pub models: Vec<String>,
}

/// The chat's models: the default and the others a query may ask for.
#[utoipa::path(get, path = "/api/chat/models", tag = "chat",
    responses((status = 200, description = "the models", body = ChatModels),
              (status = 401, description = "not signed in", body = ErrorBody)))]
pub async fn models(State(state): State<AppState>, _caller: Caller) -> Json<ChatModels> {
    let default = state.agent.llm.as_ref().map(|llm| llm.model.clone());
    let mut models: Vec<String> = default.iter().cloned().collect();
    for model in &state.agent.models {
        if !models.contains(model) {
            models.push(model.clone());
        }
    }
    Json(ChatModels { default, models })
}
