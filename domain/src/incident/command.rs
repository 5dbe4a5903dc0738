//! What may be asked of an incident, and how it decides.
//!
//! Everything from outside (the correlation score, the merge target's status) is looked up by the
//! caller and put in the command, so deciding stays pure.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::alert::Alert;
use super::error::IncidentError;
use super::event::{IncidentEvent, Opening};
use super::state::IncidentState;
use crate::correlation::Correlation;
use crate::ids::{run_id, IncidentId};
use crate::values::{IncidentStatus, RcaStatus, Severity};

/// An incident holds fewer than this many correlated alerts before it stops accepting more.
pub const ALERT_CAP: u32 = 50;
/// The longest comment (and feedback comment), in characters.
pub const COMMENT_MAX_CHARS: usize = 10_000;

/// Commands travel on `CMD` as JSON, tagged by `type` (snake_case).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum IncidentCommand {
    /// `why` is the correlation decision, explained (shown in the timeline); `integration_id`
    /// is none when a delivery did not open it.
    Open(Opening),
    AttachAlert {
        alert: Alert,
        correlation: Correlation,
        at: DateTime<Utc>,
    },
    AttachResolveNotification {
        fingerprint: String,
        source_alert_id: String,
        at: DateTime<Utc>,
    },
    /// Only to `investigating` or `analyzed`; see [`IncidentCommand::Resolve`] and
    /// [`IncidentCommand::MergeInto`] for the others.
    ChangeStatus {
        to: IncidentStatus,
        by: String,
        at: DateTime<Utc>,
    },
    ChangeSeverity {
        to: Severity,
        by: String,
        at: DateTime<Utc>,
    },
    ChangeRcaStatus {
        to: RcaStatus,
        at: DateTime<Utc>,
    },
    SetSummary {
        summary: String,
        by: String,
        at: DateTime<Utc>,
    },
    /// Ask for investigation `run` (by a person, or `None`: the incident's opening), which must
    /// be its next one: `ids::run_id(id, rca_runs + 1)`.
    RequestRca {
        run: Uuid,
        by: Option<String>,
        at: DateTime<Utc>,
    },
    /// Investigation `run` began: the RCA status becomes `running`.
    StartRca {
        run: Uuid,
        at: DateTime<Utc>,
    },
    /// Investigation `run` concluded with `summary`: RCA `complete`, the summary set, an
    /// incident still being investigated becomes `analyzed`, and one whose source gave no
    /// severity takes the `severity` the investigation assessed.
    ConcludeRca {
        run: Uuid,
        summary: String,
        /// `None` when the run assessed none (no model, or the model gave none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        severity: Option<Severity>,
        at: DateTime<Utc>,
    },
    /// Investigation `run` failed: RCA `error`.
    FailRca {
        run: Uuid,
        at: DateTime<Utc>,
    },
    CancelRca {
        by: String,
        at: DateTime<Utc>,
    },
    /// The source side of a merge. `target_status` is the target's status as the caller read it.
    MergeInto {
        target: IncidentId,
        target_status: IncidentStatus,
        by: String,
        at: DateTime<Utc>,
    },
    /// The target side of a merge: take over the source's alerts and affected services.
    AbsorbMerged {
        source: IncidentId,
        alerts: Vec<Alert>,
        affected_services: Vec<String>,
        at: DateTime<Utc>,
    },
    Resolve {
        by: String,
        reason: Option<String>,
        at: DateTime<Utc>,
    },
    AddComment {
        comment_id: Uuid,
        author: String,
        text: String,
        at: DateTime<Utc>,
    },
    GiveFeedback {
        by: String,
        helpful: bool,
        comment: Option<String>,
        at: DateTime<Utc>,
    },
    /// Ask for the postmortem of a resolved incident to be written again (`request` a new id).
    RequestPostmortem {
        request: Uuid,
        by: String,
        at: DateTime<Utc>,
    },
    /// Several changes asked at once (the REST `PATCH`): decided in the order severity, summary,
    /// status, each on the state the previous ones leave, and refused as a whole if any part is
    /// refused, so its events are appended together or not at all.
    Update {
        severity: Option<Severity>,
        summary: Option<String>,
        /// `resolved` resolves (with `reason`); `merged` is refused (merging has its own command).
        status: Option<IncidentStatus>,
        /// Why it was resolved (read only with `status: resolved`).
        reason: Option<String>,
        by: String,
        at: DateTime<Utc>,
    },
}

