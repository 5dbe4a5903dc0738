//! Datadog: `datadog_logs` (Logs Search API v2, `POST /api/v2/logs/events/search`) and
//! `datadog_metrics` (`GET /api/v1/query`), with the API and application keys in the
//! `DD-API-KEY` / `DD-APPLICATION-KEY` headers, at the API host of the account's site.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::definition::{parameters, Definition};
use super::http::ProviderHttp;
use super::window::Window;
use super::{newest, QueryError, MAX_SERIES};
use crate::agent::tool_args::Args;
use aurora_domain::connector::ConnectorKind;

pub const LOGS: &str = "datadog_logs";
pub const METRICS: &str = "datadog_metrics";

/// A connected Datadog organisation.
/// No `Debug`: it holds the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct DatadogAccount {
    /// The API host of the organisation's site (or `AURORA_DATADOG_BASE_URL`).
    pub api_url: String,
    pub api_key: String,
    pub application_key: String,
}

/// `datadog_logs`: log events matching a search, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct LogsQuery {
    pub query: String,
    pub window: Window,
    pub limit: i64,
}

/// `datadog_metrics`: a metrics query over the range.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsQuery {
    pub query: String,
    pub window: Window,
}

pub fn definitions() -> Vec<Definition> {
    vec![
        Definition {
            name: LOGS,
            description: "Search Datadog logs (read-only), newest first.",
            parameters: parameters(
                json!({
                    "query": {"type": "string", "description": "Datadog log search, e.g. `service:checkout status:error`"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 200, "description": "most events (default 50)"}
                }),
                true,
                &["query"],
            ),
        },
        Definition {
            name: METRICS,
            description: "Query Datadog metrics (read-only) over a time range.",
            parameters: parameters(
                json!({"query": {"type": "string", "description": "a metrics query, e.g. `avg:trace.http.request.duration{service:checkout}`"}}),
                true,
                &["query"],
            ),
        },
    ]
}

impl LogsQuery {
    pub fn from_args(args: &Args<'_>, now: DateTime<Utc>) -> Result<Self, String> {
        Ok(Self {
            query: args.required("query")?,
            window: Window::from_args(args, now)?,
            limit: args.number("limit", 50, 200)?,
        })
    }

    /// The search request's body.
    pub fn body(&self) -> Value {
        json!({
            "filter": {
                "query": self.query,
                "from": self.window.from.to_rfc3339(),
                "to": self.window.to.to_rfc3339(),
            },
            "sort": "-timestamp",
            "page": {"limit": self.limit},
        })
    }

    pub async fn run(
        &self,
        http: &ProviderHttp,
        account: &DatadogAccount,
    ) -> Result<Value, QueryError> {
        let url = format!("{}/api/v2/logs/events/search", account.api_url);
        let request = authorised(http.client().post(url), account).json(&self.body());
        Ok(logs_of(&http.json(ConnectorKind::Datadog, request).await?))
    }
}

/// The events of a search answer, each cut to what an investigation reads.
pub fn logs_of(answer: &Value) -> Value {
    let events: Vec<Value> = answer["data"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|event| {
            let a = &event["attributes"];
            json!({
                "timestamp": a["timestamp"],
                "status": a["status"],
                "service": a["service"],
                "host": a["host"],
                "message": a["message"],
                "tags": a["tags"],
            })
        })
        .collect();
    json!({"count": events.len(), "events": events, "more": answer["meta"]["page"]["after"].is_string()})
}

impl MetricsQuery {
    pub fn from_args(args: &Args<'_>, now: DateTime<Utc>) -> Result<Self, String> {
        Ok(Self {
            query: args.required("query")?,
            window: Window::from_args(args, now)?,
        })
    }

