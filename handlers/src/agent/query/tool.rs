//! The query tools as the model sees them: names, descriptions, JSON schemas of the arguments,
//! and a call's arguments read into a [`QueryTool`].

use chrono::Utc;
use serde_json::{json, Value};

use super::definition::Definition;
use super::window::Window;
use aurora_domain::connector::ConnectorKind;

use super::{datadog, elasticsearch, grafana, newrelic, ovh, sentry, splunk, tailscale};
use crate::agent::tool_args::Args;

/// A query the model asked for, its arguments read and checked.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryTool {
    DatadogLogs(datadog::LogsQuery),
    DatadogMetrics(datadog::MetricsQuery),
    NewRelicNrql(newrelic::NrqlQuery),
    SplunkSearch(splunk::SearchQuery),
    SentryIssues(sentry::IssuesQuery),
    PrometheusQuery(grafana::PrometheusQuery),
    LokiQuery(grafana::LokiQuery),
    ElasticsearchSearch(elasticsearch::SearchQuery),
    TailscaleDevices,
    OvhApiGet(ovh::GetQuery),
}

impl QueryTool {
    /// Whose account the tool reads.
    pub fn kind(&self) -> ConnectorKind {
        match self {
            Self::DatadogLogs(_) | Self::DatadogMetrics(_) => ConnectorKind::Datadog,
            Self::NewRelicNrql(_) => ConnectorKind::Newrelic,
            Self::SplunkSearch(_) => ConnectorKind::Splunk,
            Self::SentryIssues(_) => ConnectorKind::Sentry,
            Self::PrometheusQuery(_) | Self::LokiQuery(_) => ConnectorKind::Grafana,
            Self::ElasticsearchSearch(_) => ConnectorKind::Elasticsearch,
            Self::TailscaleDevices => ConnectorKind::Tailscale,
            Self::OvhApiGet(_) => ConnectorKind::Ovh,
        }
    }

    /// The time range it covers, if it has one.
    pub fn window(&self) -> Option<&Window> {
        match self {
            Self::DatadogLogs(q) => Some(&q.window),
            Self::DatadogMetrics(q) => Some(&q.window),
            Self::NewRelicNrql(q) => Some(&q.window),
            Self::SplunkSearch(q) => Some(&q.window),
            Self::SentryIssues(q) => Some(&q.window),
            Self::PrometheusQuery(q) => Some(&q.window),
            Self::LokiQuery(q) => Some(&q.window),
            Self::ElasticsearchSearch(q) => Some(&q.window),
            Self::TailscaleDevices | Self::OvhApiGet(_) => None,
        }
    }
}

/// Every query tool with the provider it reads.
fn all() -> Vec<(ConnectorKind, Definition)> {
    let of = |provider: ConnectorKind, list: Vec<Definition>| {
        list.into_iter().map(move |d| (provider, d))
    };
    of(ConnectorKind::Datadog, datadog::definitions())
        .chain(of(ConnectorKind::Newrelic, vec![newrelic::definition()]))
        .chain(of(ConnectorKind::Splunk, vec![splunk::definition()]))
        .chain(of(ConnectorKind::Sentry, vec![sentry::definition()]))
        .chain(of(ConnectorKind::Grafana, grafana::definitions()))
        .chain(of(
            ConnectorKind::Elasticsearch,
            vec![elasticsearch::definition()],
        ))
        .chain(of(ConnectorKind::Tailscale, vec![tailscale::definition()]))
        .chain(of(ConnectorKind::Ovh, vec![ovh::definition()]))
        .collect()
}

/// The tool definitions (OpenAI function-calling JSON) of the `connected` kinds (which leave out
/// OVHcloud unless `FEATURE_FLAG_OVH_ENABLED`: the connectors' lookup offers it only then).
pub fn definitions(connected: &[ConnectorKind]) -> Vec<Value> {
    all()
        .into_iter()
        .filter(|(kind, _)| connected.contains(kind))
        .map(|(_, d)| {
            json!({
                "type": "function",
                "function": {"name": d.name, "description": d.description, "parameters": d.parameters}
            })
        })
        .collect()
}

