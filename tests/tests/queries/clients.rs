//! Each query client against a fake of its provider: the authentication, the query and the time
//! range it sends, the answer it reads, and the provider's error reaching the model as an error
//! naming the provider and the status.

use std::time::Duration;

use aurora_handlers::agent::query::datadog::DatadogAccount;
use aurora_handlers::agent::query::elasticsearch::ElasticsearchAccount;
use aurora_handlers::agent::query::grafana::GrafanaAccount;
use aurora_handlers::agent::query::newrelic::NewRelicAccount;
use aurora_handlers::agent::query::ovh::OvhAccount;
use aurora_handlers::agent::query::sentry::SentryAccount;
use aurora_handlers::agent::query::splunk::SplunkAccount;
use aurora_handlers::agent::query::tailscale::TailscaleAccount;
use aurora_handlers::agent::query::{plan, Account, Queries, QueryError, QueryTool};
use aurora_handlers::agent::tool_args::Args;
use aurora_handlers::exec::{OUTPUT_CAP, TRUNCATION_NOTICE};
use aurora_tests::providers::{fixtures, FakeProviders};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

fn queries() -> Queries {
    Queries::new(Duration::from_secs(5))
}

fn tool(name: &str, arguments: Value) -> QueryTool {
    let text = arguments.to_string();
    plan(name, &Args::parse(name, &text).expect("JSON arguments"))
        .expect("a query tool")
        .expect("valid arguments")
}

/// Plans `name` with `arguments` and runs it on `account`.
async fn ask(name: &str, arguments: Value, account: &Account) -> Result<Value, QueryError> {
    queries().run(&tool(name, arguments), account).await
}

fn seconds(text: &str) -> i64 {
    text.parse().expect("epoch seconds")
}

fn rfc3339(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("an RFC 3339 time")
        .with_timezone(&Utc)
}

fn datadog(fake: &FakeProviders) -> Account {
    Account::Datadog(DatadogAccount {
        api_url: fake.base_url.clone(),
        api_key: "dd-api-key-0001".into(),
        application_key: "dd-app-key-0002".into(),
    })
}

#[tokio::test]
async fn datadog_logs_are_searched_with_both_keys_over_the_range() {
    let fake = FakeProviders::start().await;
    fake.answer(
        "POST",
        "/api/v2/logs/events/search",
        200,
        fixtures::datadog_logs(""),
    );
    let result = ask(
        "datadog_logs",
        json!({"query": "service:checkout status:error", "since_minutes": 30, "limit": 10}),
        &datadog(&fake),
    )
    .await
    .expect("a result");

    let sent = &fake.requests()[0];
    assert_eq!(sent.header("dd-api-key"), Some("dd-api-key-0001"));
    assert_eq!(sent.header("dd-application-key"), Some("dd-app-key-0002"));
    let body = sent.json();
    assert_eq!(body["filter"]["query"], "service:checkout status:error");
    assert_eq!(body["page"]["limit"], 10);
    assert_eq!(body["sort"], "-timestamp");
    let from = rfc3339(body["filter"]["from"].as_str().expect("from"));
    let to = rfc3339(body["filter"]["to"].as_str().expect("to"));
    assert_eq!((to - from).num_minutes(), 30);
    assert!((Utc::now() - to).num_seconds() < 30);

    assert_eq!(result["count"], 1);
    assert_eq!(result["events"][0]["service"], "checkout");
    assert!(result["events"][0]["message"]
        .as_str()
        .expect("a message")
        .contains("POST /pay timed out"));
    assert_eq!(result["more"], true);
    assert_eq!(result["range"]["from"], from.to_rfc3339());
}