    pub fn params(&self) -> [(&'static str, String); 3] {
        [
            ("from", self.window.from.timestamp().to_string()),
            ("to", self.window.to.timestamp().to_string()),
            ("query", self.query.clone()),
        ]
    }

    pub async fn run(
        &self,
        http: &ProviderHttp,
        account: &DatadogAccount,
    ) -> Result<Value, QueryError> {
        let url = format!("{}/api/v1/query", account.api_url);
        let request = authorised(http.client().get(url), account).query(&self.params());
        metrics_of(&http.json(ConnectorKind::Datadog, request).await?)
    }
}

/// The series of a metrics answer (`status: error` is the provider's refusal).
pub fn metrics_of(answer: &Value) -> Result<Value, QueryError> {
    if answer["status"] == "error" {
        return Err(QueryError::Refused {
            provider: ConnectorKind::Datadog,
            message: super::http::message_of(&answer.to_string()),
        });
    }
    let all = answer["series"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let series: Vec<Value> = all
        .iter()
        .take(MAX_SERIES)
        .map(|s| {
            let (points, left_out) = newest(&s["pointlist"]);
            json!({
                "metric": s["metric"],
                "scope": s["scope"],
                "unit": s["unit"][0]["short_name"],
                "points": points,
                "points_left_out": left_out,
            })
        })
        .collect();
    Ok(json!({"series": series, "series_left_out": all.len() - series.len()}))
}

fn authorised(
    request: reqwest::RequestBuilder,
    account: &DatadogAccount,
) -> reqwest::RequestBuilder {
    request
        .header("DD-API-KEY", &account.api_key)
        .header("DD-APPLICATION-KEY", &account.application_key)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::agent::query::window::test_now as now;

    #[test]
    fn a_log_search_asks_for_the_range_newest_first() {
        let args = Args::parse(
            LOGS,
            r#"{"query":"service:checkout","since_minutes":30,"limit":5}"#,
        )
        .unwrap();
        let body = LogsQuery::from_args(&args, now()).unwrap().body();
        assert_eq!(
            body,
            json!({"filter": {"query": "service:checkout", "from": "2026-12-04T09:30:00+00:00", "to": "2026-12-04T10:00:00+00:00"},
                   "sort": "-timestamp", "page": {"limit": 5}})
        );
    }

    #[test]
    fn log_events_keep_what_an_investigation_reads() {
        let answer = json!({"data": [{"id": "AQAA", "type": "log", "attributes": {
            "timestamp": "2026-12-04T09:59:00Z", "status": "error", "service": "checkout",
            "host": "web-1", "message": "timeout calling payments", "tags": ["env:prod"],
            "attributes": {"huge": "x"}}}], "meta": {"page": {"after": "cursor"}}});
        assert_eq!(
            logs_of(&answer),
            json!({"count": 1, "more": true, "events": [{"timestamp": "2026-12-04T09:59:00Z",
                "status": "error", "service": "checkout", "host": "web-1",
                "message": "timeout calling payments", "tags": ["env:prod"]}]})
        );
    }

    #[test]
    fn a_metrics_query_sends_seconds_and_keeps_the_newest_points() {
        let args = Args::parse(METRICS, r#"{"query":"avg:cpu{*}","since_minutes":10}"#).unwrap();
        let query = MetricsQuery::from_args(&args, now()).unwrap();
        assert_eq!(
            query.params()[0],
            ("from", (now().timestamp() - 600).to_string())
        );
        let points: Vec<Value> = (0..200).map(|i| json!([i * 1000, i])).collect();
        let answer = json!({"status": "ok", "series": [{"metric": "cpu", "scope": "*", "pointlist": points,
            "unit": [{"short_name": "%"}]}]});
        let series = metrics_of(&answer).unwrap();
        assert_eq!(
            series["series"][0]["points"].as_array().unwrap().len(),
            super::super::MAX_POINTS
        );
        assert_eq!(series["series"][0]["points"][0], json!([80000, 80]));
        assert_eq!(series["series"][0]["points_left_out"], 80);
        assert_eq!(series["series"][0]["unit"], "%");
    }

    #[test]
    fn a_metrics_error_in_a_200_is_a_refusal() {
        let error =
            metrics_of(&json!({"status": "error", "error": "Error parsing query"})).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Datadog refused the query: Error parsing query"
        );
    }
}
