//! Splunk alerts (the webhook alert action). Splunk does not sign webhooks: authenticated by a
//! bearer secret Aurora generates, sent as `Authorization: Bearer <secret>`. Splunk's built-in
//! Webhook action posts to a URL only, so the header comes from an alert action that can set
//! headers (see [`Source::where_to_configure`]).
//!
//! One delivery is one triggered alert: Splunk posts
//! `{"result": {…first result row…}, "sid", "results_link", "search_name", "owner", "app"}`
//! (`search_name` may be `null`), once per trigger, or once per result when the alert triggers
//! "For each result". It becomes one firing alert:
//! - title: the search name (else the saved search named in the sid);
//! - severity: the result row's `severity` / `urgency` / `priority` field (names, or Splunk's
//!   numeric levels 1 debug, 2 info → info; 3 warn → medium; 4 error → high; 5 severe,
//!   6 fatal → critical), else unknown (the alert's own configured severity is not in the
//!   payload; its investigation assesses it);
//! - service / environment: the row's `service` (`service_name`, `app_name`, `application`,
//!   `app`) and `env` (`environment`) fields;
//! - fired at the scheduled time in the sid (`…_at_<epoch>_…`), else the row's `_time`.
//!
//! Identity (SPEC: search id + result): the alert id is the sid plus a hash of the result row,
//! so each run — and each result of a "for each result" alert — is its own alert and a retried
//! delivery is the same one. The fingerprint is the saved search (app + name). Splunk never
//! says an alert is over, so nothing resolves; Splunk has no test ping. Splunk sends no
//! delivery id.

use aurora_domain::intake::{FiringAlert, Signal};
use aurora_domain::Severity;
use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::common::{json, non_blank, severity_from, BEARER_SECRET};
use super::{Delivery, Parsed, Refusal, Source, SourceDescriptor};

pub struct Splunk;

#[derive(Debug, Deserialize)]
struct Payload {
    /// The search job's id (one per run).
    #[serde(default)]
    sid: Option<String>,
    #[serde(default)]
    search_name: Option<String>,
    #[serde(default)]
    app: Option<String>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    results_link: Option<String>,
    /// The first result row (or the one result, for "for each result" alerts).
    #[serde(default)]
    result: Option<Map<String, Value>>,
    /// Not sent by Splunk; a custom alert action may add it.
    #[serde(default)]
    severity: Option<Value>,
}

/// A result field as text: strings as they are, numbers printed, multivalue fields joined.
fn field_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => non_blank(Some(s)).map(str::to_owned),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(field_text).collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        }
        Value::Null | Value::Object(_) => None,
    }
}

/// The first of `names` present (and not empty) in the result row.
fn field(row: &Map<String, Value>, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| row.get(*n).and_then(field_text))
}

/// Splunk's numeric alert severities (1 debug … 6 fatal), or a name.
fn splunk_severity(text: &str) -> Severity {
    match text.trim().parse::<i64>() {
        Ok(1 | 2) => Severity::Info,
        Ok(3) => Severity::Medium,
        Ok(4) => Severity::High,
        Ok(5 | 6) => Severity::Critical,
        Ok(_) => Severity::Medium,
        Err(_) if text.trim().eq_ignore_ascii_case("severe") => Severity::Critical,
        Err(_) => severity_from(text),
    }
}

/// A scheduled search's sid: `scheduler__<owner>__<app>__<name hash>_at_<epoch>_<n>` (real-time
/// ones start with `rt_`). The saved search part and the scheduled time, when it is one.
fn scheduled(sid: &str) -> Option<(&str, Option<DateTime<Utc>>)> {
    let (search, rest) = sid.rsplit_once("_at_")?;
    let epoch = rest
        .split(['_', '.'])
        .next()
        .and_then(|s| s.parse::<i64>().ok())
        // Anything before 2001 is not a real schedule time.
        .filter(|s| *s >= 1_000_000_000)
        .and_then(|s| Utc.timestamp_opt(s, 0).single());
    Some((search, epoch))
}