#[tokio::test]
async fn datadog_metrics_send_the_range_in_seconds_and_keep_the_newest_points() {
    let fake = FakeProviders::start().await;
    fake.answer("GET", "/api/v1/query", 200, fixtures::datadog_metrics(300));
    let result = ask("datadog_metrics", json!({"query": "sum:trace.http.request.errors{service:checkout}.as_count()", "from": "2026-12-01T09:00:00Z", "to": "2026-12-01T10:00:00Z"}), &datadog(&fake)).await
        .expect("a result");
    let sent = &fake.requests()[0];
    assert_eq!(sent.param("from"), Some("1796115600"));
    assert_eq!(sent.param("to"), Some("1796119200"));
    assert_eq!(
        sent.param("query"),
        Some("sum:trace.http.request.errors{service:checkout}.as_count()")
    );
    let series = &result["series"][0];
    assert_eq!(series["points"].as_array().map(Vec::len), Some(120));
    assert_eq!(series["points_left_out"], 180);
    assert_eq!(series["unit"], "req");
}

#[tokio::test]
async fn a_long_range_is_cut_to_a_week_and_the_result_says_so() {
    let fake = FakeProviders::start().await;
    fake.answer(
        "POST",
        "/api/v2/logs/events/search",
        200,
        fixtures::datadog_logs(""),
    );
    let result = ask(
        "datadog_logs",
        json!({"query": "*", "from": "2026-09-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}),
        &datadog(&fake),
    )
    .await
    .expect("a result");
    let body = fake.requests()[0].json();
    assert_eq!(body["filter"]["from"], "2026-10-25T00:00:00+00:00");
    assert_eq!(body["filter"]["to"], "2026-11-01T00:00:00+00:00");
    assert!(result["range"]["note"]
        .as_str()
        .expect("a note")
        .contains("last 7 days"));
}

fn newrelic(fake: &FakeProviders) -> Account {
    Account::NewRelic(NewRelicAccount {
        api_url: fake.base_url.clone(),
        user_key: "NRAK-TESTKEY0001".into(),
        account_id: 1_234_567,
    })
}

#[tokio::test]
async fn newrelic_runs_the_nrql_through_nerdgraph_with_the_range_and_the_user_key() {
    let fake = FakeProviders::start().await;
    let rows = json!([{"facet": "TimeoutError", "count": 40}, {"facet": "HTTPError", "count": 3}]);
    fake.answer("POST", "/graphql", 200, fixtures::newrelic_results(rows));
    let result = ask("newrelic_nrql", json!({"nrql": "SELECT count(*) FROM TransactionError FACET error.class", "from": "2026-12-01T09:00:00Z", "to": "2026-12-01T10:00:00Z", "limit": 1}), &newrelic(&fake)).await
        .expect("a result");
    let sent = &fake.requests()[0];
    assert_eq!(sent.header("api-key"), Some("NRAK-TESTKEY0001"));
    let body = sent.json();
    assert_eq!(body["variables"]["accountId"], 1_234_567);
    assert_eq!(
        body["variables"]["nrql"],
        "SELECT count(*) FROM TransactionError FACET error.class SINCE 1796115600000 UNTIL 1796119200000"
    );
    assert_eq!(
        result["results"],
        json!([{"facet": "TimeoutError", "count": 40}])
    );
    assert_eq!(result["rows_left_out"], 1);
}

fn splunk(fake: &FakeProviders) -> Account {
    Account::Splunk(SplunkAccount {
        url: fake.base_url.clone(),
        token: "splunk-token-0001".into(),
    })
}

#[tokio::test]
async fn splunk_exports_the_search_with_the_token_the_range_and_a_limit() {
    let fake = FakeProviders::start().await;
    fake.answer_as(
        "POST",
        "/services/search/jobs/export",
        200,
        "application/json",
        fixtures::splunk_export(""),
    );
    let result = ask(
        "splunk_search",
        json!({"search": "index=web status=502", "since_minutes": 15, "limit": 5}),
        &splunk(&fake),
    )
    .await
    .expect("a result");
    let sent = &fake.requests()[0];
    assert_eq!(
        sent.header("authorization"),
        Some("Bearer splunk-token-0001")
    );
    let form = sent.form();
    assert_eq!(form["search"], "search index=web status=502 | head 5");
    assert_eq!(form["output_mode"], "json");
    assert_eq!(
        seconds(&form["latest_time"]) - seconds(&form["earliest_time"]),
        900
    );
    assert_eq!(result["count"], 2);
    assert_eq!(result["results"][0]["host"], "web-1");
    assert!(result["results"][0].get("_bkt").is_none());
}

fn sentry(fake: &FakeProviders) -> Account {
    Account::Sentry(SentryAccount {
        api_url: fake.base_url.clone(),
        organization: "acme".into(),
        token: "sntrys_token_0001".into(),
    })
}

#[tokio::test]
async fn sentry_lists_the_organisations_issues_in_the_range() {
    let fake = FakeProviders::start().await;
    fake.answer(
        "GET",
        "/api/0/organizations/acme/issues/",
        200,
        fixtures::sentry_issues(""),
    );
    let result = ask("sentry_issues", json!({"query": "is:unresolved level:error", "from": "2026-12-01T09:00:00Z", "to": "2026-12-01T10:00:00Z", "project": 7}), &sentry(&fake)).await
        .expect("a result");
    let sent = &fake.requests()[0];
    assert_eq!(
        sent.header("authorization"),
        Some("Bearer sntrys_token_0001")
    );
    assert_eq!(sent.param("query"), Some("is:unresolved level:error"));
    assert_eq!(sent.param("start"), Some("2026-12-01T09:00:00Z"));
    assert_eq!(sent.param("end"), Some("2026-12-01T10:00:00Z"));
    assert_eq!(sent.param("project"), Some("7"));
    assert_eq!(result["issues"][0]["short_id"], "SHOP-1A");
    assert_eq!(result["issues"][0]["count"], "312");
}

fn grafana(fake: &FakeProviders) -> Account {
    Account::Grafana(GrafanaAccount {
        url: fake.base_url.clone(),
        token: "glsa_token_0001".into(),
    })
}

#[tokio::test]
async fn prometheus_is_queried_through_the_first_prometheus_datasource() {
    let fake = FakeProviders::start().await;
    fake.answer(
        "GET",
        "/api/datasources",
        200,
        fixtures::grafana_datasources(),
    );
    fake.answer(
        "GET",
        "/api/datasources/proxy/uid/prom-main/api/v1/query_range",
        200,
        fixtures::prometheus_matrix(),
    );
    let result = ask(
        "prometheus_query",
        json!({"query": "sum(rate(http_requests_total{code=~\"5..\"}[5m]))", "since_minutes": 60}),
        &grafana(&fake),
    )
    .await
    .expect("a result");
    let sent = fake.requests_to("/api/datasources/proxy/uid/prom-main/api/v1/query_range");
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].header("authorization"),
        Some("Bearer glsa_token_0001")
    );
    assert_eq!(
        sent[0].param("query"),
        Some("sum(rate(http_requests_total{code=~\"5..\"}[5m]))")
    );
    let start = seconds(sent[0].param("start").expect("start"));
    let end = seconds(sent[0].param("end").expect("end"));
    assert_eq!(end - start, 3600);
    assert_eq!(sent[0].param("step"), Some("18"));
    assert_eq!(result["series"][0]["metric"]["code"], "502");
}