type Decision = Result<Vec<IncidentEvent>, IncidentError>;

/// Who the investigation's changes to an incident are by.
pub const RCA_AUTHOR: &str = "aurora-rca";

/// Refuses a step of a run that is no longer the incident's current one (cancelled, replaced).
fn current_run(state: &IncidentState, run: Uuid) -> Result<(), IncidentError> {
    if state.rca_under_way && state.rca_run == Some(run) {
        return Ok(());
    }
    Err(IncidentError::NotCurrentRca {
        run,
        current: state.rca_run.filter(|_| state.rca_under_way),
    })
}

/// The RCA status changes that walk from `from` through `path` (skipping the steps already
/// taken), each allowed by [`RcaStatus::can_move_to`].
fn rca_moves(from: RcaStatus, path: &[RcaStatus], at: DateTime<Utc>) -> Decision {
    let start = path.iter().position(|s| *s == from).map_or(0, |i| i + 1);
    let mut events = Vec::new();
    let mut current = from;
    for &to in &path[start..] {
        if !current.can_move_to(to) {
            return Err(IncidentError::InvalidRcaTransition { from: current, to });
        }
        events.push(IncidentEvent::RcaStatusChanged {
            from: current,
            to,
            at,
        });
        current = to;
    }
    Ok(events)
}

/// Decides which events a command causes (none for a repeat of something already true).
pub(crate) fn decide(state: &IncidentState, command: IncidentCommand) -> Decision {
    match command {
        IncidentCommand::Open(opening) => {
            if let Some(existing) = state.id {
                return Err(IncidentError::AlreadyOpened { id: existing });
            }
            if opening.title.trim().is_empty() {
                return Err(IncidentError::EmptyTitle);
            }
            Ok(vec![IncidentEvent::Opened(opening)])
        }
        other => decide_on_opened(state, other),
    }
}

