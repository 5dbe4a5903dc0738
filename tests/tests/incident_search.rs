//! The incident list's search (`?q=`) and source filter (`?source=`), end to end: they reach
//! every incident of the organisation (not only the first page), keep the keyset paging, match
//! literally, refuse bad input with a JSON 400 and never show another tenant's incidents.

use aurora_domain::{IncidentCommand, IncidentId, TenantId};
use aurora_projections::Projector;
use aurora_tests::{wait_for_projection, Account, TestApp};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use crate::fixtures::open;
use aurora_domain::incident::Opening;

/// Opens an incident of `tenant` from `source`, started at `at`; the stream sequence it took.
async fn opened(
    app: &TestApp,
    tenant: &TenantId,
    title: &str,
    source: &str,
    at: DateTime<Utc>,
) -> (IncidentId, u64) {
    let id = IncidentId::new();
    let mut command = open(id, title, "checkout", at);
    if let IncidentCommand::Open(Opening { source: s, .. }) = &mut command {
        *s = source.to_owned();
    }
    (id, run(app, tenant, id, command).await)
}

/// Runs `command` on incident `id`; the stream sequence of its last event.
async fn run(app: &TestApp, tenant: &TenantId, id: IncidentId, command: IncidentCommand) -> u64 {
    app.services()
        .incidents
        .execute(
            tenant,
            id.0,
            command,
            aurora_nats::envelope::Context::new_root(),
        )
        .await
        .expect("the store answers")
        .expect("the incident takes the command")
        .stream_sequence
}

async fn titles(app: &TestApp, account: &Account, query: &str) -> Vec<String> {
    let page = app
        .get_json(&format!("/api/incidents?{query}"), Some(account))
        .await
        .expect_status(200);
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["title"].as_str().expect("a title").to_owned())
        .collect()
}

