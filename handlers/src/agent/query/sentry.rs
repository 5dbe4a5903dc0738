//! Sentry: `sentry_issues`, the organisation's issues (`GET
//! /api/0/organizations/{org}/issues/` with `query`, `start`, `end`, `limit`, the token as
//! `Authorization: Bearer`).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use super::definition::{parameters, Definition};
use super::http::ProviderHttp;
use super::window::Window;
use super::QueryError;
use crate::agent::tool_args::Args;
use aurora_domain::connector::ConnectorKind;

pub const ISSUES: &str = "sentry_issues";

/// A connected Sentry organisation.
/// No `Debug`: it holds the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SentryAccount {
    /// `https://sentry.io`, a self-hosted Sentry, or `AURORA_SENTRY_BASE_URL`.
    pub api_url: String,
    pub organization: String,
    pub token: String,
}

/// `sentry_issues`: issues seen in the range.
#[derive(Debug, Clone, PartialEq)]
pub struct IssuesQuery {
    pub query: String,
    pub project: Option<i64>,
    pub environment: Option<String>,
    pub window: Window,
    pub limit: i64,
}

pub fn definition() -> Definition {
    Definition {
        name: ISSUES,
        description: "List Sentry issues seen in a time range (read-only), e.g. query `is:unresolved level:error`.",
        parameters: parameters(
            json!({
                "query": {"type": "string", "description": "Sentry issue search (default `is:unresolved`)"},
                "project": {"type": "integer", "minimum": 1, "description": "a project's numeric id"},
                "environment": {"type": "string"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 100, "description": "most issues (default 25)"}
            }),
            true,
            &[],
        ),
    }
}

impl IssuesQuery {
    pub fn from_args(args: &Args<'_>, now: DateTime<Utc>) -> Result<Self, String> {
        Ok(Self {
            query: args
                .text("query")
                .unwrap_or_else(|| "is:unresolved".to_owned()),
            project: args.optional_number("project", i64::MAX)?,
            environment: args.text("environment"),
            window: Window::from_args(args, now)?,
            limit: args.number("limit", 25, 100)?,
        })
    }

    pub fn params(&self) -> Vec<(&'static str, String)> {
        let mut params = vec![
            ("query", self.query.clone()),
            (
                "start",
                self.window.from.to_rfc3339_opts(SecondsFormat::Secs, true),
            ),
            (
                "end",
                self.window.to.to_rfc3339_opts(SecondsFormat::Secs, true),
            ),
            ("limit", self.limit.to_string()),
        ];
        if let Some(project) = self.project {
            params.push(("project", project.to_string()));
        }
        if let Some(environment) = &self.environment {
            params.push(("environment", environment.clone()));
        }
        params
    }

    pub async fn run(
        &self,
        http: &ProviderHttp,
        account: &SentryAccount,
    ) -> Result<Value, QueryError> {
        let mut url =
            reqwest::Url::parse(&account.api_url).map_err(|e| QueryError::Unreachable {
                provider: ConnectorKind::Sentry,
                reason: format!("its URL does not parse: {e}"),
            })?;
        // The organisation is one path segment whatever it holds.
        url.path_segments_mut()
            .map_err(|()| QueryError::Unreachable {
                provider: ConnectorKind::Sentry,
                reason: "its URL cannot have a path".into(),
            })?
            .pop_if_empty()
            .extend([
                "api",
                "0",
                "organizations",
                &account.organization,
                "issues",
                "",
            ]);
        let request = http
            .client()
            .get(url)
            .bearer_auth(&account.token)
            .query(&self.params());
        Ok(issues_of(&http.json(ConnectorKind::Sentry, request).await?))
    }
}

/// The issues of an answer, each cut to what an investigation reads.
pub fn issues_of(answer: &Value) -> Value {
    let issues: Vec<Value> = answer
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|i| {
            json!({
                "id": i["id"], "short_id": i["shortId"], "title": i["title"],
                "culprit": i["culprit"], "level": i["level"], "status": i["status"],
                "count": i["count"], "users": i["userCount"],
                "first_seen": i["firstSeen"], "last_seen": i["lastSeen"],
                "project": i["project"]["slug"], "link": i["permalink"],
            })
        })
        .collect();
    json!({"count": issues.len(), "issues": issues})
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_search_the_range_and_the_filters_are_sent() {
        let now = crate::agent::query::window::test_now();
        let args = Args::parse(ISSUES, r#"{"project": 7, "environment": "prod"}"#).unwrap();
        let params = IssuesQuery::from_args(&args, now).unwrap().params();
        assert_eq!(
            params,
            [
                ("query", "is:unresolved".to_owned()),
                ("start", "2026-12-04T09:00:00Z".to_owned()),
                ("end", "2026-12-04T10:00:00Z".to_owned()),
                ("limit", "25".to_owned()),
                ("project", "7".to_owned()),
                ("environment", "prod".to_owned()),
            ]
        );
    }

    #[test]
    fn issues_keep_what_an_investigation_reads() {
        let answer = json!([{"id": "1", "shortId": "SHOP-1", "title": "TimeoutError: payments",
            "culprit": "checkout.pay", "level": "error", "status": "unresolved", "count": "312",
            "userCount": 40, "firstSeen": "2026-12-04T09:10:00Z", "lastSeen": "2026-12-04T09:59:00Z",
            "project": {"id": "7", "slug": "shop"}, "permalink": "https://sentry.io/issues/1/",
            "metadata": {"value": "big"}}]);
        let issues = issues_of(&answer);
        assert_eq!(issues["count"], 1);
        assert_eq!(issues["issues"][0]["short_id"], "SHOP-1");
        assert_eq!(issues["issues"][0]["project"], "shop");
        assert!(issues["issues"][0].get("metadata").is_none());
    }
}
