//! incident.io (v2 incident webhooks, sent through Svix). Authenticated by Svix's signature:
//! `webhook-signature: v1,<base64 hmac-sha256>` (several, space-separated, during a rotation;
//! any one matching is enough) of `<webhook-id>.<webhook-timestamp>.<raw body>`, keyed with the
//! base64 part of the endpoint's signing secret `whsec_<base64>`, which incident.io generates and
//! the user gives Aurora. The `webhook-timestamp` (unix seconds) must be within five minutes of
//! the delivery's arrival, either way, so a captured delivery cannot be replayed later.
//!
//! One delivery is one event, named by `event_type`, its object under a key of the same name.
//! A public incident created (declared, or opened in triage) fires; its status moving to the
//! closed category (or declined, canceled, merged into another) resolves it, whether that comes
//! as a status update or as an incident update. Identity is incident.io's incident id: the
//! fingerprint is `incidentio-<id>`, the alert id the incident id itself (an incident is declared
//! once). Test and tutorial incidents, private incidents (their payload carries only an id),
//! other status changes and every other event kind are ignored with the reason. Retries are
//! deduplicated on `webhook-id`, Svix's id of the message.

mod svix;
#[cfg(test)]
mod tests;

use aurora_domain::intake::{FiringAlert, Signal};
use aurora_domain::Severity;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

