//! Answers and errors in the shapes each provider documents, for [`super::FakeProviders`].
//! `planted` puts a given text where the provider would echo data (a log line, a title), so a
//! test can plant a secret and follow it.

use serde_json::{json, Value};

/// `POST /api/v2/logs/events/search`.
pub fn datadog_logs(planted: &str) -> Value {
    json!({
        "data": [{
            "id": "AQAAAZPj3dJ0AAAAAAAAAAAAAAAA",
            "type": "log",
            "attributes": {
                "timestamp": "2026-12-04T09:58:00.000Z", "status": "error", "service": "checkout",
                "host": "web-1", "message": format!("POST /pay timed out {planted}"),
                "tags": ["env:prod", "service:checkout"], "attributes": {"http": {"status_code": 504}}
            }
        }],
        "meta": {"page": {"after": "eyJhZnRlciI6IkFRQUFBWlBqM2RKMCJ9"}, "status": "done", "elapsed": 12, "request_id": "pddv1ChZ"},
        "links": {"next": "https://api.datadoghq.com/api/v2/logs/events?page[cursor]=eyJ"}
    })
}

/// `GET /api/v1/query`.
pub fn datadog_metrics(points: usize) -> Value {
    let pointlist: Vec<Value> = (0..points)
        .map(|i| json!([1_796_374_800_000_i64 + i as i64 * 60_000, i as f64 / 2.0]))
        .collect();
    json!({
        "status": "ok", "res_type": "time_series", "resp_version": 1,
        "query": "sum:trace.http.request.errors{service:checkout}.as_count()",
        "from_date": 1_796_374_800_000_i64, "to_date": 1_796_378_400_000_i64,
        "series": [{
            "metric": "trace.http.request.errors", "display_name": "trace.http.request.errors",
            "scope": "service:checkout", "expression": "sum:trace.http.request.errors{service:checkout}.as_count()",
            "pointlist": pointlist, "length": points, "aggr": "sum", "interval": 60,
            "unit": [{"family": "general", "name": "request", "short_name": "req", "plural": "requests"}, null],
            "tag_set": []
        }],
        "group_by": [], "message": ""
    })
}

/// Datadog's error body (any status).
pub fn datadog_error(message: &str) -> Value {
    json!({"errors": [message]})
}

/// NerdGraph's answer to an NRQL query.
pub fn newrelic_results(rows: Value) -> Value {
    json!({"data": {"actor": {"account": {"nrql": {"results": rows}}}}})
}

/// NerdGraph's refusal: HTTP 200 with `errors`.
pub fn newrelic_error(message: &str) -> Value {
    json!({
        "data": {"actor": {"account": {"nrql": null}}},
        "errors": [{"message": message, "path": ["actor", "account", "nrql"], "extensions": {"errorClass": "INVALID_INPUT"}}]
    })
}

/// Splunk's export stream (`output_mode=json`): a preview, then final results.
pub fn splunk_export(planted: &str) -> String {
    [
        json!({"preview": true, "offset": 0, "result": {"count": "1"}}),
        json!({"preview": false, "offset": 0, "result": {
            "_bkt": "main~12~ABC", "_cd": "12:345", "_time": "2026-12-04T09:58:00.000+00:00",
            "_raw": format!("502 POST /pay upstream=payments {planted}"), "host": "web-1",
            "source": "/var/log/nginx/access.log", "sourcetype": "nginx"}}),
        json!({"preview": false, "offset": 1, "lastrow": true, "result": {
            "_time": "2026-12-04T09:57:00.000+00:00", "_raw": "502 POST /pay upstream=payments",
            "host": "web-2", "sourcetype": "nginx"}}),
    ]
    .iter()
    .map(Value::to_string)
    .collect::<Vec<_>>()
    .join("\n")
}

/// Splunk's error body.
pub fn splunk_error(text: &str) -> Value {
    json!({"messages": [{"type": "FATAL", "text": text}]})
}