#[tokio::test]
async fn loki_is_queried_through_the_named_datasource_newest_first() {
    let fake = FakeProviders::start().await;
    fake.answer(
        "GET",
        "/api/datasources/proxy/uid/logs-eu/loki/api/v1/query_range",
        200,
        fixtures::loki_streams(""),
    );
    let result = ask("loki_query", json!({"query": "{app=\"checkout\"} |= \"error\"", "since_minutes": 5, "limit": 20, "datasource_uid": "logs-eu"}), &grafana(&fake)).await
        .expect("a result");
    // The uid was given: no datasource listing.
    assert!(fake.requests_to("/api/datasources").is_empty());
    let sent = &fake.requests()[0];
    assert_eq!(sent.param("direction"), Some("backward"));
    assert_eq!(sent.param("limit"), Some("20"));
    let start: i128 = sent
        .param("start")
        .expect("start")
        .parse()
        .expect("nanoseconds");
    let end: i128 = sent
        .param("end")
        .expect("end")
        .parse()
        .expect("nanoseconds");
    assert_eq!(end - start, 300 * 1_000_000_000);
    assert_eq!(result["count"], 2);
    assert_eq!(result["lines"][0]["line"], "payment call failed ");
}

#[tokio::test]
async fn a_promql_error_and_a_grafana_without_loki_are_explained() {
    let fake = FakeProviders::start().await;
    fake.answer(
        "GET",
        "/api/datasources",
        200,
        json!([{"uid": "prom-main", "type": "prometheus"}]),
    );
    fake.answer(
        "GET",
        "/api/datasources/proxy/uid/prom-main/api/v1/query_range",
        400,
        fixtures::prometheus_error("1:5: parse error: unexpected end of input"),
    );
    let error = ask(
        "prometheus_query",
        json!({"query": "rate("}),
        &grafana(&fake),
    )
    .await
    .expect_err("a refusal");
    assert_eq!(
        error.to_string(),
        "Grafana answered HTTP 400: 1:5: parse error: unexpected end of input"
    );
    let error = ask(
        "loki_query",
        json!({"query": "{app=\"x\"}"}),
        &grafana(&fake),
    )
    .await
    .expect_err("no Loki");
    assert_eq!(
        error.to_string(),
        "Grafana refused the query: Grafana has no loki datasource"
    );
}

