//! Change events end to end: a GitHub deployment becomes a change, listed at `GET /api/changes`
//! and on the page of an incident that starts within the hour after it.

use std::time::{Duration, Instant};

use aurora_tests::{Answer, TestApp};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

fn signature(secret: &str, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn until(
    app: &TestApp,
    path: &str,
    who: &aurora_tests::Account,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    let started = Instant::now();
    loop {
        let body = app.get_json(path, Some(who)).await.expect_status(200);
        if ready(&body) {
            return body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{path}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_is_a_change_shown_before_the_incident_it_may_have_caused() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let github = app
        .post_json(
            "/api/integrations",
            Some(&admin),
            &json!({ "source": "github", "name": "Acme repos" }),
        )
        .await
        .expect_status(201);
    let secret = github["secret"].as_str().expect("secret");
    let url = github["webhook_url"].as_str().expect("url");
    let path = format!(
        "/webhooks/{}",
        url.split_once("/webhooks/").expect("path").1
    );
    let deployed_at = chrono::Utc::now() - chrono::Duration::minutes(20);
    let body = json!({
        "action": "created",
        "deployment": {
            "id": 1_234_567, "sha": "9fceb02d0ae598e95dc970b74767f19372d61af8", "ref": "main",
            "environment": "production", "description": "Deploy checkout",
            "creator": { "login": "octocat" }, "created_at": deployed_at, "updated_at": deployed_at,
            "url": "https://api.github.com/repos/acme/checkout/deployments/1234567"
        },
        "repository": { "name": "checkout", "full_name": "acme/checkout", "html_url": "https://github.com/acme/checkout" },
        "sender": { "login": "octocat" }
    })
    .to_string();
    let send = |delivery: &str, signed: String| {
        let request = app
            .http
            .post(app.url(&path))
            .header("content-type", "application/json")
            .header("x-github-event", "deployment")
            .header("x-github-delivery", delivery.to_owned())
            .header("x-hub-signature-256", signed)
            .body(body.clone());
        async move { Answer::of(request.send().await).await }
    };
    send("72d3162e-cc78-11e3-81ab-4c9367dc0958", "sha256=00".into())
        .await
        .expect_error(401, "invalid_signature");
    let first = send(
        "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        signature(secret, &body),
    )
    .await
    .expect_status(202);
    assert_eq!(first["delivery_id"], "72d3162e-cc78-11e3-81ab-4c9367dc0958");
    let again = send(
        "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        signature(secret, &body),
    )
    .await
    .expect_status(202);
    assert_eq!(again["duplicate"], true);

    let changes = until(&app, "/api/changes", &admin, |b| {
        b["items"].as_array().is_some_and(|i| !i.is_empty())
    })
    .await;
    let items = changes["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{changes}");
    assert_eq!(items[0]["kind"], "deployment");
    assert_eq!(items[0]["service"], "checkout");
    assert_eq!(
        items[0]["version"],
        "9fceb02d0ae598e95dc970b74767f19372d61af8"
    );
    assert_eq!(items[0]["author"], "octocat");
    assert_eq!(items[0]["source"], "github");
    let other = app
        .get_json("/api/changes?service=search", Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(other["items"].as_array().map(Vec::len), Some(0));
    app.get_json("/api/changes?limit=0", Some(&admin))
        .await
        .expect_error(400, "invalid_limit");
    // The deployment named its service: the service graph has the node before any alert does.
    let graph = until(&app, "/api/graph?search=checkout", &admin, |b| {
        b["nodes"].as_array().is_some_and(|n| !n.is_empty())
    })
    .await;
    assert_eq!(graph["nodes"][0]["key"], "checkout", "{graph}");
    assert_eq!(graph["nodes"][0]["provider"], "observed", "{graph}");

    // A checkout alert now: its incident shows the deployment of 20 minutes ago.
    let grafana = app
        .post_json(
            "/api/integrations",
            Some(&admin),
            &json!({ "source": "grafana", "name": "Prod Grafana" }),
        )
        .await
        .expect_status(201);
    let url = grafana["webhook_url"].as_str().expect("url");
    let alert = json!({ "receiver": "aurora", "status": "firing", "alerts": [{
        "status": "firing", "labels": { "alertname": "Latency", "service": "checkout" },
        "annotations": { "summary": "Checkout latency high" }, "startsAt": chrono::Utc::now(),
        "fingerprint": "fp-1" }] });
    app.http
        .post(app.url(&format!(
            "/webhooks/{}",
            url.split_once("/webhooks/").expect("path").1
        )))
        .bearer_auth(grafana["secret"].as_str().expect("secret"))
        .json(&alert)
        .send()
        .await
        .expect("delivered");
    let list = until(&app, "/api/incidents", &admin, |b| {
        b["items"].as_array().is_some_and(|i| i.len() == 1)
    })
    .await;
    let id = list["items"][0]["id"].as_str().expect("id");
    let detail = app
        .get_json(&format!("/api/incidents/{id}"), Some(&admin))
        .await
        .expect_status(200);
    let before = detail["changes_before"].as_array().expect("changes_before");
    assert_eq!(before.len(), 1, "{detail}");
    assert_eq!(before[0]["same_service"], true);
    assert!(before[0]["minutes_before"]
        .as_i64()
        .is_some_and(|m| (19..=21).contains(&m)));
    app.stop().await;
}
