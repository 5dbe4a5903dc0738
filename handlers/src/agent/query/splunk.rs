//! Splunk: `splunk_search`, SPL through the export endpoint (`POST
//! /services/search/jobs/export`, `output_mode=json`, the token as `Authorization: Bearer`),
//! which streams one JSON object per line: results, and messages when the search fails.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::definition::{parameters, Definition};
use super::http::ProviderHttp;
use super::window::Window;
use super::QueryError;
use crate::agent::tool_args::Args;
use aurora_domain::connector::ConnectorKind;

pub const SEARCH: &str = "splunk_search";

/// SPL commands that write (to indexes, lookups, mail, scripts): a read-only tool refuses them.
const WRITING_COMMANDS: [&str; 12] = [
    "delete",
    "collect",
    "mcollect",
    "meventcollect",
    "tscollect",
    "outputlookup",
    "outputcsv",
    "sendemail",
    "sendalert",
    "script",
    "run",
    "dbxoutput",
];

/// A connected Splunk deployment (its management API, e.g. `https://splunk.example.com:8089`).
/// No `Debug`: it holds the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SplunkAccount {
    pub url: String,
    pub token: String,
}

/// `splunk_search`: one SPL search over the range.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    pub search: String,
    pub window: Window,
    pub limit: i64,
}

pub fn definition() -> Definition {
    Definition {
        name: SEARCH,
        description: "Run one read-only Splunk search (SPL), e.g. `index=main sourcetype=nginx status>=500 | stats count by uri`.",
        parameters: parameters(
            json!({
                "search": {"type": "string", "description": "SPL; `search` is added when it starts with neither `search` nor `|`"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 500, "description": "most results (default 100)"}
            }),
            true,
            &["search"],
        ),
    }
}

impl SearchQuery {
    pub fn from_args(args: &Args<'_>, now: DateTime<Utc>) -> Result<Self, String> {
        let search = args.required("search")?;
        let writing = search
            .split('|')
            .skip(1)
            .filter_map(|part| part.split_whitespace().next())
            .find(|command| WRITING_COMMANDS.contains(&command.to_ascii_lowercase().as_str()));
        if let Some(command) = writing {
            return Err(format!(
                "`{command}` writes to Splunk; splunk_search only reads"
            ));
        }
        Ok(Self {
            search,
            window: Window::from_args(args, now)?,
            limit: args.number("limit", 100, 500)?,
        })
    }

    /// The form sent: the search (with `search` and a `head` limit), the range in epoch seconds.
    pub fn form(&self) -> [(&'static str, String); 4] {
        let trimmed = self.search.trim();
        let search = if trimmed.starts_with('|') || trimmed.starts_with("search ") {
            trimmed.to_owned()
        } else {
            format!("search {trimmed}")
        };
        [
            ("search", format!("{search} | head {}", self.limit)),
            ("earliest_time", self.window.from.timestamp().to_string()),
            ("latest_time", self.window.to.timestamp().to_string()),
            ("output_mode", "json".to_owned()),
        ]
    }

    pub async fn run(
        &self,
        http: &ProviderHttp,
        account: &SplunkAccount,
    ) -> Result<Value, QueryError> {
        let request = http
            .client()
            .post(format!(
                "{}/services/search/jobs/export",
                account.url.trim_end_matches('/')
            ))
            .bearer_auth(&account.token)
            .form(&self.form());
        let answer = http.send(ConnectorKind::Splunk, request).await?;
        results_of(&answer.text, self.limit)
    }
}

/// The final results of an export stream (previews left out), at most `limit`; an `ERROR` or
/// `FATAL` message is the provider's refusal.
pub fn results_of(stream: &str, limit: i64) -> Result<Value, QueryError> {
    let mut results = Vec::new();
    let mut messages = Vec::new();
    for line in stream.lines().filter(|l| !l.trim().is_empty()) {
        // A line cut at the end of a bounded answer does not read; the rest still counts.
        let Ok(object) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        for message in object["messages"].as_array().into_iter().flatten() {
            if matches!(message["type"].as_str(), Some("ERROR" | "FATAL")) {
                messages.push(message["text"].as_str().unwrap_or_default().to_owned());
            }
        }
        if object["preview"] == json!(true) {
            continue;
        }
        if let Some(result) = object["result"].as_object() {
            if results.len() < limit as usize {
                results.push(Value::Object(readable(result)));
            }
        }
    }
    if results.is_empty() && !messages.is_empty() {
        return Err(QueryError::Refused {
            provider: ConnectorKind::Splunk,
            message: messages.join("; "),
        });
    }
    Ok(json!({"count": results.len(), "results": results, "messages": messages}))
}

/// A result without Splunk's internal fields (`_cd`, `_bkt`, `_si`, …), keeping `_time` and
/// `_raw`.
fn readable(result: &Map<String, Value>) -> Map<String, Value> {
    result
        .iter()
        .filter(|(key, _)| !key.starts_with('_') || *key == "_time" || *key == "_raw")
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::agent::query::window::test_now as now;

    fn query(arguments: &str) -> Result<SearchQuery, String> {
        SearchQuery::from_args(&Args::parse(SEARCH, arguments).unwrap(), now())
    }

    #[test]
    fn the_search_gets_its_command_its_limit_and_the_range() {
        let form = query(r#"{"search":"index=main error","since_minutes":60,"limit":10}"#)
            .unwrap()
            .form();
        assert_eq!(
            form[0],
            ("search", "search index=main error | head 10".into())
        );
        assert_eq!(form[1].1, (now().timestamp() - 3600).to_string());
        assert_eq!(form[2].1, now().timestamp().to_string());
        assert_eq!(form[3].1, "json");
        let generating = query(r#"{"search":"| tstats count where index=main"}"#).unwrap();
        assert_eq!(
            generating.form()[0].1,
            "| tstats count where index=main | head 100"
        );
    }

    #[test]
    fn writing_commands_are_refused() {
        let error = query(r#"{"search":"index=main | outputlookup evil.csv"}"#).unwrap_err();
        assert!(error.contains("`outputlookup` writes"), "{error}");
        assert!(query(r#"{"search":"index=main | DELETE"}"#).is_err());
        assert!(query(r#"{"search":"index=main delete"}"#).is_ok());
    }

    #[test]
    fn final_results_are_read_from_the_stream() {
        let stream = concat!(
            r#"{"preview":true,"offset":0,"result":{"count":"1"}}"#,
            "\n",
            r#"{"preview":false,"offset":0,"result":{"_time":"2026-12-04T09:59:00.000+00:00","_raw":"GET /pay 502","_cd":"0:1","host":"web-1"}}"#,
            "\n",
            r#"{"preview":false,"offset":1,"lastrow":true,"result":{"_time":"2026-12-04T09:58:00.000+00:00","_raw":"GET /pay 500","host":"web-2"}}"#,
            "\n",
            r#"{"preview":false,"offset":2,"res"#
        );
        let results = results_of(stream, 1).unwrap();
        assert_eq!(
            results,
            json!({"count": 1, "messages": [], "results": [{"_time": "2026-12-04T09:59:00.000+00:00", "_raw": "GET /pay 502", "host": "web-1"}]})
        );
    }

    #[test]
    fn an_error_message_without_results_is_a_refusal() {
        let stream = r#"{"messages":[{"type":"FATAL","text":"Unknown search command 'serch'."}]}"#;
        assert_eq!(
            results_of(stream, 10).unwrap_err().to_string(),
            "Splunk refused the query: Unknown search command 'serch'."
        );
    }
}