fn elasticsearch(fake: &FakeProviders) -> Account {
    Account::Elasticsearch(ElasticsearchAccount {
        url: fake.base_url.clone(),
        api_key: "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==".into(),
    })
}

#[tokio::test]
async fn elasticsearch_is_searched_with_the_api_key_and_the_range() {
    let fake = FakeProviders::start().await;
    fake.answer(
        "POST",
        "/logs-*/_search",
        200,
        fixtures::elasticsearch_hits(""),
    );
    let result = ask("elasticsearch_search", json!({"index": "logs-*", "query": "level:error", "from": "2026-12-01T09:00:00Z", "to": "2026-12-01T10:00:00Z", "limit": 5}), &elasticsearch(&fake)).await
        .expect("a result");
    let sent = &fake.requests()[0];
    assert_eq!(
        sent.header("authorization"),
        Some("ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==")
    );
    let body = sent.json();
    assert_eq!(body["size"], 5);
    assert_eq!(
        body["query"]["bool"]["filter"][0]["range"]["@timestamp"]["gte"],
        "2026-12-01T09:00:00.000Z"
    );
    assert_eq!(result["total"], 57);
    assert_eq!(result["hits"][0]["source"]["service"], "checkout");
}

fn tailscale(fake: &FakeProviders) -> Account {
    Account::Tailscale(TailscaleAccount {
        api_url: fake.base_url.clone(),
        tailnet: "acme.com".into(),
        api_key: "tskey-api-0001".into(),
    })
}

#[tokio::test]
async fn tailscale_lists_the_tailnets_devices() {
    let fake = FakeProviders::start().await;
    fake.answer(
        "GET",
        "/api/v2/tailnet/acme.com/devices",
        200,
        fixtures::tailscale_devices(),
    );
    let result = ask("tailscale_devices", json!({}), &tailscale(&fake))
        .await
        .expect("a result");
    assert_eq!(
        fake.requests()[0].header("authorization"),
        Some("Bearer tskey-api-0001")
    );
    assert_eq!(result["devices"][0]["hostname"], "db-1");
    assert_eq!(result["devices"][0]["connected"], false);
}

