//! Grafana: `prometheus_query` and `loki_query` through its datasource proxy
//! (`/api/datasources/proxy/uid/{uid}/…`, the service-account token as `Authorization: Bearer`),
//! so one connection reaches every Prometheus and Loki Grafana knows. Without a `datasource_uid`
//! the first datasource of the type (`GET /api/datasources`) is used.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};

use super::definition::{parameters, Definition};
use super::http::ProviderHttp;
use super::window::Window;
use super::{newest, QueryError, MAX_SERIES};
use crate::agent::tool_args::Args;
use aurora_domain::connector::ConnectorKind;

pub const PROMETHEUS: &str = "prometheus_query";
pub const LOKI: &str = "loki_query";

/// The most points a range query may ask Prometheus for per series.
const MAX_STEPS: i64 = 1000;

/// A connected Grafana.
/// No `Debug`: it holds the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct GrafanaAccount {
    pub url: String,
    pub token: String,
}

/// `prometheus_query`: a PromQL range query.
#[derive(Debug, Clone, PartialEq)]
pub struct PrometheusQuery {
    pub query: String,
    pub window: Window,
    pub step_seconds: i64,
    pub datasource_uid: Option<String>,
}

/// `loki_query`: a LogQL query, newest lines first.
#[derive(Debug, Clone, PartialEq)]
pub struct LokiQuery {
    pub query: String,
    pub window: Window,
    pub limit: i64,
    pub datasource_uid: Option<String>,
}

pub fn definitions() -> Vec<Definition> {
    let uid = json!({"type": "string", "description": "the Grafana datasource's uid (default: the first of its type)"});
    vec![
        Definition {
            name: PROMETHEUS,
            description: "Run a PromQL range query through Grafana (read-only), e.g. `sum(rate(http_requests_total{job=\"checkout\",code=~\"5..\"}[5m]))`.",
            parameters: parameters(
                json!({
                    "query": {"type": "string", "description": "PromQL"},
                    "step_seconds": {"type": "integer", "minimum": 1, "maximum": 86400, "description": "resolution (default: about 200 points over the range)"},
                    "datasource_uid": uid,
                }),
                true,
                &["query"],
            ),
        },
        Definition {
            name: LOKI,
            description: "Run a LogQL query through Grafana (read-only), newest lines first, e.g. `{app=\"checkout\"} |= \"error\"`.",
            parameters: parameters(
                json!({
                    "query": {"type": "string", "description": "LogQL"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 500, "description": "most lines (default 100)"},
                    "datasource_uid": uid,
                }),
                true,
                &["query"],
            ),
        },
    ]
}

impl PrometheusQuery {
    pub fn from_args(args: &Args<'_>, now: DateTime<Utc>) -> Result<Self, String> {
        let window = Window::from_args(args, now)?;
        let step_seconds = match args.optional_number("step_seconds", 86_400)? {
            Some(step) if window.seconds() / step > MAX_STEPS => {
                return Err(format!(
                    "a step of {step} s gives more than {MAX_STEPS} points over the range: give a larger step_seconds or a shorter range"
                ))
            }
            Some(step) => step,
            None => (window.seconds() / 200).max(15),
        };
        Ok(Self {
            query: args.required("query")?,
            window,
            step_seconds,
            datasource_uid: args.text("datasource_uid"),
        })
    }

    pub fn params(&self) -> [(&'static str, String); 4] {
        [
            ("query", self.query.clone()),
            ("start", self.window.from.timestamp().to_string()),
            ("end", self.window.to.timestamp().to_string()),
            ("step", self.step_seconds.to_string()),
        ]
    }

    pub async fn run(
        &self,
        http: &ProviderHttp,
        account: &GrafanaAccount,
    ) -> Result<Value, QueryError> {
        let uid = datasource(http, account, "prometheus", self.datasource_uid.as_deref()).await?;
        let url = proxied(account, &uid, "api/v1/query_range")?;
        let request = http
            .client()
            .get(url)
            .bearer_auth(&account.token)
            .query(&self.params());
        matrix_of(&http.json(ConnectorKind::Grafana, request).await?)
    }
}

impl LokiQuery {
    pub fn from_args(args: &Args<'_>, now: DateTime<Utc>) -> Result<Self, String> {
        Ok(Self {
            query: args.required("query")?,
            window: Window::from_args(args, now)?,
            limit: args.number("limit", 100, 500)?,
            datasource_uid: args.text("datasource_uid"),
        })
    }

