//! The cached credential lookup is never stale: a run's handler keeps the tenant's connectors in
//! memory, yet a disconnect is refused by the very next tool call and a re-connect's new secret is
//! used (and redacted) by it — whether the change went through the gateway beside the handler
//! or through another gateway (another cache, told only by the projector's notice).

use aurora_tests::chat::of_type;
use aurora_tests::providers::fixtures;
use serde_json::Value;

use super::chat::{looking, script, Looking, APP_KEY, LOGS};

const QUESTION: &str = "any errors in checkout?";
const NOT_CONNECTED: &str = "Datadog is not connected for this organisation";
const FIRST_KEY: &str = "dd-api-first-7a1c03e9b4";
const SECOND_KEY: &str = "dd-api-second-d25f8c61a0";

/// The fake answers the logs query repeating both keys, so each run's redaction shows.
async fn with_echoing_datadog() -> Looking {
    let l = looking(vec![script("errors in checkout")]).await;
    let planted = format!("first={FIRST_KEY} second={SECOND_KEY} app={APP_KEY}");
    l.fake
        .answer("POST", LOGS, 200, fixtures::datadog_logs(&planted));
    l
}

/// Asks, and returns the one tool call's outcome: `Ok(output)` or `Err(error)`.
async fn ask(l: &Looking) -> Result<String, String> {
    let frames = l.ask(&l.chat.admin, QUESTION).await;
    let text = |f: &Value, field: &str| f[field].as_str().expect("a text").to_owned();
    match (
        of_type(&frames, "tool_result").first(),
        of_type(&frames, "tool_error").first(),
    ) {
        (Some(result), None) => Ok(text(result, "output")),
        (None, Some(error)) => Err(text(error, "error")),
        other => panic!("one tool call's outcome expected, got {other:?}"),
    }
}

/// The Datadog API key of the last logs query the fake was sent, and how many it was sent.
fn last_key(l: &Looking) -> (Option<String>, usize) {
    let sent = l.fake.requests_to(LOGS);
    let key = sent
        .last()
        .and_then(|r| r.header("dd-api-key"))
        .map(str::to_owned);
    (key, sent.len())
}

/// The output was redacted of the connected account's keys (which the fake repeated).
fn assert_redacted(output: &str, api_key: &str) {
    assert!(output.contains("POST /pay timed out"), "{output}");
    for key in [api_key, APP_KEY] {
        assert!(!output.contains(key), "{key} reached the output: {output}");
    }
}

/// Connect, ask (the lookup is now cached), disconnect, ask, re-connect with a new key, ask —
/// every change made through the gateway at `gateway`.
async fn connect_disconnect_reconnect(l: &Looking, gateway: &str) {
    assert!(wait_caching(l).await, "lookups are cached");
    let first = l.connect_datadog_at(gateway, FIRST_KEY).await;
    assert_redacted(&ask(l).await.expect("the first key works"), FIRST_KEY);
    assert_eq!(last_key(l), (Some(FIRST_KEY.to_owned()), 1));
    // Asked twice: the second lookup is the cached one.
    assert_redacted(&ask(l).await.expect("cached, still connected"), FIRST_KEY);
    assert_eq!(last_key(l), (Some(FIRST_KEY.to_owned()), 2));

    l.disconnect_at(gateway, &first).await;
    assert_eq!(ask(l).await, Err(NOT_CONNECTED.to_owned()));
    assert_eq!(last_key(l).1, 2, "nothing was sent to Datadog");

    let second = l.connect_datadog_at(gateway, SECOND_KEY).await;
    assert_ne!(second, first);
    let output = ask(l).await.expect("the new key works");
    // The new key, never seen before this lookup, is redacted too.
    assert_redacted(&output, SECOND_KEY);
    assert_eq!(last_key(l), (Some(SECOND_KEY.to_owned()), 3));
}

/// Waits until a fresh set of lookups has its subscription (the app's own has had it since
/// start-up; this only shows the mechanism is on here).
async fn wait_caching(l: &Looking) -> bool {
    let connectors = l.chat.app.services().connectors;
    for _ in 0..200 {
        if connectors.caching() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_through_the_gateway_beside_the_handler_reaches_the_next_tool_call() {
    let l = with_echoing_datadog().await;
    let gateway = l.chat.app.base_url.clone();
    connect_disconnect_reconnect(&l, &gateway).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_through_another_gateway_reaches_the_handlers_cache() {
    let l = with_echoing_datadog().await;
    let work = tempfile::tempdir().expect("a work dir");
    // A gateway of its own (its own connections and lookups, no handler): the run's handler
    // hears of its changes only through the connectors projector's notice.
    let other = l
        .chat
        .app
        .second_gateway(aurora_handlers::agent::AgentConfig::without_model(
            work.path().to_path_buf(),
        ))
        .await;
    connect_disconnect_reconnect(&l, &other).await;
}