#[tokio::test]
async fn ovh_is_read_with_an_oauth_token_of_the_service_account() {
    let fake = FakeProviders::start().await;
    fake.answer(
        "POST",
        "/auth/oauth2/token",
        200,
        json!({"access_token": "ovh-access-0001", "token_type": "Bearer", "expires_in": 3599, "scope": "all"}),
    );
    fake.answer(
        "GET",
        "/1.0/cloud/project",
        200,
        json!(["5f3c0ab3e1b44c4a"]),
    );
    let account = Account::Ovh(OvhAccount {
        api_url: fake.base_url.clone(),
        token_url: format!("{}/auth/oauth2/token", fake.base_url.clone()),
        client_id: "ovh-client".into(),
        client_secret: "ovh-client-secret-0001".into(),
    });
    let result = ask("ovh_api_get", json!({"path": "/cloud/project"}), &account)
        .await
        .expect("a result");
    assert_eq!(result["result"], json!(["5f3c0ab3e1b44c4a"]));
    let grant = fake.requests_to("/auth/oauth2/token")[0].form();
    assert_eq!(grant["grant_type"], "client_credentials");
    assert_eq!(grant["client_id"], "ovh-client");
    assert_eq!(grant["client_secret"], "ovh-client-secret-0001");
    assert_eq!(
        fake.requests_to("/1.0/cloud/project")[0].header("authorization"),
        Some("Bearer ovh-access-0001")
    );
    fake.answer(
        "GET",
        "/1.0/cloud/project",
        403,
        fixtures::message_error("This call has not been granted"),
    );
    let error = ask("ovh_api_get", json!({"path": "/cloud/project"}), &account)
        .await
        .expect_err("a refusal");
    assert_eq!(
        error.to_string(),
        "OVHcloud answered HTTP 403: This call has not been granted"
    );
}

#[tokio::test]
async fn an_unreachable_provider_and_an_unreadable_answer_are_errors_not_crashes() {
    let fake = FakeProviders::start().await;
    let account = datadog(&fake);
    drop(fake);
    let error = ask("datadog_logs", json!({"query": "*"}), &account)
        .await
        .expect_err("unreachable");
    assert!(
        error
            .to_string()
            .starts_with("Datadog could not be reached"),
        "{error}"
    );
    let fake = FakeProviders::start().await;
    fake.answer_as(
        "POST",
        "/api/v2/logs/events/search",
        200,
        "text/html",
        "<html>maintenance</html>",
    );
    let error = ask("datadog_logs", json!({"query": "*"}), &datadog(&fake))
        .await
        .expect_err("unreadable");
    assert!(
        error
            .to_string()
            .starts_with("Datadog's answer could not be read"),
        "{error}"
    );
}

#[tokio::test]
async fn a_planted_secret_in_an_answer_or_an_error_is_redacted_and_the_output_capped() {
    let fake = FakeProviders::start().await;
    let account = splunk(&fake);
    fake.answer_as(
        "POST",
        "/services/search/jobs/export",
        200,
        "application/json",
        fixtures::splunk_export("token=splunk-token-0001"),
    );
    let secrets = vec!["splunk-token-0001".to_owned()];
    let output = queries()
        .answer(
            &tool("splunk_search", json!({"search": "index=web"})),
            &account,
            &secrets,
        )
        .await
        .expect("an output");
    assert!(!output.contains("splunk-token-0001"), "{output}");
    assert!(output.contains("[REDACTED"), "{output}");
    assert!(!output.contains(TRUNCATION_NOTICE), "{output}");

    // An answer longer than the cap is cut at the cap, like a command's output, with the same
    // notice, after the redaction.
    let long = format!("token=splunk-token-0001 {}", "x".repeat(2 * OUTPUT_CAP));
    fake.answer_as(
        "POST",
        "/services/search/jobs/export",
        200,
        "application/json",
        fixtures::splunk_export(&long),
    );
    let output = queries()
        .answer(
            &tool("splunk_search", json!({"search": "index=web"})),
            &account,
            &secrets,
        )
        .await
        .expect("an output");
    assert_eq!(output.len(), OUTPUT_CAP + 1 + TRUNCATION_NOTICE.len());
    assert!(
        output.ends_with(&format!("\n{TRUNCATION_NOTICE}")),
        "{}",
        &output[output.len() - 100..]
    );
    assert!(output.starts_with("{"), "the beginning is kept");
    assert!(!output.contains("splunk-token-0001"));
    assert!(output.contains("token=[REDACTED"));

    fake.answer(
        "POST",
        "/services/search/jobs/export",
        401,
        fixtures::splunk_error("bad token splunk-token-0001"),
    );
    let error = queries()
        .answer(
            &tool("splunk_search", json!({"search": "index=web"})),
            &account,
            &secrets,
        )
        .await
        .expect_err("an error");
    assert_eq!(error, "Splunk answered HTTP 401: bad token [REDACTED]");
}

