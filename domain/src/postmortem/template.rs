//! The postmortem Aurora writes without a model: the [`SECTIONS`] filled from the incident's
//! events and its latest investigation. Deterministic — the same events give the same text (no
//! clock is read) — so a template version says only what the record says, and where the record
//! is silent it says so and leaves an action item instead of inventing.

use chrono::{DateTime, TimeDelta, Utc};

use super::MARKDOWN_MAX_CHARS;
use crate::incident::{describe, IncidentEvent, IncidentState};
use crate::investigation::{Conclusion, InvestigationState, InvestigationStatus, Trigger};

/// The sections of every postmortem, in order (the model is asked for the same ones).
pub const SECTIONS: [&str; 6] = [
    "Summary",
    "Impact",
    "Timeline",
    "Root cause",
    "Resolution",
    "Action items",
];

/// What a postmortem is written from.
pub struct Facts<'a> {
    /// The incident as its events left it.
    pub incident: &'a IncidentState,
    /// The incident's events, in the order they were stored.
    pub events: &'a [IncidentEvent],
    /// Its latest investigation, if one was asked for.
    pub investigation: Option<&'a InvestigationState>,
}

/// The postmortem of `facts`, cut to [`MARKDOWN_MAX_CHARS`].
pub fn render(facts: &Facts<'_>) -> String {
    let mut out = String::new();
    let i = facts.incident;
    out.push_str(&format!("# Postmortem: {}\n\n", one_line(&i.title)));
    out.push_str(&header(facts));
    for (section, body) in SECTIONS.iter().zip([
        summary(facts),
        impact(facts),
        timeline(facts),
        root_cause(facts),
        resolution(facts),
        action_items(facts),
    ]) {
        out.push_str(&format!("\n## {section}\n\n{}\n", body.trim_end()));
    }
    fit(out)
}

/// `markdown` cut to [`MARKDOWN_MAX_CHARS`], saying so at the end when it was.
pub fn fit(markdown: String) -> String {
    if markdown.chars().count() <= MARKDOWN_MAX_CHARS {
        return markdown;
    }
    let note = format!("\n\n… (cut at {MARKDOWN_MAX_CHARS} characters)\n");
    let kept: String = markdown
        .chars()
        .take(MARKDOWN_MAX_CHARS - note.chars().count())
        .collect();
    kept + &note
}

fn header(facts: &Facts<'_>) -> String {
    let i = facts.incident;
    let mut rows = vec![
        (
            "Incident",
            i.id.map_or_else(String::new, |id| format!("`{id}`")),
        ),
        ("Service", format!("{} ({})", i.service, i.environment)),
        ("Severity", i.severity.to_string()),
        ("Source", i.source.clone()),
        ("Alert fired", time_or_unknown(i.alert_fired_at)),
        ("Opened", time_or_unknown(i.started_at)),
        ("Resolved", time_or_unknown(i.resolved_at)),
    ];
    if let Some(detect) = between(i.alert_fired_at, i.started_at) {
        rows.push(("Time to detect", detect));
    }
    if let Some(resolve) = between(i.started_at, i.resolved_at) {
        rows.push(("Time to resolve", resolve));
    }
    let mut out = String::from("| | |\n|---|---|\n");
    for (name, value) in rows {
        out.push_str(&format!("| {name} | {} |\n", cell(&value)));
    }
    out
}

fn summary(facts: &Facts<'_>) -> String {
    let i = facts.incident;
    let mut out = format!(
        "{} affected {} ({})",
        one_line(&i.title),
        i.service,
        i.environment
    );
    match between(i.alert_fired_at.or(i.started_at), i.resolved_at) {
        Some(duration) => out.push_str(&format!(
            " for {duration}, from the first alert until it was resolved.",
        )),
        None => out.push('.'),
    }
    let recorded = i
        .summary
        .as_deref()
        .or_else(|| facts.investigation.and_then(|r| r.summary.as_deref()));
    match recorded {
        Some(text) => out.push_str(&format!("\n\n{}", text.trim())),
        None => out.push_str("\n\nNo summary was recorded on the incident."),
    }
    out
}

fn impact(facts: &Facts<'_>) -> String {
    let i = facts.incident;
    let mut lines = vec![format!(
        "- Severity {} on {} in {}.",
        i.severity, i.service, i.environment
    )];
    if !i.affected_services.is_empty() {
        lines.push(format!(
            "- Affected services: {}.",
            i.affected_services.join(", ")
        ));
    }
    lines.push(format!(
        "- {} alert(s): the one that opened the incident and {} correlated with it.",
        i.alerts.len(),
        i.alerts.len().saturating_sub(1)
    ));
    if let Some(duration) = between(i.alert_fired_at.or(i.started_at), i.resolved_at) {
        lines.push(format!(
            "- Duration from the first alert to resolution: {duration}."
        ));
    }
    lines.push(
        "- The record holds no measure of user impact (requests failed, customers affected): add it here."
            .to_owned(),
    );
    lines.join("\n")
}