/// Every page of `query`, following `next_cursor`: the titles, and how many pages there were.
async fn all_pages(app: &TestApp, account: &Account, query: &str) -> (Vec<String>, usize) {
    let (mut all, mut pages) = (Vec::new(), 0);
    let mut path = format!("/api/incidents?{query}");
    loop {
        let page: Value = app.get_json(&path, Some(account)).await.expect_status(200);
        pages += 1;
        all.extend(
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|i| i["title"].as_str().expect("a title").to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/incidents?{query}&cursor={cursor}"),
            None => return (all, pages),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_and_source_reach_past_the_first_page_and_keep_the_paging() {
    let app = TestApp::spawn().await;
    let acme = app.register("ops@acme.io", "Acme").await;
    let globex = app.register("ops@globex.io", "Globex").await;
    let start = Utc::now() - Duration::hours(3);
    let mut last = 0;
    // The oldest of acme's incidents, from PagerDuty; then a summary that names the cause, and
    // titles with LIKE's wildcards in them; then 60 newer ones from Grafana.
    let (payments, seq) = opened(
        &app,
        &acme.tenant,
        "Payments gateway timeouts",
        "pagerduty",
        start,
    )
    .await;
    last = last.max(seq);
    let (disk, seq) = opened(
        &app,
        &acme.tenant,
        "Disk full on db-3",
        "grafana",
        start + Duration::minutes(1),
    )
    .await;
    last = last.max(seq);
    let summary = IncidentCommand::SetSummary {
        summary: "The checkout DEPLOY leaked file handles".into(),
        by: "ana@acme.io".into(),
        at: Utc::now(),
    };
    last = last.max(run(&app, &acme.tenant, disk, summary).await);
    for (i, title) in ["Latency 100% over budget", "Latency 1000 ms"]
        .into_iter()
        .enumerate()
    {
        let at = start + Duration::minutes(2 + i as i64);
        last = last.max(opened(&app, &acme.tenant, title, "grafana", at).await.1);
    }
    let mut bulk = Vec::new();
    for i in 0..60 {
        let at = start + Duration::minutes(10 + i);
        let (id, seq) = opened(
            &app,
            &acme.tenant,
            &format!("bulk incident {i}"),
            "grafana",
            at,
        )
        .await;
        bulk.push(id);
        last = last.max(seq);
    }
    let resolve = IncidentCommand::Resolve {
        by: "ops".into(),
        reason: None,
        at: Utc::now(),
    };
    last = last.max(run(&app, &acme.tenant, bulk[7], resolve).await);
    // Globex has an incident of the same title and source.
    let (theirs, seq) = opened(
        &app,
        &globex.tenant,
        "Payments gateway timeouts",
        "pagerduty",
        start,
    )
    .await;
    last = last.max(seq);
    wait_for_projection(&app.db.pool, Projector::Incidents, last).await;

    // The first page of the unfiltered list does not hold the oldest incident…
    assert!(!titles(&app, &acme, "limit=50")
        .await
        .contains(&"Payments gateway timeouts".to_owned()));
    // …the search and the source filter find it, any case, and only acme's.
    let found = app
        .get_json("/api/incidents?q=%20PAYMENTS%20gateway%20", Some(&acme))
        .await
        .expect_status(200);
    assert_eq!(found["items"].as_array().map(Vec::len), Some(1), "{found}");
    assert_eq!(found["items"][0]["id"], payments.0.to_string());
    assert_eq!(found["next_cursor"], Value::Null);
    let by_source = app
        .get_json("/api/incidents?source=pagerduty", Some(&acme))
        .await
        .expect_status(200);
    assert_eq!(by_source["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(by_source["items"][0]["id"], payments.0.to_string());
    assert_eq!(by_source["items"][0]["source"], "pagerduty");
    let their_search = app
        .get_json("/api/incidents?q=payments&source=pagerduty", Some(&globex))
        .await
        .expect_status(200);
    assert_eq!(their_search["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(their_search["items"][0]["id"], theirs.0.to_string());
    assert!(titles(&app, &globex, "q=bulk").await.is_empty());

    // Filters combine.
    assert!(titles(&app, &acme, "q=bulk&source=pagerduty")
        .await
        .is_empty());
    assert_eq!(
        titles(&app, &acme, "q=bulk&status=resolved").await,
        ["bulk incident 7"]
    );
    assert_eq!(
        titles(&app, &acme, "q=bulk%20incident%205&source=grafana").await,
        [
            "bulk incident 59",
            "bulk incident 58",
            "bulk incident 57",
            "bulk incident 56",
            "bulk incident 55",
            "bulk incident 54",
            "bulk incident 53",
            "bulk incident 52",
            "bulk incident 51",
            "bulk incident 50",
            "bulk incident 5",
        ]
    );
    // The summary is searched as well as the title.
    assert_eq!(
        titles(&app, &acme, "q=deploy%20LEAKED").await,
        ["Disk full on db-3"]
    );
    // `%` and `_` are text, not wildcards.
    assert_eq!(
        titles(&app, &acme, "q=100%25").await,
        ["Latency 100% over budget"]
    );
    assert!(titles(&app, &acme, "q=bulk_").await.is_empty());
    // A blank search is no search.
    assert_eq!(titles(&app, &acme, "q=%20%20&limit=200").await.len(), 64);

    // A search pages like the list: every match once, newest first, in pages of the limit.
    let (paged, pages) = all_pages(&app, &acme, "q=BULK&limit=25").await;
    let expected: Vec<String> = (0..60)
        .rev()
        .map(|i| format!("bulk incident {i}"))
        .collect();
    assert_eq!((paged, pages), (expected, 3));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_search_or_source_is_refused_with_a_json_400() {
    let app = TestApp::spawn().await;
    let acme = app.register("ops@acme.io", "Acme").await;
    let long = "x".repeat(201);
    let longest = "é".repeat(200);
    let cases = [
        ("source=nagios".to_owned(), "unknown_source", "\"nagios\""),
        ("source=".to_owned(), "unknown_source", "grafana"),
        (format!("q={long}"), "invalid_search", "201 characters"),
        ("q=a%00b".to_owned(), "invalid_search", "control characters"),
        ("service=a%00b".to_owned(), "invalid_service", "control"),
        ("query=checkout".to_owned(), "invalid_query", "query"),
    ];
    for (query, code, said) in cases {
        let body = app
            .get_json(&format!("/api/incidents?{query}"), Some(&acme))
            .await
            .expect_status(400);
        assert_eq!(body["error"]["code"], code, "{query}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(said), "{query}: {message}");
    }
    // 200 characters are searched for (characters, not bytes).
    let body = app
        .get_json(&format!("/api/incidents?q={longest}"), Some(&acme))
        .await
        .expect_status(200);
    assert_eq!(body["items"], serde_json::json!([]));
    app.stop().await;
}
