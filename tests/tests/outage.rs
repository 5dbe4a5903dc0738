//! What a webhook gets when JetStream is unreachable: 503 with `Retry-After`, never 202 — and
//! once the server is back, deliveries are accepted again.

use std::time::Duration;

use aurora_tests::{Answer, TestApp};
use serde_json::json;

fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill {signal} {pid}");
}

/// Stops the process and returns once every one of its threads is stopped: `kill` returns when
/// the signal is queued, and on a loaded machine the server's threads can go on answering for a
/// few milliseconds until each is scheduled and stops.
fn freeze(pid: u32) {
    signal(pid, "-STOP");
    let started = std::time::Instant::now();
    while !every_thread_stopped(pid) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "nats-server {pid} never stopped"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Each thread's state in `/proc/<pid>/task/<tid>/stat` (the field after the parenthesised name)
/// is `T` once the group stop has reached it.
fn every_thread_stopped(pid: u32) -> bool {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("the process's threads");
    tasks.flatten().all(|task| {
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        let state = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next());
        state == Some('T')
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_gets_503_with_retry_after_while_jetstream_is_unreachable() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let created = app
        .post_json(
            "/api/integrations",
            Some(&admin),
            &json!({ "source": "grafana", "name": "Prod Grafana" }),
        )
        .await
        .expect_status(201);
    let url = created["webhook_url"].as_str().expect("url");
    let path = format!(
        "/webhooks/{}",
        url.split_once("/webhooks/").expect("path").1
    );
    let secret = created["secret"].as_str().expect("secret");
    let body = |fingerprint: &str| {
        json!({ "receiver": "aurora", "status": "firing", "alerts": [{
            "status": "firing", "labels": { "alertname": "Disk", "service": "db" },
            "annotations": { "summary": "Disk full" }, "startsAt": "2026-11-23T10:00:00Z",
            "fingerprint": fingerprint }] })
        .to_string()
    };
    let deliver = |b: String| {
        let request = app
            .http
            .post(app.url(&path))
            .bearer_auth(secret)
            .header("content-type", "application/json")
            .body(b);
        async move { Answer::of(request.send().await).await }
    };
    // Warm: the integration is known to the intake.
    deliver(body("fp-1")).await.expect_status(202);

    let pid = app.nats.server.pid().expect("nats-server pid");
    freeze(pid);
    let answer = tokio::time::timeout(Duration::from_secs(30), deliver(body("fp-2")))
        .await
        .expect("an answer, not a hang");
    signal(pid, "-CONT");
    answer.expect_error(503, "unavailable");
    let retry_after: u64 = answer
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!(retry_after >= 1);

    // Back: accepted again (the refused delivery, retried by its source, too).
    let mut accepted = false;
    for _ in 0..100 {
        if deliver(body("fp-2")).await.status == 202 {
            accepted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        accepted,
        "deliveries are accepted once JetStream answers again"
    );
    app.stop().await;
}

/// Polls `/ready` until it answers `want` (fails after 30 s); returns that answer's body.
async fn ready_until(app: &TestApp, want: u16) -> serde_json::Value {
    let started = std::time::Instant::now();
    loop {
        let answer = app.get_json("/ready", None).await;
        if answer.status == want {
            return answer.body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "/ready never answered {want}; last: {} {}",
            answer.status,
            answer.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_names_the_dependency_that_is_down_and_answers_promptly() {
    use sqlx::Connection as _;

    let app = TestApp::spawn().await;
    ready_until(&app, 200).await;

    // JetStream stalled: an answer within the readiness timeout, naming NATS.
    let pid = app.nats.server.pid().expect("nats-server pid");
    freeze(pid);
    let asked = std::time::Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(30), app.get_json("/ready", None))
        .await
        .expect("an answer, not a hang");
    let waited = asked.elapsed();
    signal(pid, "-CONT");
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(answer.body["status"], "not_ready");
    assert_eq!(
        answer.body["checks"]["nats"]["ok"], false,
        "{}",
        answer.body
    );
    assert!(
        answer.body["checks"]["nats"]["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "says why: {}",
        answer.body
    );
    assert_eq!(answer.body["checks"]["postgres"]["ok"], true);
    assert!(
        waited < aurora_gateway::api::READY_TIMEOUT + Duration::from_secs(3),
        "answered after {waited:?}"
    );
    ready_until(&app, 200).await;

    // PostgreSQL refusing the app's connections: not ready, naming PostgreSQL.
    let mut admin =
        sqlx::PgConnection::connect(&format!("{}/postgres", aurora_tests::postgres_base_url()))
            .await
            .expect("postgres");
    let name = &app.db.name;
    sqlx::query(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .execute(&mut admin)
        .await
        .expect("refuse connections");
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(name)
        .execute(&mut admin)
        .await
        .expect("terminate");
    let body = ready_until(&app, 503).await;
    sqlx::query(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .execute(&mut admin)
        .await
        .expect("allow connections");
    assert_eq!(body["checks"]["postgres"]["ok"], false, "{body}");
    assert!(
        body["checks"]["postgres"]["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "says why: {body}"
    );
    assert_eq!(body["checks"]["nats"]["ok"], true, "{body}");
    ready_until(&app, 200).await;
}
