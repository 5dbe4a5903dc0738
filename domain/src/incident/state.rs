//! An incident as its events made it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::alert::{Alert, AttachedAlert, ResolveNotification};
use super::event::{IncidentEvent, Opening};
use crate::ids::IncidentId;
use crate::values::{IncidentStatus, RcaStatus, Severity};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentState {
    /// `None` until the incident is opened; every other field is meaningless until then.
    pub id: Option<IncidentId>,
    pub title: String,
    pub service: String,
    pub environment: String,
    pub severity: Severity,
    /// The integration kind whose alert opened the incident.
    pub source: String,
    pub source_alert_id: String,
    pub status: IncidentStatus,
    pub rca_status: RcaStatus,
    /// The latest investigation asked for, and how many were (its episode number).
    #[serde(default)]
    pub rca_run: Option<Uuid>,
    #[serde(default)]
    pub rca_runs: u32,
    /// Whether `rca_run` is requested, queued or running (not concluded, failed or cancelled).
    #[serde(default)]
    pub rca_under_way: bool,
    pub summary: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub analyzed_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub alert_fired_at: Option<DateTime<Utc>>,
    /// In the order they joined, each once.
    pub affected_services: Vec<String>,
    /// Alerts attached after the opening one (by correlation or merge); the cap applies to it.
    pub correlated_alert_count: u32,
    /// Every alert held, the opening one first.
    pub alerts: Vec<AttachedAlert>,
    pub merged_into: Option<IncidentId>,
    /// Incidents merged into this one (so absorbing is idempotent).
    pub merged_from: Vec<IncidentId>,
    pub comments: Vec<Comment>,
    /// At most one per user: the latest.
    pub feedback: Vec<Feedback>,
    /// Moved by every event; correlation's time window is measured from it.
    pub updated_at: Option<DateTime<Utc>>,
    pub resolve_notifications: Vec<ResolveNotification>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Comment {
    pub comment_id: Uuid,
    pub author: String,
    pub text: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Feedback {
    pub by: String,
    pub helpful: bool,
    pub comment: Option<String>,
    /// The investigation run it rates; null when none had been asked for.
    #[serde(default)]
    pub run: Option<Uuid>,
    pub at: DateTime<Utc>,
}

impl Default for IncidentState {
    /// Not opened yet. Written out because [`Severity`] has no natural default; the placeholder
    /// is never read before `Opened` replaces it.
    fn default() -> Self {
        Self {
            id: None,
            title: String::new(),
            service: String::new(),
            environment: String::new(),
            severity: Severity::Info,
            source: String::new(),
            source_alert_id: String::new(),
            status: IncidentStatus::default(),
            rca_status: RcaStatus::default(),
            rca_run: None,
            rca_runs: 0,
            rca_under_way: false,
            summary: None,
            started_at: None,
            analyzed_at: None,
            resolved_at: None,
            alert_fired_at: None,
            affected_services: Vec::new(),
            correlated_alert_count: 0,
            alerts: Vec::new(),
            merged_into: None,
            merged_from: Vec::new(),
            comments: Vec::new(),
            feedback: Vec::new(),
            updated_at: None,
            resolve_notifications: Vec::new(),
        }
    }
}

impl IncidentState {
    pub fn is_opened(&self) -> bool {
        self.id.is_some()
    }

    pub fn holds_alert(&self, alert_id: &str) -> bool {
        self.alerts
            .iter()
            .any(|held| held.alert.alert_id == alert_id)
    }

    pub fn holds_fingerprint(&self, fingerprint: &str) -> bool {
        self.alerts
            .iter()
            .any(|held| held.alert.fingerprint == fingerprint)
    }

    /// Folds one event in. Events are facts, so nothing here refuses anything.
    pub(crate) fn apply(mut self, event: IncidentEvent) -> Self {
        self.updated_at = Some(crate::DomainEvent::occurred_at(&event));
        match event {
            IncidentEvent::Opened(Opening {
                id,
                title,
                service,
                environment,
                severity,
                source,
                source_alert_id,
                fingerprint,
                alert_fired_at,
                at,
                ..
            }) => {
                let opening_alert = Alert {
                    alert_id: source_alert_id.clone(),
                    fingerprint,
                    title: title.clone(),
                    service: service.clone(),
                    severity,
                    source: source.clone(),
                    received_at: at,
                };
                self.id = Some(id);
                // Sized exactly (a first `push` would reserve room for four): most incidents
                // keep one alert and one service, and the store caches many thousands of states.
                self.alerts = vec![AttachedAlert {
                    alert: opening_alert,
                    correlation: None,
                }];
                self.affected_services.reserve_exact(1);
                self.add_service(&service);
                self.title = title;
                self.service = service;
                self.environment = environment;
                self.severity = severity;
                self.source = source;
                self.source_alert_id = source_alert_id;
                self.status = IncidentStatus::Investigating;
                self.rca_status = RcaStatus::Idle;
                self.started_at = Some(at);
                self.alert_fired_at = Some(alert_fired_at);
            }
            IncidentEvent::AlertCorrelated {
                alert, correlation, ..
            } => {
                self.add_service(&alert.service);
                self.correlated_alert_count += 1;
                self.alerts.push(AttachedAlert {
                    alert,
                    correlation: Some(correlation),
                });
            }
            IncidentEvent::ResolveNotificationAttached {
                fingerprint,
                source_alert_id,
                at,
            } => self.resolve_notifications.push(ResolveNotification {
                fingerprint,
                source_alert_id,
                at,
            }),
            IncidentEvent::StatusChanged { to, at, .. } => {
                match to {
                    IncidentStatus::Investigating => self.resolved_at = None,
                    IncidentStatus::Analyzed => self.analyzed_at = Some(at),
                    IncidentStatus::Resolved => self.resolved_at = Some(at),
                    IncidentStatus::Merged => {}
                }
                self.status = to;
            }
            IncidentEvent::SeverityChanged { to, .. } => self.severity = to,
            IncidentEvent::RcaStatusChanged { to, .. } => {
                self.rca_status = to;
                if matches!(to, RcaStatus::Complete | RcaStatus::Error) {
                    self.rca_under_way = false;
                }
            }
            IncidentEvent::RcaRequested { run, episode, .. } => {
                self.rca_run = Some(run);
                self.rca_runs = episode;
                self.rca_under_way = true;
            }
            IncidentEvent::RcaCancelled { .. } => {
                self.rca_status = RcaStatus::Idle;
                self.rca_under_way = false;
            }
            IncidentEvent::SummaryUpdated { summary, .. } => self.summary = Some(summary),
            IncidentEvent::MergedInto {
                target,
                rca_cancelled,
                ..
            } => {
                self.status = IncidentStatus::Merged;
                self.merged_into = Some(target);
                if rca_cancelled {
                    self.rca_status = RcaStatus::Idle;
                }
                self.rca_under_way = false;
            }
            IncidentEvent::MergedAlertsAbsorbed {
                source,
                alerts,
                affected_services,
                ..
            } => {
                self.merged_from.push(source);
                for service in &affected_services {
                    self.add_service(service);
                }
                for alert in alerts {
                    if !self.holds_alert(&alert.alert_id) {
                        self.add_service(&alert.service);
                        self.correlated_alert_count += 1;
                        self.alerts.push(AttachedAlert {
                            alert,
                            correlation: None,
                        });
                    }
                }
            }
            IncidentEvent::Resolved { at, .. } => {
                self.status = IncidentStatus::Resolved;
                self.resolved_at = Some(at);
            }
            IncidentEvent::CommentAdded {
                comment_id,
                author,
                text,
                at,
            } => self.comments.push(Comment {
                comment_id,
                author,
                text,
                at,
            }),
            // The postmortem is its own aggregate; the request is history only.
            IncidentEvent::PostmortemRequested { .. } => {}
            IncidentEvent::FeedbackGiven {
                by,
                helpful,
                comment,
                run,
                at,
            } => {
                self.feedback.retain(|earlier| earlier.by != by);
                self.feedback.push(Feedback {
                    by,
                    helpful,
                    comment,
                    run,
                    at,
                });
            }
        }
        self
    }

    fn add_service(&mut self, service: &str) {
        if !service.is_empty() && !self.affected_services.iter().any(|s| s == service) {
            self.affected_services.push(service.to_owned());
        }
    }
}
