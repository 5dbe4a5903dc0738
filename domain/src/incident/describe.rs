//! One line of an incident's timeline per event, as an on-call engineer reads it: what the
//! timeline read model shows, what the incident as of a time shows, and what a postmortem's
//! timeline lists — one wording for all three.

use super::command::RCA_AUTHOR;
use super::event::{IncidentEvent, Opening};
use crate::values::{RcaStatus, Severity};

/// One line of the timeline, as an on-call engineer reads it.
pub fn describe(event: &IncidentEvent) -> String {
    match event {
        IncidentEvent::Opened(Opening {
            title,
            service,
            severity,
            source,
            why,
            ..
        }) => match why {
            Some(why) => format!(
                "Incident opened from {source}: {title} ({severity}, service {service}); {why}"
            ),
            None => {
                format!("Incident opened from {source}: {title} ({severity}, service {service})")
            }
        },
        IncidentEvent::AlertCorrelated {
            alert, correlation, ..
        } => format!(
            "Alert \"{}\" correlated with score {:.2}: {} ({} candidates considered)",
            alert.title,
            correlation.score,
            correlation.breakdown(),
            correlation.candidates_considered
        ),
        IncidentEvent::ResolveNotificationAttached {
            source_alert_id, ..
        } => {
            format!("Resolve notification received for alert {source_alert_id}")
        }
        IncidentEvent::StatusChanged { from, to, by, .. } => {
            format!("Status changed from {from} to {to} by {by}")
        }
        IncidentEvent::SeverityChanged { from, to, by, .. } => {
            if *from == Severity::Unknown && by == RCA_AUTHOR {
                format!("Severity inferred by the RCA: {to}")
            } else {
                format!("Severity changed from {from} to {to} by {by}")
            }
        }
        IncidentEvent::RcaStatusChanged { from, to, .. } => match to {
            RcaStatus::Running => "RCA started".to_owned(),
            RcaStatus::Complete => "RCA completed".to_owned(),
            RcaStatus::Error => "RCA failed".to_owned(),
            _ => format!("RCA {from} → {to}"),
        },
        IncidentEvent::RcaRequested { by, .. } => match by {
            Some(by) => format!("RCA requested by {by}"),
            None => "RCA requested: the incident opened".to_owned(),
        },
        IncidentEvent::RcaCancelled { by, .. } => format!("RCA cancelled by {by}"),
        IncidentEvent::SummaryUpdated { by, .. } => format!("Summary updated by {by}"),
        IncidentEvent::MergedInto {
            target,
            rca_cancelled,
            by,
            ..
        } => {
            let rca = if *rca_cancelled {
                "; its RCA was cancelled"
            } else {
                ""
            };
            format!("Merged into incident {target} by {by}{rca}")
        }
        IncidentEvent::MergedAlertsAbsorbed { source, alerts, .. } => {
            format!(
                "Absorbed {} alert(s) from merged incident {source}",
                alerts.len()
            )
        }
        IncidentEvent::Resolved { by, reason, .. } => match reason {
            Some(reason) => format!("Resolved by {by}: {reason}"),
            None => format!("Resolved by {by}"),
        },
        IncidentEvent::CommentAdded { author, .. } => format!("Comment by {author}"),
        IncidentEvent::PostmortemRequested { by, .. } => format!("Postmortem requested by {by}"),
        IncidentEvent::FeedbackGiven { by, helpful, .. } => {
            format!(
                "Feedback from {by}: {}",
                if *helpful { "helpful" } else { "not helpful" }
            )
        }
    }
}