fn timeline(facts: &Facts<'_>) -> String {
    let mut lines = vec!["All times UTC.".to_owned(), String::new()];
    for event in facts.events {
        let at = crate::DomainEvent::occurred_at(event);
        let mut line = format!("- {} — {}", time(at), one_line(&describe(event)));
        if let IncidentEvent::CommentAdded { text, .. } = event {
            line.push_str(":\n");
            line.push_str(&prefixed(text, "  > "));
        }
        lines.push(line);
    }
    lines.join("\n")
}

fn root_cause(facts: &Facts<'_>) -> String {
    let Some(run) = facts.investigation else {
        return "No root-cause analysis was run for this incident; the cause is not recorded."
            .to_owned();
    };
    let how = match &run.trigger {
        Some(Trigger::Manual { by }) => format!("asked for by {by}"),
        _ => "started when the incident opened".to_owned(),
    };
    let mut out = match run.status {
        InvestigationStatus::Completed => {
            let conclusion = run
                .conclusion
                .map_or("unknown".to_owned(), |c| c.as_str().to_uppercase());
            let mut text = format!("The investigation ({how}) concluded **{conclusion}**");
            if let Some(asked) = run.asked_conclusion {
                text.push_str(&format!(
                    " (it claimed {}, which its evidence did not support)",
                    asked.as_str().to_uppercase()
                ));
            }
            text.push('.');
            if let Some(summary) = &run.summary {
                text.push_str(&format!("\n\n{}", summary.trim()));
            }
            text
        }
        InvestigationStatus::Failed | InvestigationStatus::Cancelled => format!(
            "The investigation ({how}) {}: {}. No cause was established by it.",
            run.status,
            run.reason.as_deref().unwrap_or("no reason was recorded")
        ),
        status => format!(
            "The investigation ({how}) had not finished when this was written (it was {status})."
        ),
    };
    if !run.findings.is_empty() {
        out.push_str("\n\nFindings:\n");
        for f in &run.findings {
            out.push_str(&format!("\n{}. {}", f.finding_id, one_line(&f.text)));
            if !f.citations.is_empty() {
                out.push_str(&format!(" _(shown by {})_", f.citations.join(", ")));
            }
        }
    }
    out
}

fn resolution(facts: &Facts<'_>) -> String {
    let mut lines = Vec::new();
    for event in facts.events {
        match event {
            IncidentEvent::ResolveNotificationAttached {
                source_alert_id,
                at,
                ..
            } => lines.push(format!(
                "- {}: the source reported alert {source_alert_id} resolved.",
                time(*at)
            )),
            IncidentEvent::Resolved { by, reason, at } => lines.push(format!(
                "- {}: resolved by {by}{}",
                time(*at),
                reason
                    .as_deref()
                    .map_or(".".to_owned(), |r| format!(": {}", one_line(r)))
            )),
            IncidentEvent::StatusChanged { to, by, at, .. } => {
                lines.push(format!("- {}: {by} set the status to {to}.", time(*at)))
            }
            _ => {}
        }
    }
    if lines.is_empty() {
        return format!(
            "The incident is {} and no resolution is recorded.",
            facts.incident.status
        );
    }
    lines.join("\n")
}

fn action_items(facts: &Facts<'_>) -> String {
    let mut items = Vec::new();
    if let Some(run) = facts.investigation {
        for s in &run.suggestions {
            let mut item = format!(
                "- [ ] **{}** ({} risk): {}",
                s.kind,
                s.risk,
                one_line(&s.title)
            );
            if let Some(action) = &s.action {
                item.push_str(&format!("\n\n  ```\n{}\n  ```", prefixed(action, "  ")));
            }
            items.push(item);
        }
    }
    let established = facts
        .investigation
        .is_some_and(|r| r.conclusion == Some(Conclusion::Confirmed));
    if !established {
        items.push("- [ ] Establish the root cause and record it under Root cause.".to_owned());
    }
    items.push("- [ ] Record the user impact under Impact.".to_owned());
    items.push(
        "- [ ] Decide what prevents this incident from happening again, and who does it."
            .to_owned(),
    );
    items.join("\n")
}

fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn time_or_unknown(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(
        || "not recorded".to_owned(),
        |at| format!("{} UTC", time(at)),
    )
}

/// The time from `from` to `to` in words (`2 h 5 min`, `40 s`), when both are known and in order.
fn between(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Option<String> {
    let delta = to? - from?;
    (delta >= TimeDelta::zero()).then(|| duration(delta))
}

fn duration(delta: TimeDelta) -> String {
    let seconds = delta.num_seconds();
    let (days, hours, minutes, secs) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
        seconds % 60,
    );
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, m) if secs == 0 => format!("{m} min"),
        (0, 0, m) => format!("{m} min {secs} s"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// Text that must stay on its line (a title in a heading, a list item).
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A table cell's text (a `|` would end the cell).
fn cell(text: &str) -> String {
    one_line(text).replace('|', "\\|")
}

/// Each line of `text` after `prefix`: `"  > "` quotes a person's text under a list item, `"  "`
/// keeps a command inside its item.
fn prefixed(text: &str, prefix: &str) -> String {
    text.trim()
        .lines()
        .map(|line| format!("{prefix}{line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
#[path = "template_tests.rs"]
mod tests;