    /// Loki takes the range in nanoseconds since the epoch.
    pub fn params(&self) -> [(&'static str, String); 5] {
        let nanos = |t: DateTime<Utc>| format!("{}000000000", t.timestamp());
        [
            ("query", self.query.clone()),
            ("start", nanos(self.window.from)),
            ("end", nanos(self.window.to)),
            ("limit", self.limit.to_string()),
            ("direction", "backward".to_owned()),
        ]
    }

    pub async fn run(
        &self,
        http: &ProviderHttp,
        account: &GrafanaAccount,
    ) -> Result<Value, QueryError> {
        let uid = datasource(http, account, "loki", self.datasource_uid.as_deref()).await?;
        let url = proxied(account, &uid, "loki/api/v1/query_range")?;
        let request = http
            .client()
            .get(url)
            .bearer_auth(&account.token)
            .query(&self.params());
        lines_of(
            &http.json(ConnectorKind::Grafana, request).await?,
            self.limit,
        )
    }
}

/// `uid` if given, else the uid of Grafana's first datasource of `kind`.
async fn datasource(
    http: &ProviderHttp,
    account: &GrafanaAccount,
    kind: &str,
    uid: Option<&str>,
) -> Result<String, QueryError> {
    if let Some(uid) = uid {
        return Ok(uid.to_owned());
    }
    let request = http
        .client()
        .get(format!(
            "{}/api/datasources",
            account.url.trim_end_matches('/')
        ))
        .bearer_auth(&account.token);
    let list = http.json(ConnectorKind::Grafana, request).await?;
    list.as_array()
        .into_iter()
        .flatten()
        .find(|d| d["type"] == kind)
        .and_then(|d| d["uid"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| QueryError::Refused {
            provider: ConnectorKind::Grafana,
            message: format!("Grafana has no {kind} datasource"),
        })
}

/// `<grafana>/api/datasources/proxy/uid/<uid>/<path>`, the uid one path segment.
fn proxied(account: &GrafanaAccount, uid: &str, path: &str) -> Result<reqwest::Url, QueryError> {
    let unusable = |reason: String| QueryError::Unreachable {
        provider: ConnectorKind::Grafana,
        reason,
    };
    let mut url = reqwest::Url::parse(&account.url)
        .map_err(|e| unusable(format!("its URL does not parse: {e}")))?;
    url.path_segments_mut()
        .map_err(|()| unusable("its URL cannot have a path".into()))?
        .pop_if_empty()
        .extend(["api", "datasources", "proxy", "uid", uid])
        .extend(path.split('/'));
    Ok(url)
}

/// Prometheus's `status` other than `success` is its refusal.
fn data_of(answer: &Value) -> Result<&Value, QueryError> {
    if answer["status"] != "success" {
        return Err(QueryError::Refused {
            provider: ConnectorKind::Grafana,
            message: super::http::message_of(&answer.to_string()),
        });
    }
    Ok(&answer["data"])
}

/// The series of a range query, at most [`MAX_SERIES`], each with its newest points.
pub fn matrix_of(answer: &Value) -> Result<Value, QueryError> {
    let all = data_of(answer)?["result"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let series: Vec<Value> = all
        .iter()
        .take(MAX_SERIES)
        .map(|s| {
            let (points, left_out) = newest(&s["values"]);
            json!({"metric": s["metric"], "points": points, "points_left_out": left_out})
        })
        .collect();
    Ok(json!({"series": series, "series_left_out": all.len() - series.len()}))
}

/// The lines of a log query, newest first, at most `limit`.
pub fn lines_of(answer: &Value, limit: i64) -> Result<Value, QueryError> {
    let mut lines: Vec<(i128, Value)> = Vec::new();
    for stream in data_of(answer)?["result"].as_array().into_iter().flatten() {
        for entry in stream["values"].as_array().into_iter().flatten() {
            let nanos: i128 = entry[0].as_str().and_then(|n| n.parse().ok()).unwrap_or(0);
            let time = i64::try_from(nanos / 1_000_000_000)
                .ok()
                .and_then(|s| {
                    Utc.timestamp_opt(s, (nanos % 1_000_000_000) as u32)
                        .single()
                })
                .map(|t| t.to_rfc3339());
            lines.push((
                nanos,
                json!({"time": time, "labels": stream["stream"], "line": entry[1]}),
            ));
        }
    }
    lines.sort_by_key(|line| std::cmp::Reverse(line.0));
    lines.truncate(limit as usize);
    let lines: Vec<Value> = lines.into_iter().map(|(_, line)| line).collect();
    Ok(json!({"count": lines.len(), "lines": lines}))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::agent::query::window::test_now as now;

    #[test]
    fn a_range_query_gets_a_step_of_about_200_points() {
        let args = Args::parse(PROMETHEUS, r#"{"query":"up","since_minutes":1440}"#).unwrap();
        let query = PrometheusQuery::from_args(&args, now()).unwrap();
        assert_eq!(query.step_seconds, 432);
        let args = Args::parse(
            PROMETHEUS,
            r#"{"query":"up","since_minutes":1440,"step_seconds":10}"#,
        )
        .unwrap();
        let error = PrometheusQuery::from_args(&args, now()).unwrap_err();
        assert!(error.contains("more than 1000 points"), "{error}");
    }

    #[test]
    fn the_proxy_path_names_the_datasource() {
        let account = GrafanaAccount {
            url: "https://grafana.example.com/".into(),
            token: "t".into(),
        };
        assert_eq!(
            proxied(&account, "prom-1", "loki/api/v1/query_range")
                .unwrap()
                .as_str(),
            "https://grafana.example.com/api/datasources/proxy/uid/prom-1/loki/api/v1/query_range"
        );
    }

    #[test]
    fn loki_lines_come_newest_first_across_streams() {
        let answer = json!({"status": "success", "data": {"resultType": "streams", "result": [
            {"stream": {"app": "checkout"}, "values": [["1796378390000000000", "b"], ["1796378300000000000", "a"]]},
            {"stream": {"app": "payments"}, "values": [["1796378395000000000", "c"]]}
        ]}});
        let lines = lines_of(&answer, 2).unwrap();
        assert_eq!(lines["count"], 2);
        assert_eq!(lines["lines"][0]["line"], "c");
        assert_eq!(lines["lines"][0]["time"], "2026-12-04T09:59:55+00:00");
        assert_eq!(lines["lines"][1]["labels"]["app"], "checkout");
    }

    #[test]
    fn a_matrix_keeps_its_series_and_an_error_status_is_a_refusal() {
        let answer = json!({"status": "success", "data": {"resultType": "matrix", "result": [
            {"metric": {"job": "checkout"}, "values": [[1796378400, "0.5"]]}]}});
        let series = matrix_of(&answer).unwrap();
        assert_eq!(series["series"][0]["points"], json!([[1796378400, "0.5"]]));
        let refused = json!({"status": "error", "errorType": "bad_data", "error": "parse error"});
        assert_eq!(
            matrix_of(&refused).unwrap_err().to_string(),
            "Grafana refused the query: parse error"
        );
    }
}
