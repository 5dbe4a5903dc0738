//! The time range of a query: bounded, so one call cannot ask a provider for months of logs.
//!
//! The model gives either `since_minutes` (back from now, default [`DEFAULT_MINUTES`]) or
//! `from` (and optionally `to`) in RFC 3339. A range longer than [`MAX_RANGE`] keeps its end and
//! is cut to that length; an end in the future becomes now; either way the result says so in
//! its `note`, so the model knows what it is looking at.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{json, Value};

use crate::agent::tool_args::Args;

/// Without a range, the last hour.
pub const DEFAULT_MINUTES: i64 = 60;

/// The longest range one query may cover: a week.
pub const MAX_RANGE: TimeDelta = TimeDelta::days(7);

/// `[from, to)` of one query, and what was changed in what the model asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Why the range differs from the one asked for, if it does.
    pub note: Option<String>,
}

impl Window {
    /// The range the arguments ask for, at `now`.
    pub fn from_args(args: &Args<'_>, now: DateTime<Utc>) -> Result<Self, String> {
        let max_minutes = MAX_RANGE.num_minutes();
        let since = args.optional_number("since_minutes", max_minutes)?;
        let from = args.text("from").map(|t| instant("from", &t)).transpose()?;
        let to = args.text("to").map(|t| instant("to", &t)).transpose()?;
        match (since, from) {
            (Some(_), Some(_)) => Err("give either `since_minutes` or `from`, not both".into()),
            (_, None) if to.is_some() => Err("`to` needs a `from`".into()),
            (since, None) => Ok(Self {
                from: now - TimeDelta::minutes(since.unwrap_or(DEFAULT_MINUTES)),
                to: now,
                note: None,
            }),
            (None, Some(from)) => Self::bounded(from, to.unwrap_or(now), now),
        }
    }

    /// `[from, to)` made to fit: the end no later than `now`, the length at most [`MAX_RANGE`].
    pub fn bounded(
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Self, String> {
        if from >= now {
            return Err(format!("`from` ({from}) is in the future"));
        }
        if from >= to {
            return Err(format!("`from` ({from}) must be before `to` ({to})"));
        }
        let mut notes = Vec::new();
        let to = if to > now {
            notes.push("the end of the range was in the future and is now".to_owned());
            now
        } else {
            to
        };
        let from = if to - from > MAX_RANGE {
            notes.push(format!(
                "the range was cut to its last {} days (the most one query may cover)",
                MAX_RANGE.num_days()
            ));
            to - MAX_RANGE
        } else {
            from
        };
        Ok(Self {
            from,
            to,
            note: (!notes.is_empty()).then(|| notes.join("; ")),
        })
    }

    /// How it is reported with a result.
    pub fn describe(&self) -> Value {
        let mut value = json!({"from": self.from.to_rfc3339(), "to": self.to.to_rfc3339()});
        if let Some(note) = &self.note {
            value["note"] = json!(note);
        }
        value
    }

    pub fn seconds(&self) -> i64 {
        (self.to - self.from).num_seconds()
    }
}

fn instant(key: &str, text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("`{key}` {text:?} is not an RFC 3339 time: {e}"))
}

/// The JSON-schema properties every ranged tool takes.
pub fn schema_properties() -> Value {
    json!({
        "since_minutes": {"type": "integer", "minimum": 1, "maximum": MAX_RANGE.num_minutes(),
            "description": format!("how far back from now (default {DEFAULT_MINUTES}); or give from/to")},
        "from": {"type": "string", "format": "date-time", "description": "start, RFC 3339"},
        "to": {"type": "string", "format": "date-time", "description": "end, RFC 3339 (default now)"}
    })
}

/// The "now" of the query tools' unit tests.
#[cfg(test)]
pub(crate) fn test_now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::test_now as now;
    use super::*;

    fn window(arguments: &str) -> Result<Window, String> {
        Window::from_args(&Args::parse("t", arguments).unwrap(), now())
    }

    #[test]
    fn without_a_range_the_last_hour() {
        let w = window("{}").unwrap();
        assert_eq!((w.to - w.from).num_minutes(), 60);
        assert_eq!(w.to, now());
        assert_eq!(w.note, None);
    }

    #[test]
    fn since_minutes_counts_back_from_now() {
        let w = window(r#"{"since_minutes": 15}"#).unwrap();
        assert_eq!(w.from, now() - TimeDelta::minutes(15));
    }

    #[test]
    fn a_range_longer_than_a_week_keeps_its_end_and_says_so() {
        let w =
            window(r#"{"from": "2026-10-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}"#).unwrap();
        assert_eq!(w.to.to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(w.to - w.from, MAX_RANGE);
        assert!(w.note.unwrap().contains("cut to its last 7 days"));
    }

    #[test]
    fn an_end_in_the_future_becomes_now() {
        let w =
            window(r#"{"from": "2026-12-04T09:00:00Z", "to": "2027-01-01T00:00:00Z"}"#).unwrap();
        assert_eq!(w.to, now());
        assert!(w.note.unwrap().contains("future"));
    }

    #[test]
    fn bad_ranges_are_explained() {
        let cases = [
            (r#"{"since_minutes": 0}"#, "from 1 to 10080"),
            (r#"{"since_minutes": 20000}"#, "from 1 to 10080"),
            (r#"{"from": "yesterday"}"#, "not an RFC 3339 time"),
            (r#"{"to": "2026-12-04T09:00:00Z"}"#, "needs a `from`"),
            (
                r#"{"from": "2026-12-04T09:00:00Z", "to": "2026-12-04T08:00:00Z"}"#,
                "must be before",
            ),
            (r#"{"from": "2027-01-01T00:00:00Z"}"#, "in the future"),
            (
                r#"{"since_minutes": 5, "from": "2026-12-04T09:00:00Z"}"#,
                "not both",
            ),
        ];
        for (arguments, says) in cases {
            let error = window(arguments).unwrap_err();
            assert!(error.contains(says), "{arguments}: {error}");
        }
    }
}
