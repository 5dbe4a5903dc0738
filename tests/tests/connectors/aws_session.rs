//! AWS's assumed sessions, per connector: the second tool call reuses the first's session, and
//! one that expires within five minutes is renewed by the next call instead of being handed to
//! the CLI. The fake STS counts the AssumeRole calls (every session it issued); the fake `aws`
//! prints which session it was given.

use aurora_tests::chat::ChatSocket;
use aurora_tests::llm::{Script, Step};
use chrono::TimeDelta;
use serde_json::json;

use crate::chat::helpers::{chat, query, Chat};
use crate::connectors::cli::output;

/// The number of the session the fake STS issued (its access key id is `ASIAFAKE<number>`; the
/// id itself is redacted from the output like every secret-named variable).
const PRINT_SESSION: &str = r#"echo "session ${AWS_ACCESS_KEY_ID#ASIAFAKE}""#;

/// Two AWS commands in one run.
fn twice(asked: &str) -> Script {
    Script::new(
        asked,
        vec![
            Step::tool(
                "call_1",
                "cloud_exec",
                json!({"provider": "aws", "command": "aws ec2 describe-instances"}),
            ),
            Step::tool(
                "call_2",
                "cloud_exec",
                json!({"provider": "aws", "command": "aws ec2 describe-volumes"}),
            ),
            Step::text(&["Looked twice."]),
        ],
    )
}

/// Runs `asked`: the session number each of its two commands got.
async fn sessions_seen(c: &Chat, asked: &str) -> [u64; 2] {
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket.send(query(asked, "ask")).await;
    let frames = socket.until_end().await;
    ["call_1", "call_2"].map(|call| {
        let printed = output(&frames, call);
        printed
            .trim()
            .strip_prefix("session ")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{call} printed no session: {printed}"))
    })
}

/// AssumeRole calls answered so far.
fn assumed(c: &Chat) -> u64 {
    c.providers.sts_sessions().len() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aws_session_is_reused_by_the_next_call_and_renewed_within_five_minutes_of_expiry() {
    let c = chat(vec![
        twice("short sessions"),
        twice("hour-long sessions"),
        twice("again"),
    ])
    .await;
    c.clis.script("aws", PRINT_SESSION);
    // Connecting assumed the role once, to check it.
    let connected = assumed(&c);
    assert_eq!(connected, 1);

    // Sessions that expire in four minutes are within the renewal margin: each call assumes
    // the role again.
    c.providers.sts_session_lifetime(TimeDelta::minutes(4));
    let short = sessions_seen(&c, "short sessions").await;
    assert_eq!(short, [connected + 1, connected + 2]);
    assert_eq!(assumed(&c), connected + 2);

    // Sessions of an hour: the first call renews the held four-minute one, the second reuses
    // the new session.
    c.providers.sts_session_lifetime(TimeDelta::hours(1));
    let hour = sessions_seen(&c, "hour-long sessions").await;
    assert_eq!(hour, [connected + 3, connected + 3]);
    assert_eq!(assumed(&c), connected + 3);

    // A later run still holds it: no AssumeRole at all.
    assert_eq!(
        sessions_seen(&c, "again").await,
        [connected + 3, connected + 3]
    );
    assert_eq!(assumed(&c), connected + 3);
    let calls = c.clis.calls();
    assert_eq!(calls.len(), 6, "{calls:?}");
    c.app.stop().await;
}