fn decide_on_opened(state: &IncidentState, command: IncidentCommand) -> Decision {
    let Some(id) = state.id else {
        return Err(IncidentError::NotOpened);
    };
    // A redelivered alert changes nothing, whatever happened to the incident since.
    if let IncidentCommand::AttachAlert { alert, .. } = &command {
        if state.holds_alert(&alert.alert_id) {
            return Ok(vec![]);
        }
    }
    if let Some(into) = state.merged_into {
        return Err(IncidentError::Merged { into });
    }
    match command {
        IncidentCommand::Open { .. } => Err(IncidentError::AlreadyOpened { id }),
        IncidentCommand::AttachAlert {
            alert,
            correlation,
            at,
        } => {
            if state.status == IncidentStatus::Resolved {
                return Err(IncidentError::Resolved);
            }
            if state.correlated_alert_count >= ALERT_CAP {
                return Err(IncidentError::AlertCapReached { cap: ALERT_CAP });
            }
            Ok(vec![IncidentEvent::AlertCorrelated {
                alert,
                correlation,
                at,
            }])
        }
        IncidentCommand::AttachResolveNotification {
            fingerprint,
            source_alert_id,
            at,
        } => {
            if !state.holds_fingerprint(&fingerprint) {
                return Err(IncidentError::FingerprintNotHeld { fingerprint });
            }
            let known = state.resolve_notifications.iter().any(|notice| {
                notice.fingerprint == fingerprint && notice.source_alert_id == source_alert_id
            });
            if known {
                return Ok(vec![]);
            }
            Ok(vec![IncidentEvent::ResolveNotificationAttached {
                fingerprint,
                source_alert_id,
                at,
            }])
        }
        IncidentCommand::ChangeStatus { to, by, at } => change_status(state, to, by, at),
        IncidentCommand::ChangeSeverity { to, by, at } => {
            if state.severity == to {
                return Ok(vec![]);
            }
            Ok(vec![IncidentEvent::SeverityChanged {
                from: state.severity,
                to,
                by,
                at,
            }])
        }
        IncidentCommand::ChangeRcaStatus { to, at } => {
            let from = state.rca_status;
            if from == to {
                return Ok(vec![]);
            }
            if !from.can_move_to(to) {
                return Err(IncidentError::InvalidRcaTransition { from, to });
            }
            Ok(vec![IncidentEvent::RcaStatusChanged { from, to, at }])
        }
        IncidentCommand::RequestRca { run, by, at } => {
            if state.rca_run == Some(run) {
                return Ok(vec![]);
            }
            if let (true, Some(current)) = (state.rca_under_way, state.rca_run) {
                return Err(IncidentError::RcaUnderWay { run: current });
            }
            let episode = state.rca_runs + 1;
            let next = run_id(id, episode);
            if run != next {
                return Err(IncidentError::NotNextRca { run, next });
            }
            Ok(vec![IncidentEvent::RcaRequested {
                run,
                episode,
                by,
                at,
            }])
        }
        IncidentCommand::StartRca { run, at } => {
            current_run(state, run)?;
            rca_moves(state.rca_status, &[RcaStatus::Running], at)
        }
        IncidentCommand::ConcludeRca {
            run,
            summary,
            severity,
            at,
        } => {
            current_run(state, run)?;
            if summary.trim().is_empty() {
                return Err(IncidentError::EmptySummary);
            }
            let mut events = rca_moves(
                state.rca_status,
                &[
                    RcaStatus::Running,
                    RcaStatus::Summarizing,
                    RcaStatus::Complete,
                ],
                at,
            )?;
            if state.summary.as_deref() != Some(summary.as_str()) {
                events.push(IncidentEvent::SummaryUpdated {
                    summary,
                    by: RCA_AUTHOR.to_owned(),
                    at,
                });
            }
            // Only an unknown severity is inferred: one a source or a person set is never
            // overruled by the model.
            if let Some(to) = severity.filter(|s| s.is_known()) {
                if state.severity == Severity::Unknown {
                    events.push(IncidentEvent::SeverityChanged {
                        from: Severity::Unknown,
                        to,
                        by: RCA_AUTHOR.to_owned(),
                        at,
                    });
                }
            }
            if state.status == IncidentStatus::Investigating {
                events.push(IncidentEvent::StatusChanged {
                    from: IncidentStatus::Investigating,
                    to: IncidentStatus::Analyzed,
                    by: RCA_AUTHOR.to_owned(),
                    at,
                });
            }
            Ok(events)
        }
        IncidentCommand::FailRca { run, at } => {
            current_run(state, run)?;
            rca_moves(
                state.rca_status,
                &[RcaStatus::Running, RcaStatus::Error],
                at,
            )
        }
        IncidentCommand::CancelRca { by, at } => match (state.rca_under_way, state.rca_run) {
            (true, Some(run)) => Ok(vec![IncidentEvent::RcaCancelled { run, by, at }]),
            _ => Err(IncidentError::NoRcaUnderWay),
        },
        IncidentCommand::SetSummary { summary, by, at } => {
            if summary.trim().is_empty() {
                return Err(IncidentError::EmptySummary);
            }
            if state.summary.as_deref() == Some(summary.as_str()) {
                return Ok(vec![]);
            }
            Ok(vec![IncidentEvent::SummaryUpdated { summary, by, at }])
        }
        IncidentCommand::MergeInto {
            target,
            target_status,
            by,
            at,
        } => {
            if target == id {
                return Err(IncidentError::MergeIntoItself { id });
            }
            if target_status == IncidentStatus::Merged {
                return Err(IncidentError::TargetMerged { target });
            }
            Ok(vec![IncidentEvent::MergedInto {
                target,
                rca_cancelled: state.rca_under_way || state.rca_status.is_active(),
                by,
                at,
            }])
        }
        IncidentCommand::AbsorbMerged {
            source,
            alerts,
            affected_services,
            at,
        } => {
            if source == id {
                return Err(IncidentError::MergeIntoItself { id });
            }
            if state.merged_from.contains(&source) {
                return Ok(vec![]);
            }
            let alerts = alerts
                .into_iter()
                .filter(|alert| !state.holds_alert(&alert.alert_id))
                .collect();
            Ok(vec![IncidentEvent::MergedAlertsAbsorbed {
                source,
                alerts,
                affected_services,
                at,
            }])
        }
        IncidentCommand::Update {
            severity,
            summary,
            status,
            reason,
            by,
            at,
        } => update(state, severity, summary, status, reason, by, at),
        IncidentCommand::Resolve { by, reason, at } => {
            if state.status == IncidentStatus::Resolved {
                return Err(IncidentError::AlreadyResolved);
            }
            Ok(vec![IncidentEvent::Resolved { by, reason, at }])
        }
        IncidentCommand::AddComment {
            comment_id,
            author,
            text,
            at,
        } => {
            if state.comments.iter().any(|c| c.comment_id == comment_id) {
                return Ok(vec![]);
            }
            if text.trim().is_empty() {
                return Err(IncidentError::EmptyComment);
            }
            check_comment_length(&text)?;
            Ok(vec![IncidentEvent::CommentAdded {
                comment_id,
                author,
                text,
                at,
            }])
        }
        IncidentCommand::GiveFeedback {
            by,
            helpful,
            comment,
            at,
        } => {
            if let Some(comment) = &comment {
                check_comment_length(comment)?;
            }
            // It rates the run shown at that moment: the latest asked for, running or ended.
            let run = state.rca_run;
            let unchanged = state.feedback.iter().any(|f| {
                f.by == by && f.helpful == helpful && f.comment == comment && f.run == run
            });
            if unchanged {
                return Ok(vec![]);
            }
            Ok(vec![IncidentEvent::FeedbackGiven {
                by,
                helpful,
                comment,
                run,
                at,
            }])
        }
        IncidentCommand::RequestPostmortem { request, by, at } => {
            // A postmortem tells how an incident ended; it is written once it has.
            if state.status != IncidentStatus::Resolved {
                return Err(IncidentError::NotResolved {
                    status: state.status,
                });
            }
            Ok(vec![IncidentEvent::PostmortemRequested { request, by, at }])
        }
    }
}