/// `None` when `name` is no query tool; otherwise its arguments read (the error is what the
/// model is told).
/// Every query tool's name (the arms of [`plan`]).
pub const NAMES: &[&str] = &[
    datadog::LOGS,
    datadog::METRICS,
    newrelic::NRQL,
    splunk::SEARCH,
    sentry::ISSUES,
    grafana::PROMETHEUS,
    grafana::LOKI,
    elasticsearch::SEARCH,
    tailscale::DEVICES,
    ovh::GET,
];

pub fn plan(name: &str, args: &Args<'_>) -> Option<Result<QueryTool, String>> {
    let now = Utc::now();
    let planned = match name {
        datadog::LOGS => datadog::LogsQuery::from_args(args, now).map(QueryTool::DatadogLogs),
        datadog::METRICS => {
            datadog::MetricsQuery::from_args(args, now).map(QueryTool::DatadogMetrics)
        }
        newrelic::NRQL => newrelic::NrqlQuery::from_args(args, now).map(QueryTool::NewRelicNrql),
        splunk::SEARCH => splunk::SearchQuery::from_args(args, now).map(QueryTool::SplunkSearch),
        sentry::ISSUES => sentry::IssuesQuery::from_args(args, now).map(QueryTool::SentryIssues),
        grafana::PROMETHEUS => {
            grafana::PrometheusQuery::from_args(args, now).map(QueryTool::PrometheusQuery)
        }
        grafana::LOKI => grafana::LokiQuery::from_args(args, now).map(QueryTool::LokiQuery),
        elasticsearch::SEARCH => {
            elasticsearch::SearchQuery::from_args(args, now).map(QueryTool::ElasticsearchSearch)
        }
        tailscale::DEVICES => Ok(QueryTool::TailscaleDevices),
        ovh::GET => ovh::GetQuery::from_args(args).map(QueryTool::OvhApiGet),
        _ => return None,
    };
    Some(planned)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn every_query_tool_is_named_in_the_list_of_names() {
        let mut defined: Vec<&str> = all().iter().map(|(_, d)| d.name).collect();
        defined.sort_unstable();
        let mut listed = NAMES.to_vec();
        listed.sort_unstable();
        assert_eq!(defined, listed);
    }

    fn names(definitions: &[Value]) -> Vec<&str> {
        definitions
            .iter()
            .map(|d| d["function"]["name"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn only_the_tools_of_connected_providers_are_offered() {
        assert!(definitions(&[]).is_empty());
        let offered = definitions(&[
            ConnectorKind::Datadog,
            ConnectorKind::Grafana,
            ConnectorKind::Gcp,
        ]);
        assert_eq!(
            names(&offered),
            [
                "datadog_logs",
                "datadog_metrics",
                "prometheus_query",
                "loki_query"
            ]
        );
    }

    #[test]
    fn every_tool_has_an_object_schema_and_plans_from_its_required_arguments() {
        let every = [
            ConnectorKind::Datadog,
            ConnectorKind::Newrelic,
            ConnectorKind::Splunk,
            ConnectorKind::Sentry,
            ConnectorKind::Grafana,
            ConnectorKind::Elasticsearch,
            ConnectorKind::Tailscale,
            ConnectorKind::Ovh,
        ];
        let offered = definitions(&every);
        assert_eq!(offered.len(), 10);
        for definition in &offered {
            let function = &definition["function"];
            let name = function["name"].as_str().unwrap();
            assert_eq!(function["parameters"]["type"], "object", "{name}");
            // Every required argument given a plausible value: the call plans.
            let mut arguments = serde_json::Map::new();
            for key in function["parameters"]["required"].as_array().unwrap() {
                let key = key.as_str().unwrap();
                let value = if key == "path" { "/me" } else { "x" };
                arguments.insert(key.to_owned(), json!(value));
            }
            let text = Value::Object(arguments).to_string();
            let planned = plan(name, &Args::parse(name, &text).unwrap()).unwrap();
            let tool = planned.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(every.contains(&tool.kind()));
            // Missing required arguments are named.
            if let Some(first) = function["parameters"]["required"][0].as_str() {
                let error = plan(name, &Args::parse(name, "{}").unwrap())
                    .unwrap()
                    .unwrap_err();
                assert!(error.contains(first), "{name}: {error}");
            }
        }
        assert!(plan("cloud_exec", &Args::parse("cloud_exec", "{}").unwrap()).is_none());
    }
}
