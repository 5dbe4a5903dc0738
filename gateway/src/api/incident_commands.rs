//! Commands on incidents over REST: change (status, severity, summary in one command), comment,
//! merge into another incident, feedback on the analysis. They run on the event store directly;
//! its optimistic concurrency makes that safe beside the intake's writers.

use aurora_domain::incident::IncidentState;
use aurora_domain::organization::Role;
use aurora_domain::{IncidentCommand, IncidentError, IncidentId, IncidentStatus, Severity};
use aurora_nats::envelope::Context;
use aurora_nats::Executed;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::auth::Caller;
use super::{parse_uuid, ApiError, AppState, Body};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(update))
        .routes(routes!(comment))
        .routes(routes!(merge))
        .routes(routes!(feedback))
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    parse_uuid(id, "incident")
}

/// The incident's state now, or 404 when it does not exist in the caller's tenant.
pub(super) async fn existing(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> Result<IncidentState, ApiError> {
    state
        .services
        .incidents
        .load(&caller.tenant, id)
        .await?
        .map(|s| s.into_inner())
        .ok_or_else(|| ApiError::NotFound(format!("incident {id} not found")))
}

/// Runs `command` on the caller's incident `id`: what it did and the incident after it, or the
/// refusal answered as [`refusal`] says. Every route here writes this way, and so do the
/// investigation's (`incidents::rca`) and the postmortem's regeneration (a request recorded on
/// the incident).
pub(super) async fn execute(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    command: IncidentCommand,
) -> Result<(Executed, IncidentState), ApiError> {
    state
        .services
        .incidents
        .execute_with_state(&caller.tenant, id, command, Context::new_root())
        .await?
        .map_err(refusal)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentRequest {
    text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommentCreated {
    comment_id: Uuid,
}

/// Comment on an incident (editor).
#[utoipa::path(post, path = "/api/incidents/{id}/comments", tag = "incidents", request_body = CommentRequest,
    params(("id" = Uuid, Path, description = "the incident")),
    responses((status = 201, body = CommentCreated), (status = 403, description = "viewers cannot comment"),
              (status = 404, description = "no such incident in the caller's organisation"),
              (status = 409, description = "the incident was merged into another"),
              (status = 422, description = "empty or too long"),
              (status = 503, description = "the event store is unavailable, or too many concurrent changes to this incident; retry after Retry-After")))]
async fn comment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(req): Body<CommentRequest>,
) -> Result<(StatusCode, Json<CommentCreated>), ApiError> {
    caller
        .require(&state, Role::Editor, "commenting on an incident")
        .await?;
    let id = parse_id(&id)?;
    // An incident that does not exist in this tenant is 404 before anything is decided.
    existing(&state, &caller, id).await?;
    let comment_id = Uuid::now_v7();
    let command = IncidentCommand::AddComment {
        comment_id,
        author: caller.email.clone(),
        text: req.text,
        at: Utc::now(),
    };
    execute(&state, &caller, id, command).await?;
    Ok((StatusCode::CREATED, Json(CommentCreated { comment_id })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentChange {
    /// investigating, analyzed or resolved
    status: Option<String>,
    /// critical, high, medium, low or info
    severity: Option<String>,
    summary: Option<String>,
    /// Why it was resolved (with `status: resolved`).
    reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentChanged {
    incident_id: Uuid,
    /// The fields this request changed (`severity`, `summary`, `status`); empty when all already
    /// were as asked.
    changed: Vec<&'static str>,
    /// The incident's sequence number after the change.
    aggregate_sequence: i32,
}

/// Change an incident's status, severity or summary (editor). All given fields are one command:
/// they change together or, if any is refused, none does.
#[utoipa::path(patch, path = "/api/incidents/{id}", tag = "incidents", request_body = IncidentChange,
    params(("id" = Uuid, Path, description = "the incident")),
    responses((status = 200, body = IncidentChanged),
              (status = 403, description = "viewers cannot change incidents"),
              (status = 404, description = "no such incident in the caller's organisation"),
              (status = 409, description = "the incident is resolved or merged"),
              (status = 422, description = "a transition the lifecycle does not allow, or an empty summary"),
              (status = 503, description = "the event store is unavailable, or too many concurrent changes to this incident; retry after Retry-After")))]
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(change): Body<IncidentChange>,
) -> Result<Json<IncidentChanged>, ApiError> {
    caller
        .require(&state, Role::Editor, "changing an incident")
        .await?;
    let id = parse_id(&id)?;
    let severity = change
        .severity
        .as_deref()
        .map(Severity::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_severity", e.to_string()))?;
    let status = change
        .status
        .as_deref()
        .map(IncidentStatus::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_status", e.to_string()))?;
    if status == Some(IncidentStatus::Merged) {
        return Err(ApiError::bad_request(
            "invalid_status",
            format!("an incident is merged with POST /api/incidents/{id}/merge, not by setting its status"),
        ));
    }
    if severity.is_none() && status.is_none() && change.summary.is_none() {
        return Err(ApiError::bad_request(
            "invalid_body",
            "give at least one of status, severity, summary",
        ));
    }
    let before = existing(&state, &caller, id).await?;
    let command = IncidentCommand::Update {
        severity,
        summary: change.summary,
        status,
        reason: change.reason,
        by: caller.email.clone(),
        at: Utc::now(),
    };
    let (executed, after) = execute(&state, &caller, id, command).await?;
    // Nothing appended means nothing changed, whatever a concurrent writer did meanwhile.
    let changed = if executed.events == 0 {
        Vec::new()
    } else {
        changed_fields(&before, &after)
    };
    Ok(Json(IncidentChanged {
        incident_id: id,
        changed,
        aggregate_sequence: executed.aggregate_sequence,
    }))
}

/// The fields of a PATCH that differ between two states, in the order the command decides them.
fn changed_fields(before: &IncidentState, after: &IncidentState) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if before.severity != after.severity {
        changed.push("severity");
    }
    if before.summary != after.summary {
        changed.push("summary");
    }
    if before.status != after.status {
        changed.push("status");
    }
    changed
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The incident that takes over this one's alerts.
    target_id: Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Merged {
    incident_id: Uuid,
    /// The incident this one now points to.
    merged_into: Uuid,
    /// The incident that took over the alerts: `merged_into`, or where that incident was itself
    /// merged meanwhile.
    absorbed_by: Uuid,
}

/// How many merges a concurrent chain of merges may add before a merge gives up (409).
const MAX_MERGE_HOPS: usize = 8;

/// Merge an incident into another (editor): this one becomes `merged` and stops changing, the
/// target takes over its alerts and affected services.
///
/// The source is merged first: from then on it never changes, so the alerts the target absorbs
/// are final. If the second step fails (the event store unavailable), the same request completes
/// it: a source already merged into this target goes straight to the absorb, which is idempotent.
#[utoipa::path(post, path = "/api/incidents/{id}/merge", tag = "incidents", request_body = MergeRequest,
    params(("id" = Uuid, Path, description = "the incident to merge (the source)")),
    responses((status = 200, body = Merged),
              (status = 403, description = "viewers cannot merge incidents"),
              (status = 404, description = "the incident or the target is not in the caller's organisation"),
              (status = 409, description = "the incident is already merged elsewhere, the target is merged, or concurrent merges formed a loop"),
              (status = 422, description = "an incident cannot be merged into itself"),
              (status = 503, description = "the event store is unavailable, or too many concurrent changes to this incident; retry after Retry-After")))]
async fn merge(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(req): Body<MergeRequest>,
) -> Result<Json<Merged>, ApiError> {
    caller
        .require(&state, Role::Editor, "merging incidents")
        .await?;
    let id = parse_id(&id)?;
    let target = req.target_id;
    let source = existing(&state, &caller, id).await?;
    let target_state = existing(&state, &caller, target)
        .await
        .map_err(|_| ApiError::NotFound(format!("target incident {target} not found")))?;
    let incidents = &state.services.incidents;
    let source = if source.merged_into == Some(IncidentId(target)) {
        source
    } else {
        let command = IncidentCommand::MergeInto {
            target: IncidentId(target),
            target_status: target_state.status,
            by: caller.email.clone(),
            at: Utc::now(),
        };
        execute(&state, &caller, id, command).await?.1
    };
    let alerts: Vec<_> = source.alerts.iter().map(|a| a.alert.clone()).collect();
    let mut absorber = target;
    for _ in 0..MAX_MERGE_HOPS {
        let command = IncidentCommand::AbsorbMerged {
            source: IncidentId(id),
            alerts: alerts.clone(),
            affected_services: source.affected_services.clone(),
            at: Utc::now(),
        };
        match incidents
            .execute(&caller.tenant, absorber, command, Context::new_root())
            .await?
        {
            Ok(_) => {
                return Ok(Json(Merged {
                    incident_id: id,
                    merged_into: target,
                    absorbed_by: absorber,
                }))
            }
            // The target was merged between our read and this write: its alerts went on to
            // where it was merged, and so do ours.
            Err(IncidentError::Merged { into }) if into.0 != id => absorber = into.0,
            Err(other) => return Err(refusal(other)),
        }
    }
    Err(ApiError::conflict(
        "merge_loop",
        format!("incident {id} is merged, but concurrent merges left no incident to take its alerts; merge the survivors again"),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    /// Whether the analysis helped.
    helpful: bool,
    comment: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackRecorded {
    incident_id: Uuid,
    /// False when the caller's feedback already said exactly this of this run.
    changed: bool,
    /// The investigation run it rates: the incident's latest when it was given (null: none was
    /// ever asked for).
    run_id: Option<Uuid>,
}

/// Feedback on the incident's analysis (any member, viewers too): whether it helped, and why. It
/// rates the incident's latest investigation run, named in the answer. A member's later feedback
/// replaces their earlier one.
///
/// Viewers may give it: feedback rates the analysis and changes nothing of the incident's course
/// (status, severity, alerts), and the people who read an analysis without working the incident
/// are among those whose verdict on it matters.
#[utoipa::path(post, path = "/api/incidents/{id}/feedback", tag = "incidents", request_body = FeedbackRequest,
    params(("id" = Uuid, Path, description = "the incident")),
    responses((status = 200, body = FeedbackRecorded),
              (status = 404, description = "no such incident in the caller's organisation"),
              (status = 409, description = "the incident was merged into another"),
              (status = 422, description = "the comment is too long"),
              (status = 503, description = "the event store is unavailable, or too many concurrent changes to this incident; retry after Retry-After")))]
async fn feedback(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(req): Body<FeedbackRequest>,
) -> Result<Json<FeedbackRecorded>, ApiError> {
    let id = parse_id(&id)?;
    existing(&state, &caller, id).await?;
    let command = IncidentCommand::GiveFeedback {
        by: caller.email.clone(),
        helpful: req.helpful,
        comment: req.comment.filter(|c| !c.trim().is_empty()),
        at: Utc::now(),
    };
    let (executed, after) = execute(&state, &caller, id, command).await?;
    let run_id = after
        .feedback
        .iter()
        .find(|f| f.by == caller.email)
        .and_then(|f| f.run);
    Ok(Json(FeedbackRecorded {
        incident_id: id,
        changed: executed.events > 0,
        run_id,
    }))
}

/// The answer to an incident's refusal.
pub(super) fn refusal(refusal: IncidentError) -> ApiError {
    use IncidentError as E;
    let message = refusal.to_string();
    match refusal {
        E::NotOpened => ApiError::NotFound(message),
        E::Merged { .. } => ApiError::conflict("merged", message),
        E::TargetMerged { .. } => ApiError::conflict("target_merged", message),
        E::Resolved | E::AlreadyResolved => ApiError::conflict("resolved", message),
        E::NotResolved { .. } => ApiError::conflict("not_resolved", message),
        E::InvalidStatusTransition { .. } | E::UseResolve | E::UseMergeInto => {
            ApiError::unprocessable("invalid_transition", message)
        }
        E::MergeIntoItself { .. } => ApiError::unprocessable("merge_into_itself", message),
        E::RcaUnderWay { .. } => ApiError::conflict("rca_under_way", message),
        E::NoRcaUnderWay => ApiError::conflict("no_rca_under_way", message),
        // Other runs were asked for between this request's read and its write.
        E::NotNextRca { .. } => ApiError::conflict("rca_under_way", message),
        E::EmptySummary => ApiError::unprocessable("invalid_summary", message),
        E::EmptyComment | E::CommentTooLong { .. } => {
            ApiError::unprocessable("invalid_comment", message)
        }
        _ => ApiError::unprocessable("refused", message),
    }
}
