use super::*;

fn lines(metrics: &Metrics, prefix: &str) -> Vec<String> {
    metrics
        .encode()
        .lines()
        .filter(|l| l.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_routes_counters_keep_one_series_per_method_and_status() {
    let metrics = Metrics::default();
    let route = metrics.route_counters("/api/incidents/{id}");
    for (method, status) in [("GET", 200), ("GET", 404), ("GET", 200), ("PATCH", 200)] {
        route.count(method, status);
    }
    // A second holder of the same route (another app's router) adds to the same series.
    metrics
        .route_counters("/api/incidents/{id}")
        .count("GET", 200);
    let mut counted = lines(&metrics, "aurora_http_requests_total{");
    counted.sort();
    assert_eq!(
        counted,
        vec![
            r#"aurora_http_requests_total{method="GET",route="/api/incidents/{id}",status="200"} 3"#,
            r#"aurora_http_requests_total{method="GET",route="/api/incidents/{id}",status="404"} 1"#,
            r#"aurora_http_requests_total{method="PATCH",route="/api/incidents/{id}",status="200"} 1"#,
        ]
    );
}

#[test]
fn a_route_answering_more_kinds_than_it_keeps_still_counts_each() {
    let metrics = Metrics::default();
    let route = metrics.route_counters("/api/x");
    let statuses: Vec<u16> = (0..ROUTE_SERIES as u16 + 4).map(|i| 400 + i).collect();
    for _ in 0..2 {
        statuses
            .iter()
            .for_each(|status| route.count("GET", *status));
    }
    let counted = lines(&metrics, "aurora_http_requests_total{");
    assert_eq!(counted.len(), statuses.len());
    assert!(
        counted.iter().all(|line| line.ends_with("} 2")),
        "{counted:?}"
    );
}

#[test]
fn counters_end_in_total_and_name_no_tenant_unless_asked() {
    let metrics = Metrics::default();
    metrics
        .webhook_series("grafana", Some("t1"))
        .refused("invalid_signature", Duration::ZERO);
    assert_eq!(
        lines(&metrics, "aurora_webhooks_refused_total{"),
        vec![r#"aurora_webhooks_refused_total{source="grafana",reason="invalid_signature"} 1"#]
    );
    let metrics = Metrics::new(MetricsOptions {
        tenant_labels: true,
    });
    metrics
        .webhook_series("grafana", Some("t1"))
        .refused("invalid_signature", Duration::ZERO);
    assert_eq!(
        lines(&metrics, "aurora_webhooks_refused_total{"),
        vec![
            r#"aurora_webhooks_refused_total{source="grafana",reason="invalid_signature",tenant="t1"} 1"#
        ]
    );
}

#[test]
fn cost_is_counted_in_micro_dollars_and_shown_in_dollars() {
    let metrics = Metrics::default();
    metrics.llm_call("gpt-x", None, 10, 2, 1_500_000);
    metrics.llm_call("gpt-x", None, 5, 1, 250);
    assert_eq!(
        lines(&metrics, "aurora_llm_cost_usd_total{"),
        vec![r#"aurora_llm_cost_usd_total{model="gpt-x"} 1.50025"#]
    );
    let mut tokens = lines(&metrics, "aurora_llm_tokens_total{");
    tokens.sort();
    assert_eq!(
        tokens,
        vec![
            r#"aurora_llm_tokens_total{model="gpt-x",kind="input"} 15"#,
            r#"aurora_llm_tokens_total{model="gpt-x",kind="output"} 3"#
        ]
    );
}

#[test]
fn an_open_stream_counts_until_its_guard_drops() {
    let metrics = Metrics::default();
    let first = metrics.sse_stream_opened();
    let second = metrics.sse_stream_opened();
    drop(first);
    assert_eq!(
        lines(&metrics, "aurora_sse_streams_open "),
        vec!["aurora_sse_streams_open 1"]
    );
    drop(second);
    assert_eq!(
        lines(&metrics, "aurora_sse_streams_open "),
        vec!["aurora_sse_streams_open 0"]
    );
}
