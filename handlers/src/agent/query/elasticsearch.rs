//! Elasticsearch (and OpenSearch, which answers the same search API): `elasticsearch_search`,
//! `POST /{index}/_search` with a `query_string` query and a range filter on the time field,
//! newest first, the API key as `Authorization: ApiKey`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use super::definition::{parameters, Definition};
use super::http::ProviderHttp;
use super::window::Window;
use super::QueryError;
use crate::agent::tool_args::Args;
use aurora_domain::connector::ConnectorKind;

pub const SEARCH: &str = "elasticsearch_search";

/// A connected Elasticsearch or OpenSearch cluster.
/// No `Debug`: it holds the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ElasticsearchAccount {
    pub url: String,
    /// The encoded API key (`base64(id:key)`), as Elasticsearch issues it.
    pub api_key: String,
}

/// `elasticsearch_search`: documents of an index pattern in the range.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    pub index: String,
    pub query: String,
    pub time_field: String,
    pub window: Window,
    pub limit: i64,
}

pub fn definition() -> Definition {
    Definition {
        name: SEARCH,
        description: "Search an Elasticsearch/OpenSearch index (read-only), newest first, e.g. index `logs-*`, query `service:checkout AND level:error`.",
        parameters: parameters(
            json!({
                "index": {"type": "string", "description": "index name or pattern, e.g. `logs-*`"},
                "query": {"type": "string", "description": "Lucene query string (default `*`)"},
                "time_field": {"type": "string", "description": "the documents' time field (default `@timestamp`)"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 200, "description": "most documents (default 50)"}
            }),
            true,
            &["index"],
        ),
    }
}

impl SearchQuery {
    pub fn from_args(args: &Args<'_>, now: DateTime<Utc>) -> Result<Self, String> {
        let index = args.required("index")?;
        // One path segment that names indexes: no paths, no API endpoints (`_delete_by_query`).
        if index.starts_with(['_', '-', '+'])
            || !index
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.*,:".contains(c))
        {
            return Err(format!(
                "`index` {index:?} is not an index name or pattern (letters, digits, - _ . * , :)"
            ));
        }
        Ok(Self {
            index,
            query: args.text("query").unwrap_or_else(|| "*".to_owned()),
            time_field: args
                .text("time_field")
                .unwrap_or_else(|| "@timestamp".to_owned()),
            window: Window::from_args(args, now)?,
            limit: args.number("limit", 50, 200)?,
        })
    }

    pub fn body(&self) -> Value {
        let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
        json!({
            "size": self.limit,
            "track_total_hits": true,
            "sort": [{(self.time_field.clone()): {"order": "desc"}}],
            "query": {"bool": {
                "must": [{"query_string": {"query": self.query}}],
                "filter": [{"range": {(self.time_field.clone()): {
                    "gte": time(self.window.from), "lt": time(self.window.to),
                    "format": "strict_date_optional_time"
                }}}]
            }}
        })
    }

    pub async fn run(
        &self,
        http: &ProviderHttp,
        account: &ElasticsearchAccount,
    ) -> Result<Value, QueryError> {
        let url = format!(
            "{}/{}/_search",
            account.url.trim_end_matches('/'),
            self.index
        );
        let request = http
            .client()
            .post(url)
            .header(
                reqwest::header::AUTHORIZATION,
                format!("ApiKey {}", account.api_key),
            )
            .json(&self.body());
        Ok(hits_of(
            &http.json(ConnectorKind::Elasticsearch, request).await?,
        ))
    }
}

/// The documents of a search answer.
pub fn hits_of(answer: &Value) -> Value {
    let hits: Vec<Value> = answer["hits"]["hits"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|h| json!({"index": h["_index"], "id": h["_id"], "source": h["_source"]}))
        .collect();
    json!({"total": answer["hits"]["total"]["value"], "count": hits.len(), "hits": hits})
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::agent::query::window::test_now as now;

    #[test]
    fn the_search_filters_the_range_on_the_time_field_newest_first() {
        let args = Args::parse(
            SEARCH,
            r#"{"index":"logs-*","query":"level:error","since_minutes":30,"limit":3}"#,
        )
        .unwrap();
        let body = SearchQuery::from_args(&args, now()).unwrap().body();
        assert_eq!(body["size"], 3);
        assert_eq!(body["sort"][0]["@timestamp"]["order"], "desc");
        let range = &body["query"]["bool"]["filter"][0]["range"]["@timestamp"];
        assert_eq!(range["gte"], "2026-12-04T09:30:00.000Z");
        assert_eq!(range["lt"], "2026-12-04T10:00:00.000Z");
        assert_eq!(
            body["query"]["bool"]["must"][0]["query_string"]["query"],
            "level:error"
        );
    }

    #[test]
    fn an_index_that_is_a_path_or_an_endpoint_is_refused() {
        for index in ["logs/_delete_by_query", "_all", "../x", "logs?x=1"] {
            let args = Args::parse(SEARCH, &json!({ "index": index }).to_string()).unwrap();
            let error = SearchQuery::from_args(&args, now()).unwrap_err();
            assert!(error.contains("not an index name"), "{index}: {error}");
        }
    }

    #[test]
    fn hits_keep_their_source() {
        let answer = json!({"took": 3, "hits": {"total": {"value": 120, "relation": "eq"},
            "hits": [{"_index": "logs-1", "_id": "a", "_score": null, "_source": {"message": "boom"}}]}});
        assert_eq!(
            hits_of(&answer),
            json!({"total": 120, "count": 1, "hits": [{"index": "logs-1", "id": "a", "source": {"message": "boom"}}]})
        );
    }
}
