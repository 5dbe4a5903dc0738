//! New Relic: `newrelic_nrql`, an NRQL query through NerdGraph (`POST /graphql` with the user
//! key in `API-Key`), the range given as `SINCE`/`UNTIL` in epoch milliseconds.

use chrono::{DateTime, Utc};
use regex::Regex;
use serde_json::{json, Value};

use super::definition::{parameters, Definition};
use super::http::ProviderHttp;
use super::window::Window;
use super::QueryError;
use crate::agent::tool_args::Args;
use aurora_domain::connector::ConnectorKind;

pub const NRQL: &str = "newrelic_nrql";

/// NerdGraph's query: the account's NRQL results (New Relic's own limit on how long it runs).
const GRAPHQL: &str = "query($accountId: Int!, $nrql: Nrql!) { actor { account(id: $accountId) { nrql(query: $nrql, timeout: 30) { results } } } }";

/// A connected New Relic account.
/// No `Debug`: it holds the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct NewRelicAccount {
    /// NerdGraph's origin in the account's region (or `AURORA_NEWRELIC_BASE_URL`).
    pub api_url: String,
    pub user_key: String,
    pub account_id: u64,
}

/// `newrelic_nrql`: one NRQL statement over the range.
#[derive(Debug, Clone, PartialEq)]
pub struct NrqlQuery {
    pub nrql: String,
    pub window: Window,
    pub limit: i64,
}

pub fn definition() -> Definition {
    Definition {
        name: NRQL,
        description: "Run one read-only NRQL query in New Relic, e.g. `SELECT count(*) FROM Transaction WHERE appName = 'checkout' FACET error.message`. Give the range with since_minutes/from/to, not SINCE/UNTIL.",
        parameters: parameters(
            json!({
                "nrql": {"type": "string", "description": "NRQL without SINCE/UNTIL"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "most result rows (default 100)"}
            }),
            true,
            &["nrql"],
        ),
    }
}

impl NrqlQuery {
    pub fn from_args(args: &Args<'_>, now: DateTime<Utc>) -> Result<Self, String> {
        let nrql = args.required("nrql")?;
        // A proven pattern: it compiles.
        let clause = Regex::new(r"(?i)\b(since|until)\b").map_err(|e| e.to_string())?;
        if clause.is_match(&nrql) {
            return Err(
                "give the range with since_minutes or from/to, not SINCE/UNTIL in the NRQL".into(),
            );
        }
        Ok(Self {
            nrql,
            window: Window::from_args(args, now)?,
            limit: args.number("limit", 100, 1000)?,
        })
    }

    /// The statement sent: the model's NRQL with the range.
    pub fn statement(&self) -> String {
        format!(
            "{} SINCE {} UNTIL {}",
            self.nrql.trim_end_matches(';'),
            self.window.from.timestamp_millis(),
            self.window.to.timestamp_millis()
        )
    }

    pub fn body(&self, account_id: u64) -> Value {
        json!({"query": GRAPHQL, "variables": {"accountId": account_id, "nrql": self.statement()}})
    }

    pub async fn run(
        &self,
        http: &ProviderHttp,
        account: &NewRelicAccount,
    ) -> Result<Value, QueryError> {
        let request = http
            .client()
            .post(format!("{}/graphql", account.api_url))
            .header("API-Key", &account.user_key)
            .json(&self.body(account.account_id));
        results_of(
            &http.json(ConnectorKind::Newrelic, request).await?,
            self.limit,
        )
    }
}

/// The rows of a NerdGraph answer, at most `limit`; GraphQL errors (sent with HTTP 200) are
/// the provider's refusal.
pub fn results_of(answer: &Value, limit: i64) -> Result<Value, QueryError> {
    if let Some(errors) = answer["errors"].as_array().filter(|e| !e.is_empty()) {
        let message = errors
            .iter()
            .filter_map(|e| e["message"].as_str())
            .collect::<Vec<_>>()
            .join("; ");
        return Err(QueryError::Refused {
            provider: ConnectorKind::Newrelic,
            message,
        });
    }
    let rows = answer["data"]["actor"]["account"]["nrql"]["results"]
        .as_array()
        .ok_or_else(|| QueryError::Unreadable {
            provider: ConnectorKind::Newrelic,
            detail: "no data.actor.account.nrql.results".into(),
        })?;
    let kept: Vec<&Value> = rows.iter().take(limit as usize).collect();
    Ok(json!({"results": kept, "rows_left_out": rows.len() - kept.len()}))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::agent::query::window::test_now as now;

    #[test]
    fn the_range_is_added_in_epoch_milliseconds() {
        let args = Args::parse(
            NRQL,
            r#"{"nrql":"SELECT count(*) FROM Transaction;","since_minutes":60}"#,
        )
        .unwrap();
        let body = NrqlQuery::from_args(&args, now()).unwrap().body(42);
        assert_eq!(body["variables"]["accountId"], 42);
        assert_eq!(
            body["variables"]["nrql"],
            "SELECT count(*) FROM Transaction SINCE 1796374800000 UNTIL 1796378400000"
        );
    }

    #[test]
    fn a_range_inside_the_nrql_is_refused() {
        let args = Args::parse(NRQL, r#"{"nrql":"SELECT * FROM Log since 1 week ago"}"#).unwrap();
        let error = NrqlQuery::from_args(&args, now()).unwrap_err();
        assert!(error.contains("not SINCE/UNTIL"), "{error}");
    }

    #[test]
    fn rows_are_capped_and_graphql_errors_are_refusals() {
        let answer = json!({"data": {"actor": {"account": {"nrql": {"results": [{"count": 1}, {"count": 2}, {"count": 3}]}}}}});
        assert_eq!(
            results_of(&answer, 2).unwrap(),
            json!({"results": [{"count": 1}, {"count": 2}], "rows_left_out": 1})
        );
        let refused =
            json!({"data": null, "errors": [{"message": "NRQL Syntax Error: Error at line 1"}]});
        assert_eq!(
            results_of(&refused, 2).unwrap_err().to_string(),
            "New Relic refused the query: NRQL Syntax Error: Error at line 1"
        );
    }
}