/// One provider's documented error, and what the model is told of it.
struct Refusal {
    method: &'static str,
    path: &'static str,
    status: u16,
    body: Value,
    tool: &'static str,
    arguments: Value,
    told: &'static str,
}

#[tokio::test]
async fn each_providers_error_shape_names_the_provider_the_status_and_its_message() {
    let fake = FakeProviders::start().await;
    let cases = [
        (
            datadog(&fake),
            Refusal {
                method: "POST",
                path: "/api/v2/logs/events/search",
                status: 403,
                body: fixtures::datadog_error("Forbidden"),
                tool: "datadog_logs",
                arguments: json!({"query": "*"}),
                told: "Datadog answered HTTP 403: Forbidden",
            },
        ),
        (
            newrelic(&fake),
            Refusal {
                method: "POST",
                path: "/graphql",
                status: 200,
                body: fixtures::newrelic_error("NRQL Syntax Error: Error at line 1 position 8"),
                tool: "newrelic_nrql",
                arguments: json!({"nrql": "SELECT nope"}),
                told: "New Relic refused the query: NRQL Syntax Error: Error at line 1 position 8",
            },
        ),
        (
            splunk(&fake),
            Refusal {
                method: "POST",
                path: "/services/search/jobs/export",
                status: 400,
                body: fixtures::splunk_error("Unknown search command 'serch'."),
                tool: "splunk_search",
                arguments: json!({"search": "| serch x"}),
                told: "Splunk answered HTTP 400: Unknown search command 'serch'.",
            },
        ),
        (
            sentry(&fake),
            Refusal {
                method: "GET",
                path: "/api/0/organizations/acme/issues/",
                status: 403,
                body: fixtures::sentry_error("You do not have permission to perform this action."),
                tool: "sentry_issues",
                arguments: json!({}),
                told:
                    "Sentry answered HTTP 403: You do not have permission to perform this action.",
            },
        ),
        (
            elasticsearch(&fake),
            Refusal {
                method: "POST",
                path: "/nope/_search",
                status: 404,
                body: fixtures::elasticsearch_error(
                    "index_not_found_exception",
                    "no such index [nope]",
                    404,
                ),
                tool: "elasticsearch_search",
                arguments: json!({"index": "nope"}),
                told: "Elasticsearch answered HTTP 404: no such index [nope]",
            },
        ),
        (
            tailscale(&fake),
            Refusal {
                method: "GET",
                path: "/api/v2/tailnet/acme.com/devices",
                status: 401,
                body: fixtures::message_error("API token invalid"),
                tool: "tailscale_devices",
                arguments: json!({}),
                told: "Tailscale answered HTTP 401: API token invalid",
            },
        ),
    ];
    for (account, case) in cases {
        fake.answer(case.method, case.path, case.status, case.body);
        let error = ask(case.tool, case.arguments, &account)
            .await
            .expect_err(case.tool);
        assert_eq!(error.to_string(), case.told);
    }
}