/// The parts of an [`IncidentCommand::Update`], each decided by the rule of its own command on the
/// state the parts before it leave.
fn update(
    state: &IncidentState,
    severity: Option<Severity>,
    summary: Option<String>,
    status: Option<IncidentStatus>,
    reason: Option<String>,
    by: String,
    at: DateTime<Utc>,
) -> Decision {
    let mut parts = Vec::with_capacity(3);
    if let Some(to) = severity {
        parts.push(IncidentCommand::ChangeSeverity {
            to,
            by: by.clone(),
            at,
        });
    }
    if let Some(summary) = summary {
        parts.push(IncidentCommand::SetSummary {
            summary,
            by: by.clone(),
            at,
        });
    }
    match status {
        Some(IncidentStatus::Resolved) => parts.push(IncidentCommand::Resolve { by, reason, at }),
        Some(to) => parts.push(IncidentCommand::ChangeStatus { to, by, at }),
        None => {}
    }
    let mut state = state.clone();
    let mut events = Vec::new();
    for part in parts {
        let decided = decide_on_opened(&state, part)?;
        state = decided.iter().cloned().fold(state, IncidentState::apply);
        events.extend(decided);
    }
    Ok(events)
}

fn change_status(
    state: &IncidentState,
    to: IncidentStatus,
    by: String,
    at: DateTime<Utc>,
) -> Decision {
    let from = state.status;
    match to {
        IncidentStatus::Resolved => return Err(IncidentError::UseResolve),
        IncidentStatus::Merged => return Err(IncidentError::UseMergeInto),
        IncidentStatus::Investigating | IncidentStatus::Analyzed => {}
    }
    if from == to {
        return Ok(vec![]);
    }
    // A resolved incident may be re-opened (back to investigating), not marked analyzed.
    if from == IncidentStatus::Resolved && to == IncidentStatus::Analyzed {
        return Err(IncidentError::InvalidStatusTransition { from, to });
    }
    Ok(vec![IncidentEvent::StatusChanged { from, to, by, at }])
}

fn check_comment_length(text: &str) -> Result<(), IncidentError> {
    let len = text.chars().count();
    if len > COMMENT_MAX_CHARS {
        return Err(IncidentError::CommentTooLong {
            len,
            max: COMMENT_MAX_CHARS,
        });
    }
    Ok(())
}