use self::svix::{verify_svix, ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use super::common::{json, non_blank_owned, severity_from};
use super::{Auth, Delivery, Parsed, Refusal, SecretOrigin, Source, SourceDescriptor};

pub struct IncidentIo;

const CREATED: &str = "public_incident.incident_created_v2";
const UPDATED: &str = "public_incident.incident_updated_v2";
const STATUS_UPDATED: &str = "public_incident.incident_status_updated_v2";

#[derive(Debug, Deserialize)]
struct Envelope {
    event_type: String,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
struct Incident {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    reference: Option<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    permalink: Option<String>,
    /// `standard`, `retrospective`, `test`, `tutorial`.
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    severity: Option<Named>,
    #[serde(default)]
    incident_status: Option<Status>,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    updated_at: Option<DateTime<Utc>>,
    /// Kept loose: custom fields come in many shapes and only a few are read.
    #[serde(default)]
    custom_field_entries: Option<Vec<Value>>,
}

#[derive(Debug, Deserialize)]
struct Named {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Status {
    /// `triage`, `live`, `learning`, `closed`, `declined`, `merged`, `canceled`, `paused` (and
    /// older names: `active`, `post-incident`).
    category: String,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct StatusUpdate {
    incident: Incident,
    #[serde(default)]
    new_status: Option<Status>,
}

fn ignored(reason: String) -> Signal {
    Signal::Ignored { reason }
}

/// The event's object, read as `T`.
fn event_object<T: DeserializeOwned>(
    rest: &mut Map<String, Value>,
    event: &str,
) -> Result<T, Refusal> {
    let object = rest.remove(event).ok_or_else(|| {
        Refusal::bad(
            "invalid_payload",
            format!("not an incident.io webhook payload: {event} without its {event:?} object"),
        )
    })?;
    serde_json::from_value(object).map_err(|e| {
        Refusal::bad(
            "invalid_payload",
            format!("not an incident.io {event} payload: {e}"),
        )
    })
}

/// The incident of a created or updated event: the object itself (incident.io's shape), or
/// wrapped as `{"incident": {…}}`.
fn incident_of(rest: &mut Map<String, Value>, event: &str) -> Result<Incident, Refusal> {
    if let Some(Value::Object(object)) = rest.get_mut(event) {
        if let Some(inner @ Value::Object(_)) = object.remove("incident") {
            rest.insert(event.to_owned(), inner);
        }
    }
    event_object(rest, event)
}

/// Whether the status category means the incident is over.
fn is_over(category: &str) -> bool {
    matches!(
        category.to_ascii_lowercase().as_str(),
        "closed" | "resolved" | "declined" | "canceled" | "cancelled" | "merged"
    )
}

/// A custom field's first value, for the first field whose name is among `names`.
fn custom_field(entries: &[Value], names: &[&str]) -> Option<String> {
    entries.iter().find_map(|entry| {
        let name = entry.pointer("/custom_field/name")?.as_str()?;
        let name = name.trim().to_ascii_lowercase().replace(['_', '-'], " ");
        if !names.contains(&name.as_str()) {
            return None;
        }
        entry.get("values")?.as_array()?.iter().find_map(|v| {
            [
                "/value_catalog_entry/name",
                "/value_option/value",
                "/value_text",
                "/label",
                "/value",
            ]
            .iter()
            .find_map(|p| v.pointer(p).and_then(Value::as_str))
            .and_then(|s| non_blank_owned(Some(s)))
        })
    })
}

impl Incident {
    fn fingerprint(&self) -> String {
        format!("incidentio-{}", self.id)
    }

    fn described(&self) -> String {
        non_blank_owned(self.reference.as_deref()).unwrap_or_else(|| self.id.clone())
    }

    fn is_test(&self) -> bool {
        matches!(self.mode.as_deref(), Some("test" | "tutorial"))
    }

    fn firing(self, now: DateTime<Utc>) -> Signal {
        let entries = self.custom_field_entries.as_deref().unwrap_or_default();
        let service = custom_field(
            entries,
            &[
                "service",
                "services",
                "affected service",
                "affected services",
                "component",
                "components",
                "affected component",
                "affected components",
            ],
        );
        let environment = custom_field(entries, &["environment", "environments", "env"]);
        let severity = self
            .severity
            .as_ref()
            .and_then(|s| non_blank_owned(s.name.as_deref()))
            .map_or(Severity::Unknown, |s| severity_from(&s));
        Signal::Firing(FiringAlert {
            alert_id: self.id.clone(),
            fingerprint: self.fingerprint(),
            title: non_blank_owned(self.name.as_deref())
                .or_else(|| non_blank_owned(self.reference.as_deref()))
                .unwrap_or_else(|| format!("incident.io incident {}", self.id)),
            service,
            environment,
            severity,
            fired_at: self.created_at.unwrap_or(now),
            description: non_blank_owned(self.summary.as_deref()),
            url: non_blank_owned(self.permalink.as_deref()),
            placement: Default::default(),
        })
    }

    fn resolved(&self, now: DateTime<Utc>) -> Signal {
        Signal::Resolved {
            fingerprint: self.fingerprint(),
            source_alert_id: self.id.clone(),
            at: self.updated_at.unwrap_or(now),
        }
    }
}

fn status_text(status: Option<&Status>) -> String {
    match status {
        Some(s) => match non_blank_owned(s.name.as_deref()) {
            Some(name) => format!("{name:?} ({})", s.category),
            None => format!("{:?}", s.category),
        },
        None => "no status".to_owned(),
    }
}

fn created(incident: Incident, now: DateTime<Utc>) -> Signal {
    if incident.is_test() {
        return ignored(format!(
            "incident.io {} is a {} incident",
            incident.described(),
            incident.mode.as_deref().unwrap_or("test")
        ));
    }
    let category = incident
        .incident_status
        .as_ref()
        .map(|s| s.category.to_ascii_lowercase());
    match category.as_deref() {
        Some(c) if is_over(c) || c == "learning" || c == "post-incident" => ignored(format!(
            "incident.io {} was declared already {}: nothing is live",
            incident.described(),
            status_text(incident.incident_status.as_ref())
        )),
        _ => incident.firing(now),
    }
}

/// A status change (a status update, or an incident update carrying the status): closed
/// resolves, anything else is not acted on.
fn status_changed(incident: Incident, status: Option<&Status>, now: DateTime<Utc>) -> Signal {
    if incident.is_test() {
        return ignored(format!(
            "incident.io {} is a {} incident",
            incident.described(),
            incident.mode.as_deref().unwrap_or("test")
        ));
    }
    match status {
        Some(s) if is_over(&s.category) => incident.resolved(now),
        other => ignored(format!(
            "incident.io {} is now {}: it resolves only when closed",
            incident.described(),
            status_text(other)
        )),
    }
}

const DESCRIPTOR: SourceDescriptor = SourceDescriptor {
    secret_origin: SecretOrigin::Source,
    kept_headers: &[ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER],
    ..SourceDescriptor::new(
        "incidentio",
        "incident.io",
        Auth::Svix,
        "Settings → Webhooks → Add endpoint; subscribe to \"Public incident created (v2)\" and \"Public incident status updated (v2)\" (\"Public incident updated (v2)\" also works), then copy the endpoint's signing secret (whsec_…) into Aurora",
    )
};

impl Source for IncidentIo {
    fn descriptor(&self) -> &'static SourceDescriptor {
        &DESCRIPTOR
    }

    fn verify(&self, delivery: &Delivery<'_>, secret: &[u8]) -> Result<(), Refusal> {
        verify_svix(delivery, secret)
    }

    fn parse(&self, delivery: &Delivery<'_>) -> Result<Parsed, Refusal> {
        let Envelope {
            event_type,
            mut rest,
        } = json("incident.io", delivery.body)?;
        let now = delivery.received_at;
        let signal = match event_type.as_str() {
            CREATED => created(incident_of(&mut rest, CREATED)?, now),
            STATUS_UPDATED => {
                let StatusUpdate {
                    incident,
                    new_status,
                } = event_object(&mut rest, STATUS_UPDATED)?;
                let status = new_status.or_else(|| incident.incident_status.clone());
                status_changed(incident, status.as_ref(), now)
            }
            UPDATED => {
                let incident = incident_of(&mut rest, UPDATED)?;
                let status = incident.incident_status.clone();
                status_changed(incident, status.as_ref(), now)
            }
            other if other.starts_with("private_incident.") => ignored(format!(
                "incident.io {other}: a private incident's payload carries only its id"
            )),
            other => ignored(format!("incident.io {other} events are not acted on")),
        };
        Ok(Parsed::one(
            delivery.value(ID_HEADER).map(str::to_owned),
            signal,
        ))
    }
}
