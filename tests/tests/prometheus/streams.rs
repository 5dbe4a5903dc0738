//! `aurora_sse_streams_open`: each open `GET /api/events/stream` counts while it is open, and no
//! longer once its client goes away.

use aurora_gateway::app::Role;
use aurora_tests::scrape::{scrape, scrape_until};
use aurora_tests::sse::Events;
use aurora_tests::{test_api_config, TestApp};

const OPEN: &str = "aurora_sse_streams_open";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_open_event_stream_counts_until_its_client_goes_away() {
    // A heartbeat every second: the server finds a gone client at its next write.
    let config = aurora_gateway::api::ApiConfig {
        sse_heartbeat_secs: 1,
        ..test_api_config()
    };
    let app = TestApp::spawn_with(vec![Role::Gateway, Role::Projections], config).await;
    let admin = app.register("oncall@acme.io", "Acme").await;
    let viewer = app
        .invite_and_register(&admin, "viewer@acme.io", "viewer")
        .await;
    let url = app.url("/metrics");
    assert_eq!(scrape(&app.http, &url).await.value(OPEN, &[]), 0.0);

    // Three streams, of two members, one filtered.
    let mut streams = vec![
        Events::open(&app, &admin, "/api/events/stream", None).await,
        Events::open(&app, &viewer, "/api/events/stream", None).await,
        Events::open(&app, &admin, "/api/events/stream?aggregate=incident", None).await,
    ];
    assert_eq!(scrape(&app.http, &url).await.value(OPEN, &[]), 3.0);

    // One client goes away, then the others.
    drop(streams.pop());
    let one_gone = scrape_until(&app.http, &url, |s| s.value(OPEN, &[]) != 3.0).await;
    assert_eq!(one_gone.value(OPEN, &[]), 2.0);
    drop(streams);
    let all_gone = scrape_until(&app.http, &url, |s| s.value(OPEN, &[]) == 0.0).await;
    assert_eq!(all_gone.value(OPEN, &[]), 0.0);
}