/// `GET /api/0/organizations/{org}/issues/`.
pub fn sentry_issues(planted: &str) -> Value {
    json!([{
        "id": "4505", "shortId": "SHOP-1A", "title": format!("TimeoutError: payments {planted}"),
        "culprit": "checkout.pay", "level": "error", "status": "unresolved", "count": "312",
        "userCount": 40, "firstSeen": "2026-12-04T09:10:00Z", "lastSeen": "2026-12-04T09:58:00Z",
        "permalink": "https://acme.sentry.io/issues/4505/", "project": {"id": "7", "name": "shop", "slug": "shop"},
        "metadata": {"type": "TimeoutError", "value": "payments"}, "isUnhandled": true
    }])
}

/// Sentry's error body.
pub fn sentry_error(detail: &str) -> Value {
    json!({"detail": detail})
}

/// `GET /api/datasources` of a Grafana with one Prometheus and one Loki.
pub fn grafana_datasources() -> Value {
    json!([
        {"id": 1, "uid": "prom-main", "orgId": 1, "name": "Prometheus", "type": "prometheus", "access": "proxy", "url": "http://prometheus:9090", "isDefault": true},
        {"id": 2, "uid": "loki-main", "orgId": 1, "name": "Loki", "type": "loki", "access": "proxy", "url": "http://loki:3100", "isDefault": false}
    ])
}

/// Prometheus's `query_range` answer.
pub fn prometheus_matrix() -> Value {
    json!({"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"job": "checkout", "code": "502"}, "values": [[1_796_378_340, "0.4"], [1_796_378_400, "1.2"]]}
    ]}})
}

/// Prometheus's error body.
pub fn prometheus_error(error: &str) -> Value {
    json!({"status": "error", "errorType": "bad_data", "error": error})
}

/// Loki's `query_range` answer for a log query.
pub fn loki_streams(planted: &str) -> Value {
    json!({"status": "success", "data": {"resultType": "streams", "result": [
        {"stream": {"app": "checkout", "level": "error"}, "values": [
            ["1796378280000000000", format!("payment call failed {planted}")],
            ["1796378220000000000", "payment call slow"]
        ]}
    ], "stats": {}}})
}

/// `POST /{index}/_search`.
pub fn elasticsearch_hits(planted: &str) -> Value {
    json!({"took": 4, "timed_out": false, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
    "hits": {"total": {"value": 57, "relation": "eq"}, "max_score": null, "hits": [
        {"_index": "logs-2026.12.04", "_id": "x1", "_score": null, "sort": [1_796_378_280_000_i64],
         "_source": {"@timestamp": "2026-12-04T09:58:00Z", "service": "checkout", "level": "error",
                     "message": format!("payment call failed {planted}")}}
    ]}})
}

/// Elasticsearch's error body.
pub fn elasticsearch_error(kind: &str, reason: &str, status: u16) -> Value {
    json!({"error": {"root_cause": [{"type": kind, "reason": reason}], "type": kind, "reason": reason}, "status": status})
}

/// `GET /api/v2/tailnet/{tailnet}/devices`.
pub fn tailscale_devices() -> Value {
    json!({"devices": [{
        "addresses": ["100.101.102.103", "fd7a:115c:a1e0::1"], "id": "92960230385", "nodeId": "n292kg92CNTRL",
        "authorized": true, "clientVersion": "1.76.1", "created": "2026-01-01T00:00:00Z",
        "hostname": "db-1", "name": "db-1.tail1234.ts.net", "os": "linux", "lastSeen": "2026-12-04T09:40:00Z",
        "connectedToControl": false, "tags": ["tag:db"], "updateAvailable": false, "machineKey": "mkey:abc", "nodeKey": "nodekey:def"
    }]})
}

/// Tailscale's (and OVHcloud's) error body.
pub fn message_error(message: &str) -> Value {
    json!({"message": message})
}