/// A row's `_time`: epoch seconds (`"1795428000.000"`) or ISO 8601.
fn event_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<f64>() {
        if secs.is_finite() && secs > 0.0 {
            // Whole seconds are enough for a firing time.
            #[allow(clippy::cast_possible_truncation)]
            return Utc.timestamp_opt(secs as i64, 0).single();
        }
        return None;
    }
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// A short, stable hash of the row (keys sorted, so field order does not matter).
fn row_hash(row: &Map<String, Value>) -> String {
    use sha2::{Digest, Sha256};
    let mut keys: Vec<&String> = row.keys().collect();
    keys.sort();
    let mut hasher = Sha256::new();
    for k in keys {
        hasher.update(k.as_bytes());
        hasher.update([0]);
        hasher.update(row.get(k).map(Value::to_string).unwrap_or_default());
        hasher.update([0]);
    }
    hex::encode(&hasher.finalize()[..8])
}

/// The row as `field = value` lines: Splunk's internal fields (`_cd`, `_bkt`…) left out but for
/// `_raw`, values cut to a readable length.
fn describe(row: &Map<String, Value>) -> Option<String> {
    const MAX_FIELDS: usize = 25;
    const MAX_VALUE: usize = 300;
    let mut keys: Vec<&String> = row
        .keys()
        .filter(|k| !k.starts_with('_') || k.as_str() == "_raw")
        .collect();
    keys.sort();
    let lines: Vec<String> = keys
        .into_iter()
        .filter_map(|k| {
            let value = row.get(k).and_then(field_text)?;
            let value = match value.char_indices().nth(MAX_VALUE) {
                Some((cut, _)) => format!("{}…", &value[..cut]),
                None => value,
            };
            Some(format!("{k} = {value}"))
        })
        .take(MAX_FIELDS)
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

const DESCRIPTOR: SourceDescriptor = SourceDescriptor {
    rca_by_default: false,
    ..SourceDescriptor::new(
        "splunk",
        "Splunk",
        BEARER_SECRET,
        "Search, reports, and alerts → your alert → Edit alert → Trigger Actions → + Add Actions → Webhook, with the URL below (Splunk Enterprise 9.0+ and Splunk Cloud: first add the URL to the webhook allow list, Settings → Server settings → Webhook allow list). Splunk's built-in Webhook action cannot add headers, so send the Authorization header with a webhook alert action that can (a custom-header webhook app from Splunkbase, or your own alert action); the body must stay Splunk's webhook JSON",
    )
};

impl Source for Splunk {
    fn descriptor(&self) -> &'static SourceDescriptor {
        &DESCRIPTOR
    }

    fn parse(&self, delivery: &Delivery<'_>) -> Result<Parsed, Refusal> {
        let payload: Payload = json("Splunk", delivery.body)?;
        let sid = non_blank(payload.sid.as_deref()).ok_or_else(|| {
            Refusal::bad(
                "invalid_payload",
                "a Splunk webhook needs `sid` (the search job that triggered the alert)",
            )
        })?;
        let row = payload.result.unwrap_or_default();
        let schedule = scheduled(sid);
        let search = non_blank(payload.search_name.as_deref())
            .or(schedule.map(|(search, _)| search))
            .unwrap_or(sid);
        let app = non_blank(payload.app.as_deref()).unwrap_or("-");
        let fingerprint = format!("splunk:{app}:{search}");
        let alert_id = if row.is_empty() {
            sid.to_owned()
        } else {
            format!("{sid}:{}", row_hash(&row))
        };
        let severity = field(&row, &["severity", "urgency", "priority", "alert_severity"])
            .or_else(|| payload.severity.as_ref().and_then(field_text))
            .map_or(Severity::Unknown, |s| splunk_severity(&s));
        let fired_at = schedule
            .and_then(|(_, at)| at)
            .or_else(|| field(&row, &["_time"]).and_then(|t| event_time(&t)))
            .unwrap_or(delivery.received_at);
        let title = match non_blank(payload.search_name.as_deref()) {
            Some(name) => name.to_owned(),
            None => format!("Splunk alert {search}"),
        };
        let owner = non_blank(payload.owner.as_deref());
        let description = match (describe(&row), owner) {
            (Some(rows), Some(owner)) => Some(format!(
                "Search owned by {owner} in app {app}; first result:\n{rows}"
            )),
            (Some(rows), None) => Some(format!("First result:\n{rows}")),
            (None, Some(owner)) => Some(format!("Search owned by {owner} in app {app}")),
            (None, None) => None,
        };
        Ok(Parsed::one(
            None,
            Signal::Firing(FiringAlert {
                alert_id,
                fingerprint,
                title,
                service: field(
                    &row,
                    &["service", "service_name", "app_name", "application", "app"],
                ),
                environment: field(&row, &["env", "environment"]),
                severity,
                fired_at,
                description,
                url: non_blank(payload.results_link.as_deref()).map(str::to_owned),
                placement: Default::default(),
            }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::common::tests_support::*;

    /// As Splunk's webhook alert action sends it.
    const TRIGGERED: &str = r#"{
      "result": {"sourcetype": "mongod", "count": "8", "host": "db-01", "service": "orders-db", "env": "prod", "_time": "1795427940.000", "_cd": "0:12", "_raw": "connection refused"},
      "sid": "scheduler__admin__search__RMD5910195d9d7e36e0a_at_1795428000_4",
      "results_link": "https://splunk.example.com:8000/app/search/@go?sid=scheduler__admin__search__RMD5910195d9d7e36e0a_at_1795428000_4",
      "search_name": "Mongo connection errors",
      "owner": "admin",
      "app": "search"
    }"#;

    fn one(body: &str) -> Signal {
        one_signal(&Splunk, body)
    }

    #[test]
    fn a_triggered_alert_fires_one_alert_for_its_search_and_result() {
        let Signal::Firing(a) = one(TRIGGERED) else {
            panic!("firing expected")
        };
        assert_eq!(a.fingerprint, "splunk:search:Mongo connection errors");
        assert!(a
            .alert_id
            .starts_with("scheduler__admin__search__RMD5910195d9d7e36e0a_at_1795428000_4:"));
        assert_eq!(a.title, "Mongo connection errors");
        assert_eq!(a.service.as_deref(), Some("orders-db"));
        assert_eq!(a.environment.as_deref(), Some("prod"));
        assert_eq!(a.severity, Severity::Unknown, "no severity field: unknown");
        assert_eq!(
            a.fired_at.to_rfc3339(),
            "2026-11-23T10:00:00+00:00",
            "the scheduled time in the sid"
        );
        let description = a.description.expect("description");
        assert!(description.contains("count = 8"), "{description}");
        assert!(description.contains("_raw = connection refused"));
        assert!(!description.contains("_cd"), "{description}");
        assert!(description.contains("owned by admin"));
        assert_eq!(
            a.url.as_deref(),
            Some("https://splunk.example.com:8000/app/search/@go?sid=scheduler__admin__search__RMD5910195d9d7e36e0a_at_1795428000_4")
        );
    }

    #[test]
    fn each_result_of_a_run_is_its_own_alert_and_a_retry_the_same() {
        let other = TRIGGERED.replace(r#""host": "db-01""#, r#""host": "db-02""#);
        let reordered = TRIGGERED.replace(
            r#"{"sourcetype": "mongod", "count": "8","#,
            r#"{"count": "8", "sourcetype": "mongod","#,
        );
        let id = |body: &str| match one(body) {
            Signal::Firing(a) => (a.alert_id, a.fingerprint),
            other => panic!("firing expected, got {other:?}"),
        };
        let (first, fp) = id(TRIGGERED);
        let (second, fp2) = id(&other);
        assert_ne!(first, second);
        assert_eq!(fp, fp2, "the same saved search");
        assert_eq!(id(TRIGGERED).0, first);
        assert_eq!(id(&reordered).0, first, "field order does not matter");
    }

    #[test]
    fn a_later_run_of_the_same_search_is_a_new_alert_of_the_same_problem() {
        let later = TRIGGERED.replace("_at_1795428000_4", "_at_1795428300_5");
        let (Signal::Firing(a), Signal::Firing(b)) = (one(TRIGGERED), one(&later)) else {
            panic!("firing expected")
        };
        assert_ne!(a.alert_id, b.alert_id);
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_eq!(b.fired_at.timestamp(), 1_795_428_300);
    }

    #[test]
    fn severity_comes_from_the_result_by_name_or_splunk_level() {
        for (field, value, expected) in [
            ("severity", r#""critical""#, Severity::Critical),
            ("severity", r#""5""#, Severity::Critical),
            ("severity", "4", Severity::High),
            ("severity", r#""3""#, Severity::Medium),
            ("severity", r#""2""#, Severity::Info),
            ("urgency", r#""high""#, Severity::High),
            ("urgency", r#""informational""#, Severity::Info),
            ("priority", r#""low""#, Severity::Low),
            ("severity", r#"["severe"]"#, Severity::Critical),
        ] {
            let body = TRIGGERED.replace(
                r#""count": "8","#,
                &format!(r#""count": "8", "{field}": {value},"#),
            );
            let Signal::Firing(a) = one(&body) else {
                panic!("firing expected")
            };
            assert_eq!(a.severity, expected, "{field}: {value}");
        }
    }

    #[test]
    fn an_unnamed_ad_hoc_search_still_fires() {
        let body = r#"{"result": {"host": "web-3", "_time": "2026-11-23T09:59:00.000+00:00"}, "sid": "1795428000.12", "results_link": "https://splunk.example.com/app/search/@go?sid=1795428000.12", "search_name": null, "owner": "admin", "app": "search"}"#;
        let Signal::Firing(a) = one(body) else {
            panic!("firing expected")
        };
        assert_eq!(a.fingerprint, "splunk:search:1795428000.12");
        assert_eq!(a.title, "Splunk alert 1795428000.12");
        assert_eq!(a.fired_at.to_rfc3339(), "2026-11-23T09:59:00+00:00");
        assert_eq!(a.service, None);
    }

    #[test]
    fn an_unnamed_scheduled_search_is_named_by_its_sid() {
        let body = TRIGGERED.replace(
            r#""search_name": "Mongo connection errors""#,
            r#""search_name": null"#,
        );
        let Signal::Firing(a) = one(&body) else {
            panic!("firing expected")
        };
        assert_eq!(
            a.fingerprint,
            "splunk:search:scheduler__admin__search__RMD5910195d9d7e36e0a"
        );
        assert!(a.title.starts_with("Splunk alert scheduler__admin"));
    }

    #[test]
    fn a_delivery_without_a_result_row_fires_on_the_sid() {
        let body = r#"{"sid": "rt_scheduler__admin__search__RMD5abc_at_1795428000_7.3", "search_name": "Disk full", "app": "ops"}"#;
        let Signal::Firing(a) = one(body) else {
            panic!("firing expected")
        };
        assert_eq!(
            a.alert_id,
            "rt_scheduler__admin__search__RMD5abc_at_1795428000_7.3"
        );
        assert_eq!(a.fingerprint, "splunk:ops:Disk full");
        assert_eq!(a.description, None);
        assert_eq!(a.url, None);
    }

    #[test]
    fn malformed_payloads_are_refused_saying_why() {
        let h = headers(&[]);
        refuses_malformed(
            &Splunk,
            &h,
            "",
            &[
                ("not json", "invalid_json"),
                ("{\"sid\": \"x\"", "invalid_json"),
                ("{}", "invalid_payload"),
                (r#"{"sid": ""}"#, "invalid_payload"),
                (
                    r#"{"result": {"a": "1"}, "search_name": "x"}"#,
                    "invalid_payload",
                ),
                (r#"{"sid": 42}"#, "invalid_payload"),
                (r#"{"sid": "a", "result": "rows"}"#, "invalid_payload"),
                (r#"{"sid": "a", "search_name": ["x"]}"#, "invalid_payload"),
            ],
        );
    }

    #[test]
    fn only_the_right_bearer_secret_gets_in() {
        the_bearer_secret_alone_gets_in(
            &Splunk,
            (TRIGGERED, "{}"),
            &[("authorization", "Bearer s3cret-and-more")],
        );
    }

    #[test]
    fn rca_is_opt_in_and_setup_names_the_header() {
        assert!(!Splunk.descriptor().rca_by_default);
        let setup = Splunk.setup("https://aurora.example.com/webhooks/splunk/x", Some("abc"));
        assert_eq!(setup.header_value.as_deref(), Some("Bearer abc"));
        assert!(setup.steps[0].contains("allow list"));
    }
}
